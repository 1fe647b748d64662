package io.behaviorcep.it;

import io.behaviorcep.BehaviorCepJob;
import io.behaviorcep.KafkaIO;
import io.behaviorcep.testing.Await;
import io.behaviorcep.testing.IntegrationServices;
import io.behaviorcep.testing.TopicReader;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
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

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.behaviorcep.testing.Events.added;
import static io.behaviorcep.testing.Events.bytes;
import static io.behaviorcep.testing.Events.ordered;
import static io.behaviorcep.testing.Events.page;
import static io.behaviorcep.testing.Events.viewed;
import static io.behaviorcep.testing.IntegrationServices.keyOnPartition;
import static io.behaviorcep.testing.IntegrationServices.rows;
import static io.behaviorcep.testing.TopicReader.header;
import static io.behaviorcep.testing.TopicReader.key;
import static io.behaviorcep.testing.TopicReader.value;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The production job (KafkaIO with its exactly-once Kafka sinks and the PostgreSQL sink) against a
 * real broker and a real database, unbounded, checked from outside while it runs, as a consumer
 * in read_committed and a SQL client would see it.
 *
 * <p>One job serves the whole class. Event time is shared by all tests, so each test takes a fresh
 * window of event time after the previous ones ({@link #window}); users are distinct per test.
 * Event time moves only with data ({@code events.idle-advance=false}); every test sends "clock"
 * events of users unrelated to the scenario to both partitions to move it. The idle timeout is set
 * longer than the class runs, so no partition is ever marked idle and the watermark is always the
 * minimum over both partitions: no test event can be overtaken by the watermark by accident.
 */
class EndToEndIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PARTITIONS = 2;
    private static final Duration WAIT = Duration.ofSeconds(30);
    /**
     * Three days in the past: the parser refuses events more than an hour ahead of the wall clock,
     * and the tests together claim more than a day of event time (a day-long timeout among them).
     */
    private static final Instant T0 = Instant.now().minus(Duration.ofDays(3)).truncatedTo(ChronoUnit.HOURS);

    private static IntegrationServices services;
    private static IntegrationServices.Run run;
    private static String eventsTopic;
    private static JobClient job;
    private static KafkaProducer<byte[], byte[]> producer;
    private static TopicReader alerts;
    private static TopicReader segments;
    private static TopicReader dlq;
    private static TopicReader late;
    private static Instant nextWindow = T0;

    @BeforeAll
    static void startJob() throws Exception {
        long started = System.nanoTime();
        services = IntegrationServices.start(2);
        eventsTopic = "e2e-events-" + Long.toHexString(System.nanoTime());
        services.createTopic(eventsTopic, PARTITIONS);
        run = services.newRun("e2e", eventsTopic, Map.of(
                "checkpoint.interval", "1s",
                "events.max-out-of-orderness", "1m",
                "events.idle-advance", "false",
                "events.idle-timeout", "10m",
                "parallelism", "2",
                // short enough for event time to pass it within the hour of events the parser accepts
                "profile.retention", "2h"));

        StreamExecutionEnvironment env = services.env(2, new Configuration());
        BehaviorCepJob.prepare(env, run.config(), new KafkaIO(run.config()));
        job = env.executeAsync("behavior-cep end-to-end");
        producer = services.producer();
        alerts = new TopicReader(services.kafka.bootstrapServers(), run.config().alertsTopic());
        segments = new TopicReader(services.kafka.bootstrapServers(), run.config().segmentsTopic());
        dlq = new TopicReader(services.kafka.bootstrapServers(), run.config().dlqTopic());
        late = new TopicReader(services.kafka.bootstrapServers(), run.config().lateTopic());
        Await.until("all tasks of the job running", WAIT, () -> IntegrationServices.allRunning(services.graph(job.getJobID())));
        System.out.printf("job %s running %d ms after the class started (run %s)%n",
                job.getJobID(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), run.name());
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (job != null) {
                job.cancel().get(30, TimeUnit.SECONDS);
            }
        } finally {
            for (AutoCloseable c : new AutoCloseable[] {alerts, segments, dlq, late, producer, services}) {
                if (c != null) c.close();
            }
        }
    }

    /** Claims {@code span} of event time after everything earlier tests used. */
    private static synchronized Instant window(Duration span) {
        Instant w = nextWindow;
        nextWindow = nextWindow.plus(span);
        return w;
    }

    private static RecordMetadata send(String key, byte[] value) throws Exception {
        int partition = IntegrationServices.partitionOf(key, PARTITIONS);
        return producer.send(new ProducerRecord<>(eventsTopic, partition, key.getBytes(StandardCharsets.UTF_8), value)).get(10, TimeUnit.SECONDS);
    }

    private static ObjectNode send(ObjectNode event) throws Exception {
        send(event.get("userId").asText(), bytes(event));
        return event;
    }

    /** Events of uninvolved users on every partition, so event time (the minimum over partitions) reaches {@code at}. */
    private static void moveEventTimeTo(Instant at, String tag) throws Exception {
        for (int p = 0; p < PARTITIONS; p++) {
            send(page(keyOnPartition("clock-" + tag + "-p" + p, p, PARTITIONS), at));
        }
    }

    private static void assertRunningWithoutRestart() throws Exception {
        assertThat(job.getJobStatus().get(10, TimeUnit.SECONDS)).isEqualTo(JobStatus.RUNNING);
        AccessExecutionGraph g = services.graph(job.getJobID());
        assertThat(g.getFailureInfo()).as("the job has not failed since it started").isNull();
        assertThat(IntegrationServices.maxAttempt(g)).as("no task was redeployed").isZero();
    }

    private static JsonNode json(ConsumerRecord<byte[], byte[]> r) throws Exception {
        return JSON.readTree(r.value());
    }

    /** Whether a record of the alerts topic is a cart-abandonment alert of {@code user} (other shipped patterns run too). */
    private static boolean cartAlertOf(String user, ConsumerRecord<byte[], byte[]> r) {
        try {
            JsonNode a = json(r);
            return user.equals(a.path("user_id").asText()) && "cart-abandonment".equals(a.path("pattern_id").asText());
        } catch (Exception e) {
            return false;
        }
    }

    /**
     * Waits until event time has passed {@code t} where events are deduplicated and late ones
     * routed: probes stamped {@code t} are sent until one comes out on the late topic. Watermarks
     * travel in order, so every operator downstream handles this watermark before any later one.
     */
    private static void awaitEventTimePast(Instant t) throws Exception {
        String probeUser = "e2e-probe";
        long[] lastSent = {0};
        Await.until("event time past " + t, WAIT, () -> {
            if (System.nanoTime() - lastSent[0] > TimeUnit.MILLISECONDS.toNanos(300)) {
                send(page(probeUser, t));
                lastSent[0] = System.nanoTime();
            }
            return late.poll().stream().anyMatch(r -> probeUser.equals(key(r)) && value(r).contains("\"timestamp\":\"" + t + "\""));
        });
    }

    @Test
    void anIdleUsersAbandonedCartAlertsOnceOtherUsersMoveEventTimeAndAnOrderEndsTheSegment() throws Exception {
        Instant base = window(Duration.ofHours(1));
        String user = "e2e-idle-a";
        ObjectNode view = send(viewed(user, base));
        ObjectNode add = send(added(user, base.plus(Duration.ofMinutes(1))));
        Instant deadline = base.plus(Duration.ofMinutes(16));
        // The user stays idle from here on: only other users' events move event time, in two steps.
        // First past the add but not the deadline, and wait until the job is there: the add has been
        // taken in and the absence of an order is pending. (Jumping past both at once would decide
        // the absence in the same step that takes in the add, and would not show an idle user.)
        moveEventTimeTo(base.plus(Duration.ofMinutes(6)), "a");
        awaitEventTimePast(base.plus(Duration.ofMinutes(3)));
        assertThat(alerts.poll().stream().filter(r -> cartAlertOf(user, r))).as("no alert before the deadline").isEmpty();
        // then past the deadline, by more than the 1 min out-of-orderness
        moveEventTimeTo(deadline.plus(Duration.ofMinutes(2)), "a");

        ConsumerRecord<byte[], byte[]> record = alerts.awaitOne("the alert of " + user, r -> cartAlertOf(user, r), WAIT);
        assertRunningWithoutRestart(); // the alert came out of the running job, not from the end of the input

        assertThat(key(record)).isEqualTo(user);
        // the record carries production time (retention-safe); the event-time deadline is in the document
        assertThat(record.timestamp()).isGreaterThan(deadline.toEpochMilli());
        JsonNode alert = json(record);
        assertThat(alert.get("alert_id").asText()).matches("[0-9a-f]{32}");
        assertThat(alert.get("pattern_id").asText()).isEqualTo("cart-abandonment");
        assertThat(alert.get("pattern_version").asInt()).isEqualTo(1);
        assertThat(alert.get("alert_type").asText()).isEqualTo("cart_abandoned");
        assertThat(alert.get("severity").asText()).isEqualTo("medium");
        assertThat(alert.get("user_id").asText()).isEqualTo(user);
        assertThat(alert.get("detected_at").asText()).isEqualTo(deadline.toString());
        JsonNode matched = alert.get("matched");
        assertThat(matched.get("viewed")).hasSize(1);
        assertThat(matched.get("viewed").get(0).get("message_id").asText()).isEqualTo(view.get("messageId").asText());
        assertThat(matched.get("viewed").get(0).get("timestamp").asText()).isEqualTo(base.toString());
        assertThat(matched.get("added")).hasSize(1);
        assertThat(matched.get("added").get(0).get("message_id").asText()).isEqualTo(add.get("messageId").asText());
        assertThat(matched.get("added").get(0).get("timestamp").asText()).isEqualTo(base.plus(Duration.ofMinutes(1)).toString());
        assertThat(matched.has("no_order")).as("absences bind nothing").isFalse();
        assertThat(alert.get("payload")).isEqualTo(JSON.readTree("{\"price\":59.9,\"product_id\":\"p-1\",\"product_name\":\"Shoe\"}"));
        JsonNode profile = alert.get("profile");
        assertThat(profile.get("events_24h").asInt()).isEqualTo(2);
        assertThat(profile.get("events_7d").asInt()).isEqualTo(2);
        assertThat(profile.get("first_seen").asText()).isEqualTo(base.toString());
        assertThat(profile.get("last_seen").asText()).isEqualTo(base.plus(Duration.ofMinutes(1)).toString());
        for (String f : List.of("sessions_24h", "sessions_7d", "sessions_lifetime", "orders_lifetime", "revenue_lifetime")) {
            assertThat(profile.has(f)).as("profile." + f).isTrue();
        }

        // the same alert in PostgreSQL: the document is the Kafka JSON (jsonb equality), columns match it
        String alertId = alert.get("alert_id").asText();
        String sql = "SELECT pattern_id, pattern_version, alert_type, severity, user_id, detected_at = ?::timestamptz, document = ?::jsonb "
                + "FROM alerts WHERE alert_id = ?";
        List<String> row = Await.until("alert " + alertId + " in PostgreSQL", WAIT,
                () -> rows(run.jdbcUrl(), sql, deadline.toString(), value(record), alertId), r -> !r.isEmpty());
        assertThat(row).containsExactly("cart-abandonment | 1 | cart_abandoned | medium | " + user + " | t | t");

        Await.until(user + " is a member of cart_abandoners", WAIT, () -> rows(run.jdbcUrl(),
                "SELECT member, reason FROM user_segments WHERE user_id = ? AND segment = 'cart_abandoners'", user),
                r -> r.equals(List.of("t | cart-abandonment")));
        assertThat(rows(run.jdbcUrl(), "SELECT action, reason, version, at = ?::timestamptz, expires_at = ?::timestamptz "
                        + "FROM segment_events WHERE user_id = ? AND segment = 'cart_abandoners' ORDER BY version",
                deadline.toString(), deadline.plus(Duration.ofDays(7)).toString(), user))
                .containsExactly("enter | cart-abandonment | " + (2 * deadline.toEpochMilli() + 1) + " | t | t");
        ConsumerRecord<byte[], byte[]> enter = segments.awaitOne("the enter of " + user,
                r -> (user + "|cart_abandoners").equals(key(r)), WAIT);
        assertThat(json(enter).get("action").asText()).isEqualTo("enter");

        // an order later ends the membership: an exit on the segments topic and member = false in PostgreSQL
        Instant orderAt = deadline.plus(Duration.ofMinutes(10));
        ObjectNode order = send(ordered(user, orderAt));
        moveEventTimeTo(orderAt.plus(Duration.ofMinutes(2)), "a");
        ConsumerRecord<byte[], byte[]> exit = segments.awaitOne("the exit of " + user,
                r -> (user + "|cart_abandoners").equals(key(r)) && value(r).contains("\"exit\""), WAIT);
        JsonNode exitJson = json(exit);
        assertThat(exitJson.get("reason").asText()).isEqualTo("cart-abandonment");
        assertThat(exitJson.get("at").asText()).isEqualTo(orderAt.toString());
        assertThat(exitJson.get("expires_at").isNull()).isTrue();
        Await.until(user + " left cart_abandoners in PostgreSQL", WAIT, () -> rows(run.jdbcUrl(),
                "SELECT member, version FROM user_segments WHERE user_id = ? AND segment = 'cart_abandoners'", user),
                r -> r.equals(List.of("f | " + 2 * orderAt.toEpochMilli())));
        assertThat(rows(run.jdbcUrl(), "SELECT action FROM segment_events WHERE user_id = ? AND segment = 'cart_abandoners' ORDER BY version", user))
                .containsExactly("enter", "exit");
        assertThat(order.get("messageId").asText()).isNotBlank();
        assertRunningWithoutRestart();
    }

    /** Whether a record of the alerts topic is an alert of {@code pattern} for {@code user}. */
    private static boolean alertOf(String user, String pattern, ConsumerRecord<byte[], byte[]> r) {
        try {
            JsonNode a = json(r);
            return user.equals(a.path("user_id").asText()) && pattern.equals(a.path("pattern_id").asText());
        } catch (Exception e) {
            return false;
        }
    }

    @Test
    void aPricingViewWithoutSignupTimesOutIntoItsOwnAlertInKafkaAndPostgres() throws Exception {
        Instant base = window(Duration.ofDays(1).plusHours(1));
        String user = "e2e-pricing";
        ObjectNode pricing = page(user, base);
        pricing.put("name", "Pricing");
        pricing.putObject("context").putObject("page").put("path", "/pricing").put("url", "https://shop.example/pricing");
        send(pricing);
        Instant deadline = base.plus(Duration.ofDays(1));
        // the partial match is open and the user stays quiet: half a day on, nothing has timed out
        moveEventTimeTo(base.plus(Duration.ofHours(12)), "pricing");
        awaitEventTimePast(base.plus(Duration.ofHours(11)));
        assertThat(alerts.poll().stream().filter(r -> alertOf(user, "pricing-no-signup", r))).as("no alert before the day is over").isEmpty();
        moveEventTimeTo(deadline.plus(Duration.ofMinutes(2)), "pricing");

        ConsumerRecord<byte[], byte[]> record = alerts.awaitOne("the timeout alert of " + user, r -> alertOf(user, "pricing-no-signup", r), WAIT);
        assertRunningWithoutRestart();
        JsonNode alert = json(record);
        assertThat(alert.get("alert_type").asText()).isEqualTo("pricing_no_signup");
        assertThat(alert.get("severity").asText()).isEqualTo("medium");
        assertThat(alert.get("detected_at").asText()).as("the end of the day the signup had").isEqualTo(deadline.toString());
        JsonNode matched = alert.get("matched");
        assertThat(matched.get("pricing").get(0).get("message_id").asText()).isEqualTo(pricing.get("messageId").asText());
        assertThat(matched.has("signed_up")).as("a timed-out partial match lists only the steps it reached").isFalse();
        assertThat(alert.get("payload")).isEqualTo(JSON.readTree("{\"page_url\":\"https://shop.example/pricing\"}"));

        String alertId = alert.get("alert_id").asText();
        List<String> row = Await.until("alert " + alertId + " in PostgreSQL", WAIT, () -> rows(run.jdbcUrl(),
                "SELECT pattern_id, alert_type, user_id, detected_at = ?::timestamptz, document = ?::jsonb FROM alerts WHERE alert_id = ?",
                deadline.toString(), value(record), alertId), r -> !r.isEmpty());
        assertThat(row).containsExactly("pricing-no-signup | pricing_no_signup | " + user + " | t | t");
        assertThat(rows(run.jdbcUrl(), "SELECT count(*) FROM alerts WHERE user_id = ?", user)).containsExactly("1");
    }

    /**
     * A user gone for longer than {@code profile.retention} (2 h here) who comes back is not new again:
     * PostgreSQL holds one entry of {@code new} and no {@code ttl} exit, and the profile written on the
     * return counts from the first visit.
     */
    @Test
    void aUserBackAfterTheRetentionIsNotNewAgainAndKeepsTheirMembership() throws Exception {
        Instant base = window(Duration.ofHours(6));
        String user = "e2e-returning";
        Instant back = base.plus(Duration.ofHours(5));
        send(page(user, base));
        moveEventTimeTo(base.plus(Duration.ofHours(4)), "returning-gone");
        send(page(user, back));
        moveEventTimeTo(back.plus(Duration.ofMinutes(2)), "returning-back");
        List<String> profile = Await.until(user + "'s profile after the return in PostgreSQL", WAIT, () -> rows(run.jdbcUrl(),
                "SELECT first_seen = ?::timestamptz, profile->>'events_lifetime' FROM user_profiles WHERE user_id = ? AND last_seen = ?::timestamptz",
                base.toString(), user, back.toString()), r -> !r.isEmpty());
        assertThat(profile).containsExactly("t | 2");
        // a later checkpoint's output, so that whatever the return caused is committed too
        String marker = "e2e-returning-marker";
        send(page(marker, back.plus(Duration.ofMinutes(3))));
        moveEventTimeTo(back.plus(Duration.ofMinutes(5)), "returning-marker");
        Await.until(marker + "'s profile in PostgreSQL", WAIT, () -> rows(run.jdbcUrl(),
                "SELECT 1 FROM user_profiles WHERE user_id = ?", marker), r -> !r.isEmpty());

        assertThat(rows(run.jdbcUrl(), "SELECT action, reason FROM segment_events WHERE user_id = ? AND segment = 'new' ORDER BY version", user))
                .containsExactly("enter | new");
        assertThat(rows(run.jdbcUrl(), "SELECT member FROM user_segments WHERE user_id = ? AND segment = 'new'", user)).containsExactly("t");
        assertThat(rows(run.jdbcUrl(), "SELECT count(*) FROM segment_events WHERE user_id = ? AND reason = 'ttl'", user)).containsExactly("0");
        assertRunningWithoutRestart();
    }

    @Test
    void malformedRecordsReachTheDeadLetterTopicWithTheirOriginalBytesAndTheJobKeepsRunning() throws Exception {
        Instant base = window(Duration.ofMinutes(10));
        String user = "e2e-dirty";
        ObjectNode noMessageId = page(user, base);
        noMessageId.remove("messageId");
        byte[][] values = {
                bytes("this is not JSON {"),
                bytes(noMessageId),
                bytes(page(user, Instant.parse("3000-01-01T00:00:00Z"))),
                {'{', '"', 't', 'y', 'p', 'e', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'}, // invalid UTF-8
        };
        String[] reasons = {"NOT_JSON", "MISSING_FIELD", "FUTURE_TIMESTAMP", "NOT_JSON"};
        List<RecordMetadata> sent = new ArrayList<>();
        for (byte[] v : values) sent.add(send(user, v));
        moveEventTimeTo(base.plus(Duration.ofMinutes(1)), "dirty");

        List<ConsumerRecord<byte[], byte[]>> letters = dlq.await("the four dead letters",
                r -> eventsTopic.equals(header(r, "dlq.source.topic")) && sent.stream().anyMatch(m -> matches(m, r)), values.length, WAIT);
        assertThat(letters).hasSize(values.length);
        for (int i = 0; i < values.length; i++) {
            RecordMetadata m = sent.get(i);
            ConsumerRecord<byte[], byte[]> r = letters.stream().filter(l -> matches(m, l)).findFirst().orElseThrow();
            assertThat(r.value()).as("dead letter %d keeps the original bytes", i).isEqualTo(values[i]);
            assertThat(key(r)).isEqualTo(user);
            assertThat(header(r, "dlq.reason")).as("reason of dead letter %d", i).isEqualTo(reasons[i]);
            assertThat(header(r, "dlq.message")).isNotBlank();
            assertThat(header(r, "dlq.at")).isNotBlank();
        }
        assertThat(header(letters.stream().filter(l -> matches(sent.get(3), l)).findFirst().orElseThrow(), "dlq.message"))
                .contains("UTF-8");
        assertRunningWithoutRestart();
    }

    private static boolean matches(RecordMetadata m, ConsumerRecord<byte[], byte[]> r) {
        return Integer.toString(m.partition()).equals(header(r, "dlq.source.partition"))
                && Long.toString(m.offset()).equals(header(r, "dlq.source.offset"));
    }

    @Test
    void anExactDuplicateHasNoSecondEffectAndAnEventFarBehindTheWatermarkGoesToTheLateTopic() throws Exception {
        Instant base = window(Duration.ofHours(1));
        String user = "e2e-dup-d";
        byte[] view = bytes(viewed(user, base));
        ObjectNode addEvent = added(user, base.plus(Duration.ofMinutes(1)));
        byte[] add = bytes(addEvent);
        for (byte[] v : List.of(view, view, add, add)) send(user, v); // every record twice, byte for byte
        Instant newest = base.plus(Duration.ofMinutes(18));
        moveEventTimeTo(newest, "d");

        ConsumerRecord<byte[], byte[]> record = alerts.awaitOne("the alert of " + user, r -> cartAlertOf(user, r), WAIT);
        JsonNode alert = json(record);
        assertThat(alert.get("profile").get("events_24h").asInt()).as("the duplicates were not counted").isEqualTo(2);
        assertThat(alert.get("matched").get("viewed")).hasSize(1);
        assertThat(alert.get("matched").get("added")).hasSize(1);

        // event time is now past `newest` - 1 min on every partition; 3 hours behind the newest event is far behind it
        String lateUser = "e2e-late-l";
        ObjectNode tooLate = send(page(lateUser, newest.minus(Duration.ofHours(3))));
        ConsumerRecord<byte[], byte[]> lateRecord = late.awaitOne("the late event",
                r -> value(r).contains(tooLate.get("messageId").asText()), WAIT);
        JsonNode lateJson = json(lateRecord);
        assertThat(key(lateRecord)).isEqualTo(lateUser);
        assertThat(lateJson.get("userId").asText()).isEqualTo(lateUser);
        assertThat(lateJson.get("timestamp").asText()).isEqualTo(newest.minus(Duration.ofHours(3)).toString());
        assertThat(lateJson.get("type").asText()).isEqualTo("page");

        // by now a later checkpoint has committed: a second alert or enter for the duplicate would be visible
        assertThat(alerts.poll().stream().filter(r -> cartAlertOf(user, r))).hasSize(1);
        assertThat(segments.poll().stream().filter(r -> (user + "|cart_abandoners").equals(key(r)))).hasSize(1);
        Await.until("the alert of " + user + " in PostgreSQL", WAIT,
                () -> rows(run.jdbcUrl(), "SELECT count(*) FROM alerts WHERE user_id = ? AND pattern_id = 'cart-abandonment'", user), r -> r.equals(List.of("1")));
        assertThat(rows(run.jdbcUrl(), "SELECT count(*) FROM segment_events WHERE user_id = ? AND segment = 'cart_abandoners'", user)).containsExactly("1");
        assertThat(alerts.poll().stream().filter(r -> lateUser.equals(key(r)))).isEmpty();
        assertRunningWithoutRestart();
    }
}
