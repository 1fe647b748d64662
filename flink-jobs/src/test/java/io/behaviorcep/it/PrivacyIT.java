package io.behaviorcep.it;

import io.behaviorcep.BehaviorCepJob;
import io.behaviorcep.privacy.ControlRecords;
import io.behaviorcep.output.Pseudonymizer;
import io.behaviorcep.config.JdbcSettings;
import io.behaviorcep.KafkaIO;
import io.behaviorcep.sink.PostgresSink;
import io.behaviorcep.testing.Await;
import io.behaviorcep.testing.IntegrationServices;
import io.behaviorcep.testing.TopicReader;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static io.behaviorcep.testing.Events.added;
import static io.behaviorcep.testing.Events.bytes;
import static io.behaviorcep.testing.Events.ordered;
import static io.behaviorcep.testing.Events.page;
import static io.behaviorcep.testing.Events.track;
import static io.behaviorcep.testing.Events.viewed;
import static io.behaviorcep.testing.IntegrationServices.keyOnPartition;
import static io.behaviorcep.testing.IntegrationServices.rows;
import static io.behaviorcep.testing.TopicReader.key;
import static io.behaviorcep.testing.TopicReader.value;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Privacy end to end, on the real broker and database, with the shipped patterns and threshold
 * segments: consent, opt-out by the control topic and by the suppression list, erasure by the control
 * topic (of a user id and an anonymous id, with an {@code at} far behind event time), that public
 * erasure and opt-in events change nothing by default, the profile table and its one-query overview,
 * and (a second, bounded job, with {@code privacy.controls-from-events} on) erasure by event and
 * pseudonymised outputs.
 *
 * <p>The main job runs unbounded for the whole class, as in {@link EndToEndIT}: each test takes its
 * own window of event time and its own users, and moves event time with "clock" users on both
 * partitions.
 */
class PrivacyIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PARTITIONS = 2;
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Instant T0 = Instant.now().minus(Duration.ofDays(1)).truncatedTo(ChronoUnit.HOURS);
    private static final String KEY_PROPERTY = "BEHAVIOR_CEP_PRIVACY_IT_KEY";
    private static final String TAG = UUID.randomUUID().toString().substring(0, 6);

    private static IntegrationServices services;
    private static IntegrationServices.Run run;
    private static String eventsTopic;
    private static JobClient job;
    private static KafkaProducer<byte[], byte[]> producer;
    private static TopicReader alerts;
    private static TopicReader segments;
    private static TopicReader late;
    private static TopicReader dlq;
    private static Instant nextWindow = T0;

    @BeforeAll
    static void startJob() throws Exception {
        // two jobs at once: the unbounded one of the class and the bounded pseudonymised one
        services = IntegrationServices.start(4);
        eventsTopic = "privacy-events-" + Long.toHexString(System.nanoTime());
        services.createTopic(eventsTopic, PARTITIONS);
        run = services.newRun("privacy", eventsTopic, Map.of(
                "checkpoint.interval", "1s",
                "events.max-out-of-orderness", "1m",
                "events.idle-advance", "false",
                "events.idle-timeout", "10m",
                "parallelism", "2",
                "privacy.suppression-refresh", "500ms",
                "profile.write-interval", "1m"));
        StreamExecutionEnvironment env = services.env(2, new Configuration());
        BehaviorCepJob.prepare(env, run.config(), new KafkaIO(run.config()));
        job = env.executeAsync("behavior-cep privacy");
        producer = services.producer();
        alerts = new TopicReader(services.kafka.bootstrapServers(), run.config().alertsTopic());
        segments = new TopicReader(services.kafka.bootstrapServers(), run.config().segmentsTopic());
        late = new TopicReader(services.kafka.bootstrapServers(), run.config().lateTopic());
        dlq = new TopicReader(services.kafka.bootstrapServers(), run.config().dlqTopic());
        Await.until("all tasks of the job running", WAIT, () -> IntegrationServices.allRunning(services.graph(job.getJobID())));
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (job != null) job.cancel().get(30, TimeUnit.SECONDS);
        } finally {
            for (AutoCloseable c : new AutoCloseable[] {alerts, segments, late, dlq, producer, services}) {
                if (c != null) c.close();
            }
        }
    }

    private static synchronized Instant window(Duration span) {
        Instant w = nextWindow;
        nextWindow = nextWindow.plus(span);
        return w;
    }

    private static String user(String name) {
        return "priv-" + name + "-" + TAG;
    }

    private static ObjectNode send(ObjectNode event) throws Exception {
        String key = event.has("userId") ? event.get("userId").asText() : event.get("anonymousId").asText();
        producer.send(new ProducerRecord<>(eventsTopic, IntegrationServices.partitionOf(key, PARTITIONS),
                key.getBytes(StandardCharsets.UTF_8), bytes(event))).get(10, TimeUnit.SECONDS);
        return event;
    }

    /** A record of the control topic, as the operator writes it. */
    private static void control(byte[] record) throws Exception {
        producer.send(new ProducerRecord<>(run.config().controlTopic(), null, record)).get(10, TimeUnit.SECONDS);
    }

    private static ObjectNode anonymous(ObjectNode event, String anonymousId) {
        event.remove("userId");
        event.put("anonymousId", anonymousId);
        return event;
    }

    /** What {@code erasures} records for a user id: HMAC-SHA256 under the audit key the build sets. */
    private static String auditHash(String userId) {
        return PostgresSink.userHash(System.getProperty(JdbcSettings.DEFAULT_AUDIT_KEY_ENV).getBytes(StandardCharsets.UTF_8), userId);
    }

    private static void moveEventTimeTo(Instant at, String tag) throws Exception {
        for (int p = 0; p < PARTITIONS; p++) send(page(keyOnPartition("clock-" + tag + "-p" + p, p, PARTITIONS), at));
    }

    /** Waits until the dedup operator's event time is past {@code t} (a probe stamped {@code t} comes out late). */
    private static void awaitEventTimePast(Instant t) throws Exception {
        String probe = user("probe");
        long[] lastSent = {0};
        Await.until("event time past " + t, WAIT, () -> {
            if (System.nanoTime() - lastSent[0] > TimeUnit.MILLISECONDS.toNanos(300)) {
                send(page(probe, t));
                lastSent[0] = System.nanoTime();
            }
            return late.poll().stream().anyMatch(r -> probe.equals(key(r)) && value(r).contains("\"timestamp\":\"" + t + "\""));
        });
    }

    /**
     * Whether the record is a cart-abandonment alert of {@code user}: the alert these tests decide by
     * time (a view then an add also makes a product-interest alert at once, before any control).
     */
    private static boolean alertOf(String user, ConsumerRecord<byte[], byte[]> r) {
        return value(r).contains("\"user_id\":\"" + user + "\"") && value(r).contains("\"pattern_id\":\"cart-abandonment\"");
    }

    private static void exec(String sql, Object... params) throws Exception {
        try (Connection c = DriverManager.getConnection(run.jdbcUrl(), "postgres", "");
             PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) ps.setObject(i + 1, params[i]);
            ps.executeUpdate();
        }
    }

    private static void assertRunningWithoutRestart() throws Exception {
        assertThat(job.getJobStatus().get(10, TimeUnit.SECONDS)).isEqualTo(JobStatus.RUNNING);
        assertThat(IntegrationServices.maxAttempt(services.graph(job.getJobID()))).isZero();
    }

    private static ObjectNode withoutConsent(ObjectNode event) {
        ((ObjectNode) event.get("context")).putObject("consent").put("analytics", false);
        return event;
    }

    @Test
    void eventsWithoutConsentAreNotProfiledOrMatchedAndAnOptOutEndsSegmentsAndAlerts() throws Exception {
        Instant base = window(Duration.ofHours(1));
        String denied = user("denied");
        String optedOut = user("opted-out");
        String reference = user("reference");
        send(withoutConsent(viewed(denied, base)));
        send(withoutConsent(added(denied, base.plus(Duration.ofMinutes(1)))));
        send(viewed(optedOut, base));
        send(added(optedOut, base.plus(Duration.ofMinutes(1))));
        send(viewed(reference, base));
        send(added(reference, base.plus(Duration.ofMinutes(1))));
        moveEventTimeTo(base.plus(Duration.ofMinutes(4)), "consent");
        Await.until(optedOut + " is new", WAIT, () -> rows(run.jdbcUrl(),
                "SELECT member FROM user_segments WHERE user_id = ? AND segment = 'new'", optedOut), r -> r.equals(List.of("t")));
        // the opt-out comes from the operator, before the cart's deadline
        control(ControlRecords.json("opt_out", optedOut, List.of(), "it-opt-out", null));
        Await.until(optedOut + " left 'new' because of the opt-out", WAIT, () -> rows(run.jdbcUrl(),
                "SELECT member, reason FROM user_segments WHERE user_id = ? AND segment = 'new'", optedOut), r -> r.equals(List.of("f | suppressed")));
        moveEventTimeTo(base.plus(Duration.ofMinutes(20)), "consent");

        // the reference user's cart alert is decided at the same deadline as the opted-out user's would be
        alerts.awaitOne("the alert of " + reference, r -> alertOf(reference, r), WAIT);
        // a later checkpoint has committed since: an alert of theirs would be visible by now
        moveEventTimeTo(base.plus(Duration.ofMinutes(40)), "consent");
        awaitEventTimePast(base.plus(Duration.ofMinutes(30)));
        Await.until("the reference's profile in PostgreSQL", WAIT, () -> rows(run.jdbcUrl(),
                "SELECT count(*) FROM user_profiles WHERE user_id = ?", reference), r -> r.equals(List.of("1")));
        assertThat(alerts.poll().stream().filter(r -> alertOf(denied, r) || alertOf(optedOut, r))).isEmpty();
        assertThat(rows(run.jdbcUrl(), "SELECT count(*) FROM segment_events WHERE user_id = ?", denied)).containsExactly("0");
        assertThat(rows(run.jdbcUrl(), "SELECT count(*) FROM user_profiles WHERE user_id = ?", denied)).containsExactly("0");
        assertThat(rows(run.jdbcUrl(), "SELECT segment, action, reason FROM segment_events WHERE user_id = ? ORDER BY version, segment", optedOut))
                .containsExactly("new | enter | new", "new | exit | suppressed");
        assertRunningWithoutRestart();
    }

    @Test
    void aUserPutOnTheSuppressionListLeavesTheirSegmentsAtOnceAndGetsNoAlert() throws Exception {
        Instant base = window(Duration.ofHours(1));
        String listed = user("listed");
        String reference = user("reference-2");
        send(page(listed, base));
        moveEventTimeTo(base.plus(Duration.ofMinutes(2)), "list");
        Await.until(listed + " is new", WAIT, () -> rows(run.jdbcUrl(),
                "SELECT member FROM user_segments WHERE user_id = ? AND segment = 'new'", listed), r -> r.equals(List.of("t")));

        // put on the list while they send nothing: they leave their segments without another event
        exec("INSERT INTO suppressed_users (user_id, reason) VALUES (?, 'support ticket 123')", listed);
        Await.until(listed + " left 'new' because of the list", WAIT, () -> rows(run.jdbcUrl(),
                "SELECT member, reason FROM user_segments WHERE user_id = ? AND segment = 'new'", listed), r -> r.equals(List.of("f | suppressed")));
        ConsumerRecord<byte[], byte[]> exit = segments.awaitOne("the exit on the segments topic",
                r -> (listed + "|new").equals(key(r)) && value(r).contains("\"suppressed\""), WAIT);
        assertThat(JSON.readTree(exit.value()).get("action").asText()).isEqualTo("exit");

        // and what they do now leads to nothing
        send(viewed(listed, base.plus(Duration.ofMinutes(10))));
        send(added(listed, base.plus(Duration.ofMinutes(11))));
        send(viewed(reference, base.plus(Duration.ofMinutes(10))));
        send(added(reference, base.plus(Duration.ofMinutes(11))));
        moveEventTimeTo(base.plus(Duration.ofMinutes(30)), "list");
        alerts.awaitOne("the alert of " + reference, r -> alertOf(reference, r), WAIT);
        moveEventTimeTo(base.plus(Duration.ofMinutes(50)), "list");
        awaitEventTimePast(base.plus(Duration.ofMinutes(40)));
        Await.until("a later checkpoint: the reference's profile in PostgreSQL", WAIT, () -> rows(run.jdbcUrl(),
                "SELECT count(*) FROM user_profiles WHERE user_id = ?", reference), r -> r.equals(List.of("1")));
        assertThat(alerts.poll().stream().filter(r -> alertOf(listed, r))).isEmpty();
        assertThat(rows(run.jdbcUrl(), "SELECT count(*) FROM segment_events WHERE user_id = ? AND action = 'enter'", listed)).containsExactly("1");
        assertRunningWithoutRestart();
    }

    @Test
    void aControlTopicErasureOfAUserIdAndAnAnonymousIdDeletesBothUsersRowsAndStateThoughItsTimeIsFarBehind() throws Exception {
        Instant base = window(Duration.ofHours(2));
        String erased = user("erased");
        String anon = user("erased-anon");
        send(anonymous(page(anon, base), anon));
        send(anonymous(page(anon, base.plus(Duration.ofMinutes(2))), anon));
        send(viewed(erased, base));
        send(added(erased, base.plus(Duration.ofMinutes(1))));
        ObjectNode order = ordered(erased, base.plus(Duration.ofMinutes(30)));
        ((ObjectNode) order.get("properties")).put("revenue", 650);
        send(order);
        moveEventTimeTo(base.plus(Duration.ofMinutes(40)), "erase");
        alerts.awaitOne("the cart alert of " + erased, r -> alertOf(erased, r), WAIT);

        // everything about the user in one query: profile figures, current segments, alerts
        List<String> overview = Await.until("the overview of " + erased, WAIT, () -> rows(run.jdbcUrl(),
                "SELECT orders_lifetime, revenue_30d = 650, segments, alerts, profile->>'product_views_lifetime' FROM user_overview WHERE user_id = ?",
                erased), r -> r.equals(List.of("1 | t | {high_value,new} | 2 | 1"))); // alerts: cart abandonment and product interest
        assertThat(overview).hasSize(1);
        assertThat(rows(run.jdbcUrl(), "SELECT count(*) FROM segment_events WHERE user_id = ?", erased).get(0)).isNotEqualTo("0");

        Await.until("the anonymous id's profile", WAIT, () -> rows(run.jdbcUrl(),
                "SELECT profile->>'events_lifetime' FROM user_profiles WHERE user_id = ?", anon), r -> r.equals(List.of("2")));

        // the operator's erasure names both ids; its time lies a month behind the job's event time
        // (a request that waited in a queue): it is applied all the same, when it arrives, never late
        Instant requested = base.minus(Duration.ofDays(30));
        control(ControlRecords.json("erase", erased, List.of(anon), "it-erase", requested.toString()));
        for (String id : List.of(erased, anon)) {
            String hash = auditHash(id);
            Await.until("the erasure of " + id + " recorded", WAIT, () -> rows(run.jdbcUrl(),
                    "SELECT erased_at > ?::timestamptz FROM erasures WHERE user_hash = ?", base.plus(Duration.ofMinutes(30)).toString(), hash),
                    r -> r.equals(List.of("t")));
            for (String table : List.of("alerts", "segment_events", "user_segments", "user_profiles")) {
                assertThat(rows(run.jdbcUrl(), "SELECT count(*) FROM " + table + " WHERE user_id = ?", id)).as(table + " " + id).containsExactly("0");
            }
            assertThat(rows(run.jdbcUrl(), "SELECT count(*) FROM erasures WHERE user_hash LIKE ?", "%" + id + "%")).containsExactly("0");
        }
        // keyed: not the unkeyed SHA-256 anyone could compute from a guessed id
        assertThat(rows(run.jdbcUrl(), "SELECT count(*) FROM erasures WHERE user_hash = encode(sha256(convert_to(?, 'UTF8')), 'hex')", erased))
                .containsExactly("0");
        assertThat(rows(run.jdbcUrl(), "SELECT count(*) FROM user_overview WHERE user_id = ?", erased)).containsExactly("0");
        // consumers of the segments topic learn that the user left every segment
        segments.await("the erased exits", r -> key(r).startsWith(erased + "|") && value(r).contains("\"erased\""), 2, WAIT);

        // both come back: new behaviour is kept, nothing from before the erasure returns (their state went too)
        send(page(erased, base.plus(Duration.ofMinutes(60))));
        send(anonymous(page(anon, base.plus(Duration.ofMinutes(60))), anon));
        moveEventTimeTo(base.plus(Duration.ofMinutes(70)), "erase");
        Await.until("the returning user's new profile", WAIT, () -> rows(run.jdbcUrl(),
                "SELECT events_lifetime, segments FROM (SELECT (profile->>'events_lifetime')::int AS events_lifetime, segments "
                        + "FROM user_overview WHERE user_id = ?) o", erased), r -> r.equals(List.of("1 | {new}")));
        Await.until("the returning anonymous id's new profile", WAIT, () -> rows(run.jdbcUrl(),
                "SELECT profile->>'events_lifetime' FROM user_profiles WHERE user_id = ?", anon), r -> r.equals(List.of("1")));
        assertThat(rows(run.jdbcUrl(), "SELECT count(*) FROM alerts WHERE user_id = ?", erased)).containsExactly("0");
        assertThat(late.poll().stream().filter(r -> erased.equals(key(r)) || anon.equals(key(r)))).as("nothing of theirs late").isEmpty();
        assertRunningWithoutRestart();
    }

    /**
     * Identity stitching (docs/contracts.md, "Identity"): an anonymous view and add, a login, a logged-in
     * add and no order are one cart abandonment of the user, none of the anonymous id, whose product
     * interest alert is not sent again under the user; erasing the user erases the anonymous id too.
     */
    @Test
    void anAnonymousVisitorWhoLogsInIsOneUserAndErasingTheUserErasesTheAnonymousId() throws Exception {
        Instant base = window(Duration.ofHours(2));
        String anon = user("stitch-anon");
        String known = user("stitch-user");
        send(anonymous(viewed(anon, base), anon));
        send(anonymous(added(anon, base.plus(Duration.ofMinutes(1))), anon));
        moveEventTimeTo(base.plus(Duration.ofMinutes(5)), "stitch");
        alerts.awaitOne("the anonymous id's product interest", r -> value(r).contains("\"user_id\":\"" + anon + "\"")
                && value(r).contains("\"pattern_id\":\"product-interest\""), WAIT);

        ObjectNode identify = page(known, base.plus(Duration.ofMinutes(6)));
        identify.put("type", "identify");
        identify.remove("name");
        identify.put("anonymousId", anon);
        send(identify);
        send(added(known, base.plus(Duration.ofMinutes(8))));
        moveEventTimeTo(base.plus(Duration.ofMinutes(40)), "stitch");
        alerts.awaitOne("the user's cart abandonment", r -> alertOf(known, r), WAIT);
        // the anonymous add's abandonment (due after the link) is the user's: capped to one a day
        Await.until("the user's profile with the anonymous history", WAIT, () -> rows(run.jdbcUrl(),
                "SELECT profile->>'product_views_lifetime', profile->>'adds_lifetime' FROM user_profiles WHERE user_id = ?", known),
                r -> r.equals(List.of("1 | 2")));
        assertThat(rows(run.jdbcUrl(), "SELECT pattern_id, count(*) FROM alerts WHERE user_id = ? GROUP BY pattern_id ORDER BY 1", known))
                .as("one abandonment (and, the anonymous add counting in the cart's value, one of high value); the product interest "
                        + "went out under the anonymous id only").containsExactly("cart-abandonment | 1", "cart-abandonment-high-value | 1");
        assertThat(rows(run.jdbcUrl(), "SELECT pattern_id FROM alerts WHERE user_id = ?", anon)).containsExactly("product-interest");
        segments.awaitOne("the anonymous id's memberships end as merged", r -> key(r).startsWith(anon + "|") && value(r).contains("\"merged\""), WAIT);

        // the operator names the user only: the anonymous id linked to it is erased with it
        control(ControlRecords.json("erase", known, List.of(), "it-stitch-erase", null));
        for (String id : List.of(known, anon)) {
            String hash = auditHash(id);
            Await.until("the erasure of " + id + " recorded", WAIT, () -> rows(run.jdbcUrl(),
                    "SELECT count(*) FROM erasures WHERE user_hash = ?", hash), r -> r.equals(List.of("1")));
            for (String table : List.of("alerts", "segment_events", "user_segments", "user_profiles")) {
                assertThat(rows(run.jdbcUrl(), "SELECT count(*) FROM " + table + " WHERE user_id = ?", id)).as(table + " " + id).containsExactly("0");
            }
        }
        assertThat(late.poll().stream().filter(r -> known.equals(key(r)) || anon.equals(key(r)))).as("nothing of theirs late").isEmpty();
        assertRunningWithoutRestart();
    }

    @Test
    void byDefaultAPublicUserDeletedOrOptedInForAnotherUserChangesNothingAndABadControlRecordIsADeadLetter() throws Exception {
        Instant base = window(Duration.ofHours(1));
        String victim = user("victim");
        String optedOut = user("victim-opted-out");
        String reference = user("reference-3");
        send(page(victim, base));
        send(page(optedOut, base));
        moveEventTimeTo(base.plus(Duration.ofMinutes(2)), "public");
        Await.until(victim + " is new", WAIT, () -> rows(run.jdbcUrl(),
                "SELECT member FROM user_segments WHERE user_id = ? AND segment = 'new'", victim), r -> r.equals(List.of("t")));
        control(ControlRecords.json("opt_out", optedOut, List.of(), "it-victim-opt-out", null));
        Await.until(optedOut + " left 'new' because of the opt-out", WAIT, () -> rows(run.jdbcUrl(),
                "SELECT member, reason FROM user_segments WHERE user_id = ? AND segment = 'new'", optedOut), r -> r.equals(List.of("f | suppressed")));

        // anyone with the site's write key: erase the victim, lift the other's opt-out (event and trait forms)
        send(track(victim, "User Deleted", base.plus(Duration.ofMinutes(5))));
        send(track(optedOut, "Opted In", base.plus(Duration.ofMinutes(5))));
        ObjectNode trait = page(optedOut, base.plus(Duration.ofMinutes(5)));
        trait.put("type", "identify").putObject("traits").put("opt_out", false);
        send(trait);
        // and the opted-out user shops: no alert may come of it
        send(viewed(optedOut, base.plus(Duration.ofMinutes(6))));
        send(added(optedOut, base.plus(Duration.ofMinutes(7))));
        send(viewed(reference, base.plus(Duration.ofMinutes(6))));
        send(added(reference, base.plus(Duration.ofMinutes(7))));
        // and the operator's topic gets a record that is no control
        control("{\"type\":\"erase\",\"userid\":\"typo\"}".getBytes(StandardCharsets.UTF_8));
        moveEventTimeTo(base.plus(Duration.ofMinutes(30)), "public");
        alerts.awaitOne("the alert of " + reference, r -> alertOf(reference, r), WAIT);
        dlq.awaitOne("the bad control record", r -> "{\"type\":\"erase\",\"userid\":\"typo\"}".equals(value(r))
                && "INVALID_CONTROL".equals(new String(r.headers().lastHeader("dlq.reason").value(), StandardCharsets.UTF_8)), WAIT);
        moveEventTimeTo(base.plus(Duration.ofMinutes(50)), "public");
        awaitEventTimePast(base.plus(Duration.ofMinutes(40)));
        Await.until("a later checkpoint: the reference's profile in PostgreSQL", WAIT, () -> rows(run.jdbcUrl(),
                "SELECT count(*) FROM user_profiles WHERE user_id = ?", reference), r -> r.equals(List.of("1")));

        // the victim keeps everything; "User Deleted" was an ordinary event of theirs
        assertThat(rows(run.jdbcUrl(), "SELECT count(*) FROM erasures WHERE user_hash = ?", auditHash(victim))).containsExactly("0");
        assertThat(rows(run.jdbcUrl(), "SELECT member FROM user_segments WHERE user_id = ? AND segment = 'new'", victim)).containsExactly("t");
        Await.until("the victim's profile counts both events", WAIT, () -> rows(run.jdbcUrl(),
                "SELECT profile->>'events_lifetime' FROM user_profiles WHERE user_id = ?", victim), r -> r.equals(List.of("2")));
        // the opt-out stands
        assertThat(alerts.poll().stream().filter(r -> alertOf(optedOut, r))).isEmpty();
        assertThat(rows(run.jdbcUrl(), "SELECT count(*) FROM segment_events WHERE user_id = ? AND action = 'enter'", optedOut)).containsExactly("1");
        assertThat(rows(run.jdbcUrl(), "SELECT member FROM user_segments WHERE user_id = ? AND segment = 'new'", optedOut)).containsExactly("f");
        assertRunningWithoutRestart();
    }

    /** A separate, bounded job with pseudonymisation on: no output carries the raw id. */
    @Test
    void pseudonymisedOutputsCarryAnHmacOfTheUserIdAndNeverTheId() throws Exception {
        String key = "it-secret-" + TAG;
        System.setProperty(KEY_PROPERTY, key);
        String topic = "privacy-pseudo-" + Long.toHexString(System.nanoTime());
        services.createTopic(topic, PARTITIONS);
        IntegrationServices.Run pseudo = services.newRun("pseudo", topic, Map.of(
                "checkpoint.interval", "1s", "events.max-out-of-orderness", "1m", "events.idle-advance", "false", "parallelism", "2",
                "privacy.pseudonymize", "true", "privacy.pseudonym-key-env", KEY_PROPERTY,
                // this job erases by event: the event form, on by choice
                "privacy.controls-from-events", "true"));
        String shopper = user("pseudo-shopper");
        String erased = user("pseudo-erased");
        Instant base = T0.minus(Duration.ofDays(3));
        String previous = eventsTopic;
        try {
            eventsTopic = topic;
            send(viewed(shopper, base));
            send(added(shopper, base.plus(Duration.ofMinutes(1))));
            send(viewed(erased, base));
            send(track(erased, "User Deleted", base.plus(Duration.ofMinutes(5))));
            moveEventTimeTo(base.plus(Duration.ofMinutes(30)), "pseudo");
        } finally {
            eventsTopic = previous;
        }
        StreamExecutionEnvironment env = services.env(2, new Configuration());
        BehaviorCepJob.prepare(env, pseudo.config(), new KafkaIO(pseudo.config(), true));
        env.execute("behavior-cep pseudonymised");

        String shopperPseudonym = Pseudonymizer.pseudonym(key.getBytes(StandardCharsets.UTF_8), shopper);
        String erasedPseudonym = Pseudonymizer.pseudonym(key.getBytes(StandardCharsets.UTF_8), erased);
        assertThat(shopperPseudonym).matches("[0-9a-f]{64}");
        try (TopicReader a = new TopicReader(services.kafka.bootstrapServers(), pseudo.config().alertsTopic());
             TopicReader s = new TopicReader(services.kafka.bootstrapServers(), pseudo.config().segmentsTopic())) {
            List<ConsumerRecord<byte[], byte[]>> alertRecords = a.readToEnd(WAIT);
            List<ConsumerRecord<byte[], byte[]>> segmentRecords = s.readToEnd(WAIT);
            ConsumerRecord<byte[], byte[]> alert = alertRecords.stream().filter(r -> shopperPseudonym.equals(key(r))
                    && value(r).contains("\"pattern_id\":\"cart-abandonment\"")).findFirst().orElseThrow();
            JsonNode json = JSON.readTree(alert.value());
            assertThat(json.get("user_id").asText()).isEqualTo(shopperPseudonym);
            assertThat(json.get("pattern_id").asText()).isEqualTo("cart-abandonment");
            // keyed: the unkeyed id (of the raw user id and the published message ids) is not what is published
            List<String> ids = new java.util.ArrayList<>();
            for (JsonNode events : json.get("matched")) for (JsonNode e : events) ids.add(e.get("message_id").asText());
            java.util.Collections.sort(ids);
            String plain = io.behaviorcep.action.PatternActionsFunction.alertId("cart-abandonment", json.get("pattern_version").asInt(), shopper,
                    String.join(",", ids));
            assertThat(json.get("alert_id").asText()).matches("[0-9a-f]{32}")
                    .isEqualTo(Pseudonymizer.alertId(key.getBytes(StandardCharsets.UTF_8), plain)).isNotEqualTo(plain);
            assertThat(segmentRecords).filteredOn(r -> key(r).startsWith(shopperPseudonym + "|")).isNotEmpty()
                    .allSatisfy(r -> assertThat(JSON.readTree(r.value()).get("event_id").asText()).startsWith(shopperPseudonym + "|"));
            for (ConsumerRecord<byte[], byte[]> r : alertRecords) assertThat(key(r) + value(r)).doesNotContain(shopper).doesNotContain(erased);
            for (ConsumerRecord<byte[], byte[]> r : segmentRecords) assertThat(key(r) + value(r)).doesNotContain(shopper).doesNotContain(erased);
        }
        String url = pseudo.jdbcUrl();
        assertThat(rows(url, "SELECT user_id FROM alerts WHERE pattern_id = 'cart-abandonment'")).containsExactly(shopperPseudonym);
        assertThat(rows(url, "SELECT count(*) FROM user_profiles WHERE user_id = ?", shopperPseudonym)).containsExactly("1");
        assertThat(rows(url, "SELECT count(*) FROM user_segments WHERE user_id = ?", shopperPseudonym).get(0)).isNotEqualTo("0");
        for (String table : List.of("alerts", "segment_events", "user_segments", "user_profiles")) {
            assertThat(rows(url, "SELECT count(*) FROM " + table + " WHERE user_id IN (?, ?)", shopper, erased)).as(table).containsExactly("0");
            assertThat(rows(url, "SELECT count(*) FROM " + table + " WHERE user_id = ?", erasedPseudonym)).as(table).containsExactly("0");
        }
        assertThat(rows(url, "SELECT count(*) FROM alerts WHERE document::text LIKE ?", "%" + shopper + "%")).containsExactly("0");
        // the erasure is recorded by the hash of the pseudonym
        assertThat(rows(url, "SELECT erased_at = ?::timestamptz FROM erasures WHERE user_hash = ?",
                base.plus(Duration.ofMinutes(5)).toString(), auditHash(erasedPseudonym))).containsExactly("t");
    }
}
