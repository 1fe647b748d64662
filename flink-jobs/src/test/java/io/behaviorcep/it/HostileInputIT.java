package io.behaviorcep.it;

import io.behaviorcep.BehaviorCepJob;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.KafkaIO;
import io.behaviorcep.testing.HostileCorpus;
import io.behaviorcep.testing.HostileCorpus.Entry;
import io.behaviorcep.testing.IntegrationServices;
import io.behaviorcep.testing.TopicReader;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The hostile-events corpus ({@link HostileCorpus}, checked in under src/test/resources/hostile)
 * through the production job on the real broker and database: every bad record must reach the
 * dead-letter topic once, with the reason the corpus expects and its original key and bytes; every
 * good shopper interleaved with them must get their alert; and the job must never restart.
 */
class HostileInputIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static IntegrationServices services;

    @BeforeAll
    static void start() throws Exception {
        services = IntegrationServices.start(2);
    }

    @AfterAll
    static void stop() throws Exception {
        if (services != null) services.close();
    }

    @Test
    void everyBadRecordReachesTheDlqWithItsReasonAndBytesGoodOnesAreProcessedAndTheJobNeverRestarts() throws Exception {
        String eventsTopic = "hostile-events-" + Long.toHexString(System.nanoTime());
        services.createTopic(eventsTopic, 2);
        List<Entry> corpus = HostileCorpus.load();

        // send the corpus in order, each line `repeat` times; remember where every record landed
        Map<String, Entry> sentAt = new HashMap<>();
        Set<String> goodUsers = new TreeSet<>();
        int sentBad = 0;
        int sentGood = 0;
        try (KafkaProducer<byte[], byte[]> producer = services.producer()) {
            List<Map.Entry<Future<RecordMetadata>, Entry>> pending = new ArrayList<>();
            for (Entry e : corpus) {
                for (int i = 0; i < e.repeat(); i++) {
                    pending.add(Map.entry(producer.send(new ProducerRecord<>(eventsTopic, e.key(), e.value())), e));
                    if (e.good()) sentGood++;
                    else sentBad++;
                }
                if (e.good()) goodUsers.add(new String(e.key(), java.nio.charset.StandardCharsets.UTF_8));
            }
            producer.flush();
            for (Map.Entry<Future<RecordMetadata>, Entry> p : pending) {
                RecordMetadata m = p.getKey().get(30, TimeUnit.SECONDS);
                sentAt.put(m.partition() + "/" + m.offset(), p.getValue());
            }
        }

        IntegrationServices.Run run = services.newRun("hostile", eventsTopic, Map.of(
                "checkpoint.interval", "500ms",
                "events.idle-advance", "false",
                "parallelism", "2"));
        Configuration conf = new Configuration();
        // a restart would show as attempt numbers above 0 instead of failing the run: both are checked
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(200));
        StreamExecutionEnvironment env = services.env(2, conf);
        BehaviorCepJob.prepare(env, run.config(), new KafkaIO(run.config(), true));
        JobClient job = env.executeAsync("behavior-cep hostile input");
        JobExecutionResult result = job.getJobExecutionResult().get(120, TimeUnit.SECONDS);
        AccessExecutionGraph graph = services.graph(result.getJobID());

        JobConfig c = run.config();
        Duration wait = Duration.ofSeconds(30);
        List<ConsumerRecord<byte[], byte[]>> dlq;
        List<String> alerts;
        List<String> late;
        try (TopicReader dlqReader = new TopicReader(services.kafka.bootstrapServers(), c.dlqTopic());
             TopicReader alertReader = new TopicReader(services.kafka.bootstrapServers(), c.alertsTopic());
             TopicReader lateReader = new TopicReader(services.kafka.bootstrapServers(), c.lateTopic())) {
            dlq = dlqReader.readToEnd(wait);
            alerts = TopicReader.values(alertReader.readToEnd(wait));
            late = TopicReader.values(lateReader.readToEnd(wait));
        }

        // every dead letter: the record it came from, its reason, key and bytes
        List<String> problems = new ArrayList<>();
        Map<String, Integer> dlqByReason = new TreeMap<>();
        Map<String, Integer> seen = new HashMap<>();
        long bytesCompared = 0;
        int truncated = 0;
        for (ConsumerRecord<byte[], byte[]> r : dlq) {
            String reason = TopicReader.header(r, "dlq.reason");
            dlqByReason.merge(reason, 1, Integer::sum);
            String at = TopicReader.header(r, "dlq.source.partition") + "/" + TopicReader.header(r, "dlq.source.offset");
            Entry e = sentAt.get(at);
            if (e == null) {
                problems.add("dead letter from " + at + " which was never sent");
                continue;
            }
            if (seen.merge(at, 1, Integer::sum) > 1) problems.add("second dead letter for " + at + " (" + e.label() + ")");
            if (e.good()) problems.add("good record " + e.label() + " went to the DLQ: " + reason + " " + TopicReader.header(r, "dlq.message"));
            else if (!e.expected().equals(reason)) problems.add(e.label() + ": reason " + reason + ", expected " + e.expected());
            byte[] expectedValue = e.value() == null ? new byte[0] : e.value();
            if ("true".equals(TopicReader.header(r, "dlq.truncated"))) {
                // too large to re-publish whole with headers: a prefix of the original, and its size
                truncated++;
                if (!String.valueOf(expectedValue.length).equals(TopicReader.header(r, "dlq.original-value-size"))
                        || r.value().length >= expectedValue.length
                        || !Arrays.equals(expectedValue, 0, r.value().length, r.value(), 0, r.value().length)) {
                    problems.add(e.label() + ": the truncated dead letter is not a prefix of the original with its size");
                }
                expectedValue = r.value();
            } else if (!Arrays.equals(expectedValue, r.value())) {
                problems.add(e.label() + ": the dead letter's bytes differ from the original");
            }
            if (!Arrays.equals(e.key(), r.key())) problems.add(e.label() + ": the dead letter's key differs from the original");
            if (!eventsTopic.equals(TopicReader.header(r, "dlq.source.topic"))) problems.add(e.label() + ": wrong dlq.source.topic");
            String message = TopicReader.header(r, "dlq.message");
            if (message == null || message.isBlank()) problems.add(e.label() + ": no dlq.message");
            bytesCompared += expectedValue.length;
        }
        long badNotInDlq = sentAt.entrySet().stream().filter(x -> !x.getValue().good() && !seen.containsKey(x.getKey())).count();

        // every good shopper got their one cart_abandoned alert, and nobody else got one
        Map<String, Integer> cartAlertsByUser = new TreeMap<>();
        for (String a : alerts) {
            JsonNode n = JSON.readTree(a);
            if (n.get("pattern_id").asText().equals("cart-abandonment")) cartAlertsByUser.merge(n.get("user_id").asText(), 1, Integer::sum);
        }
        List<String> alertRows = IntegrationServices.rows(run.jdbcUrl(), "SELECT alert_id FROM alerts WHERE pattern_id = 'cart-abandonment'");

        int restarts = IntegrationServices.maxAttempt(graph);
        long restartingAt = graph.getStatusTimestamp(JobStatus.RESTARTING);
        System.out.printf("hostile input: sent %d records (%d bad in %d kinds, %d good of %d users) on 2 partitions; job %s, max attempt %d, "
                        + "ever RESTARTING: %s, failure: %s%n", sentBad + sentGood, sentBad, corpus.size() - 3 * HostileCorpus.GOOD_USERS,
                sentGood, goodUsers.size(), graph.getState(), restarts, restartingAt > 0, graph.getFailureInfo() == null ? "none" : graph.getFailureInfo().getExceptionAsString());
        System.out.printf("  dead letters %d by reason %s; original bytes compared: %d bytes (%d dead letter(s) cut to %d bytes, a prefix); "
                        + "bad records not in the DLQ: %d; problems: %d%n",
                dlq.size(), dlqByReason, bytesCompared, truncated, io.behaviorcep.output.OutputJson.MAX_RECORD_BYTES, badNotInDlq, problems.size());
        System.out.printf("  cart_abandoned alerts: %d users on Kafka (%d in PostgreSQL), expected %d; late events %d%n",
                cartAlertsByUser.size(), alertRows.size(), goodUsers.size(), late.size());
        problems.stream().limit(30).forEach(p -> System.out.println("  " + p));

        assertThat(graph.getState()).isEqualTo(JobStatus.FINISHED);
        assertThat(restarts).as("attempt number of any task: the job never restarted").isZero();
        assertThat(restartingAt).as("the job was never RESTARTING").isZero();
        assertThat(problems).isEmpty();
        assertThat(truncated).as("only the record of about 1 MiB is cut").isEqualTo(1);
        assertThat(dlq).as("one dead letter per bad record").hasSize(sentBad);
        assertThat(badNotInDlq).isZero();
        assertThat(dlqByReason.get("INVALID_TIMESTAMP")).as("the poison pill, every time").isGreaterThanOrEqualTo(HostileCorpus.POISON_REPEAT);
        assertThat(late).as("good events are in time order: none is late").isEmpty();
        assertThat(cartAlertsByUser.keySet()).as("users with a cart_abandoned alert").isEqualTo(goodUsers);
        assertThat(cartAlertsByUser.values()).as("one alert per good user").allMatch(n -> n == 1);
        assertThat(alertRows).as("the same alerts in PostgreSQL").hasSize(goodUsers.size());
    }
}
