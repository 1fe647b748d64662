package io.behaviorcep.it;

import io.behaviorcep.BehaviorCepJob;
import io.behaviorcep.testing.Await;
import io.behaviorcep.testing.IntegrationServices;
import io.behaviorcep.testing.StandaloneFlinkCluster;
import io.behaviorcep.testing.TopicReader;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static io.behaviorcep.testing.Events.added;
import static io.behaviorcep.testing.Events.bytes;
import static io.behaviorcep.testing.Events.ordered;
import static io.behaviorcep.testing.Events.page;
import static io.behaviorcep.testing.Events.viewed;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The job in the production shape: a standalone session cluster of separate JVMs (a JobManager and a
 * TaskManager) whose only classpath is a stock distribution's {@code lib/} (flink-dist's modules plus
 * flink-cep, flink-connector-files, flink-json, flink-csv and log4j; see
 * src/test/flink-cluster-lib/pom.xml), {@code behavior-cep.jar} submitted with the real CLI, the
 * PostgreSQL password only in the TaskManagers' environment, RocksDB state with checkpoints on disk,
 * and the TaskManager killed with SIGKILL in the middle of the stream. The MiniCluster of the other
 * integration tests shares one JVM and one classpath with the test and hides all of that.
 *
 * <p>The input is deterministic: shoppers who view and add a product, a third of whom then order.
 * Every shopper owes one product-interest alert at their add (a view, then an add of the same product
 * within 30 minutes), and those who did not order one cart-abandonment alert at their add + 15 min (no
 * other shipped pattern fires on this traffic), so the expected alerts are known from the input alone. Kafka (read
 * as a read_committed consumer) and the PostgreSQL table {@code alerts} must hold exactly those, each
 * once, after the TaskManager died with uncommitted output and pending absences in its state, and a
 * fresh TaskManager took over from the last checkpoint.
 *
 * <p>The broker and the database run in this JVM ({@link IntegrationServices}); the cluster reaches
 * them over 127.0.0.1. The database asks the job's user for a password (the embedded server trusts
 * everyone else), so the PostgreSQL sink works only if the TaskManager has
 * {@code BEHAVIOR_CEP_JDBC_PASSWORD} in its environment, as the README says.
 *
 * <p>Event time, as in production: the default out-of-orderness (30 s), idle timeout and idle-advance.
 * The shoppers' events are produced in event-time order, paced at 2 minutes of event time per second,
 * and production goes on while the TaskManager is dead: the restored job catches up on a backlog of
 * many minutes of event time spread over 12 partitions, read by 2 subtasks, and no event may be late
 * (event time is tracked per partition in the source; this test asserts the late topic stays empty).
 * The * cluster, logs and checkpoints stay in target/standalone-cluster.
 */
class StandaloneClusterIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PARTITIONS = 12;
    private static final int PARALLELISM = 2;
    private static final int SHOPPERS = 200;
    /** One shopper starts every 15 s of event time. */
    private static final Duration SHOPPER_EVERY = Duration.ofSeconds(15);
    /** Event time per wall-clock second while producing. */
    private static final Duration EVENT_TIME_PER_SECOND = Duration.ofMinutes(2);
    /** The default events.max-out-of-orderness. */
    private static final Duration OUT_OF_ORDERNESS = Duration.ofSeconds(30);
    private static final Duration ABSENCE = Duration.ofMinutes(15);
    /** A day in the past: the parser refuses events more than an hour ahead of the wall clock. */
    private static final Instant T0 = Instant.now().minus(Duration.ofDays(1)).truncatedTo(ChronoUnit.HOURS);
    private static final String JDBC_USER = "behavior_cep";
    private static final String JDBC_PASSWORD = "pw-" + UUID.randomUUID();
    private static final Duration WAIT = Duration.ofSeconds(60);

    private static IntegrationServices services;
    private static IntegrationServices.Run run;
    private static StandaloneFlinkCluster cluster;
    private static String eventsTopic;

    @BeforeAll
    static void startServicesAndCluster() throws Exception {
        long started = System.nanoTime();
        services = IntegrationServices.startWithoutFlink();
        eventsTopic = "sc-events-" + Long.toHexString(System.nanoTime());
        services.createTopic(eventsTopic, PARTITIONS);
        run = services.newRun("sc", eventsTopic, Map.of(
                "checkpoint.interval", "1s",
                "parallelism", Integer.toString(PARALLELISM),
                "jdbc.user", JDBC_USER));
        requirePasswordOfTheJobsUser(run.schema());

        Path home = Path.of("target", "standalone-cluster").toAbsolutePath();
        deleteRecursively(home);
        Map<String, String> flinkConf = new LinkedHashMap<>();
        flinkConf.put("taskmanager.numberOfTaskSlots", Integer.toString(PARALLELISM));
        flinkConf.put("parallelism.default", Integer.toString(PARALLELISM));
        flinkConf.put("jobmanager.memory.process.size", "1024m");
        flinkConf.put("taskmanager.memory.process.size", "1600m");
        flinkConf.put("state.backend.type", "rocksdb");
        flinkConf.put("execution.checkpointing.dir", home.resolve("checkpoints").toUri().toString());
        flinkConf.put("restart-strategy.type", "fixed-delay");
        flinkConf.put("restart-strategy.fixed-delay.attempts", "10");
        flinkConf.put("restart-strategy.fixed-delay.delay", "1 s");
        // a lost TaskManager is noticed in seconds (the defaults take up to a minute)
        flinkConf.put("heartbeat.interval", "1 s");
        flinkConf.put("heartbeat.timeout", "10 s");
        cluster = new StandaloneFlinkCluster(home, Path.of(System.getProperty("behaviorcep.cluster.lib", "target/flink-cluster-lib")), flinkConf);
        try {
            cluster.startJobManager();
            cluster.startTaskManager(taskManagerEnvironment());
            JsonNode overview = cluster.awaitSlots(PARALLELISM, Duration.ofSeconds(90));
            assertThat(overview.path("flink-version").asText()).isEqualTo(StandaloneFlinkCluster.version());
            System.out.printf("standalone cluster up at %s after %d ms (Flink %s, %s)%n", cluster.restUrl(),
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), overview.path("flink-version").asText(), cluster.home());
        } catch (Throwable t) {
            cluster.printLogs(200);
            throw t;
        }
    }

    /** What a TaskManager needs in its environment: the PostgreSQL password, read where the sink connects. */
    private static Map<String, String> taskManagerEnvironment() {
        return Map.of("BEHAVIOR_CEP_JDBC_PASSWORD", JDBC_PASSWORD, "BEHAVIOR_CEP_AUDIT_KEY", "audit-key-" + JDBC_PASSWORD);
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (cluster != null) cluster.close();
        } finally {
            if (services != null) services.close();
        }
    }

    /**
     * The embedded server trusts every connection; make it ask {@link #JDBC_USER} for its password,
     * like a real server, so that a TaskManager without the password cannot write.
     */
    private static void requirePasswordOfTheJobsUser(String schema) throws Exception {
        try (Connection c = services.postgres.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE ROLE " + JDBC_USER + " LOGIN PASSWORD '" + JDBC_PASSWORD + "'");
            st.execute("GRANT USAGE ON SCHEMA " + schema + " TO " + JDBC_USER);
            st.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + schema + " TO " + JDBC_USER);
            st.execute("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA " + schema + " TO " + JDBC_USER);
            var rs = st.executeQuery("SHOW hba_file");
            rs.next();
            Path hba = Path.of(rs.getString(1));
            String rules = "host all " + JDBC_USER + " 127.0.0.1/32 scram-sha-256\n"
                    + "host all " + JDBC_USER + " ::1/128 scram-sha-256\n"
                    + "local all " + JDBC_USER + " scram-sha-256\n";
            Files.writeString(hba, rules + Files.readString(hba));
            st.execute("SELECT pg_reload_conf()");
        }
        Await.until("PostgreSQL to refuse " + JDBC_USER + " without a password", Duration.ofSeconds(10), () -> {
            try (Connection ignored = DriverManager.getConnection(services.postgres.jdbcUrl(), JDBC_USER, "")) {
                return false;
            } catch (SQLException expected) {
                return true;
            }
        });
        try (Connection ignored = DriverManager.getConnection(run.jdbcUrl(), JDBC_USER, JDBC_PASSWORD)) {
            // with it, it may connect
        }
    }

    @Test
    void aTaskManagerKilledMidStreamIsReplacedAndTheAlertsInKafkaAndPostgresAreExactlyTheExpectedOnes() throws Throwable {
        try {
            killAndReplaceTheTaskManagerMidStream();
        } catch (Throwable t) {
            cluster.printLogs(150);
            throw t;
        }
    }

    private void killAndReplaceTheTaskManagerMidStream() throws Exception {
        long t0 = System.nanoTime();
        Traffic traffic = new Traffic();
        Set<String> expected = traffic.expectedAlerts();

        Path jobProperties = cluster.home().resolve("job.properties");
        Properties p = new Properties();
        run.config().asMap().forEach(p::setProperty);
        try (var w = Files.newBufferedWriter(jobProperties)) {
            p.store(w, "behavior-cep settings of StandaloneClusterIT");
        }
        Path jar = Path.of(System.getProperty("behaviorcep.cluster.jar", "target/behavior-cep.jar"));
        String jobId = cluster.submit(jar, BehaviorCepJob.class.getName(), List.of("--config", jobProperties.toString()), Duration.ofSeconds(90));
        Await.until("all tasks of job " + jobId + " running", WAIT, () -> allRunning(jobId));
        JsonNode checkpointConfig = cluster.get("/jobs/" + jobId + "/checkpoints/config");
        System.out.printf("job %s running %d ms into the test; checkpoints: %s%n", jobId, ms(System.nanoTime() - t0), checkpointConfig);
        assertThat(checkpointConfig.path("state_backend").asText()).as("state backend").containsIgnoringCase("RocksDB");
        assertThat(checkpointConfig.path("mode").asText()).as("checkpointing mode").isEqualToIgnoringCase("exactly_once");

        try (TopicReader alerts = new TopicReader(services.kafka.bootstrapServers(), run.config().alertsTopic());
             TopicReader late = new TopicReader(services.kafka.bootstrapServers(), run.config().lateTopic());
             TopicReader dlq = new TopicReader(services.kafka.bootstrapServers(), run.config().dlqTopic());
             KafkaProducer<byte[], byte[]> producer = services.producer()) {
            Thread producing = new Thread(() -> traffic.produce(producer), "paced-producer");
            producing.setDaemon(true);
            producing.start();

            // mid-stream: some alerts committed, more absences pending in state, input still coming
            Await.until("a completed checkpoint and committed alerts", WAIT,
                    () -> completedCheckpoints(jobId) >= 1 && !alerts.poll().isEmpty());
            long before = completedCheckpoints(jobId);
            Await.until("one more checkpoint", WAIT, () -> completedCheckpoints(jobId) > before || traffic.done());
            String oldTaskManager = "taskmanager-1";
            cluster.kill(oldTaskManager);
            long killedAt = System.nanoTime();
            int committedBeforeKill = alerts.poll().size();
            int sentBeforeKill = traffic.sent.get();
            long checkpointsBeforeKill = completedCheckpoints(jobId);
            System.out.printf("killed %s (SIGKILL) %d ms into the test after %d completed checkpoints: %d of %d input records sent, %d of %d alerts committed%n",
                    oldTaskManager, ms(killedAt - t0), checkpointsBeforeKill, sentBeforeKill, traffic.events.size(), committedBeforeKill, expected.size());
            assertThat(traffic.done()).as("the TaskManager died with input still to come").isFalse();
            assertThat(committedBeforeKill).as("alerts committed before the kill").isBetween(1, expected.size() - 1);

            cluster.startTaskManager(taskManagerEnvironment());
            JsonNode restored = Await.until("the job restored from a checkpoint and running on the new TaskManager", Duration.ofSeconds(120),
                    () -> {
                        JsonNode r = cluster.get("/jobs/" + jobId + "/checkpoints").path("latest").path("restored");
                        return allRunningAgain(jobId) ? r : null;
                    },
                    r -> r != null && !r.isMissingNode() && !r.isNull());
            System.out.printf("restored %d ms after the kill: %s%n", ms(System.nanoTime() - killedAt), restored);
            assertThat(restored.path("is_savepoint").asBoolean()).isFalse();
            assertThat(restored.path("external_path").asText()).as("restored from a checkpoint on disk under target/")
                    .contains(cluster.home().resolve("checkpoints").toString());

            producing.join(TimeUnit.SECONDS.toMillis(120));
            assertThat(producing.isAlive()).as("producer still running").isFalse();
            assertThat(traffic.error).as("producer error").isNull();

            List<String> kafkaAlerts = Await.until(expected.size() + " alerts on Kafka (read_committed)", WAIT,
                    () -> TopicReader.values(alerts.poll()), l -> l.size() >= expected.size());
            // two more checkpoints: any duplicate or extra alert would be committed by then
            long now = completedCheckpoints(jobId);
            Await.until("two more checkpoints", WAIT, () -> completedCheckpoints(jobId) >= now + 2);
            kafkaAlerts = TopicReader.values(alerts.poll());
            List<String> pgRows = Await.until(expected.size() + " rows in PostgreSQL alerts", WAIT,
                    () -> IntegrationServices.rows(run.jdbcUrl(), "SELECT alert_id, document FROM alerts ORDER BY alert_id"),
                    r -> r.size() >= expected.size());

            JsonNode job = cluster.get("/jobs/" + jobId);
            JsonNode exceptions = cluster.get("/jobs/" + jobId + "/exceptions");
            JsonNode taskManagers = cluster.get("/taskmanagers");
            System.out.printf("job %s is %s; %d exception(s) in its history, the first: %s; task managers now: %d%n", jobId,
                    job.path("state").asText(), exceptions.path("exceptionHistory").path("entries").size(),
                    exceptions.path("exceptionHistory").path("entries").path(0).path("exceptionName").asText(),
                    taskManagers.path("taskmanagers").size());
            assertThat(job.path("state").asText()).as("job state after the TaskManager was lost").isEqualTo("RUNNING");
            assertThat(exceptions.path("exceptionHistory").path("entries")).as("the failure the job recovered from").isNotEmpty();
            assertThat(cluster.alive("taskmanager-2")).isTrue();

            // exactly the expected alerts, each once, in Kafka ...
            Map<String, JsonNode> kafkaById = new TreeMap<>();
            List<String> kafkaKeys = new ArrayList<>();
            for (String a : kafkaAlerts) {
                JsonNode n = JSON.readTree(a);
                kafkaById.put(n.get("alert_id").asText(), n);
                kafkaKeys.add(alertKey(n));
            }
            assertThat(kafkaKeys).as("alerts on Kafka (read_committed)").doesNotHaveDuplicates();
            assertThat(new TreeSet<>(kafkaKeys)).as("alerts on Kafka (read_committed)").isEqualTo(expected);
            assertThat(kafkaById).as("alert ids on Kafka").hasSize(expected.size());
            // ... and in PostgreSQL, with the same documents
            Map<String, JsonNode> pgById = new TreeMap<>();
            List<String> pgKeys = new ArrayList<>();
            for (String row : pgRows) {
                int bar = row.indexOf(" | ");
                JsonNode n = JSON.readTree(row.substring(bar + 3));
                pgById.put(row.substring(0, bar), n);
                pgKeys.add(alertKey(n));
            }
            assertThat(pgKeys).as("rows of the PostgreSQL table alerts").doesNotHaveDuplicates();
            assertThat(new TreeSet<>(pgKeys)).as("rows of the PostgreSQL table alerts").isEqualTo(expected);
            assertThat(pgById).as("alert documents in PostgreSQL vs Kafka").isEqualTo(kafkaById);
            // every input record was matched: none late, none rejected
            assertThat(TopicReader.values(late.poll())).as("events routed to the late topic").isEmpty();
            assertThat(TopicReader.values(dlq.poll())).as("records routed to the dead-letter topic").isEmpty();
            System.out.printf("%d alerts (%d committed before the kill) in Kafka and PostgreSQL, as expected; test took %d ms%n",
                    expected.size(), committedBeforeKill, ms(System.nanoTime() - t0));
        } finally {
            traffic.stop();
        }
    }

    /** What identifies an alert independently of the run: user, pattern, type and event time. */
    private static String alertKey(JsonNode a) {
        return a.path("user_id").asText() + " " + a.path("pattern_id").asText() + " " + a.path("alert_type").asText()
                + " at " + a.path("detected_at").asText();
    }

    /** The job and all its tasks run, except the bounded ones (no pattern changes to watch) that finished already. */
    private static boolean allRunning(String jobId) throws Exception {
        JsonNode job = cluster.get("/jobs/" + jobId);
        if (!"RUNNING".equals(job.path("state").asText())) return false;
        for (JsonNode v : job.path("vertices")) {
            JsonNode tasks = v.path("tasks");
            if (tasks.path("RUNNING").asInt() + tasks.path("FINISHED").asInt() != v.path("parallelism").asInt()) return false;
        }
        return true;
    }

    /**
     * Every task of the job runs in a later attempt than the first (or finished, the bounded ones).
     * The REST API serves the job from a cache of a few seconds, so right after the kill it can still
     * show the first attempt's tasks as RUNNING; only attempts above 0 show the job back on its feet.
     */
    private static boolean allRunningAgain(String jobId) throws Exception {
        JsonNode job = cluster.get("/jobs/" + jobId);
        if (!"RUNNING".equals(job.path("state").asText())) return false;
        for (JsonNode v : job.path("vertices")) {
            for (JsonNode subtask : cluster.get("/jobs/" + jobId + "/vertices/" + v.path("id").asText()).path("subtasks")) {
                String status = subtask.path("status").asText();
                if (!status.equals("FINISHED") && !(status.equals("RUNNING") && subtask.path("attempt").asInt() > 0)) return false;
            }
        }
        return true;
    }

    private static long completedCheckpoints(String jobId) throws Exception {
        return cluster.get("/jobs/" + jobId + "/checkpoints").path("counts").path("completed").asLong();
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    private static void deleteRecursively(Path dir) throws Exception {
        if (!Files.exists(dir)) return;
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    /**
     * The input: shopper i views a product at T0 + i * 15 s and adds it a minute later; every third
     * orders two minutes after the add. Then one "clock" page view per partition moves event time
     * past the last deadline plus the out-of-orderness, so every pending absence is decided.
     * Produced in event-time order, paced against the wall clock.
     */
    static final class Traffic {
        record Event(String key, Instant at, byte[] value) {}

        final List<Event> events = new ArrayList<>();
        final Map<String, Instant> deadlines = new HashMap<>();
        /** Each shopper's add: where their product-interest alert is decided. */
        final Map<String, Instant> interests = new HashMap<>();
        final AtomicInteger sent = new AtomicInteger();
        volatile Throwable error;
        private final Object lock = new Object();
        private boolean stopped;

        Traffic() {
            Instant last = T0;
            for (int i = 0; i < SHOPPERS; i++) {
                String user = String.format("sc-shopper-%03d", i);
                Instant view = T0.plus(SHOPPER_EVERY.multipliedBy(i));
                Instant add = view.plus(Duration.ofMinutes(1));
                add(user, viewed(user, view));
                add(user, added(user, add));
                interests.put(user, add);
                if (i % 3 == 0) {
                    add(user, ordered(user, add.plus(Duration.ofMinutes(2))));
                } else {
                    deadlines.put(user, add.plus(ABSENCE));
                }
                last = add.plus(ABSENCE);
            }
            Instant clock = last.plus(OUT_OF_ORDERNESS).plus(Duration.ofMinutes(2));
            for (int partition = 0; partition < PARTITIONS; partition++) {
                String user = IntegrationServices.keyOnPartition("sc-clock", partition, PARTITIONS);
                add(user, page(user, clock));
            }
            events.sort(Comparator.comparing(Event::at)); // stable: a shopper's events keep their order
        }

        private void add(String user, ObjectNode event) {
            events.add(new Event(user, Instant.parse(event.get("timestamp").asText()), bytes(event)));
        }

        /** One product-interest alert per shopper at the add; one cart-abandonment alert per shopper who did not order, at the add + 15 min. */
        Set<String> expectedAlerts() {
            Set<String> s = new TreeSet<>();
            interests.forEach((user, at) -> s.add(user + " product-interest product_interest at " + at));
            deadlines.forEach((user, at) -> s.add(user + " cart-abandonment cart_abandoned at " + at));
            return s;
        }

        void produce(KafkaProducer<byte[], byte[]> producer) {
            try {
                long start = System.nanoTime();
                double nanosPerEventNano = 1.0 / (EVENT_TIME_PER_SECOND.toNanos() / 1e9);
                for (Event e : events) {
                    long due = start + (long) (Duration.between(T0, e.at()).toNanos() * nanosPerEventNano);
                    while (true) {
                        synchronized (lock) {
                            if (stopped) return;
                            long wait = due - System.nanoTime();
                            if (wait <= 0) break;
                            TimeUnit.NANOSECONDS.timedWait(lock, Math.min(wait, TimeUnit.MILLISECONDS.toNanos(20)));
                        }
                    }
                    producer.send(new ProducerRecord<>(eventsTopic, e.key().getBytes(StandardCharsets.UTF_8), e.value()))
                            .get(10, TimeUnit.SECONDS);
                    sent.incrementAndGet();
                }
                producer.flush();
            } catch (Throwable t) {
                error = t;
            }
        }

        boolean done() {
            return sent.get() == events.size();
        }

        void stop() {
            synchronized (lock) {
                stopped = true;
                lock.notifyAll();
            }
        }
    }
}
