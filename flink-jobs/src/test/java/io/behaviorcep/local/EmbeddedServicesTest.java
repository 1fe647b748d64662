package io.behaviorcep.local;

import io.behaviorcep.cli.LocalCommand;
import io.behaviorcep.sink.SqlMigrations;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The embedded broker and database are what {@code local} and every integration test stand on, so
 * the properties those rely on are checked against the real services: transactions on one node,
 * read_committed isolation, compacted topics, and schema-per-environment migrations.
 */
class EmbeddedServicesTest {

    private static final Path TMP = Path.of(System.getProperty("java.io.tmpdir"));

    private static Set<Path> leftoversBefore;
    private static EmbeddedKafka kafka;
    private static EmbeddedPostgresDb postgres;

    /** This JVM's listening sockets before the services started: the ones they open are the rest. */
    private static Set<InetSocketAddress> listeningBefore = Set.of();

    @BeforeAll
    static void start() throws IOException {
        leftoversBefore = ourDirectories();
        if (ListeningSockets.available()) listeningBefore = new HashSet<>(ListeningSockets.of("self"));
        long t0 = System.nanoTime();
        kafka = EmbeddedKafka.start();
        long t1 = System.nanoTime();
        postgres = EmbeddedPostgresDb.start();
        long t2 = System.nanoTime();
        System.out.printf("startup: kafka %d ms, postgres %d ms%n",
                TimeUnit.NANOSECONDS.toMillis(t1 - t0), TimeUnit.NANOSECONDS.toMillis(t2 - t1));
    }

    @AfterAll
    static void stop() throws IOException {
        long t0 = System.nanoTime();
        if (kafka != null) {
            kafka.close();
        }
        long t1 = System.nanoTime();
        if (postgres != null) {
            postgres.close();
        }
        long t2 = System.nanoTime();
        System.out.printf("shutdown: kafka %d ms, postgres %d ms%n",
                TimeUnit.NANOSECONDS.toMillis(t1 - t0), TimeUnit.NANOSECONDS.toMillis(t2 - t1));
        assertThat(ourDirectories()).as("data directories left in %s", TMP).isEqualTo(leftoversBefore);
    }

    /** The sockets this JVM opened since {@code before}. */
    private static List<InetSocketAddress> openedSince(Set<InetSocketAddress> before) throws IOException {
        List<InetSocketAddress> now = new ArrayList<>(ListeningSockets.of("self"));
        now.removeAll(before);
        return now;
    }

    /** The host's own addresses other than loopback: a service bound to one of them is reachable from the network. */
    private static List<InetAddress> otherAddresses() throws IOException {
        List<InetAddress> out = new ArrayList<>();
        for (NetworkInterface ni : java.util.Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (!ni.isUp() || ni.isLoopback()) continue;
            for (InetAddress a : java.util.Collections.list(ni.getInetAddresses())) {
                if (!a.isLoopbackAddress() && !a.isLinkLocalAddress()) out.add(a);
            }
        }
        return out;
    }

