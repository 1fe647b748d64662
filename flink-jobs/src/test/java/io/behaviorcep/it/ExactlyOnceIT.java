package io.behaviorcep.it;

import io.behaviorcep.BehaviorCepJob;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.local.TrafficGenerator;
import io.behaviorcep.KafkaIO;
import io.behaviorcep.testing.Events;
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
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The exactly-once proof under faults: the same input, run once without failures and once with at
 * least five failures of five kinds injected at seeded pseudo-random points of ONE run, must leave
 * exactly the same output in Kafka (read_committed) and in PostgreSQL: nothing lost, nothing twice.
 *
 * <p>The faults, in the order of a seeded plan (the first is always the task failure, see below):
 * <ol>
 *   <li>{@link Kind#TASK_EXCEPTION}: an operator throws while processing a record;</li>
 *   <li>{@link Kind#FAIL_IN_SNAPSHOT}: an operator throws from {@code snapshotState}, i.e. during a checkpoint;</li>
 *   <li>{@link Kind#FAIL_AFTER_CHECKPOINT_COMPLETE}: an operator throws from {@code notifyCheckpointComplete},
 *       right after a checkpoint completed, while the sinks are committing it;</li>
 *   <li>{@link Kind#DB_OUTAGE}: the embedded PostgreSQL server is stopped (fast shutdown: connections
 *       cut, new ones refused; checked) for a seeded 2-4 s, then started again;</li>
 *   <li>{@link Kind#BROKER_RESTART}: the in-process KRaft broker is shut down (its port refuses
 *       connections; checked) for a seeded 1-3 s and started again on the same port and log directories.</li>
 * </ol>
 * A fault is armed only once a checkpoint completed after the previous one was over (so faults do not
 * overlap), and fires a seeded number of records later. The seed is printed; {@code -Dchaos.seed=N}
 * repeats a run's plan.
 *
 * <p>Pending absences after a restore: a few "quiet" users view and add to cart early and then send
 * nothing more. The first fault is a task failure after a checkpoint holding their partial matches
 * completed and before event time reached their deadlines; their cart_abandoned alerts must still
 * come, from the restored state, with none of their events read again.
 *
 * <p>Both runs use the production connectors (KafkaIO, PostgresSink) in bounded mode: they read the
 * input topic up to its end, the final watermark decides every absence still pending, and a final
 * checkpoint commits the rest. The only test code in the graph is one map operator behind the
 * {@code afterParse} seam, present in both runs: in the second run it paces the stream so that it
 * spans many checkpoints, and injects the operator faults.
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
    private static final int RECORDS = 18_000;
    /** Simulated time per generated record: 0.25 s, so a 15-minute absence spans 3,600 records. */
    private static final double SIMULATED_SECONDS_PER_RECORD = 0.25;
    /** Generated records before the quiet users' events. */
    private static final int QUIET_AFTER = 300;
    private static final List<String> QUIET_USERS = List.of("quiet-1", "quiet-2", "quiet-3", "quiet-4", "quiet-5", "quiet-6");
    private static final Duration OUT_OF_ORDERNESS = Duration.ofMinutes(1);

    private static IntegrationServices services;
    private static String eventsTopic;
    private static TrafficGenerator generator;
    /** When each quiet user's cart-abandonment absence ends (their add + 15 min), event time. */
    private static long quietDeadline;
    /**
     * The messaging policy of both runs: cart-abandonment on a channel of its own without rules (the
     * checks on its alerts and outcomes below stay as they are); every other pattern capped at one
     * alert an hour, and held through quiet hours, which the shoppers of the Americas are in during the
     * input (08:00-09:15 UTC) and released at the end of input: decisions kept in state and timers
     * across the restores.
     */
    private static final String POLICY = """
            kind: policy
            timezone_fallback: UTC
            default_channel: others
            channels:
              - name: carts
                patterns: [cart-abandonment]
              - name: others
                cap: {max: 1, per: 1h}
                quiet_hours: {from: "22:00", to: "08:00", action: delay}
            """;
    private static Path policyFile;

    @BeforeAll
    static void produceInput() throws Exception {
        services = IntegrationServices.start(2);
        policyFile = Files.createTempFile("exactly-once-policy", ".yaml");
        Files.writeString(policyFile, POLICY);
        eventsTopic = "eo-events-" + Long.toHexString(System.nanoTime());
        services.createTopic(eventsTopic, PARTITIONS);
        generator = new TrafficGenerator(new TrafficGenerator.Config(20250106L, 200, 100,
                Instant.parse("2025-01-06T08:00:00Z"), 100 * SIMULATED_SECONDS_PER_RECORD, 0.004, 0.01, 0));
        Map<String, Integer> kinds = new TreeMap<>();
        Set<String> users = new HashSet<>();
        try (KafkaProducer<byte[], byte[]> producer = services.producer()) {
            List<TrafficGenerator.GeneratedRecord> records = new ArrayList<>(generator.nextBatch(QUIET_AFTER));
            // the quiet users: a view and an add, then nothing; their absences end 15 minutes of event time later
            Instant now = generator.simulatedNow();
            for (String user : QUIET_USERS) {
                records.add(quietRecord(Events.viewed(user, now.minusSeconds(20))));
                records.add(quietRecord(Events.added(user, now)));
            }
            quietDeadline = now.plus(Duration.ofMinutes(15)).toEpochMilli();
            records.addAll(generator.nextBatch(RECORDS - QUIET_AFTER));
            for (TrafficGenerator.GeneratedRecord r : records) {
                producer.send(new ProducerRecord<>(eventsTopic, r.key(), r.value())); // keyed by user: the default partitioner spreads users
                if (r.kind() == TrafficGenerator.Kind.EVENT) {
                    JsonNode e = JSON.readTree(r.value());
                    kinds.merge(e.path("event").asText(e.path("type").asText()), 1, Integer::sum);
                    users.add(r.keyString());
                }
            }
            producer.flush();
        }
        System.out.printf("input: %d records (%d malformed, %d duplicates, %d of %d quiet users) of %d users on %d partitions, simulated %s .. %s; events %s%n",
                generator.sent().get() + 2 * QUIET_USERS.size(), generator.malformed().get(), generator.duplicates().get(),
                2 * QUIET_USERS.size(), QUIET_USERS.size(), users.size(), PARTITIONS,
                generator.config().simulatedStart(), generator.simulatedNow(), kinds);
    }

    private static TrafficGenerator.GeneratedRecord quietRecord(com.fasterxml.jackson.databind.node.ObjectNode event) {
        return new TrafficGenerator.GeneratedRecord(event.get("userId").asText().getBytes(StandardCharsets.UTF_8),
                Events.bytes(event), TrafficGenerator.Kind.EVENT);
    }

    @AfterAll
    static void stop() throws Exception {
        if (services != null) services.close();
    }

    @Test
    void fiveKindsOfFailureInOneRunChangeNoOutputAndPendingAbsencesFireAfterTheRestore() throws Exception {
        long seed = Long.getLong("chaos.seed", System.nanoTime() % 100_000);
        Outcome clean = run("eo_clean", null);
        List<Fault> plan = Chaos.plan(seed);
        System.out.printf("%nfault plan (seed %d, -Dchaos.seed=%d repeats it): %s%n", seed, seed, plan);
        Outcome failed = run("eo_faults", plan);

        Map<Kind, Long> injected = new TreeMap<>();
        Chaos.LOG.forEach(f -> injected.merge(f.kind(), 1L, Long::sum));
        System.out.printf("%nfaults injected in run 2: %d %s; restarts (highest task attempt) %d; checkpoints completed %d vs %d, failed %d vs %d%n",
                Chaos.LOG.size(), injected, failed.maxAttempt, clean.completedCheckpoints, failed.completedCheckpoints,
                clean.failedCheckpoints, failed.failedCheckpoints);
        Chaos.LOG.forEach(f -> System.out.println("  " + f));
        System.out.printf("pending absences: %d quiet users, deadline %s; a checkpoint holding their partial matches completed: %d; "
                        + "first restore's fault at event time %s (watermark at most %s); their events read again after it: %d; "
                        + "their cart_abandoned alerts in run 2: %s%n",
                QUIET_USERS.size(), Instant.ofEpochMilli(quietDeadline), Chaos.COVERING_CHECKPOINT.get(),
                Instant.ofEpochMilli(Chaos.MAX_TS_AT_FIRST_FAULT.get()),
                Instant.ofEpochMilli(Chaos.MAX_TS_AT_FIRST_FAULT.get() - OUT_OF_ORDERNESS.toMillis()),
                Chaos.QUIET_EVENTS_REPLAYED.get(), failed.quietAlerts);

        assertThat(clean.maxAttempt).as("run 1 ran without restarts").isZero();
        for (Kind k : Kind.values()) assertThat(injected).as("faults of kind " + k).containsKey(k);
        assertThat(Chaos.LOG).as("faults injected in one run").hasSizeGreaterThanOrEqualTo(5);
        assertThat(Chaos.LOG.stream().filter(f -> f.kind() == Kind.DB_OUTAGE).allMatch(f -> f.verifiedDown()))
                .as("PostgreSQL refused connections during its outage").isTrue();
        assertThat(Chaos.LOG.stream().filter(f -> f.kind() == Kind.BROKER_RESTART).allMatch(f -> f.verifiedDown()))
                .as("the broker's port refused connections while it was down").isTrue();
        assertThat(failed.maxAttempt).as("the job restarted and redeployed its tasks").isGreaterThanOrEqualTo(2);
        // a database outage or broker restart of seconds is ridden out: the task attempt is the same at the next
        // fault (an operator fault records its attempt before it makes the job restart) or at the end
        for (int i = 0; i < Chaos.LOG.size(); i++) {
            Injected f = Chaos.LOG.get(i);
            if (f.kind() != Kind.DB_OUTAGE && f.kind() != Kind.BROKER_RESTART) continue;
            int attemptAfter = i + 1 < Chaos.LOG.size() ? Chaos.LOG.get(i + 1).attempt() : failed.maxAttempt;
            assertThat(attemptAfter).as(f.kind() + " made the job restart").isEqualTo(f.attempt());
        }
        assertThat(failed.recordsAfterRestart).as("input was replayed after the restores").isPositive();
        // pending absences: decided after the restore, from restored state alone
        assertThat(Chaos.COVERING_CHECKPOINT.get()).as("a checkpoint held the quiet users' partial matches before the first fault").isPositive();
        assertThat(Chaos.LOG.get(0).kind()).isEqualTo(Kind.TASK_EXCEPTION);
        assertThat(Chaos.MAX_TS_AT_FIRST_FAULT.get() - OUT_OF_ORDERNESS.toMillis())
                .as("event time had not reached the quiet users' deadline when the first restore began").isLessThan(quietDeadline);
        assertThat(Chaos.QUIET_EVENTS_REPLAYED.get()).as("quiet users' events read again after a restore").isZero();
        assertThat(failed.quietAlerts).as("cart_abandoned alerts of the quiet users after the restore").containsOnlyKeys(QUIET_USERS);
        assertThat(failed.quietAlerts.values()).allMatch(n -> n == 1);

        List<String> differences = new ArrayList<>();
        compare("alerts topic (JSON documents)", clean.alerts, failed.alerts, differences);
        compare("segments topic (key + JSON)", clean.segments, failed.segments, differences);
        compare("dlq topic (reason, source, bytes)", clean.deadLetters, failed.deadLetters, differences);
        compare("late topic", clean.late, failed.late, differences);
        compare("table alerts (alert_id, document)", clean.alertRows, failed.alertRows, differences);
        compare("table segment_events (all but recorded_at)", clean.segmentEventRows, failed.segmentEventRows, differences);
        compare("table user_segments (all columns)", clean.userSegmentRows, failed.userSegmentRows, differences);
        compare("outcomes topic (key + JSON)", clean.outcomes, failed.outcomes, differences);
        compare("table outcomes (all but recorded_at)", clean.outcomeRows, failed.outcomeRows, differences);
        compare("alert-decisions topic (key + JSON)", clean.alertDecisions, failed.alertDecisions, differences);
        compare("table alert_decisions (all columns)", clean.alertDecisionRows, failed.alertDecisionRows, differences);
        long compared = clean.alerts.size() + clean.segments.size() + clean.deadLetters.size() + clean.late.size()
                + clean.alertRows.size() + clean.segmentEventRows.size() + clean.userSegmentRows.size()
                + clean.outcomes.size() + clean.outcomeRows.size() + clean.alertDecisions.size() + clean.alertDecisionRows.size();
        System.out.printf("records compared: %d per run; differences: %d%n", compared, differences.size());
        differences.stream().limit(40).forEach(d -> System.out.println("  " + d));

        // outputs worth comparing: many alerts, segment changes and dead letters
        assertThat(clean.alerts.size()).as("alerts").isGreaterThan(20);
        assertThat(clean.alertsPerPattern.getOrDefault("cart-abandonment", 0L)).as("cart-abandonment alerts").isGreaterThan(20);
        assertThat(clean.segments.size()).as("segment updates").isGreaterThan(20);
        assertThat(clean.deadLetters).as("dead letters").hasSize((int) generator.malformed().get());
        assertThat(clean.late).as("no late records in this input").isEmpty();
        assertThat(clean.quietAlerts).as("run 1: the quiet users' alerts").containsOnlyKeys(QUIET_USERS);
        for (Outcome o : List.of(clean, failed)) {
            // within each run, PostgreSQL holds exactly what Kafka has: one row per alert, one history row per update
            assertThat(o.alertRows).as(o.name + ": alert rows vs alerts on Kafka").hasSize(o.alerts.size());
            assertThat(o.segmentEventRows).as(o.name + ": segment_events rows vs updates on Kafka").hasSize(o.segments.size());
            assertThat(o.pgDocumentsEqualKafka).as(o.name + ": every alert document in PostgreSQL equals the one on Kafka").isTrue();
            assertThat(o.openTransactionTail).as(o.name + ": offsets behind an open transaction").isZero();
            assertThat(o.deletedRecords).as(o.name + ": records the broker deleted from the output topics").isZero();
            // cart-abandonment has a goal: each of its alerts has one outcome, decided by the end of the input
            assertThat(o.outcomes).as(o.name + ": outcomes vs cart-abandonment alerts").hasSize(o.alertsPerPattern.get("cart-abandonment").intValue());
            assertThat(o.outcomeRows).as(o.name + ": outcome rows vs outcomes on Kafka").hasSize(o.outcomes.size());
            assertThat(o.alertDecisionRows).as(o.name + ": alert_decisions rows vs decisions on Kafka").hasSize(o.alertDecisions.size());
        }
        // the policy held alerts back: capped ones, and ones delayed through quiet hours and released at the end
        System.out.printf("messaging policy decisions per reason: %s%n", clean.alertDecisions.stream()
                .map(r -> r.replaceAll(".*\"reason\":\"([a-z_]+)\".*", "$1")).collect(java.util.stream.Collectors.groupingBy(r -> r, TreeMap::new,
                        java.util.stream.Collectors.counting())));
        assertThat(clean.alertDecisions).as("decisions of the messaging policy")
                .anyMatch(r -> r.contains("\"reason\":\"quiet_hours_delayed\""))
                .anyMatch(r -> r.contains("\"reason\":\"quiet_hours_released\""));
        assertThat(clean.outcomes).as("some decisions converted, some did not")
                .anyMatch(r -> r.contains("\"converted\":true")).anyMatch(r -> r.contains("\"converted\":false"));
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
        int maxAttempt;
        long recordsAfterRestart;
        long completedCheckpoints;
        long failedCheckpoints;
        long openTransactionTail;
        long deletedRecords;
        boolean pgDocumentsEqualKafka;
        Map<String, Long> alertsPerPattern;
        Map<String, Integer> quietAlerts;
        List<String> alerts;
        List<String> segments;
        List<String> deadLetters;
        List<String> late;
        List<String> alertRows;
        List<String> segmentEventRows;
        List<String> userSegmentRows;
        List<String> outcomes;
        List<String> outcomeRows;
        List<String> alertDecisions;
        List<String> alertDecisionRows;
    }

    /** @param plan the faults to inject; null for the failure-free run */
    private static Outcome run(String name, List<Fault> plan) throws Exception {
        Chaos.reset(plan);
        IntegrationServices.Run run = services.newRun(name, eventsTopic, Map.of(
                "checkpoint.interval", "500ms",
                "events.max-out-of-orderness", OUT_OF_ORDERNESS.toMinutes() + "m",
                "events.idle-advance", "false",
                "policy.file", policyFile.toString(),
                "parallelism", "2"));
        Configuration conf = new Configuration();
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 20);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(200));
        StreamExecutionEnvironment env = services.env(2, conf);
        BehaviorCepJob.prepare(env, run.config(), new FaultInjectingKafkaIO(run.config()));

        long started = System.nanoTime();
        JobClient job = env.executeAsync("behavior-cep exactly-once " + name);
        CompletableFuture<JobExecutionResult> done = job.getJobExecutionResult();
        // the external faults are injected from here, when the plan says they are due
        while (!done.isDone() && System.nanoTime() - started < TimeUnit.SECONDS.toNanos(240)) {
            if (Chaos.claim(Kind.DB_OUTAGE)) dbOutage();
            else if (Chaos.claim(Kind.BROKER_RESTART)) brokerRestart();
            else LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
        JobExecutionResult result = done.get(60, TimeUnit.SECONDS);
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        AccessExecutionGraph graph = services.graph(result.getJobID());
        assertThat(graph.getState()).isEqualTo(JobStatus.FINISHED);

        Outcome o = new Outcome();
        o.name = name;
        o.maxAttempt = Math.max(IntegrationServices.maxAttempt(graph), Chaos.MAX_ATTEMPT.get());
        o.recordsAfterRestart = Chaos.RECORDS_IN_LATER_ATTEMPTS.get();
        o.completedCheckpoints = graph.getCheckpointStatsSnapshot().getCounts().getNumberOfCompletedCheckpoints();
        o.failedCheckpoints = graph.getCheckpointStatsSnapshot().getCounts().getNumberOfFailedCheckpoints();

        JobConfig c = run.config();
        Duration wait = Duration.ofSeconds(30);
        try (TopicReader alerts = new TopicReader(services.kafka.bootstrapServers(), c.alertsTopic());
             TopicReader segments = new TopicReader(services.kafka.bootstrapServers(), c.segmentsTopic());
             TopicReader dlq = new TopicReader(services.kafka.bootstrapServers(), c.dlqTopic());
             TopicReader late = new TopicReader(services.kafka.bootstrapServers(), c.lateTopic());
             TopicReader outcomes = new TopicReader(services.kafka.bootstrapServers(), c.outcomesTopic());
             TopicReader decisions = new TopicReader(services.kafka.bootstrapServers(), c.alertDecisionsTopic())) {
            o.alertDecisions = decisions.readToEnd(wait).stream().map(r -> TopicReader.key(r) + " " + TopicReader.value(r)).toList();
            o.outcomes = outcomes.readToEnd(wait).stream().map(r -> TopicReader.key(r) + " " + TopicReader.value(r)).toList();
            o.alerts = TopicReader.values(alerts.readToEnd(wait));
            o.segments = segments.readToEnd(wait).stream().map(r -> TopicReader.key(r) + " " + TopicReader.value(r)).toList();
            o.deadLetters = dlq.readToEnd(wait).stream().map(ExactlyOnceIT::deadLetter).toList();
            o.late = TopicReader.values(late.readToEnd(wait));
            o.openTransactionTail = alerts.openTransactionTail() + segments.openTransactionTail()
                    + dlq.openTransactionTail() + late.openTransactionTail() + outcomes.openTransactionTail() + decisions.openTransactionTail();
        }
        for (String topic : List.of(c.alertsTopic(), c.segmentsTopic(), c.dlqTopic(), c.lateTopic(), c.outcomesTopic(), c.alertDecisionsTopic())) {
            o.deletedRecords += services.deletedRecords(topic);
        }
        o.alertRows = IntegrationServices.rows(run.jdbcUrl(), "SELECT alert_id, document FROM alerts ORDER BY alert_id");
        o.segmentEventRows = IntegrationServices.rows(run.jdbcUrl(),
                "SELECT event_id, user_id, segment, action, reason, at, version, expires_at FROM segment_events ORDER BY event_id");
        o.outcomeRows = IntegrationServices.rows(run.jdbcUrl(),
                "SELECT decision_id, user_id, pattern_id, pattern_version, experiment_id, arm, holdout, decided_at, goal_event, goal_within_ms, "
                        + "converted, converted_at, value, time_to_convert_ms FROM outcomes ORDER BY decision_id");
        o.alertDecisionRows = IntegrationServices.rows(run.jdbcUrl(),
                "SELECT decision_id, alert_id, pattern_id, pattern_version, alert_type, user_id, channel, reason, detected_at, decided_at, "
                        + "release_at, winner_alert_id, document FROM alert_decisions ORDER BY decision_id");
        o.userSegmentRows = IntegrationServices.rows(run.jdbcUrl(),
                "SELECT user_id, segment, member, entered_at, expires_at, reason, version, updated_at FROM user_segments ORDER BY user_id, segment");

        Map<String, JsonNode> kafkaDocs = new TreeMap<>();
        o.alertsPerPattern = new TreeMap<>();
        o.quietAlerts = new TreeMap<>();
        for (String a : o.alerts) {
            JsonNode n = JSON.readTree(a);
            kafkaDocs.put(n.get("alert_id").asText(), n);
            o.alertsPerPattern.merge(n.get("pattern_id").asText(), 1L, Long::sum);
            if (QUIET_USERS.contains(n.get("user_id").asText()) && n.get("alert_type").asText().equals("cart_abandoned")) {
                o.quietAlerts.merge(n.get("user_id").asText(), 1, Integer::sum);
            }
        }
        Map<String, JsonNode> pgDocs = new TreeMap<>();
        for (String row : o.alertRows) {
            int bar = row.indexOf(" | ");
            pgDocs.put(row.substring(0, bar), JSON.readTree(row.substring(bar + 3)));
        }
        o.pgDocumentsEqualKafka = kafkaDocs.equals(pgDocs);

        System.out.printf("run %s (%s): finished in %d ms, %d checkpoints (%d failed), faults injected: %d, max attempt %d; "
                        + "alerts %d %s, segment updates %d, dead letters %d, late %d; PostgreSQL alerts %d, segment_events %d, user_segments %d (members %d)%n",
                name, run.name(), tookMs, o.completedCheckpoints, o.failedCheckpoints, Chaos.LOG.size(), o.maxAttempt,
                o.alerts.size(), o.alertsPerPattern, o.segments.size(), o.deadLetters.size(), o.late.size(),
                o.alertRows.size(), o.segmentEventRows.size(), o.userSegmentRows.size(),
                o.userSegmentRows.stream().filter(r -> r.contains(" | t | ")).count());
        return o;
    }

    /**
     * Stops PostgreSQL for a seeded 2-4 s, then starts it again. Meanwhile committers of completed
     * checkpoints find it unreachable and retry (PostgresSink.PgCommitter).
     */
    private static void dbOutage() {
        long processedAt = Chaos.PROCESSED.get();
        long checkpointAt = Chaos.LAST_COMPLETED.get();
        long t0 = System.nanoTime();
        services.postgres.stop();
        boolean down;
        try (java.sql.Connection ignored = services.postgres.connect()) {
            down = false;
        } catch (java.sql.SQLException expected) {
            down = true;
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(Chaos.dbDownMillis()));
        long checkpointsWithoutDb = Chaos.LAST_COMPLETED.get() - checkpointAt;
        long downMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        services.postgres.restart();
        Chaos.done(new Injected(Kind.DB_OUTAGE, processedAt, checkpointAt, Chaos.MAX_ATTEMPT.get(), down,
                "down " + downMs + " ms, " + checkpointsWithoutDb + " checkpoint(s) completed meanwhile"), Chaos.LAST_COMPLETED.get());
    }

    /** Shuts the broker down for a seeded 1-3 s, then starts it again on the same port and log directories. */
    private static void brokerRestart() {
        long processedAt = Chaos.PROCESSED.get();
        long checkpointAt = Chaos.LAST_COMPLETED.get();
        long t0 = System.nanoTime();
        services.kafka.stopBroker();
        String[] hostPort = services.kafka.bootstrapServers().split(",")[0].split(":");
        boolean down;
        try (java.net.Socket ignored = new java.net.Socket(hostPort[0], Integer.parseInt(hostPort[1]))) {
            down = false;
        } catch (java.io.IOException expected) {
            down = true;
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(Chaos.brokerDownMillis()));
        long stoppedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        services.kafka.startBroker();
        Chaos.done(new Injected(Kind.BROKER_RESTART, processedAt, checkpointAt, Chaos.MAX_ATTEMPT.get(), down,
                "down " + stoppedMs + " ms, ready again after " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) + " ms"),
                Chaos.LAST_COMPLETED.get());
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
    static final class FaultInjectingKafkaIO extends KafkaIO {
        FaultInjectingKafkaIO(JobConfig config) {
            super(config, true);
        }

        @Override
        public DataStream<BehaviorEvent> afterParse(DataStream<BehaviorEvent> events) {
            return events.map(new ChaosMap(), TypeInformation.of(BehaviorEvent.class))
                    .uid("test-failure-injection").name("Test: pace & inject faults");
        }
    }

    /** The kinds of fault of the plan. */
    enum Kind { TASK_EXCEPTION, FAIL_IN_SNAPSHOT, FAIL_AFTER_CHECKPOINT_COMPLETE, DB_OUTAGE, BROKER_RESTART }

    /** One step of the plan: the fault fires {@code afterRecords} records after it is armed. */
    record Fault(Kind kind, long afterRecords) {
        @Override
        public String toString() {
            return kind + " +" + afterRecords;
        }
    }

    /** A fault as it happened. */
    record Injected(Kind kind, long atRecord, long afterCheckpoint, int attempt, boolean verifiedDown, String detail) {
        @Override
        public String toString() {
            return String.format("%-30s at record %6d (all attempts), after checkpoint %3d, in attempt %d%s", kind, atRecord, afterCheckpoint, attempt,
                    (detail.isEmpty() ? "" : "; " + detail)
                            + (kind == Kind.DB_OUTAGE || kind == Kind.BROKER_RESTART ? (verifiedDown ? " (verified: connections refused)" : " (NOT verified down)") : ""));
        }
    }

    /**
     * The plan and what happened, shared by the test thread and the operator (the MiniCluster runs in
     * this JVM, so static state survives task restarts).
     */
    static final class Chaos {
        static final List<Injected> LOG = new CopyOnWriteArrayList<>();
        static final AtomicLong PROCESSED = new AtomicLong();
        static final AtomicLong LAST_COMPLETED = new AtomicLong();
        static final AtomicInteger MAX_ATTEMPT = new AtomicInteger();
        static final AtomicLong RECORDS_IN_LATER_ATTEMPTS = new AtomicLong();
        static final AtomicLong COVERING_CHECKPOINT = new AtomicLong();
        static final AtomicLong MAX_TS = new AtomicLong();
        static final AtomicLong MAX_TS_AT_FIRST_FAULT = new AtomicLong();
        static final AtomicLong QUIET_EVENTS_REPLAYED = new AtomicLong();
        /** Per checkpoint, per subtask: quiet users' events that subtask had processed when it took its snapshot (attempt 0). */
        static final Map<Long, Map<Integer, Integer>> QUIET_IN_SNAPSHOT = new ConcurrentHashMap<>();
        private static volatile List<Fault> plan;
        private static final AtomicInteger NEXT = new AtomicInteger();
        private static final AtomicBoolean FIRING = new AtomicBoolean();
        /** The next fault is armed when a checkpoint above this completes; then it fires after its records. */
        private static volatile long armAfterCheckpoint;
        private static volatile long armedAtRecord = -1;
        private static volatile long brokerDownMillis;
        private static volatile long dbDownMillis;

        static List<Fault> plan(long seed) {
            Random rnd = new Random(seed);
            List<Kind> rest = new ArrayList<>(List.of(Kind.FAIL_IN_SNAPSHOT, Kind.FAIL_AFTER_CHECKPOINT_COMPLETE, Kind.DB_OUTAGE, Kind.BROKER_RESTART));
            Collections.shuffle(rest, rnd);
            List<Fault> p = new ArrayList<>();
            // first a task failure: soon after the quiet users' partial matches are in a checkpoint, well before their deadline
            p.add(new Fault(Kind.TASK_EXCEPTION, rnd.nextInt(400)));
            for (Kind k : rest) p.add(new Fault(k, 150 + rnd.nextInt(750)));
            brokerDownMillis = 1000 + rnd.nextInt(2000);
            dbDownMillis = 2000 + rnd.nextInt(2000);
            return p;
        }

        static long dbDownMillis() {
            return dbDownMillis;
        }

        static long brokerDownMillis() {
            return brokerDownMillis;
        }

        static void reset(List<Fault> newPlan) {
            plan = newPlan;
            LOG.clear();
            PROCESSED.set(0);
            LAST_COMPLETED.set(0);
            MAX_ATTEMPT.set(0);
            RECORDS_IN_LATER_ATTEMPTS.set(0);
            COVERING_CHECKPOINT.set(0);
            MAX_TS.set(0);
            MAX_TS_AT_FIRST_FAULT.set(0);
            QUIET_EVENTS_REPLAYED.set(0);
            QUIET_IN_SNAPSHOT.clear();
            NEXT.set(0);
            FIRING.set(false);
            armAfterCheckpoint = 0;
            armedAtRecord = -1;
        }

        /** True if the next fault of the plan is of this kind and due; then the caller injects it and calls {@link #done}. */
        static boolean claim(Kind kind) {
            List<Fault> p = plan;
            if (p == null || NEXT.get() >= p.size()) return false;
            Fault f = p.get(NEXT.get());
            if (f.kind() != kind || armedAtRecord < 0 || PROCESSED.get() < armedAtRecord + f.afterRecords()) return false;
            if (NEXT.get() == 0) MAX_TS_AT_FIRST_FAULT.set(MAX_TS.get());
            return FIRING.compareAndSet(false, true);
        }

        /** The claimed fault happened; the next one is armed once a checkpoint above {@code checkpoint} completes. */
        static void done(Injected what, long checkpoint) {
            LOG.add(what);
            armAfterCheckpoint = checkpoint;
            armedAtRecord = -1;
            NEXT.incrementAndGet();
            FIRING.set(false);
        }

        static void checkpointCompleted(long id) {
            LAST_COMPLETED.accumulateAndGet(id, Math::max);
            if (COVERING_CHECKPOINT.get() == 0) {
                Map<Integer, Integer> bySubtask = QUIET_IN_SNAPSHOT.get(id);
                if (bySubtask != null && bySubtask.values().stream().mapToInt(Integer::intValue).sum() == 2 * QUIET_USERS.size()) {
                    COVERING_CHECKPOINT.compareAndSet(0, id);
                }
            }
            // the first fault waits for the quiet users' partial matches to be in a completed checkpoint
            if (plan != null && armedAtRecord < 0 && id > armAfterCheckpoint && COVERING_CHECKPOINT.get() > 0) {
                armedAtRecord = PROCESSED.get();
            }
        }
    }

    /**
     * Passes events through unchanged and, in the run with faults, paces them so the input spans many
     * checkpoints (about 100 records per second per subtask from the quiet users until the first
     * fault, 200 while faults remain, unpaced after the last) and injects the operator faults of the
     * plan. The failure-free run is not paced.
     */
    static final class ChaosMap extends RichMapFunction<BehaviorEvent, BehaviorEvent> implements CheckpointedFunction, CheckpointListener {
        private transient int attempt;
        private transient int subtask;
        private transient int quietSeen;

        @Override
        public void open(OpenContext ctx) {
            attempt = getRuntimeContext().getTaskInfo().getAttemptNumber();
            subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
            Chaos.MAX_ATTEMPT.accumulateAndGet(attempt, Math::max);
        }

        @Override
        public void initializeState(FunctionInitializationContext context) {}

        @Override
        public BehaviorEvent map(BehaviorEvent e) {
            long processed = Chaos.PROCESSED.incrementAndGet();
            if (Chaos.plan != null) {
                if (Chaos.LOG.isEmpty() && processed > QUIET_AFTER + 100) {
                    // until the first fault: slow, so that a slow first checkpoint cannot let event time
                    // reach the quiet users' deadline (3,600 records on) before the restore
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
                } else if (Chaos.LOG.size() < Chaos.plan.size()) {
                    // while faults remain: about 200 records per second per subtask, so that however slow
                    // checkpoints and recoveries are on a busy machine, the input outlasts the plan
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
                }
            }
            if (attempt > 0) Chaos.RECORDS_IN_LATER_ATTEMPTS.incrementAndGet();
            if (QUIET_USERS.contains(e.userKey)) {
                quietSeen++;
                if (attempt > 0) Chaos.QUIET_EVENTS_REPLAYED.incrementAndGet();
            }
            if (attempt == 0) Chaos.MAX_TS.accumulateAndGet(e.timestamp, Math::max);
            if (Chaos.claim(Kind.TASK_EXCEPTION)) {
                Chaos.done(new Injected(Kind.TASK_EXCEPTION, Chaos.PROCESSED.get(), Chaos.LAST_COMPLETED.get(), attempt, false, ""),
                        Chaos.LAST_COMPLETED.get());
                throw new IllegalStateException("injected task failure at record " + Chaos.PROCESSED.get());
            }
            return e;
        }

        @Override
        public void snapshotState(FunctionSnapshotContext context) {
            if (attempt == 0) Chaos.QUIET_IN_SNAPSHOT.computeIfAbsent(context.getCheckpointId(), k -> new ConcurrentHashMap<>()).put(subtask, quietSeen);
            if (Chaos.claim(Kind.FAIL_IN_SNAPSHOT)) {
                Chaos.done(new Injected(Kind.FAIL_IN_SNAPSHOT, Chaos.PROCESSED.get(), Chaos.LAST_COMPLETED.get(), attempt, false,
                        "in snapshotState of checkpoint " + context.getCheckpointId()), context.getCheckpointId());
                throw new IllegalStateException("injected failure during checkpoint " + context.getCheckpointId());
            }
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            Chaos.checkpointCompleted(checkpointId);
            if (Chaos.claim(Kind.FAIL_AFTER_CHECKPOINT_COMPLETE)) {
                Chaos.done(new Injected(Kind.FAIL_AFTER_CHECKPOINT_COMPLETE, Chaos.PROCESSED.get(), checkpointId, attempt, false,
                        "in notifyCheckpointComplete of checkpoint " + checkpointId), checkpointId);
                throw new IllegalStateException("injected failure right after checkpoint " + checkpointId + " completed");
            }
        }
    }
}
