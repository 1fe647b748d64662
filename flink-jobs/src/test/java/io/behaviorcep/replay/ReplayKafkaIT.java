package io.behaviorcep.replay;

import io.behaviorcep.cli.ReplayCommand;
import io.behaviorcep.local.EmbeddedKafka;
import io.behaviorcep.local.EmbeddedPostgresDb;
import io.behaviorcep.output.OutputJson;
import io.behaviorcep.sink.SqlMigrations;
import io.behaviorcep.testing.Events;
import io.behaviorcep.testing.Repo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code replay} against the real broker and database: a range of the live events topic as input
 * ({@code --kafka-from/--kafka-to}, Kafka record times), and {@code --to-sinks}, which writes the
 * decided results through the production sinks, idempotently (a second backfill adds no rows), and
 * gives users on the PostgreSQL suppression list nothing. Broker, database and Flink are started once for the class.
 */
class ReplayKafkaIT {
    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    /** Event time of the recorded events: recent, so that broker retention never touches the outputs stamped with it. */
    private static final Instant T0 = Instant.now().minus(Duration.ofDays(1)).truncatedTo(ChronoUnit.HOURS);
    private static final String SCHEMA = "replay_it";

    private static EmbeddedKafka kafka;
    private static EmbeddedPostgresDb postgres;
    private static final String EVENTS = "replay-it.events";
    private static final String ALERTS = "replay-it.alerts";
    private static final String SEGMENTS = "replay-it.segments";
    /** Kafka record times bounding the middle batch, the one the range selects. */
    private static Instant from;
    private static Instant to;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start();
        postgres = EmbeddedPostgresDb.start();
        try (Connection c = postgres.connect(); Statement st = c.createStatement()) {
            SqlMigrations.apply(c, SCHEMA);
            // on the suppression list: the running job gives this user nothing, and so must a replay and a backfill
            st.execute("INSERT INTO " + SCHEMA + ".suppressed_users (user_id, reason) VALUES ('listed', 'test')");
        }
        createTopics(Map.of(EVENTS, 2, ALERTS, 1, SEGMENTS, 1));

