package io.behaviorcep.it;

import io.behaviorcep.config.JobConfig;
import io.behaviorcep.local.TrafficGenerator;
import io.behaviorcep.replay.ReplayRunner;
import io.behaviorcep.testing.Await;
import io.behaviorcep.testing.IntegrationServices;
import io.behaviorcep.testing.ReplayOracle;
import io.behaviorcep.testing.TopicReader;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.core.execution.JobClient;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The job as it is deployed, against {@code replay} of the same events: the real broker and
 * database, a 12-partition events topic read by 2 subtasks, RocksDB with checkpoints on disk,
 * {@code jdbc.url} set (so the suppression list source runs beside the events), idle-advance on, the
 * default out-of-orderness and idle timeout. Four situations that used to send most of the input to
 * {@code behavior.late}:
 * <ol>
 *   <li>a quiet start: the job runs 40 s before the first event arrives;</li>
 *   <li>a TaskManager failure, with traffic produced while it is down, then a catch-up;</li>
 *   <li>a quiet spell of 40 s right after a restore;</li>
 *   <li>a backlog: the whole input is in the topic before the job starts (a run of its own).</li>
 * </ol>
 * In each, no event may be late (the input is sorted by time, so none is late in the input), and
 * the alerts (Kafka {@code read_committed} and PostgreSQL) and segment updates must equal replay's
 * up to the job's event time at the end. Replay decides everything pending at the end of its input;
 * the streaming job decides what its event time reached: the alerts and updates past it are counted
 * and printed as pending, and each one must be in replay's output (nothing the job wrote may be
 * missing from replay).
 *
 * <p>The live case and the backlog run in classes of their own ({@code ProductionShapeIT},
 * {@code ProductionShapeBacklogIT}), each with a fresh broker, database and MiniCluster.
 */
abstract class ProductionShape {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int PARTITIONS = 12;
    static final int PARALLELISM = 2;
    static final int RECORDS = 6_000;
    /** Longer than the default events.idle-timeout (30 s): every partition is marked idle. */
    static final Duration QUIET = Duration.ofSeconds(40);
    static final Duration WAIT = Duration.ofSeconds(120);
    /** The default events.max-out-of-orderness. */
    static final long OUT_OF_ORDERNESS = Duration.ofSeconds(30).toMillis();

    static IntegrationServices services;
    static List<TrafficGenerator.GeneratedRecord> input;
    static long lastEventTime;
    static Path inputFile;

    @TempDir
    static Path work;

    @BeforeAll
    static void start() throws Exception {
        services = IntegrationServices.start(PARALLELISM);
        liveTaskManager = 0;
        taskManagersStarted = 1;
        // 1 s of event time per record: 6,000 records span 100 minutes, many 15-minute absences
        TrafficGenerator generator = new TrafficGenerator(new TrafficGenerator.Config(20261204L, 300, 100,
                Instant.parse("2025-01-06T08:00:00Z"), 100, 0, 0, 0));
        input = generator.nextBatch(RECORDS);
        lastEventTime = generator.simulatedNow().toEpochMilli();
        inputFile = work.resolve("input.jsonl");
        List<String> lines = new ArrayList<>();
        for (TrafficGenerator.GeneratedRecord r : input) lines.add(r.valueString());
        Files.write(inputFile, lines, StandardCharsets.UTF_8);
    }

    @AfterAll
    static void stop() throws Exception {
        if (services != null) services.close();
    }

    /** What a run left in its outputs, and what replay says. */
    record Outcome(String name, Set<String> kafkaAlerts, Set<String> postgresAlerts, Set<String> segmentUpdates,
                   int late, int deadLetters) {}

    /** The MiniCluster's task managers by index, dead ones included: the one that runs now. */
    static int liveTaskManager = 0;
    static int taskManagersStarted = 1;

    static void killTaskManager() throws Exception {
        services.flink.terminateTaskManager(liveTaskManager).get(60, TimeUnit.SECONDS);
    }

