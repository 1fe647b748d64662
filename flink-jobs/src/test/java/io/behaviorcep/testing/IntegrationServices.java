package io.behaviorcep.testing;

import io.behaviorcep.config.JobConfig;
import io.behaviorcep.local.EmbeddedKafka;
import io.behaviorcep.local.EmbeddedPostgresDb;
import io.behaviorcep.sink.SqlMigrations;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.runtime.execution.ExecutionState;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.runtime.executiongraph.AccessExecutionVertex;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.util.TestStreamEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Utils;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The real services of an integration test class: the in-process Kafka broker, embedded PostgreSQL
 * and a Flink MiniCluster, started once per class. Each job run gets its own topics, PostgreSQL
 * schema, consumer group and transactional-id prefix ({@link #newRun}), so runs never see each other.
 */
public final class IntegrationServices implements AutoCloseable {
    public final EmbeddedKafka kafka;
    public final EmbeddedPostgresDb postgres;
    public final MiniCluster flink;

    private IntegrationServices(EmbeddedKafka kafka, EmbeddedPostgresDb postgres, MiniCluster flink) {
        this.kafka = kafka;
        this.postgres = postgres;
        this.flink = flink;
    }

    /** @param slots task slots of the single task manager: the largest parallelism a job may use */
    public static IntegrationServices start(int slots) throws Exception {
        long t0 = System.nanoTime();
        EmbeddedKafka kafka = EmbeddedKafka.start();
        long t1 = System.nanoTime();
        EmbeddedPostgresDb postgres = null;
        try {
            postgres = EmbeddedPostgresDb.start();
            long t2 = System.nanoTime();
            Configuration conf = new Configuration();
            conf.set(RestOptions.BIND_PORT, "0"); // never the fixed 8081 another test or `local` may hold
            MiniCluster flink = new MiniCluster(new MiniClusterConfiguration.Builder()
                    .setConfiguration(conf).setNumTaskManagers(1).setNumSlotsPerTaskManager(slots).build());
            flink.start();
            long t3 = System.nanoTime();
            System.out.printf("services up: kafka %d ms, postgres %d ms, flink %d ms%n",
                    ms(t1 - t0), ms(t2 - t1), ms(t3 - t2));
            return new IntegrationServices(kafka, postgres, flink);
        } catch (Exception e) {
            if (postgres != null) postgres.close();
            kafka.close();
            throw e;
        }
    }

    /**
     * The broker and the database only, for a test that runs Flink in processes of its own
     * ({@link #flink} is null; {@link #env} and {@link #graph} cannot be used).
     */
    public static IntegrationServices startWithoutFlink() {
        long t0 = System.nanoTime();
        EmbeddedKafka kafka = EmbeddedKafka.start();
        long t1 = System.nanoTime();
        try {
            EmbeddedPostgresDb postgres = EmbeddedPostgresDb.start();
            System.out.printf("services up: kafka %d ms, postgres %d ms%n", ms(t1 - t0), ms(System.nanoTime() - t1));
            return new IntegrationServices(kafka, postgres, null);
        } catch (RuntimeException e) {
            kafka.close();
            throw e;
        }
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    /** One job run's names and settings. */
    public record Run(String name, String schema, String jdbcUrl, JobConfig config) {}

    /**
     * Creates the output topics (not compacted, so every record stays for comparison) and a schema
     * with the migrations applied, and a config pointing the job at them and at {@code eventsTopic}.
     *
     * @param name lower-case letters and digits; a random suffix makes it unique
     */
    public Run newRun(String name, String eventsTopic, Map<String, String> overrides) throws SQLException {
        String id = name + "_" + UUID.randomUUID().toString().substring(0, 8);
        String schema = id.toLowerCase(Locale.ROOT).replace('-', '_');
        try (Connection c = postgres.connect()) {
            SqlMigrations.apply(c, schema);
        }
        Map<String, String> m = new HashMap<>();
        m.put("kafka.bootstrap-servers", kafka.bootstrapServers());
        m.put("kafka.group-id", "it-" + id);
        m.put("kafka.starting-offsets", "earliest");
        m.put("kafka.transactional-id-prefix", "it-" + id);
        m.put("topics.events", eventsTopic);
        for (String out : List.of("alerts", "segments", "dlq", "late", "pattern-events", "control", "alert-decisions", "outcomes")) {
            String topic = "it-" + id + "." + out;
            createTopic(topic, 2);
            m.put("topics." + out, topic);
        }
        String jdbcUrl = postgres.jdbcUrl(schema);
        m.put("jdbc.url", jdbcUrl);
        m.put("jdbc.user", postgres.user());
        m.put("patterns.dir", Repo.patterns().toAbsolutePath().toString());
        // the tests check the patterns' own outcomes; PolicyIT runs the shipped messaging policy
        m.put("policy.file", "none");
        m.putAll(overrides);
        return new Run(id, schema, jdbcUrl, JobConfig.of(m));
    }

    /**
     * Creates a topic that keeps every record: the job stamps output records with event time, and
     * test data lies in the past, so under the default retention (7 days, first checked 30 s after
     * the broker starts) the broker would delete the oldest segments in the middle of a test.
     * Waits until every partition has a leader.
     */
    public void createTopic(String name, int partitions) {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            NewTopic topic = new NewTopic(name, Optional.of(partitions), Optional.empty())
                    .configs(Map.of("cleanup.policy", "delete", "retention.ms", "-1"));
            admin.createTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
            // right after creation the broker may still answer "unknown topic" for a moment
            Await.until("leaders for " + name, Duration.ofSeconds(30), () -> admin.describeTopics(List.of(name)).allTopicNames()
                    .get(10, TimeUnit.SECONDS).get(name).partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty()));
        } catch (Exception e) {
            throw new IllegalStateException("could not create topic " + name, e);
        }
    }

    /** The first offset still in the log, summed over partitions: more than 0 means records were deleted. */
    public long deletedRecords(String topic) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            int n = admin.describeTopics(List.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS).get(topic).partitions().size();
            Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
            for (int p = 0; p < n; p++) earliest.put(new TopicPartition(topic, p), OffsetSpec.earliest());
            return admin.listOffsets(earliest).all().get(10, TimeUnit.SECONDS).values().stream().mapToLong(ListOffsetsResultInfo::offset).sum();
        }
    }

    /** An environment that submits to this class's MiniCluster. */
    public StreamExecutionEnvironment env(int parallelism, Configuration conf) {
        return new TestStreamEnvironment(flink, conf, parallelism, List.of(), List.of());
    }

    /**
     * Submits the job as production runs it: RocksDB with incremental checkpoints on disk under
     * {@code checkpoints}, and restarts allowed (fixed delay, 1 s).
     */
    public org.apache.flink.core.execution.JobClient submitProductionShaped(Run run, java.nio.file.Path checkpoints, int parallelism,
                                                                             String jobName) throws Exception {
        Configuration conf = new Configuration();
        conf.setString("state.backend.type", "rocksdb");
        conf.setString("execution.checkpointing.dir", checkpoints.toUri().toString());
        conf.setString("execution.checkpointing.incremental", "true");
        conf.set(org.apache.flink.configuration.RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        conf.set(org.apache.flink.configuration.RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 100);
        conf.set(org.apache.flink.configuration.RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofSeconds(1));
        StreamExecutionEnvironment env = env(parallelism, conf);
        io.behaviorcep.BehaviorCepJob.prepare(env, run.config(), new io.behaviorcep.KafkaIO(run.config()));
        return env.executeAsync(jobName);
    }

    /** The end offset of every partition of {@code topic}. */
    public Map<TopicPartition, Long> endOffsets(String topic, int partitions) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            for (int p = 0; p < partitions; p++) latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
            Map<TopicPartition, Long> end = new HashMap<>();
            admin.listOffsets(latest).all().get(30, TimeUnit.SECONDS).forEach((tp, info) -> end.put(tp, info.offset()));
            return end;
        }
    }

    /** Waits until the job has read every partition up to {@code end} and a completed checkpoint committed those offsets. */
    public void awaitCaughtUp(Run run, Map<TopicPartition, Long> end, JobID job, Duration wait) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            Await.until("the job read every partition to its end and checkpointed it", wait, () -> {
                JobStatus state = graph(job).getState();
                if (state == JobStatus.FAILED || state == JobStatus.CANCELED) throw new AssertionError("the job is " + state);
                Map<TopicPartition, org.apache.kafka.clients.consumer.OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(run.config().groupId())
                        .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
                for (var e : end.entrySet()) {
                    var c = committed.get(e.getKey());
                    if (e.getValue() > 0 && (c == null || c.offset() < e.getValue())) return false;
                }
                return true;
            });
        }
    }

    public KafkaProducer<byte[], byte[]> producer() {
        return new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class));
    }

    /** The partition Kafka's default partitioner picks for a key, so a test can place users on purpose. */
    public static int partitionOf(String key, int partitions) {
        return Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % partitions;
    }

    /** The first of {@code prefix-1, prefix-2, ...} that the default partitioner puts on {@code partition}. */
    public static String keyOnPartition(String prefix, int partition, int partitions) {
        for (int i = 1; ; i++) {
            String k = prefix + "-" + i;
            if (partitionOf(k, partitions) == partition) return k;
        }
    }

    public AccessExecutionGraph graph(JobID job) throws Exception {
        return flink.getExecutionGraph(job).get(30, TimeUnit.SECONDS);
    }

    /** The highest attempt number of any subtask: 0 as long as the job never restarted. */
    public static int maxAttempt(AccessExecutionGraph g) {
        int max = 0;
        for (AccessExecutionVertex v : g.getAllExecutionVertices()) {
            max = Math.max(max, v.getCurrentExecutionAttempt().getAttemptNumber());
        }
        return max;
    }

    /** The job and every one of its subtasks are RUNNING (sources included, so input is being read). */
    public static boolean allRunning(AccessExecutionGraph g) {
        if (g.getState() != JobStatus.RUNNING) return false;
        for (AccessExecutionVertex v : g.getAllExecutionVertices()) {
            if (v.getExecutionState() != ExecutionState.RUNNING) return false;
        }
        return true;
    }

    /** Rows of a query as "col | col | ..." strings (NULL as "null"), in the query's order. */
    public static List<String> rows(String jdbcUrl, String sql, Object... params) throws SQLException {
        List<String> rows = new ArrayList<>();
        try (Connection c = DriverManager.getConnection(jdbcUrl, "postgres", "");
             PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) ps.setObject(i + 1, params[i]);
            try (ResultSet rs = ps.executeQuery()) {
                ResultSetMetaData md = rs.getMetaData();
                while (rs.next()) {
                    StringBuilder b = new StringBuilder();
                    for (int i = 1; i <= md.getColumnCount(); i++) {
                        if (i > 1) b.append(" | ");
                        b.append(rs.getString(i));
                    }
                    rows.add(b.toString());
                }
            }
        }
        return rows;
    }

    @Override
    public void close() throws Exception {
        try {
            if (flink != null) flink.close();
        } finally {
            try {
                kafka.close();
            } finally {
                postgres.close();
            }
        }
    }
}
