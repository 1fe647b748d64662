package io.behaviorcep.it;

import io.behaviorcep.BehaviorCepJob;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.KafkaIO;
import io.behaviorcep.testing.Await;
import io.behaviorcep.testing.IntegrationServices;
import io.behaviorcep.testing.Repo;
import io.behaviorcep.testing.TopicReader;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.api.common.functions.MapFunction;
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
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import static io.behaviorcep.testing.Events.added;
import static io.behaviorcep.testing.Events.bytes;
import static io.behaviorcep.testing.Events.ordered;
import static io.behaviorcep.testing.Events.page;
import static io.behaviorcep.testing.Events.track;
import static io.behaviorcep.testing.Events.viewed;
import static io.behaviorcep.testing.IntegrationServices.keyOnPartition;
import static io.behaviorcep.testing.TopicReader.key;
import static io.behaviorcep.testing.TopicReader.value;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hot reload (issue 9) in the production job (KafkaIO, exactly-once sinks) on the real broker: one
 * running job watches a temp copy of {@code patterns/} ({@code patterns.watch=true}), and files are
 * added, changed, disabled, deleted and broken while it runs, all in one batch, so every accepted
 * change gets the same activation point {@code A} (= the watermark + {@code patterns.activation-delay}).
 *
 * <p>Event time moves only with the test's events ({@code events.idle-advance=false}, an idle timeout
 * longer than the test): the watermark is stalled while the files are written, so {@code A} is
 * known exactly, and users' events are placed before or after it on purpose. Every user's events are
 * sent in order; "clock" users on both partitions move the watermark.
 *
 * <p>Seven cart patterns see the same events (view, add, no order): the shipped
 * {@code cart-abandonment} (a broken v2 is written: rejected, v1 runs on), three copies changed to
 * v2 (window 15m to 10m) with {@code on_change} drain, restart and keep, one disabled, one deleted
 * and one added. User {@code open} has a partial match open at {@code A} (add at A-5m), user
 * {@code new} starts after it. {@code checkout-abandonment} is not touched and must produce exactly
 * its reference alerts. Then the job fails once (an injected exception) and restores from a
 * checkpoint taken after the change: the v2 versions are still the ones applied, nothing is
 * re-applied, nothing of before is duplicated.
 */
class HotReloadIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PARTITIONS = 2;
    private static final Duration WAIT = Duration.ofSeconds(45);
    private static final Duration OUT_OF_ORDERNESS = Duration.ofMinutes(1);
    private static final Duration DELAY = Duration.ofMinutes(10);
    /** A day in the past: the parser refuses events more than an hour ahead of the wall clock. */
    private static final Instant T0 = Instant.now().minus(Duration.ofDays(1)).truncatedTo(ChronoUnit.HOURS);
    private static final String BOOM_USER = "hr-boom";
    /** Set when the injected failure has fired, so the replayed record passes after the restore. */
    static final AtomicBoolean FAILED_ONCE = new AtomicBoolean();

    /** The patterns this test looks at; the other shipped patterns run too and are ignored. */
    private static final Set<String> WATCHED = Set.of("cart-abandonment", "cart-drain", "cart-restart", "cart-keep",
            "cart-disable", "cart-delete", "cart-new", "checkout-abandonment");

    @TempDir
    static Path patterns;

    private static IntegrationServices services;
    private static IntegrationServices.Run run;
    private static String eventsTopic;
    private static JobClient job;
    private static KafkaProducer<byte[], byte[]> producer;
    private static TopicReader alerts;
    private static TopicReader patternEvents;
    private static TopicReader late;
    private static TopicReader segmentUpdates;
    /** The highest event time sent so far; the watermark is this minus the out-of-orderness. */
    private static Instant clock = T0;

    @BeforeAll
    static void startJob() throws Exception {
        try (Stream<Path> files = Files.list(Repo.patterns())) {
            for (Path f : files.toList()) Files.copy(f, patterns.resolve(f.getFileName()));
        }
        for (String id : List.of("cart-drain", "cart-restart", "cart-keep", "cart-disable", "cart-delete")) {
            Files.writeString(patterns.resolve(id + ".yaml"), cart(id, 1, true, "drain", "15m"));
        }

        services = IntegrationServices.start(2);
        eventsTopic = "hot-events-" + Long.toHexString(System.nanoTime());
        services.createTopic(eventsTopic, PARTITIONS);
        run = services.newRun("hot", eventsTopic, Map.of(
                "checkpoint.interval", "500ms",
                "events.max-out-of-orderness", OUT_OF_ORDERNESS.toMinutes() + "m",
                "events.idle-advance", "false",
                "events.idle-timeout", "10m",
                "parallelism", "2",
                "patterns.dir", patterns.toString(),
                "patterns.watch", "true",
                "patterns.watch-interval", "200ms",
                "patterns.activation-delay", DELAY.toMinutes() + "m"));
        Configuration conf = new Configuration();
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(200));
        StreamExecutionEnvironment env = services.env(2, conf);
        BehaviorCepJob.prepare(env, run.config(), new FailOnceKafkaIO(run.config()));
        job = env.executeAsync("behavior-cep hot reload");
        producer = services.producer();
        String bootstrap = services.kafka.bootstrapServers();
        alerts = new TopicReader(bootstrap, run.config().alertsTopic());
        patternEvents = new TopicReader(bootstrap, run.config().patternEventsTopic());
        late = new TopicReader(bootstrap, run.config().lateTopic());
        segmentUpdates = new TopicReader(bootstrap, run.config().segmentsTopic());
        Await.until("all tasks of the job running", WAIT, () -> IntegrationServices.allRunning(services.graph(job.getJobID())));
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (job != null) job.cancel().get(30, TimeUnit.SECONDS);
        } finally {
            for (AutoCloseable c : new AutoCloseable[] {alerts, patternEvents, late, segmentUpdates, producer, services}) {
                if (c != null) c.close();
            }
        }
    }

    /** A copy of cart-abandonment's steps under another id; v2 of the tests shortens the absence to 10m (same steps, so keep is allowed). */
    static String cart(String id, int version, boolean enabled, String onChange, String absence) {
        return """
                id: %s
                version: %d
                description: Copy of cart-abandonment for the hot reload test.
                owner: it
                enabled: %s
                on_change: %s
                steps:
                  - name: viewed
                    event: Product Viewed
                  - name: added
                    event: Product Added
                    contiguity: followed_by_any
                    within: 30m
                  - name: no_order
                    absent:
                      event: Order Completed
                    for: %s
                actions:
                  alert:
                    type: cart_abandoned
                    severity: medium
                """.formatted(id, version, enabled, onChange, absence);
    }

    // ---- events ----------------------------------------------------------------------------------

    private static void send(ObjectNode event) throws Exception {
        Instant ts = Instant.parse(event.get("timestamp").asText());
        String user = event.get("userId").asText();
        assertThat(ts).as("event of " + user + " not behind the watermark").isAfter(clock.minus(OUT_OF_ORDERNESS));
        if (ts.isAfter(clock)) clock = ts;
        int partition = IntegrationServices.partitionOf(user, PARTITIONS);
        producer.send(new ProducerRecord<>(eventsTopic, partition, user.getBytes(StandardCharsets.UTF_8), bytes(event))).get(10, TimeUnit.SECONDS);
    }

    /** user -> message id of their Checkout Started: the anchors of the reference checkout-abandonment alerts. */
    private static final Map<String, String> CHECKOUTS = new TreeMap<>();

    private static ObjectNode checkout(String user, Instant ts) {
        ObjectNode n = track(user, "Checkout Started", ts);
        CHECKOUTS.put(user, n.get("messageId").asText());
        ((ObjectNode) n.get("properties")).put("checkout_id", "c-" + user).put("value", 42.5);
        return n;
    }

    /** Events of uninvolved users on every partition, so the watermark reaches {@code at} minus the out-of-orderness. */
    private static void moveEventTimeTo(Instant at) throws Exception {
        for (int p = 0; p < PARTITIONS; p++) send(page(keyOnPartition("hr-clock-p" + p, p, PARTITIONS), at));
    }

    /** Waits until the job's watermark has passed {@code t}: a probe stamped {@code t} comes out on the late topic. */
    private static void awaitEventTimePast(Instant t) throws Exception {
        String probe = "hr-probe";
        long[] lastSent = {0};
        Await.until("event time past " + t, WAIT, () -> {
            if (System.nanoTime() - lastSent[0] > TimeUnit.MILLISECONDS.toNanos(300)) {
                int partition = IntegrationServices.partitionOf(probe, PARTITIONS);
                producer.send(new ProducerRecord<>(eventsTopic, partition, probe.getBytes(StandardCharsets.UTF_8), bytes(page(probe, t)))).get();
                lastSent[0] = System.nanoTime();
            }
            return late.poll().stream().anyMatch(r -> probe.equals(key(r)) && value(r).contains("\"timestamp\":\"" + t + "\""));
        });
    }

    // ---- files -----------------------------------------------------------------------------------

    /** Replaces a file in one step (write elsewhere, then move), so the watcher never reads half a file. */
    private static void write(String name, String text) throws Exception {
        Path tmp = patterns.getParent().resolve(name + ".tmp-" + System.nanoTime());
        Files.writeString(tmp, text);
        Files.move(tmp, patterns.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    // ---- output ----------------------------------------------------------------------------------

    private static JsonNode json(ConsumerRecord<byte[], byte[]> r) {
        try {
            return JSON.readTree(r.value());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** "pattern user" -> ["v<version> <detected_at>", ...] of the alerts of the watched patterns whose user starts with {@code prefix}. */
    private static Map<String, List<String>> alertsOf(String prefix) {
        Map<String, List<String>> m = new TreeMap<>();
        for (ConsumerRecord<byte[], byte[]> r : alerts.poll()) {
            JsonNode a = json(r);
            String pattern = a.path("pattern_id").asText();
            String user = a.path("user_id").asText();
            if (!WATCHED.contains(pattern) || !user.startsWith(prefix)) continue;
            m.computeIfAbsent(pattern + " " + user, k -> new ArrayList<>())
                    .add("v" + a.path("pattern_version").asInt() + " " + a.path("detected_at").asText());
        }
        return m;
    }

    /** checkout-abandonment alerts of users {@code hr-co-*}: user -> [alert_id anchor-message-id, ...]. */
    private static Map<String, List<String>> checkoutAlerts() {
        Map<String, List<String>> m = new TreeMap<>();
        for (ConsumerRecord<byte[], byte[]> r : alerts.poll()) {
            JsonNode a = json(r);
            if (!a.path("pattern_id").asText().equals("checkout-abandonment") || !a.path("user_id").asText().startsWith("hr-co-")) continue;
            m.computeIfAbsent(a.path("user_id").asText(), k -> new ArrayList<>())
                    .add(a.path("alert_id").asText() + " " + a.path("matched").path("checkout").get(0).path("message_id").asText());
        }
        return m;
    }

    /** Threshold segment updates of the segments this test adds: "user action segment at". */
    private static List<String> addedSegmentUpdates() {
        List<String> out = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : segmentUpdates.poll()) {
            JsonNode u = json(r);
            if (!u.path("segment").asText().startsWith("hr_")) continue;
            out.add(u.path("user_id").asText() + " " + u.path("action").asText() + " " + u.path("segment").asText() + " " + u.path("at").asText());
        }
        return out;
    }

    /** The files named by the definitions records among {@code records}. */
    private static List<String> definitionFiles(List<JsonNode> records) {
        List<String> out = new ArrayList<>();
        for (JsonNode e : records) {
            if (e.path("change").asText().equals("definitions")) out.addAll(List.of(e.path("file").asText().split(",")));
        }
        return out;
    }

    private static long alertIds() {
        return alerts.poll().stream().map(r -> json(r).path("alert_id").asText()).distinct().count();
    }

    private static List<JsonNode> patternEventRecords() {
        return patternEvents.poll().stream().map(HotReloadIT::json).toList();
    }

    private static int maxAttempt() throws Exception {
        return IntegrationServices.maxAttempt(services.graph(job.getJobID()));
    }

    private static void assertRunningWithoutRestart() throws Exception {
        assertThat(job.getJobStatus().get(10, TimeUnit.SECONDS)).isEqualTo(JobStatus.RUNNING);
        AccessExecutionGraph g = services.graph(job.getJobID());
        assertThat(g.getFailureInfo()).as("the job has not failed since it started").isNull();
        assertThat(IntegrationServices.maxAttempt(g)).as("no task was redeployed").isZero();
    }

    private static String at(Instant a, long minutes) {
        return a.plus(Duration.ofMinutes(minutes)).toString();
    }

    @Test
    void patternsAddedChangedDisabledDeletedAndRejectedInARunningJobThenRestoredFromACheckpoint() throws Exception {
        long testStart = System.nanoTime();
        // ---- the watermark stands still at M - 1m while the files change --------------------------
        Instant m = T0.plus(Duration.ofMinutes(10));
        moveEventTimeTo(m);
        awaitEventTimePast(m.minus(OUT_OF_ORDERNESS).minusSeconds(1));
        // the watermark is the highest timestamp - the out-of-orderness - 1 ms (IdleAwareWatermarks)
        Instant expectedA = m.minus(OUT_OF_ORDERNESS).minusMillis(1).plus(DELAY);

        String shippedCart = Files.readString(patterns.resolve("cart-abandonment.yaml"));
        String brokenCart = shippedCart.replaceFirst("(?m)^version: 1$", "version: 2").replaceFirst("within: 30m", "withn: 30m");
        assertThat(brokenCart).isNotEqualTo(shippedCart).contains("version: 2", "withn: 30m");
        String[] lines = brokenCart.split("\n", -1);
        int typoLine = 0;
        for (int i = 0; i < lines.length; i++) if (lines[i].contains("withn:")) typoLine = i + 1;
        int typoCol = lines[typoLine - 1].indexOf("withn") + 1;
        String repeatView = Files.readString(patterns.resolve("repeat-view-no-purchase.yaml"));
        String sameVersion = repeatView.replaceFirst("(?m)^description: .*$", "description: changed text, version not bumped.");
        assertThat(sameVersion).isNotEqualTo(repeatView);

        long written = System.nanoTime();
        write("cart-drain.yaml", cart("cart-drain", 2, true, "drain", "10m"));
        write("cart-restart.yaml", cart("cart-restart", 2, true, "restart", "10m"));
        write("cart-keep.yaml", cart("cart-keep", 2, true, "keep", "10m"));
        write("cart-disable.yaml", cart("cart-disable", 2, false, "drain", "15m"));
        Files.delete(patterns.resolve("cart-delete.yaml"));
        write("cart-new.yaml", cart("cart-new", 1, true, "drain", "15m"));
        write("cart-abandonment.yaml", brokenCart);
        write("repeat-view-no-purchase.yaml", sameVersion);
        // threshold segments and traits in the same batch: a new segments file reading the shipped
        // cart_value and a new trait (which starts empty at A)
        // one more trait, at the end of the traits list (the shipped file's examples follow it)
        String shippedTraits = Files.readString(patterns.resolve("traits.yaml"));
        String addedTrait = "  - {id: adds_24h, function: count, event: Product Added, window: 24h}\n";
        int examples = shippedTraits.indexOf("\nexamples:");
        write("traits.yaml", examples < 0 ? shippedTraits + addedTrait
                : shippedTraits.substring(0, examples + 1) + addedTrait + shippedTraits.substring(examples + 1));
        write("hr-segments.yaml", """
                kind: segments
                segments:
                  - {id: hr_big_cart, when: profile.traits.cart_value >= 100}
                  - {id: hr_adder, when: profile.traits.adds_24h >= 2}
                """);

        // ---- accepted and rejected, on the pattern-events topic (read_committed) ------------------
        List<JsonNode> events = Await.until("6 accepted and 2 rejected pattern changes, and the definitions", WAIT, HotReloadIT::patternEventRecords,
                l -> l.stream().filter(e -> e.path("kind").asText().equals("accepted") && !e.path("change").asText().equals("definitions")).count() >= 6
                        && definitionFiles(l).containsAll(Set.of("hr-segments.yaml", "traits.yaml"))
                        && l.stream().filter(e -> e.path("kind").asText().equals("rejected")).count() >= 2);
        double acceptedSeconds = (System.nanoTime() - written) / 1e9;
        Map<String, String> accepted = new TreeMap<>();
        Map<String, JsonNode> rejected = new TreeMap<>();
        Set<String> activations = new java.util.TreeSet<>();
        List<JsonNode> definitions = events.stream().filter(e -> e.path("change").asText().equals("definitions")).toList();
        // one record, or two when the watcher looked between the two writes: each accepted, at A
        assertThat(definitionFiles(definitions)).as("the segments and traits files changed").containsExactlyInAnyOrder("hr-segments.yaml", "traits.yaml");
        assertThat(definitions).as("the segments and traits files, accepted from A").allSatisfy(e -> {
            assertThat(e.path("kind").asText()).isEqualTo("accepted");
            assertThat(e.path("activate_at").asText()).isEqualTo(expectedA.toString());
        });
        events = events.stream().filter(e -> !e.path("change").asText().equals("definitions")).toList();
        for (JsonNode e : events) {
            if (e.path("kind").asText().equals("accepted")) {
                accepted.put(e.path("pattern_id").asText(), e.path("change").asText() + " v" + e.path("version").asInt());
                activations.add(e.path("activate_at").asText());
            } else {
                rejected.put(e.path("pattern_id").asText(), e);
            }
        }
        assertThat(accepted).containsExactlyInAnyOrderEntriesOf(Map.of(
                "cart-drain", "changed v2", "cart-restart", "changed v2", "cart-keep", "changed v2",
                "cart-disable", "disabled v2", "cart-delete", "deleted v1", "cart-new", "added v1"));
        assertThat(events).as("one record per change, nothing twice").hasSize(8);
        assertThat(activations).as("one activation point: the stalled watermark + the delay").containsExactly(expectedA.toString());
        Instant a = expectedA;
        assertThat(rejected).containsOnlyKeys("cart-abandonment", "repeat-view-no-purchase");
        assertThat(rejected.get("cart-abandonment").path("activate_at").isNull()).isTrue();
        List<String> problems = new ArrayList<>();
        rejected.get("cart-abandonment").path("problems").forEach(p -> problems.add(p.asText()));
        final int line = typoLine, col = typoCol;
        assertThat(problems).as("FILE:LINE:COL of the typo").anySatisfy(p -> assertThat(p)
                .contains("cart-abandonment.yaml:" + line + ":" + col + ":").contains("withn").contains("within"));
        assertThat(rejected.get("repeat-view-no-purchase").path("problems").get(0).asText())
                .matches("(?s).*repeat-view-no-purchase\\.yaml:\\d+:\\d+: .*").contains("version is still");

        // ---- users around the activation point A ---------------------------------------------------
        // open: a partial match open at A (add at A-5m: deadline A+10m under 15m, A+5m under 10m)
        // (sent in time order overall, so none is ever behind the watermark)
        send(viewed("hr-open", a.minus(Duration.ofMinutes(6))));
        send(checkout("hr-co-open", a.minus(Duration.ofMinutes(6))));
        send(checkout("hr-co-order", a.minus(Duration.ofMinutes(6))));
        send(added("hr-open", a.minus(Duration.ofMinutes(5))));
        // seg: a cart of 119.8 before A, when no segment reads it yet; one more add after A enters
        // hr_big_cart there; hr_adder needs two adds counted by the new trait, which starts at A
        send(added("hr-seg", a.minus(Duration.ofMinutes(5))));
        send(added("hr-seg", a.minus(Duration.ofMinutes(4))));
        // new: everything after A
        send(viewed("hr-new", a.plus(Duration.ofMinutes(1))));
        send(checkout("hr-co-new", a.plus(Duration.ofMinutes(1))));
        send(added("hr-new", a.plus(Duration.ofMinutes(2))));
        send(ordered("hr-co-order", a.plus(Duration.ofMinutes(3))));
        send(added("hr-seg", a.plus(Duration.ofMinutes(3))));
        send(added("hr-seg", a.plus(Duration.ofMinutes(4))));
        moveEventTimeTo(a.plus(Duration.ofMinutes(36)));

        Map<String, List<String>> expected = new TreeMap<>(Map.ofEntries(
                Map.entry("cart-abandonment hr-open", List.of("v1 " + at(a, 10))),    // broken v2 rejected: v1 runs on
                Map.entry("cart-abandonment hr-new", List.of("v1 " + at(a, 17))),
                Map.entry("cart-drain hr-open", List.of("v1 " + at(a, 10))),          // drain: the open match finishes as v1
                Map.entry("cart-drain hr-new", List.of("v2 " + at(a, 12))),
                Map.entry("cart-restart hr-new", List.of("v2 " + at(a, 12))),         // restart: the open match is dropped
                Map.entry("cart-keep hr-open", List.of("v2 " + at(a, 5))),            // keep: it finishes as v2, with v2's 10m
                Map.entry("cart-keep hr-new", List.of("v2 " + at(a, 12))),
                Map.entry("cart-disable hr-open", List.of("v1 " + at(a, 10))),        // disabled (drain): open finishes, nothing new
                Map.entry("cart-delete hr-open", List.of("v1 " + at(a, 10))),         // deleted (drain): the same
                Map.entry("cart-new hr-new", List.of("v1 " + at(a, 17))),             // added: only behaviour after A
                Map.entry("checkout-abandonment hr-co-open", List.of("v1 " + at(a, 24))), // untouched: exactly the reference
                Map.entry("checkout-abandonment hr-co-new", List.of("v1 " + at(a, 31)))));
        long[] firstV2 = {0};
        Map<String, List<String>> got = Await.until("the alerts of the users around the change", WAIT, () -> {
            Map<String, List<String>> now = alertsOf("hr-");
            if (firstV2[0] == 0 && now.getOrDefault("cart-drain hr-new", List.of()).stream().anyMatch(s -> s.startsWith("v2"))) {
                firstV2[0] = System.nanoTime();
            }
            return now;
        }, now -> now.keySet().containsAll(expected.keySet()));
        double firstV2Seconds = (firstV2[0] - written) / 1e9;
        twoMoreCheckpoints(); // anything extra would be committed by now
        got = alertsOf("hr-");
        assertThat(got).as("alerts per pattern and user: version and detected_at").isEqualTo(expected);
        assertThat(addedSegmentUpdates()).as("segments and a trait added to the running job, from A on").containsExactly(
                "hr-seg enter hr_big_cart " + at(a, 3), "hr-seg enter hr_adder " + at(a, 4));
        assertRunningWithoutRestart();
        long alertIdsBefore = alertIds();
        assertThat(alertIdsBefore).as("alert ids are unique").isEqualTo(alerts.poll().size());
        Map<String, List<String>> checkoutsBefore = checkoutAlerts();
        assertThat(checkoutsBefore).as("the untouched pattern: one alert per abandoned checkout, anchored on it")
                .containsOnlyKeys("hr-co-open", "hr-co-new")
                .allSatisfy((u, l) -> assertThat(l).singleElement().asString().endsWith(" " + CHECKOUTS.get(u)));

        // ---- a failure after the change: restore from a checkpoint taken with v2 applied --------------
        int eventsBefore = patternEventRecords().size();
        send(page(BOOM_USER, clock));
        Await.until("the job restarted once and runs again", WAIT,
                () -> FAILED_ONCE.get() && maxAttempt() >= 1 && IntegrationServices.allRunning(services.graph(job.getJobID())));
        int attempts = maxAttempt();

        Instant b = clock.plus(Duration.ofMinutes(1));
        send(viewed("hr-post", b));
        send(checkout("hr-co-post", b));
        send(added("hr-post", b.plus(Duration.ofMinutes(1))));
        send(added("hr-seg-post", b.plus(Duration.ofMinutes(1))));
        send(added("hr-seg-post", b.plus(Duration.ofMinutes(2))));
        moveEventTimeTo(b.plus(Duration.ofMinutes(35)));
        Map<String, List<String>> expectedAfter = new TreeMap<>(expected);
        expectedAfter.putAll(Map.of(
                "cart-abandonment hr-post", List.of("v1 " + at(b, 16)),
                "cart-drain hr-post", List.of("v2 " + at(b, 11)),
                "cart-restart hr-post", List.of("v2 " + at(b, 11)),
                "cart-keep hr-post", List.of("v2 " + at(b, 11)),
                "cart-new hr-post", List.of("v1 " + at(b, 16)),
                "checkout-abandonment hr-co-post", List.of("v1 " + at(b, 30))));
        Await.until("the alerts of the user after the restore", WAIT, () -> alertsOf("hr-"),
                now -> now.keySet().containsAll(expectedAfter.keySet()));
        twoMoreCheckpoints();
        Map<String, List<String>> gotAfter = alertsOf("hr-");
        assertThat(gotAfter).as("after the restore: v2 still applied, v1 not back, nothing of before duplicated").isEqualTo(expectedAfter);
        assertThat(patternEventRecords()).as("the restored watcher applies and rejects nothing again").hasSize(eventsBefore);
        // (updates of one user to two segments at one instant may be on two partitions: any order)
        assertThat(addedSegmentUpdates()).as("after the restore the added segments and trait still apply").containsExactlyInAnyOrder(
                "hr-seg enter hr_big_cart " + at(a, 3), "hr-seg enter hr_adder " + at(a, 4),
                "hr-seg-post enter hr_adder " + at(b, 2), "hr-seg-post enter hr_big_cart " + at(b, 2));
        assertThat(alertIds()).isEqualTo(alerts.poll().size());
        Map<String, List<String>> checkoutsAfter = checkoutAlerts();
        assertThat(checkoutsAfter).as("the untouched pattern after the restore: the same alerts (ids) as before, and one new")
                .containsOnlyKeys("hr-co-open", "hr-co-new", "hr-co-post")
                .containsAllEntriesOf(checkoutsBefore)
                .allSatisfy((u, l) -> assertThat(l).singleElement().asString().endsWith(" " + CHECKOUTS.get(u)));
        assertThat(attempts).as("one failure, one restore").isEqualTo(1);

        // ---- figures ---------------------------------------------------------------------------------
        Map<String, Integer> perVersion = new TreeMap<>();
        gotAfter.forEach((k, v) -> v.forEach(s -> perVersion.merge(k.split(" ")[0] + " " + s.split(" ")[0], 1, Integer::sum)));
        System.out.printf("%nhot reload: %d changes accepted %s, %d rejected %s, activation at %s (watermark %s + %s)%n",
                accepted.size(), accepted, rejected.size(), rejected.keySet(), a, m.minus(OUT_OF_ORDERNESS).minusMillis(1), DELAY);
        System.out.printf("  files written -> accepted records readable (read_committed): %.2f s%n", acceptedSeconds);
        System.out.printf("  files written -> first v2 alert (cart-drain, user hr-new) readable: %.2f s (this includes the test moving event time)%n", firstV2Seconds);
        System.out.printf("  alerts per pattern/version (users hr-*): %s%n", perVersion);
        System.out.printf("  restore: highest task attempt %d, pattern-events records %d before and after, alert ids %d unique%n",
                attempts, eventsBefore, alertIds());
        System.out.printf("  checkout-abandonment (untouched) alert id + anchor: %s%n", checkoutsAfter);
        System.out.printf("  test took %.1f s%n", (System.nanoTime() - testStart) / 1e9);
    }

    /** The production Kafka IO with one injected task failure: the first event of {@link #BOOM_USER} throws, once. */
    static final class FailOnceKafkaIO extends KafkaIO {
        FailOnceKafkaIO(JobConfig config) {
            super(config);
        }

        @Override
        public DataStream<BehaviorEvent> afterParse(DataStream<BehaviorEvent> events) {
            return events.map(new FailOnce(), TypeInformation.of(BehaviorEvent.class)).uid("test-fail-once").name("Test: fail once");
        }
    }

    static final class FailOnce implements MapFunction<BehaviorEvent, BehaviorEvent> {
        @Override
        public BehaviorEvent map(BehaviorEvent e) {
            if (BOOM_USER.equals(e.userId) && FAILED_ONCE.compareAndSet(false, true)) {
                throw new IllegalStateException("injected failure (hot reload test)");
            }
            return e;
        }
    }

    /** Waits until two more checkpoints have completed: output not committed by then is not coming. */
    private void twoMoreCheckpoints() throws Exception {
        long start = services.graph(job.getJobID()).getCheckpointStatsSnapshot().getCounts().getNumberOfCompletedCheckpoints();
        Await.until("two more completed checkpoints", WAIT,
                () -> services.graph(job.getJobID()).getCheckpointStatsSnapshot().getCounts().getNumberOfCompletedCheckpoints() >= start + 2);
    }
}