    static void startTaskManager() throws Exception {
        services.flink.startTaskManager();
        liveTaskManager = taskManagersStarted++;
    }

    /** The production defaults; only the checkpoint interval is shorter, so the test takes less time. */
    static Map<String, String> settings() {
        return Map.of("checkpoint.interval", "2s");
    }

    static String newTopic(String prefix) {
        String topic = prefix + "-" + Long.toHexString(System.nanoTime());
        services.createTopic(topic, PARTITIONS);
        return topic;
    }

    static JobClient submit(IntegrationServices.Run run) throws Exception {
        return services.submitProductionShaped(run, work.resolve("checkpoints-" + run.name()), PARALLELISM,
                "behavior-cep production shape " + run.name());
    }

    static void awaitRunning(JobClient job) throws Exception {
        try {
            Await.until("the job and all its tasks running", WAIT, () -> IntegrationServices.allRunning(services.graph(job.getJobID())));
        } catch (AssertionError e) {
            var failure = services.graph(job.getJobID()).getFailureInfo();
            if (failure != null) System.out.println("the job failed: " + failure.getExceptionAsString());
            throw e;
        }
    }

    static void quietFor(Duration d) throws InterruptedException {
        Thread.sleep(d.toMillis()); // the point of the test: nothing arrives for this long
    }

    /** Records written to each events topic: the job must find exactly these. */
    static final Map<String, Integer> PRODUCED = new java.util.concurrent.ConcurrentHashMap<>();

