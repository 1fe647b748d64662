package io.behaviorcep.it;

import io.behaviorcep.event.EventParser;
import io.behaviorcep.event.RawRecord;
import io.behaviorcep.local.TrafficGenerator;
import io.behaviorcep.replay.ReplayRunner;
import io.behaviorcep.testing.Await;
import io.behaviorcep.testing.IntegrationServices;
import io.behaviorcep.testing.ReplayOracle;
import io.behaviorcep.testing.TopicReader;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.JobClient;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 15, bounded cost per user: valid but hostile input, as any browser may send it, through the
 * job as deployed (the real broker and database, RocksDB, a 12-partition topic read by 2 subtasks,
 * idle-advance on, the default out-of-orderness and idle timeout), interleaved with ordinary shoppers:
 * a hot user, many fresh users, a user flooding one instant just inside {@code events.max-future-skew},
 * number and string edge cases (a 1,001-digit number, {@code 1e99999999999}, NUL, lone surrogates, a
 * 4 KB user id, a 64 KiB string), odd property names, an event of 128,000 array elements arriving late,
 * timestamps at the edges of the allowed window, and repeated messageIds.
 *
 * <p>Checked: the job never restarts; every record is accounted for (dead-lettered with the reason
 * the parser or the profile's buffer bound gives, late, dropped as a repeat, or processed); and the
 * ordinary shoppers' alerts and segment updates are those of {@code replay} of the shoppers alone (a
 * run without the hostile records), up to the job's event time at the end. State bytes per user and
 * the time taken are printed.
 */
class HostileValidInputIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PARTITIONS = 12;
    private static final int PARALLELISM = 2;
    private static final int SHOPPER_RECORDS = 6_000;
    /**
     * The hot user's views, then as many adds, within half an hour: the 1,500 + 1,500.
     * cart-abandonment's followed_by_any keeps a run per view, each extended by every add, until
     * engine.max-runs-per-user-pattern bounds them (oldest dropped first); without that bound this
     * case does not finish.
     */
    private static final int HOT = Integer.getInteger("hostile.hot", 1_500);
    private static final int FRESH_USERS = 1_000;
    /** Events of the flooding user, at one instant: more than profile.max-buffered-events-per-instant (1,000). */
    private static final int FLOOD = 1_200;
    private static final int REPEATS = 100;
    private static final Duration WAIT = Duration.ofSeconds(120);
    private static final long OUT_OF_ORDERNESS = Duration.ofSeconds(30).toMillis();
    private static final Instant START = Instant.parse("2025-01-06T08:00:00Z");
    /**
     * Simulated pause between the two phases. The test waits up to {@link #WAIT} of wall time for the
     * job to catch up after phase 1; past events.idle-timeout, idle-advance moves every partition's event
     * time on with the wall clock from its newest event. Phase 2 starts later in event time than that can
     * reach, after {@link #QUIET} or the longest wait, as live traffic resuming after a quiet spell would, so only the records meant to be late are.
     */
    /** Longer than the default events.idle-timeout (30 s). */
    private static final Duration QUIET = Duration.ofSeconds(40);
    private static final Duration PHASE_GAP = WAIT.multipliedBy(5);

    private static IntegrationServices services;
    private static Path shoppersFile;
    private static List<TrafficGenerator.GeneratedRecord> shoppers;
    private static Set<String> ordinaryUsers = new HashSet<>();
    private static long lastShopperTime;

    @TempDir
    static Path work;

    @BeforeAll
    static void start() throws Exception {
        services = IntegrationServices.start(PARALLELISM);
        TrafficGenerator generator = new TrafficGenerator(new TrafficGenerator.Config(20261205L, 300, 100, START, 100, 0, 0, 0));
        shoppers = new ArrayList<>(generator.nextBatch(SHOPPER_RECORDS));
        for (int i = SHOPPER_RECORDS / 2; i < SHOPPER_RECORDS; i++) shoppers.set(i, later(shoppers.get(i), PHASE_GAP));
        lastShopperTime = generator.simulatedNow().plus(PHASE_GAP).toEpochMilli();
        shoppersFile = work.resolve("shoppers.jsonl");
        List<String> lines = new ArrayList<>();
        for (TrafficGenerator.GeneratedRecord r : shoppers) {
            lines.add(r.valueString());
            JsonNode n = JSON.readTree(r.value());
            ordinaryUsers.add(n.hasNonNull("userId") ? n.get("userId").asText() : n.get("anonymousId").asText());
        }
        Files.write(shoppersFile, lines, StandardCharsets.UTF_8);
    }

    private static TrafficGenerator.GeneratedRecord later(TrafficGenerator.GeneratedRecord r, Duration by) throws Exception {
        ObjectNode n = (ObjectNode) JSON.readTree(r.value());
        n.put("timestamp", Instant.parse(n.get("timestamp").asText()).plus(by).toString());
        return new TrafficGenerator.GeneratedRecord(r.key(), JSON.writeValueAsBytes(n), r.kind());
    }

    @AfterAll
    static void stop() throws Exception {
        if (services != null) services.close();
    }

    /** One record to send: its event time (for interleaving), bytes, and what must become of it. */
    record Rec(long at, byte[] key, byte[] value, String label, boolean late) {}

    private static ObjectNode event(String user, String messageId, String name, long at) {
        ObjectNode n = JSON.createObjectNode();
        n.put("type", "track").put("event", name).put("messageId", messageId).put("userId", user).put("timestamp", Instant.ofEpochMilli(at).toString());
        return n;
    }

    private static Rec rec(ObjectNode n, String label) {
        return rec(n.toString(), n.path("userId").asText(null), Instant.parse(n.get("timestamp").asText()).toEpochMilli(), label, false);
    }

    private static Rec rec(String json, String key, long at, String label, boolean late) {
        return new Rec(at, key == null ? null : key.getBytes(StandardCharsets.UTF_8), json.getBytes(StandardCharsets.UTF_8), label, late);
    }

    /** The hostile records of one phase; phase 2 holds those that must arrive behind the watermark. */
    static List<Rec> hostile(int phase, long wallClock) {
        List<Rec> l = new ArrayList<>();
        long t = START.toEpochMilli();
        long min = 60_000;
        if (phase == 1) {
            // the hot user: views then adds within half an hour, some sent twice (a producer retry)
            for (int i = 0; i < 2 * HOT; i++) {
                ObjectNode n = event("hot-user", "hot-" + i, i < HOT ? "Product Viewed" : "Product Added", t + 20 * min + i * (30 * min / (2 * HOT)));
                n.putObject("properties").put("product_id", "p" + (i % 50)).put("price", 9.99);
                l.add(rec(n, "hot user"));
                if (i % (2 * HOT / REPEATS) == 0) l.add(rec(n, "hot user, repeated messageId"));
            }
            // one instant, just inside events.max-future-skew, flooded: past the buffer bound
            long future = wallClock + Duration.ofMinutes(59).toMillis();
            for (int i = 0; i < FLOOD; i++) l.add(rec(event("flood-user", "flood-" + i, "Page Viewed", future), "flood at one future instant"));
            l.add(rec(event("future-user", "future-out", "Page Viewed", wallClock + Duration.ofMinutes(61).toMillis()), "beyond max-future-skew"));
            l.add(rec(event("edge-2000", "before-2000", "Page Viewed", Instant.parse("1999-12-31T23:59:59.999Z").toEpochMilli()), "just before 2000"));

            long at = t + 30 * min;
            ObjectNode big = event("numbers-user", "numbers", "Product Added", at);
            big.putObject("properties").put("price", "1e99999999999").put("product_id", "p1");
            l.add(rec(big, "price as the string 1e99999999999"));
            l.add(rec("{\"type\":\"track\",\"event\":\"Product Added\",\"messageId\":\"exp\",\"userId\":\"numbers-user\",\"timestamp\":\""
                    + Instant.ofEpochMilli(at + 1) + "\",\"properties\":{\"price\":1e99999999999,\"qty\":" + "9".repeat(1_001) + "}}",
                    "numbers-user", at + 1, "numeric 1e99999999999 and 1,001 digits", false));
            l.add(rec("{\"type\":\"track\",\"event\":\"Product Viewed\",\"messageId\":\"nul\",\"userId\":\"nul\\u0000user\",\"timestamp\":\""
                    + Instant.ofEpochMilli(at + 2) + "\",\"properties\":{\"name\":\"a\\u0000b\"}}", "nul\u0000user", at + 2, "NUL in user id and value", false));
            l.add(rec("{\"type\":\"track\",\"event\":\"Product Viewed\",\"messageId\":\"surrogate\",\"userId\":\"lone\\ud800user\",\"timestamp\":\""
                    + Instant.ofEpochMilli(at + 3) + "\",\"properties\":{\"name\":\"x\\udc00y\"}}", "lone-user", at + 3, "lone surrogates", false));
            l.add(rec(event("u".repeat(4_096), "long-id", "Page Viewed", at + 4), "4 KB user id"));
            ObjectNode longString = event("long-string-user", "long-string", "Product Viewed", at + 5);
            longString.putObject("properties").put("name", "s".repeat(64 * 1024));
            l.add(rec(longString, "64 KiB string"));
            ObjectNode names = event("odd-names-user", "odd-names", "Product Viewed", at + 6);
            names.putObject("properties").put(".", 1).put("a..b", 2).put("", 3).put("a.", 4);
            l.add(rec(names, "odd property names"));
            // another user with the hot user's messageId: not a repeat
            l.add(rec(event("fresh-shared-id", "hot-0", "Page Viewed", at + 7), "a messageId of another user"));
        } else {
            // behind the watermark when they arrive (phase 1 has been read and checkpointed)
            StringBuilder array = new StringBuilder("[");
            for (int i = 0; i < 128_000; i++) array.append(i == 0 ? "0" : ",0");
            l.add(rec("{\"type\":\"track\",\"event\":\"Product Viewed\",\"messageId\":\"late-array\",\"userId\":\"late-user\",\"timestamp\":\""
                    + START.minus(Duration.ofHours(1)) + "\",\"properties\":{\"a\":" + array.append("]") + "}}", "late-user",
                    START.toEpochMilli(), "late, 128,000 array elements", true));
            l.add(rec(event("edge-2000", "at-2000", "Page Viewed", Instant.parse("2000-01-01T00:00:00Z").toEpochMilli()).toString(),
                    "edge-2000", START.toEpochMilli() + 1, "at 2000-01-01, late", true));
        }
        // many fresh users, one event each, spread over the phase's half of the shoppers' time
        long from = phase == 1 ? t : t + 50 * min + PHASE_GAP.toMillis();
        for (int i = 0; i < FRESH_USERS / 2; i++) {
            String user = "fresh-" + phase + "-" + i;
            l.add(rec(event(user, "f" + i, "Product Viewed", from + i * (50 * min / (FRESH_USERS / 2))), "fresh user"));
        }
        return l;
    }

    @Test
    void hostileValidInputCostsBoundedStateAndChangesNothingForOrdinaryShoppers() throws Exception {
        long began = System.nanoTime();
        String topic = "hostile-valid-" + Long.toHexString(System.nanoTime());
        services.createTopic(topic, PARTITIONS);
        IntegrationServices.Run run = services.newRun("hostile_valid", topic, Map.of("checkpoint.interval", "2s"));
        JobClient job = submit(run);
        long wallClock = System.currentTimeMillis();
        List<Rec> phase1 = hostile(1, wallClock);
        List<Rec> phase2 = hostile(2, wallClock);
        try {
            Await.until("the job and all its tasks running", WAIT, () -> IntegrationServices.allRunning(services.graph(job.getJobID())));
            int half = SHOPPER_RECORDS / 2;
            int sent = produce(topic, interleave(shoppers.subList(0, half), phase1));
            awaitCaughtUp(run, topic, job);
            // quiet for longer than events.idle-timeout, so idle-advance moves event time on between the phases
            Thread.sleep(QUIET.toMillis());
            sent += produce(topic, interleave(shoppers.subList(half, SHOPPER_RECORDS), phase2));
            awaitCaughtUp(run, topic, job);

            // what must become of each hostile record: the parser's verdict, then repeats, the buffer bound, lateness
            EventParser parser = new EventParser(EventParser.Limits.defaults(), () -> wallClock);
            Map<String, Integer> expectedDlq = new TreeMap<>();
            Set<String> expectedLate = new TreeSet<>();
            Set<String> seen = new HashSet<>();
            int repeats = 0, processed = 0, flood = 0;
            Set<String> hostileUsers = new HashSet<>();
            Map<String, String> verdicts = new TreeMap<>();
            for (Rec r : concat(phase1, phase2)) {
                EventParser.Result p = parser.parse(RawRecord.of(r.value()));
                verdicts.putIfAbsent(r.label(), p.deadLetter != null ? p.deadLetter.reason.name() : r.late() ? "late" : "accepted");
                if (p.deadLetter != null) {
                    expectedDlq.merge(p.deadLetter.reason.name(), 1, Integer::sum);
                } else if (!seen.add(p.event.userKey + "\n" + p.event.messageId)) {
                    repeats++;
                } else if (r.late()) {
                    expectedLate.add(p.event.messageId);
                } else if (p.event.userKey.equals("flood-user") && ++flood > 1_000) {
                    expectedDlq.merge("USER_BUFFER_FULL", 1, Integer::sum);
                } else {
                    processed++;
                    hostileUsers.add(p.event.userKey);
                }
            }
            System.out.println("HostileValidInputIT verdicts by kind of record: " + verdicts);
            assertThat(verdicts).as("the corpus holds what it means to").containsEntry("4 KB user id", "TOO_LARGE")
                    .containsEntry("just before 2000", "INVALID_TIMESTAMP").containsEntry("beyond max-future-skew", "FUTURE_TIMESTAMP")
                    .containsEntry("flood at one future instant", "accepted").containsEntry("late, 128,000 array elements", "late");
            assertThat(expectedDlq).containsEntry("USER_BUFFER_FULL", FLOOD - 1_000);

            Map<String, Integer> dlq = new TreeMap<>();
            Await.until("every dead letter committed", WAIT, () -> {
                dlq.clear();
                for (ConsumerRecord<byte[], byte[]> r : read(run.config().dlqTopic())) dlq.merge(TopicReader.header(r, "dlq.reason"), 1, Integer::sum);
                return dlq.equals(expectedDlq);
            });
            Set<String> late = new TreeSet<>();
            for (ConsumerRecord<byte[], byte[]> r : read(run.config().lateTopic())) late.add(JSON.readTree(TopicReader.value(r)).get("messageId").asText());

            var graph = services.graph(job.getJobID());
            int attempt = IntegrationServices.maxAttempt(graph);
            JsonNode checkpoint = lastCheckpoint(job);
            long stateBytes = checkpoint.path("state_size").asLong();
            int users = ordinaryUsers.size() + hostileUsers.size();
            System.out.printf("HostileValidInputIT: %d records (%d shoppers' of %d users, %d hostile: hot user %d+%d, %d fresh users, flood %d); "
                            + "dead letters %s; late %d %s; repeats dropped %d; hostile processed %d; restarts %d; last checkpoint: state %d bytes "
                            + "(%d in it), %d users, %d bytes per user; %d s%n",
                    sent, SHOPPER_RECORDS, ordinaryUsers.size(), phase1.size() + phase2.size(), HOT, HOT, FRESH_USERS, FLOOD, dlq, late.size(), late,
                    repeats, processed, attempt, stateBytes, checkpoint.path("checkpointed_size").asLong(), users, stateBytes / Math.max(1, users),
                    TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - began));

            assertThat(attempt).as("the job never restarted").isZero();
            assertThat(graph.getState()).isEqualTo(JobStatus.RUNNING);
            assertThat(dlq).as("dead letters by reason").isEqualTo(expectedDlq);
            assertThat(late).as("late events").isEqualTo(expectedLate);
            compareOrdinaryWithReplay(run);
        } finally {
            job.cancel().get(60, TimeUnit.SECONDS);
        }
    }

    private static <T> List<T> concat(List<T> a, List<T> b) {
        List<T> l = new ArrayList<>(a);
        l.addAll(b);
        return l;
    }

    /** The shoppers in their order, each hostile record placed before the first shopper record later than it. */
    private static List<Rec> interleave(List<TrafficGenerator.GeneratedRecord> ordinary, List<Rec> hostile) throws Exception {
        List<Rec> h = new ArrayList<>(hostile);
        h.sort(Comparator.comparingLong(Rec::at));
        List<Rec> out = new ArrayList<>();
        int j = 0;
        for (TrafficGenerator.GeneratedRecord r : ordinary) {
            long at = Instant.parse(JSON.readTree(r.value()).get("timestamp").asText()).toEpochMilli();
            while (j < h.size() && h.get(j).at() <= at) out.add(h.get(j++));
            out.add(new Rec(at, r.key(), r.value(), "shopper", false));
        }
        while (j < h.size()) out.add(h.get(j++));
        return out;
    }

    private static int produce(String topic, List<Rec> records) throws Exception {
        List<java.util.concurrent.Future<?>> sends = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer = services.producer()) {
            for (Rec r : records) sends.add(producer.send(new ProducerRecord<>(topic, r.key(), r.value())));
            producer.flush();
        }
        // a record the broker did not take would look like one the job lost
        for (java.util.concurrent.Future<?> f : sends) f.get(30, TimeUnit.SECONDS);
        return records.size();
    }

    private static JobClient submit(IntegrationServices.Run run) throws Exception {
        return services.submitProductionShaped(run, work.resolve("checkpoints-" + run.name()), PARALLELISM,
                "behavior-cep hostile valid input " + run.name());
    }

    /** Every partition read to its end and the offsets committed by a completed checkpoint. */
    private static void awaitCaughtUp(IntegrationServices.Run run, String topic, JobClient job) throws Exception {
        services.awaitCaughtUp(run, services.endOffsets(topic, PARTITIONS), job.getJobID(), WAIT);
    }

    private static JsonNode lastCheckpoint(JobClient job) throws Exception {
        String rest = services.flink.getRestAddress().get(10, TimeUnit.SECONDS).toString();
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        String body = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(rest + "/jobs/" + job.getJobID() + "/checkpoints")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        return JSON.readTree(body).path("latest").path("completed");
    }

    /** The shoppers' alerts and segment updates equal replay's of the shoppers alone, up to the job's event time at the end. */
    private static void compareOrdinaryWithReplay(IntegrationServices.Run run) throws Exception {
        ReplayRunner.Result replay = ReplayOracle.replay(run.config(), shoppersFile, work, PARALLELISM);
        long cut = lastShopperTime - OUT_OF_ORDERNESS - 1;
        Map<String, Long> replayAlerts = new TreeMap<>();
        for (JsonNode a : concat(replay.alerts, replay.pendingAlerts)) {
            replayAlerts.put(a.get("alert_id").asText(), Instant.parse(a.get("detected_at").asText()).toEpochMilli());
        }
        Map<String, Long> replaySegments = new TreeMap<>();
        for (JsonNode u : concat(replay.segments, replay.pendingSegments)) replaySegments.put(ReplayOracle.segmentKey(u), Instant.parse(u.get("at").asText()).toEpochMilli());
        Set<String> expectedAlerts = ReplayOracle.upTo(replayAlerts.keySet(), replayAlerts, cut);
        Set<String> expectedSegments = ReplayOracle.upTo(replaySegments.keySet(), replaySegments, cut);

        // output up to the cut is committed within a few checkpoints of the catch-up: wait for it (the
        // assertions below say what is missing if it does not come)
        Set<String> kafkaAlerts = new TreeSet<>();
        Set<String> hostileAlerts = new TreeSet<>();
        Set<String> segments = new TreeSet<>();
        Set<String> pgAlerts = new TreeSet<>();
        long deadline = System.nanoTime() + WAIT.toNanos();
        do {
            kafkaAlerts.clear();
            hostileAlerts.clear();
            segments.clear();
            pgAlerts.clear();
            for (ConsumerRecord<byte[], byte[]> r : read(run.config().alertsTopic())) {
                JsonNode a = JSON.readTree(TopicReader.value(r));
                (ordinaryUsers.contains(a.get("user_id").asText()) ? kafkaAlerts : hostileAlerts).add(a.get("alert_id").asText());
            }
            for (ConsumerRecord<byte[], byte[]> r : read(run.config().segmentsTopic())) {
                JsonNode u = JSON.readTree(TopicReader.value(r));
                if (ordinaryUsers.contains(u.get("user_id").asText())) segments.add(ReplayOracle.segmentKey(u));
            }
            for (String row : IntegrationServices.rows(run.jdbcUrl(), "SELECT alert_id, user_id FROM alerts")) {
                String[] f = row.split(" \\| ", 2);
                if (ordinaryUsers.contains(f[1])) pgAlerts.add(f[0]);
            }
            if (kafkaAlerts.containsAll(expectedAlerts) && pgAlerts.containsAll(expectedAlerts) && segments.containsAll(expectedSegments)) break;
            Thread.sleep(1_000);
        } while (System.nanoTime() < deadline);
        System.out.printf("ordinary shoppers: alerts replay %d (%d up to the cut %s), Kafka %d, PostgreSQL %d; segment updates replay %d (%d up to it), "
                        + "Kafka %d; hostile users' alerts %d%n", replayAlerts.size(), expectedAlerts.size(), Instant.ofEpochMilli(cut), kafkaAlerts.size(),
                pgAlerts.size(), replaySegments.size(), expectedSegments.size(), segments.size(), hostileAlerts.size());
        assertThat(expectedAlerts).as("replay's alerts up to the cut").hasSizeGreaterThan(50);
        assertThat(ReplayOracle.upTo(kafkaAlerts, replayAlerts, cut)).as("shoppers' alerts in Kafka up to the job's event time").isEqualTo(expectedAlerts);
        assertThat(ReplayOracle.upTo(pgAlerts, replayAlerts, cut)).as("shoppers' alerts in PostgreSQL up to the job's event time").isEqualTo(expectedAlerts);
        assertThat(ReplayOracle.upTo(segments, replaySegments, cut)).as("shoppers' segment updates up to the job's event time").isEqualTo(expectedSegments);
        assertThat(replayAlerts.keySet()).as("every shopper alert of the job is one of replay's").containsAll(kafkaAlerts).containsAll(pgAlerts);
        assertThat(replaySegments.keySet()).as("every shopper segment update of the job is one of replay's").containsAll(segments);
    }

    private static List<ConsumerRecord<byte[], byte[]>> read(String topic) {
        try (TopicReader reader = new TopicReader(services.kafka.bootstrapServers(), topic)) {
            return reader.readToEnd(Duration.ofSeconds(30));
        }
    }

}