        // three batches produced at three Kafka record times; the events' own times are T0-based either way
        long now = System.currentTimeMillis();
        from = Instant.ofEpochMilli(now - 2 * 3_600_000L - 1_800_000L);
        to = Instant.ofEpochMilli(now - 3_600_000L - 1_800_000L);
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class))) {
            long before = now - 3 * 3_600_000L;
            long inRange = now - 2 * 3_600_000L;
            long after = now - 3_600_000L;
            send(p, before, Events.viewed("early", at(0)), Events.added("early", at(1)), Events.page("early", at(40)));
            send(p, inRange,
                    // abandoned: alert and segment
                    Events.viewed("kept", at(0)), Events.added("kept", at(1)),
                    // abandoned too, but on the suppression list: nothing
                    Events.viewed("listed", at(0)), Events.added("listed", at(2)),
                    // ordered in time: nothing
                    Events.viewed("buyer", at(2)), Events.added("buyer", at(3)), Events.ordered("buyer", at(10)),
                    // the 15 minutes run out after the last event of the range: pending
                    Events.viewed("late", at(25)), Events.added("late", at(28)),
                    Events.page("clock", at(30)));
            send(p, after, Events.viewed("later", at(0)), Events.added("later", at(1)), Events.page("later", at(40)));
            p.flush();
        }
    }

    @AfterAll
    static void stop() {
        if (postgres != null) postgres.close();
        if (kafka != null) kafka.close();
    }

    private static Instant at(long minutes) {
        return T0.plus(Duration.ofMinutes(minutes));
    }

    private static void send(KafkaProducer<byte[], byte[]> p, long recordTime, ObjectNode... events) throws Exception {
        for (ObjectNode e : events) {
            byte[] key = e.get("userId").asText().getBytes(StandardCharsets.UTF_8);
            p.send(new ProducerRecord<>(EVENTS, null, recordTime, key, Events.bytes(e))).get(10, TimeUnit.SECONDS);
        }
    }

    /** Topics that keep every record (outputs carry event time as their Kafka time). */
    private static void createTopics(Map<String, Integer> topics) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            List<NewTopic> nt = new ArrayList<>();
            topics.forEach((t, n) -> nt.add(new NewTopic(t, Optional.of(n), Optional.empty()).configs(Map.of("retention.ms", "-1"))));
            admin.createTopics(nt).all().get(30, TimeUnit.SECONDS);
        }
        topics.keySet().forEach(t -> kafka.createTopic(t, topics.get(t), false)); // waits for leaders
    }

    private int replay(Path out, ByteArrayOutputStream stdout, String... extra) {
        List<String> args = new ArrayList<>(List.of(
                "--kafka-from", from.toString(), "--kafka-to", to.toString(),
                "--patterns", Repo.patterns().resolve("cart-abandonment.yaml").toString(),
                "--out", out.toString(), "--parallelism", "2", "--progress", "lines",
                "--kafka.bootstrap-servers", kafka.bootstrapServers(), "--topics.events", EVENTS,
                "--topics.alerts", ALERTS, "--topics.segments", SEGMENTS,
                "--jdbc.url", postgres.jdbcUrl(SCHEMA), "--jdbc.user", postgres.user()));
        args.addAll(List.of(extra));
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        int exit = new CommandLine(new ReplayCommand(new PrintStream(stdout, true, StandardCharsets.UTF_8), new PrintStream(stderr, true, StandardCharsets.UTF_8)))
                .execute(args.toArray(new String[0]));
        System.out.println(stdout.toString(StandardCharsets.UTF_8));
        System.out.println(stderr.toString(StandardCharsets.UTF_8));
        return exit;
    }

    @Test
    void aRangeOfTheEventsTopicIsReplayedAndBackfilledIdempotently() throws Exception {
        Path out = dir.resolve("out");
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        assertThat(replay(out, stdout, "--to-sinks")).isZero();

        // only the middle batch: its abandonment is decided (not the suppressed user's), the one after its last event is pending
        List<JsonNode> alerts = lines(out.resolve("alerts.jsonl"));
        assertThat(alerts).extracting(a -> a.get("user_id").asText() + "@" + a.get("detected_at").asText())
                .containsExactly("kept@" + at(16));
        JsonNode summary = OutputJson.MAPPER.readTree(out.resolve("summary.json").toFile());
        assertThat(summary.at("/input/records").asLong()).isEqualTo(10);
        assertThat(summary.at("/input/horizon").asText()).isEqualTo(at(30).toString());
        assertThat(summary.at("/patterns/cart-abandonment/pending").asLong()).isEqualTo(1);
        assertThat(summary.at("/input/source").asText()).contains("kafka " + EVENTS);
        assertThat(stdout.toString(StandardCharsets.UTF_8)).contains("backfilled 1 alert(s)", "1 segment update(s)");

        Set<String> alertIds = ids(alerts, "alert_id");
        Set<String> segmentIds = ids(lines(out.resolve("segments.jsonl")), "event_id");
        assertThat(segmentIds).hasSize(1);

        // Kafka (read_committed) and PostgreSQL hold exactly the decided results, document for document
        assertThat(readCommitted(ALERTS)).containsExactlyElementsOf(alerts);
        assertThat(readCommitted(SEGMENTS)).containsExactlyElementsOf(lines(out.resolve("segments.jsonl")));
        assertThat(column("SELECT document::text FROM alerts").stream().map(ReplayKafkaIT::json).toList()).containsExactlyElementsOf(alerts);
        assertThat(column("SELECT alert_id FROM alerts")).isEqualTo(alertIds);
        assertThat(column("SELECT event_id FROM segment_events")).isEqualTo(segmentIds);
        assertThat(column("SELECT user_id FROM user_segments WHERE member")).containsExactly("kept");

        // again: the same ids; PostgreSQL gains nothing, Kafka gets the same records once more
        assertThat(replay(dir.resolve("again"), new ByteArrayOutputStream(), "--to-sinks")).isZero();
        assertThat(column("SELECT alert_id FROM alerts")).isEqualTo(alertIds);
        assertThat(count("SELECT count(*) FROM alerts")).isEqualTo(1);
        assertThat(count("SELECT count(*) FROM segment_events")).isEqualTo(1);
        List<JsonNode> kafkaAlerts = readCommitted(ALERTS);
        assertThat(kafkaAlerts).hasSize(2);
        assertThat(ids(kafkaAlerts, "alert_id")).isEqualTo(alertIds);
    }

    @Test
    void withoutToSinksNothingIsWritten() throws Exception {
        long before = readCommitted(ALERTS).size();
        long rows = count("SELECT count(*) FROM alerts");
        Path out = dir.resolve("dry");
        assertThat(replay(out, new ByteArrayOutputStream())).isZero();
        assertThat(lines(out.resolve("alerts.jsonl"))).hasSize(1);
        assertThat(readCommitted(ALERTS)).hasSize((int) before);
        assertThat(count("SELECT count(*) FROM alerts")).isEqualTo(rows);
    }

    private static List<JsonNode> lines(Path f) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(f)) if (!l.isBlank()) out.add(OutputJson.MAPPER.readTree(l));
        return out;
    }

    private static JsonNode json(String s) {
        try {
            return OutputJson.MAPPER.readTree(s);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static Set<String> ids(List<JsonNode> docs, String field) {
        Set<String> s = new TreeSet<>();
        docs.forEach(d -> s.add(d.get(field).asText()));
        return s;
    }

    /** Every committed record of a topic, from the beginning to its current end. */
    private static List<JsonNode> readCommitted(String topic) throws Exception {
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false"), new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> tps = c.partitionsFor(topic).stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps);
            List<JsonNode> out = new ArrayList<>();
            long deadline = System.currentTimeMillis() + 30_000;
            while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp)) && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) out.add(OutputJson.MAPPER.readTree(r.value()));
            }
            return out;
        }
    }

    private static Set<String> column(String sql) throws Exception {
        Set<String> out = new TreeSet<>();
        try (Connection c = postgres.connect(); Statement s = c.createStatement()) {
            s.execute("SET search_path TO " + SCHEMA);
            try (ResultSet rs = s.executeQuery(sql)) {
                while (rs.next()) out.add(rs.getString(1));
            }
        }
        return out;
    }

    private static long count(String sql) throws Exception {
        try (Connection c = postgres.connect(); Statement s = c.createStatement()) {
            s.execute("SET search_path TO " + SCHEMA);
            try (ResultSet rs = s.executeQuery(sql)) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }
}
