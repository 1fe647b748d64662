package io.behaviorcep.it;

import io.behaviorcep.BehaviorCepJob;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.local.TrafficGenerator;
import io.behaviorcep.sink.KafkaIO;
import io.behaviorcep.testing.IntegrationServices;
import io.behaviorcep.testing.TopicReader;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The exactly-once proof: the same input, run once without failures and once with a task failure
 * injected mid-stream (after a checkpoint completed, with uncommitted output in flight), must leave
 * exactly the same output in Kafka (read_committed) and in PostgreSQL: nothing lost, nothing twice.
 *
 * <p>Both runs use the production connectors (KafkaIO, PostgresSink) in bounded mode: they read the
 * input topic up to its end, the final watermark decides every pending absence, and a final
 * checkpoint commits the rest. The only test code in the graph is one map operator behind the
 * {@code afterParse} seam, present in both runs: it paces the stream so that it spans several
 * checkpoints, and in the second run throws once.
 *
 * <p>Two runs differ for reasons other than the failure too, and this test has caught both: a
 * trailing absence of a user who went quiet was decided or not depending on how watermarks happened
 * to advance (Flink CEP sets no timer for it; see AbsenceDeadlineCepOperator), and the broker's
 * default retention deleted output records, which carry event time from the past as their
 * timestamp (hence the topics here keep everything, and the check that nothing was deleted).
 */
class ExactlyOnceIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PARTITIONS = 2;
    private static final int RECORDS = 5000;
    /** Records a subtask processes after its first completed checkpoint before it fails. */
    private static final int FAIL_AFTER = 300;

    private static IntegrationServices services;
    private static String eventsTopic;
    private static TrafficGenerator generator;

    @BeforeAll
    static void produceInput() throws Exception {
        services = IntegrationServices.start(2);
        eventsTopic = "eo-events-" + Long.toHexString(System.nanoTime());
        services.createTopic(eventsTopic, PARTITIONS);
        // 5.76 simulated seconds per record: 5000 records cover 8 hours of a Monday in the past
        generator = new TrafficGenerator(new TrafficGenerator.Config(20250106L, 200, 100,
                Instant.parse("2025-01-06T08:00:00Z"), 576, 0.004, 0.01, 0));
        Map<String, Integer> kinds = new TreeMap<>();
        Set<String> users = new HashSet<>();
        try (KafkaProducer<byte[], byte[]> producer = services.producer()) {
            for (TrafficGenerator.GeneratedRecord r : generator.nextBatch(RECORDS)) {
                producer.send(new ProducerRecord<>(eventsTopic, r.key(), r.value())); // keyed by user: the default partitioner spreads users
                if (r.kind() == TrafficGenerator.Kind.EVENT) {
                    JsonNode e = JSON.readTree(r.value());
                    kinds.merge(e.path("event").asText(e.path("type").asText()), 1, Integer::sum);
                    users.add(r.keyString());
                }
            }
            producer.flush();
        }
        System.out.printf("input: %d records (%d malformed, %d duplicates) of %d users on %d partitions, simulated %s .. %s; events %s%n",
                generator.sent().get(), generator.malformed().get(), generator.duplicates().get(), users.size(), PARTITIONS,
                generator.config().simulatedStart(), generator.simulatedNow(), kinds);
    }

    @AfterAll
    static void stop() throws Exception {
        if (services != null) services.close();
    }

    @Test
    void aFailureAndRecoveryMidStreamChangeNoOutput() throws Exception {
        Outcome clean = run("eo_clean", false);
        Outcome failed = run("eo_failed", true);

        System.out.printf("%nfailure injected in run 2: %s (after checkpoint %d, %d records after it; max attempt %d; checkpoints completed %d vs %d)%n",
                failed.failureThrown, failed.failedAfterCheckpoint, FAIL_AFTER, failed.maxAttempt,
                clean.completedCheckpoints, failed.completedCheckpoints);
        assertThat(clean.failureThrown).isFalse();
        assertThat(clean.maxAttempt).as("run 1 ran without restarts").isZero();
        assertThat(failed.failureThrown).as("the failure was injected").isTrue();
        assertThat(failed.failedAfterCheckpoint).as("it came after a completed checkpoint").isGreaterThanOrEqualTo(1);
        assertThat(failed.maxAttempt).as("the job restarted and redeployed its tasks").isGreaterThanOrEqualTo(1);
        assertThat(failed.recordsAfterRestart).as("input was replayed after the restore").isPositive();

        List<String> differences = new ArrayList<>();
        compare("alerts topic (JSON documents)", clean.alerts, failed.alerts, differences);
        compare("segments topic (key + JSON)", clean.segments, failed.segments, differences);
        compare("dlq topic (reason, source, bytes)", clean.deadLetters, failed.deadLetters, differences);
        compare("late topic", clean.late, failed.late, differences);
        compare("table alerts (alert_id, document)", clean.alertRows, failed.alertRows, differences);
        compare("table segment_events (all but recorded_at)", clean.segmentEventRows, failed.segmentEventRows, differences);
        compare("table user_segments (all columns)", clean.userSegmentRows, failed.userSegmentRows, differences);
        System.out.printf("differences: %d%n", differences.size());
        differences.stream().limit(40).forEach(d -> System.out.println("  " + d));

        // outputs worth comparing: many alerts, segment changes and dead letters
        assertThat(clean.alerts.size()).as("alerts").isGreaterThan(20);
        assertThat(clean.alertsPerPattern.getOrDefault("cart-abandonment", 0L)).as("cart-abandonment alerts").isGreaterThan(20);
        assertThat(clean.segments.size()).as("segment updates").isGreaterThan(20);
        assertThat(clean.deadLetters).as("dead letters").hasSize((int) generator.malformed().get());
        assertThat(clean.late).as("no late records in this input").isEmpty();
        for (Outcome o : List.of(clean, failed)) {
            // within each run, PostgreSQL holds exactly what Kafka has: one row per alert, one history row per update
            assertThat(o.alertRows).as(o.name + ": alert rows vs alerts on Kafka").hasSize(o.alerts.size());
            assertThat(o.segmentEventRows).as(o.name + ": segment_events rows vs updates on Kafka").hasSize(o.segments.size());
            assertThat(o.pgDocumentsEqualKafka).as(o.name + ": every alert document in PostgreSQL equals the one on Kafka").isTrue();
            assertThat(o.openTransactionTail).as(o.name + ": offsets behind an open transaction").isZero();
            assertThat(o.deletedRecords).as(o.name + ": records the broker deleted from the output topics").isZero();
        }
        assertThat(differences).as("outputs of the failure-free and the recovered run").isEmpty();
    }

    /** Differences of two multisets, both ways, with counts. */
    private static void compare(String what, List<String> a, List<String> b, List<String> differences) {
        Map<String, Integer> count = new HashMap<>();
        a.forEach(x -> count.merge(x, 1, Integer::sum));
        b.forEach(x -> count.merge(x, -1, Integer::sum));
        List<String> diff = count.entrySet().stream().filter(e -> e.getValue() != 0)
                .map(e -> what + ": " + (e.getValue() > 0 ? "only in run 1 (x" + e.getValue() + "): " : "only in run 2 (x" + -e.getValue() + "): ")
                        + abbreviate(e.getKey()))
                .sorted().toList();
        System.out.printf("%-45s run 1: %5d  run 2: %5d  differences: %d%n", what, a.size(), b.size(), diff.size());
        differences.addAll(diff);
    }

    private static String abbreviate(String s) {
        return s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }

    /** What one run left behind. */
    static final class Outcome {
        String name;
        boolean failureThrown;
        long failedAfterCheckpoint;
        int maxAttempt;
        long recordsAfterRestart;
        long completedCheckpoints;
        long openTransactionTail;
        long deletedRecords;
        boolean pgDocumentsEqualKafka;
        Map<String, Long> alertsPerPattern;
        List<String> alerts;
        List<String> segments;
        List<String> deadLetters;
        List<String> late;
        List<String> alertRows;
        List<String> segmentEventRows;
        List<String> userSegmentRows;
    }

    private static Outcome run(String name, boolean injectFailure) throws Exception {
        FailOnceAfterCheckpoint.reset();
        IntegrationServices.Run run = services.newRun(name, eventsTopic, Map.of(
                "checkpoint.interval", "500ms",
                "events.max-out-of-orderness", "1m",
                "events.idle-advance", "false",
                "parallelism", "2"));
        Configuration conf = new Configuration();
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(200));
        StreamExecutionEnvironment env = services.env(2, conf);
        BehaviorCepJob.prepare(env, run.config(), new FailureInjectingKafkaIO(run.config(), injectFailure));

        long started = System.nanoTime();
        JobClient job = env.executeAsync("behavior-cep exactly-once " + name);
        JobExecutionResult result = job.getJobExecutionResult().get(60, TimeUnit.SECONDS);
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        AccessExecutionGraph graph = services.graph(result.getJobID());
        assertThat(graph.getState()).isEqualTo(JobStatus.FINISHED);

        Outcome o = new Outcome();
        o.name = name;
        o.failureThrown = FailOnceAfterCheckpoint.FAILED.get();
        o.failedAfterCheckpoint = FailOnceAfterCheckpoint.FAILED_AFTER_CHECKPOINT.get();
        o.maxAttempt = Math.max(IntegrationServices.maxAttempt(graph), FailOnceAfterCheckpoint.MAX_ATTEMPT.get());
        o.recordsAfterRestart = FailOnceAfterCheckpoint.RECORDS_IN_LATER_ATTEMPTS.get();
        o.completedCheckpoints = graph.getCheckpointStatsSnapshot().getCounts().getNumberOfCompletedCheckpoints();

        JobConfig c = run.config();
        Duration wait = Duration.ofSeconds(30);
        try (TopicReader alerts = new TopicReader(services.kafka.bootstrapServers(), c.alertsTopic());
             TopicReader segments = new TopicReader(services.kafka.bootstrapServers(), c.segmentsTopic());
             TopicReader dlq = new TopicReader(services.kafka.bootstrapServers(), c.dlqTopic());
             TopicReader late = new TopicReader(services.kafka.bootstrapServers(), c.lateTopic())) {
            o.alerts = TopicReader.values(alerts.readToEnd(wait));
            o.segments = segments.readToEnd(wait).stream().map(r -> TopicReader.key(r) + " " + TopicReader.value(r)).toList();
            o.deadLetters = dlq.readToEnd(wait).stream().map(ExactlyOnceIT::deadLetter).toList();
            o.late = TopicReader.values(late.readToEnd(wait));
            o.openTransactionTail = alerts.openTransactionTail() + segments.openTransactionTail()
                    + dlq.openTransactionTail() + late.openTransactionTail();
        }
        for (String topic : List.of(c.alertsTopic(), c.segmentsTopic(), c.dlqTopic(), c.lateTopic())) {
            o.deletedRecords += services.deletedRecords(topic);
        }
        o.alertRows = IntegrationServices.rows(run.jdbcUrl(), "SELECT alert_id, document FROM alerts ORDER BY alert_id");
        o.segmentEventRows = IntegrationServices.rows(run.jdbcUrl(),
                "SELECT event_id, user_id, segment, action, reason, at, version, expires_at FROM segment_events ORDER BY event_id");
        o.userSegmentRows = IntegrationServices.rows(run.jdbcUrl(),
                "SELECT user_id, segment, member, entered_at, expires_at, reason, version, updated_at FROM user_segments ORDER BY user_id, segment");

        Map<String, JsonNode> kafkaDocs = new TreeMap<>();
        o.alertsPerPattern = new TreeMap<>();
        for (String a : o.alerts) {
            JsonNode n = JSON.readTree(a);
            kafkaDocs.put(n.get("alert_id").asText(), n);
            o.alertsPerPattern.merge(n.get("pattern_id").asText(), 1L, Long::sum);
        }
        Map<String, JsonNode> pgDocs = new TreeMap<>();
        for (String row : o.alertRows) {
            int bar = row.indexOf(" | ");
            pgDocs.put(row.substring(0, bar), JSON.readTree(row.substring(bar + 3)));
        }
        o.pgDocumentsEqualKafka = kafkaDocs.equals(pgDocs);

        System.out.printf("run %s (%s): finished in %d ms, %d checkpoints, failure injected: %s, max attempt %d; "
                        + "alerts %d %s, segment updates %d, dead letters %d, late %d; PostgreSQL alerts %d, segment_events %d, user_segments %d (members %d)%n",
                name, run.name(), tookMs, o.completedCheckpoints, o.failureThrown, o.maxAttempt,
                o.alerts.size(), o.alertsPerPattern, o.segments.size(), o.deadLetters.size(), o.late.size(),
                o.alertRows.size(), o.segmentEventRows.size(), o.userSegmentRows.size(),
                o.userSegmentRows.stream().filter(r -> r.contains(" | t | ")).count());
        return o;
    }

    /** Everything of a dead letter except the wall-clock header dlq.at. */
    private static String deadLetter(ConsumerRecord<byte[], byte[]> r) {
        Map<String, String> h = new TreeMap<>();
        r.headers().forEach(x -> {
            if (!x.key().equals("dlq.at")) h.put(x.key(), new String(x.value(), java.nio.charset.StandardCharsets.UTF_8));
        });
        return TopicReader.key(r) + " " + h + " " + Base64.getEncoder().encodeToString(r.value());
    }

    /** The production connectors plus the test operator behind the afterParse seam. */
    static final class FailureInjectingKafkaIO extends KafkaIO {
        private final boolean injectFailure;

        FailureInjectingKafkaIO(JobConfig config, boolean injectFailure) {
            super(config, true);
            this.injectFailure = injectFailure;
        }

        @Override
        public DataStream<BehaviorEvent> afterParse(DataStream<BehaviorEvent> events) {
            return events.map(new FailOnceAfterCheckpoint(injectFailure, FAIL_AFTER), TypeInformation.of(BehaviorEvent.class))
                    .uid("test-failure-injection").name("Test: pace & fail once");
        }
    }

    /**
     * Passes events through unchanged, at about 1000 per second per subtask so the input spans
     * several checkpoints. With {@code inject}, the first subtask to see {@code failAfter} records
     * after its first completed checkpoint throws, once per run: the MiniCluster runs in this JVM,
     * so the static flag survives the restart.
     */
    static final class FailOnceAfterCheckpoint extends RichMapFunction<BehaviorEvent, BehaviorEvent> implements CheckpointListener {
        static final AtomicBoolean FAILED = new AtomicBoolean();
        static final AtomicLong FAILED_AFTER_CHECKPOINT = new AtomicLong(-1);
        static final AtomicInteger MAX_ATTEMPT = new AtomicInteger();
        static final AtomicLong RECORDS_IN_LATER_ATTEMPTS = new AtomicLong();

        private final boolean inject;
        private final int failAfter;
        private transient long seen;
        private transient long lastCompletedCheckpoint;
        private transient long seenAfterCheckpoint;
        private transient int attempt;

        FailOnceAfterCheckpoint(boolean inject, int failAfter) {
            this.inject = inject;
            this.failAfter = failAfter;
        }

        static void reset() {
            FAILED.set(false);
            FAILED_AFTER_CHECKPOINT.set(-1);
            MAX_ATTEMPT.set(0);
            RECORDS_IN_LATER_ATTEMPTS.set(0);
        }

        @Override
        public void open(OpenContext ctx) {
            attempt = getRuntimeContext().getTaskInfo().getAttemptNumber();
            MAX_ATTEMPT.accumulateAndGet(attempt, Math::max);
            lastCompletedCheckpoint = -1;
        }

        @Override
        public BehaviorEvent map(BehaviorEvent e) {
            if (++seen % 20 == 0) LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            if (attempt > 0) RECORDS_IN_LATER_ATTEMPTS.incrementAndGet();
            if (lastCompletedCheckpoint >= 1 && ++seenAfterCheckpoint >= failAfter && inject && FAILED.compareAndSet(false, true)) {
                FAILED_AFTER_CHECKPOINT.set(lastCompletedCheckpoint);
                throw new IllegalStateException("injected failure after checkpoint " + lastCompletedCheckpoint
                        + " and " + seenAfterCheckpoint + " more records (" + seen + " in this subtask)");
            }
            return e;
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            lastCompletedCheckpoint = Math.max(lastCompletedCheckpoint, checkpointId);
        }
    }
}