    /** Writes input[from, to) and checks every send: a record the broker did not take would look like one the job lost. */
    static void produce(String topic, int from, int to) throws Exception {
        List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer = services.producer()) {
            for (TrafficGenerator.GeneratedRecord r : input.subList(from, to)) {
                sent.add(producer.send(new ProducerRecord<>(topic, r.key(), r.value())));
            }
            producer.flush();
        }
        for (java.util.concurrent.Future<?> f : sent) f.get(30, TimeUnit.SECONDS);
        PRODUCED.merge(topic, to - from, Integer::sum);
    }

    /** Every partition read to its end and the offsets committed by a completed checkpoint. */
    static void awaitCaughtUp(IntegrationServices.Run run, String topic, JobClient job) throws Exception {
        Map<TopicPartition, Long> end = services.endOffsets(topic, PARTITIONS);
        assertThat(end.values().stream().mapToLong(Long::longValue).sum()).as("records in " + topic)
                .isEqualTo((long) PRODUCED.getOrDefault(topic, 0));
        services.awaitCaughtUp(run, end, job.getJobID(), WAIT);
    }

    static void awaitAlertsInPostgres(IntegrationServices.Run run, JobClient job, int atLeast) throws Exception {
        try {
            Await.until("alerts in PostgreSQL", WAIT, () -> IntegrationServices.rows(run.jdbcUrl(), "SELECT alert_id FROM alerts").size() >= atLeast);
        } catch (AssertionError e) {
            System.out.println(diagnostics(run, job));
            throw e;
        }
    }

    /** Where the records went and where each operator's event time stands, for a failure message. */
    static String diagnostics(IntegrationServices.Run run, JobClient job) throws Exception {
        StringBuilder b = new StringBuilder("diagnostics of " + run.name() + ": late " + read(run.config().lateTopic()).size()
                + ", dead letters " + read(run.config().dlqTopic()).size() + ", alerts in Kafka " + read(run.config().alertsTopic()).size() + "\n");
        String rest = services.flink.getRestAddress().get(10, TimeUnit.SECONDS).toString();
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        JsonNode vertices = JSON.readTree(http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(rest + "/jobs/" + job.getJobID())).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).body()).path("vertices");
        for (JsonNode v : vertices) {
            String wm = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(rest + "/jobs/" + job.getJobID() + "/vertices/"
                    + v.path("id").asText() + "/watermarks")).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            b.append("  ").append(v.path("name").asText()).append(": ").append(wm).append("\n");
        }
        return b.toString();
    }

    static void compareWithReplay(IntegrationServices.Run run, JobClient job) throws Exception {
        ReplayRunner.Result replay = ReplayOracle.replay(run.config(), inputFile, work, PARALLELISM);
        // the job's event time at the end reaches at least the last event less the out-of-orderness
        long cut = lastEventTime - OUT_OF_ORDERNESS - 1;
        Map<String, Long> replayAlerts = new TreeMap<>();
        for (JsonNode a : replay.alerts) replayAlerts.put(a.get("alert_id").asText(), Instant.parse(a.get("detected_at").asText()).toEpochMilli());
        for (JsonNode a : replay.pendingAlerts) replayAlerts.put(a.get("alert_id").asText(), Instant.parse(a.get("detected_at").asText()).toEpochMilli());
        Set<String> expectedAlerts = new TreeSet<>();
        replayAlerts.forEach((id, at) -> {
            if (at <= cut) expectedAlerts.add(id);
        });
        Map<String, Long> replaySegments = new TreeMap<>();
        for (JsonNode u : replay.segments) replaySegments.put(ReplayOracle.segmentKey(u), Instant.parse(u.get("at").asText()).toEpochMilli());
        for (JsonNode u : replay.pendingSegments) replaySegments.put(ReplayOracle.segmentKey(u), Instant.parse(u.get("at").asText()).toEpochMilli());
        Set<String> expectedSegments = new TreeSet<>();
        replaySegments.forEach((k, at) -> {
            if (at <= cut) expectedSegments.add(k);
        });

        // output up to the cut is committed within a few checkpoints of the catch-up; the figures are
        // printed whether it comes or not, the assertions below say what is missing
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!postgresAlerts(run).containsAll(expectedAlerts) && System.nanoTime() < deadline) Thread.sleep(500);
        Outcome o = outcome(run);
        Set<String> pendingAlerts = new TreeSet<>(o.kafkaAlerts());
        pendingAlerts.removeAll(expectedAlerts);
        Set<String> pendingSegments = new TreeSet<>(o.segmentUpdates());
        pendingSegments.removeAll(expectedSegments);
        System.out.printf("%s: %d records on %d partitions, parallelism %d; late %d, dead letters %d; alerts: replay %d (%d up to the job's "
                        + "event time %s), Kafka %d, PostgreSQL %d, decided past it by idle-advance %d; segment updates: replay %d (%d up to it), "
                        + "Kafka %d, past it %d; restarts %d%n",
                o.name(), RECORDS, PARTITIONS, PARALLELISM, o.late(), o.deadLetters(), replayAlerts.size(), expectedAlerts.size(),
                Instant.ofEpochMilli(cut), o.kafkaAlerts().size(), o.postgresAlerts().size(), pendingAlerts.size(), replaySegments.size(),
                expectedSegments.size(), o.segmentUpdates().size(), pendingSegments.size(),
                IntegrationServices.maxAttempt(services.graph(job.getJobID())));

        printDifferences(replay, o.kafkaAlerts(), expectedAlerts, run);
        Set<String> segmentsMissing = new TreeSet<>(expectedSegments);
        segmentsMissing.removeAll(o.segmentUpdates());
        Set<String> segmentsUnknown = new TreeSet<>(o.segmentUpdates());
        segmentsUnknown.removeAll(replaySegments.keySet());
        segmentsMissing.stream().limit(20).forEach(k -> System.out.println("  segment update missing from the job: " + k));
        segmentsUnknown.stream().limit(20).forEach(k -> System.out.println("  segment update not in replay: " + k));
        assertThat(o.late()).as("events sent to behavior.late (none is late in the input)").isZero();
        assertThat(o.deadLetters()).as("dead letters (the input is valid)").isZero();
        assertThat(expectedAlerts).as("replay's alerts up to the cut").hasSizeGreaterThan(50);
        Set<String> kafkaUpToCut = ReplayOracle.upTo(o.kafkaAlerts(), replayAlerts, cut);
        assertThat(kafkaUpToCut).as("alerts in Kafka (read_committed) up to the job's event time").isEqualTo(expectedAlerts);
        assertThat(ReplayOracle.upTo(o.postgresAlerts(), replayAlerts, cut)).as("alerts in PostgreSQL up to the job's event time").isEqualTo(expectedAlerts);
        assertThat(ReplayOracle.upTo(o.segmentUpdates(), replaySegments, cut)).as("segment updates in Kafka up to the job's event time").isEqualTo(expectedSegments);
        // past the cut: decided by idle-advance while the test waited; each must be one replay decided too
        assertThat(replayAlerts.keySet()).as("every alert of the job is one of replay's").containsAll(o.kafkaAlerts());
        assertThat(replayAlerts.keySet()).as("every alert row is one of replay's").containsAll(o.postgresAlerts());
        assertThat(replaySegments.keySet()).as("every segment update of the job is one of replay's").containsAll(o.segmentUpdates());
    }

    /** The alerts replay has up to the cut that the job did not write, and those the job wrote that replay does not have. */
    static void printDifferences(ReplayRunner.Result replay, Set<String> written, Set<String> expected, IntegrationServices.Run run) throws Exception {
        Map<String, JsonNode> byId = new HashMap<>();
        for (JsonNode a : replay.alerts) byId.put(a.get("alert_id").asText(), a);
        for (JsonNode a : replay.pendingAlerts) byId.put(a.get("alert_id").asText(), a);
        for (String id : expected) {
            if (!written.contains(id)) System.out.println("  missing from the job: " + brief(byId.get(id)));
        }
        for (ConsumerRecord<byte[], byte[]> r : read(run.config().alertsTopic())) {
            JsonNode a = JSON.readTree(TopicReader.value(r));
            if (!byId.containsKey(a.get("alert_id").asText())) System.out.println("  not in replay: " + brief(a));
        }
    }

    static String brief(JsonNode a) {
        return a.get("pattern_id").asText() + " v" + a.get("pattern_version").asText() + " " + a.get("user_id").asText() + " at "
                + a.get("detected_at").asText() + " matched " + a.get("matched");
    }

    static Set<String> postgresAlerts(IntegrationServices.Run run) throws Exception {
        return new TreeSet<>(IntegrationServices.rows(run.jdbcUrl(), "SELECT alert_id FROM alerts"));
    }

    static Outcome outcome(IntegrationServices.Run run) throws Exception {
        JobConfig c = run.config();
        Set<String> kafkaAlerts = new TreeSet<>();
        List<String> alertList = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : read(c.alertsTopic())) {
            String id = JSON.readTree(TopicReader.value(r)).get("alert_id").asText();
            kafkaAlerts.add(id);
            alertList.add(id);
        }
        assertThat(alertList).as("no alert twice in Kafka").hasSameSizeAs(kafkaAlerts);
        Set<String> segments = new TreeSet<>();
        for (ConsumerRecord<byte[], byte[]> r : read(c.segmentsTopic())) segments.add(ReplayOracle.segmentKey(JSON.readTree(TopicReader.value(r))));
        List<String> pgAlerts = IntegrationServices.rows(run.jdbcUrl(), "SELECT alert_id FROM alerts");
        return new Outcome(run.name(), kafkaAlerts, new TreeSet<>(pgAlerts), segments, read(c.lateTopic()).size(), read(c.dlqTopic()).size());
    }

    static List<ConsumerRecord<byte[], byte[]>> read(String topic) {
        try (TopicReader reader = new TopicReader(services.kafka.bootstrapServers(), topic)) {
            return reader.readToEnd(Duration.ofSeconds(30));
        }
    }

}