    private static boolean accepts(InetAddress address, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(address, port), 2_000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** `local` prints localhost addresses; nothing it starts may be reachable from other machines. */
    @Test
    void kafkaAndPostgresListenOnLoopbackOnly() throws Exception {
        Assumptions.assumeTrue(ListeningSockets.available(), "needs Linux /proc");
        int kafkaPort = Integer.parseInt(kafka.bootstrapServers().substring(kafka.bootstrapServers().lastIndexOf(':') + 1));
        assertThat(openedSince(listeningBefore)).as("sockets the broker (and its controller) listen on")
                .anySatisfy(a -> assertThat(a.getPort()).isEqualTo(kafkaPort))
                .allSatisfy(a -> assertThat(a.getAddress().isLoopbackAddress()).as("%s is loopback", a).isTrue());

        int pgPort = Integer.parseInt(postgres.jdbcUrl().replaceAll("^.*:(\\d+)/.*$", "$1"));
        try (Connection c = DriverManager.getConnection(postgres.jdbcUrl(), postgres.user(), postgres.password());
             Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SHOW listen_addresses")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo("127.0.0.1");
        }
        assertThat(accepts(InetAddress.getLoopbackAddress(), pgPort)).as("PostgreSQL on loopback").isTrue();
        for (InetAddress other : otherAddresses()) {
            assertThat(accepts(other, pgPort)).as("PostgreSQL reachable on %s", other).isFalse();
            assertThat(accepts(other, kafkaPort)).as("Kafka reachable on %s", other).isFalse();
        }
    }

    /** The MiniCluster of `local` as LocalCommand configures it: REST API (jar upload and run) and everything else on loopback. */
    @Test
    void theLocalFlinkClusterListensOnLoopbackOnly(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(ListeningSockets.available(), "needs Linux /proc");
        Configuration conf = LocalCommand.flinkConfiguration(0, 1, dir);
        assertThat(conf.get(RestOptions.BIND_ADDRESS)).isEqualTo("127.0.0.1");
        assertThat(conf.get(RestOptions.ADDRESS)).isEqualTo("127.0.0.1");
        Set<InetSocketAddress> before = new HashSet<>(ListeningSockets.of("self"));
        try (MiniCluster cluster = new MiniCluster(new MiniClusterConfiguration.Builder()
                .setConfiguration(conf).setNumTaskManagers(1).setNumSlotsPerTaskManager(1).build())) {
            cluster.start();
            int restPort = cluster.getRestAddress().get().getPort();
            List<InetSocketAddress> opened = openedSince(before);
            System.out.println("local Flink cluster listens on " + opened);
            assertThat(opened).as("sockets the MiniCluster listens on")
                    .anySatisfy(a -> assertThat(a.getPort()).isEqualTo(restPort))
                    .allSatisfy(a -> assertThat(a.getAddress().isLoopbackAddress()).as("%s is loopback", a).isTrue());
            for (InetAddress other : otherAddresses()) {
                assertThat(accepts(other, restPort)).as("REST API reachable on %s", other).isFalse();
            }
        }
    }

    @Test
    void onlyCommittedTransactionsAreReadWithReadCommitted() throws Exception {
        kafka.createTopic("tx-test", 3, false);
        kafka.createTopic("tx-test", 3, false); // idempotent

        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, "embedded-test-" + UUID.randomUUID(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class))) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(record("tx-test", "aborted"));
            producer.flush();
            producer.abortTransaction();
            producer.beginTransaction();
            producer.send(record("tx-test", "committed"));
            producer.commitTransaction();
        }

        assertThat(consumeAll("tx-test", 1)).containsExactly("committed");
    }

    @Test
    void compactedTopicsAreCreatedCompacted() throws Exception {
        kafka.createTopic("compacted-test", 2, true);
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, "compacted-test");
            Config config = admin.describeConfigs(List.of(topic)).all().get().get(topic);
            assertThat(config.get("cleanup.policy").value()).isEqualTo("compact");
            assertThat(admin.describeTopics(List.of("compacted-test")).allTopicNames().get()
                    .get("compacted-test").partitions()).hasSize(2);
        }
    }

    @Test
    void generatorPacesRecordsIntoKafka() throws Exception {
        kafka.createTopic("generator-test", 4, false);
        TrafficGenerator generator = new TrafficGenerator(TrafficGenerator.Config.defaults(1).withEventsPerSecond(2000));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class))) {
            generator.runTo(producer, "generator-test", () -> System.nanoTime() < deadline);
        }
        long sent = generator.sent().get();
        // pacing caps the rate (at most ~2000 in one second); a busy machine may send fewer, so
        // there is no lower bound beyond "something was sent": speed is not asserted in tests
        assertThat(sent).isPositive().isLessThanOrEqualTo(2600L);
        assertThat(consumeAll("generator-test", (int) sent)).hasSize((int) sent);
    }

    @Test
    void migrationsCreateTheTablesInEachSchemaOnce() throws SQLException {
        try (Connection c = postgres.connect()) {
            List<String> shipped = SqlMigrations.fromClasspath().stream().map(m -> Integer.toString(m.version())).toList();
            assertThat(shipped).startsWith("1");
            assertThat(SqlMigrations.apply(c, "env_a")).containsExactlyElementsOf(shipped);
            assertThat(SqlMigrations.apply(c, "env_b")).containsExactlyElementsOf(shipped);
            for (String schema : List.of("env_a", "env_b")) {
                assertThat(tables(c, schema)).contains("alerts", "segment_events", "user_segments", "schema_migrations");
            }
            assertThat(SqlMigrations.apply(c, "env_a")).isEmpty();
            assertThat(c.getAutoCommit()).isTrue();
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT version, description FROM env_a.schema_migrations ORDER BY version")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).isEqualTo(1);
                assertThat(rs.getString(2)).isEqualTo("alerts and segments");
                int rows = 1;
                while (rs.next()) rows++;
                assertThat(rows).isEqualTo(shipped.size());
            }
        }
        // what the sink does: unqualified names through currentSchema
        try (Connection c = DriverManager.getConnection(postgres.jdbcUrl("env_b"), postgres.user(), postgres.password());
             Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM alerts")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getLong(1)).isZero();
        }
    }

    @Test
    void anEditedMigrationIsRefusedAndANewOneApplied(@TempDir Path dir) throws Exception {
        for (SqlMigrations.Migration m : SqlMigrations.fromClasspath()) {
            if (m.version() == 1) Files.writeString(dir.resolve(m.fileName()), m.sql());
        }
        Path v1 = dir.resolve("V1__alerts_and_segments.sql");
        try (Connection c = postgres.connect()) {
            assertThat(SqlMigrations.apply(c, "env_edit", dir)).containsExactly("1");

            Files.writeString(v1, Files.readString(v1).replace("\n", "\r\n"));
            assertThat(SqlMigrations.apply(c, "env_edit", dir)).as("line endings are not a change").isEmpty();

            Files.writeString(dir.resolve("V2__notes.sql"), "CREATE TABLE notes (id INT PRIMARY KEY);");
            Files.writeString(dir.resolve("V10__more_notes.sql"), "ALTER TABLE notes ADD COLUMN body TEXT;");
            assertThat(SqlMigrations.apply(c, "env_edit", dir)).containsExactly("2", "10");
            assertThat(tables(c, "env_edit")).contains("notes");

            Files.writeString(v1, Files.readString(v1) + "\nCREATE TABLE sneaky (id INT);\n");
            assertThatThrownBy(() -> SqlMigrations.apply(c, "env_edit", dir))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("V1__alerts_and_segments.sql")
                    .hasMessageContaining("changed after it was applied to schema env_edit");
            assertThat(tables(c, "env_edit")).doesNotContain("sneaky");
        }
    }

    @Test
    void aFailingMigrationLeavesNoTrace(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("V1__half.sql"), "CREATE TABLE half (id INT);\nSELEC broken;\n");
        try (Connection c = postgres.connect()) {
            assertThatThrownBy(() -> SqlMigrations.apply(c, "env_fail", dir))
                    .isInstanceOf(SQLException.class)
                    .hasMessageContaining("V1__half.sql failed in schema env_fail");
            assertThat(tables(c, "env_fail")).containsExactly("schema_migrations");
            assertThat(c.getAutoCommit()).isTrue();

            Files.writeString(dir.resolve("V1__half.sql"), "CREATE TABLE half (id INT);\n");
            assertThat(SqlMigrations.apply(c, "env_fail", dir)).containsExactly("1");
        }
    }

    @Test
    void schemaNamesThatCouldInjectSqlAreRejected() throws SQLException {
        try (Connection c = postgres.connect()) {
            for (String bad : List.of("Env", "1env", "env;drop", "env-a", "", "a".repeat(64))) {
                assertThatThrownBy(() -> SqlMigrations.apply(c, bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
            }
        }
        assertThatThrownBy(() -> postgres.jdbcUrl("x y")).isInstanceOf(IllegalArgumentException.class);
    }

    private static ProducerRecord<byte[], byte[]> record(String topic, String value) {
        return new ProducerRecord<>(topic, value.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8));
    }

    /** Reads until {@code expected} records arrived, then a little longer to catch any extra one. */
    private static List<String> consumeAll(String topic, int expected) {
        List<String> values = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG, "embedded-test-" + UUID.randomUUID(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class))) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            long quietUntil = Long.MAX_VALUE;
            while (System.nanoTime() < Math.min(deadline, quietUntil)) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    values.add(new String(r.value(), StandardCharsets.UTF_8));
                }
                if (values.size() >= expected && quietUntil == Long.MAX_VALUE) {
                    quietUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
                }
            }
        }
        return values;
    }

    private static List<String> tables(Connection c, String schema) throws SQLException {
        List<String> tables = new ArrayList<>();
        try (var st = c.prepareStatement(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name")) {
            st.setString(1, schema);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    tables.add(rs.getString(1));
                }
            }
        }
        return tables;
    }

    private static Set<Path> ourDirectories() throws IOException {
        if (!Files.isDirectory(TMP)) {
            return Set.of();
        }
        try (Stream<Path> s = Files.list(TMP)) {
            return s.filter(p -> p.getFileName().toString().startsWith("behavior-cep-")).collect(Collectors.toSet());
        }
    }
}
