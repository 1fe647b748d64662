package io.behaviorcep.replay;

import io.behaviorcep.BehaviorCepPipeline;
import io.behaviorcep.cli.ReplayCommand;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.local.TrafficGenerator;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.pattern.ThresholdSegment;
import io.behaviorcep.output.OutputJson;
import io.behaviorcep.testing.Events;
import io.behaviorcep.testing.Pipelines;
import io.behaviorcep.testing.Repo;
import io.behaviorcep.testkit.InMemoryIO;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code replay} through the real pipeline on a local Flink: only decided outcomes count, the order
 * of the input does not matter, the ids are those of the streaming job, and two pattern versions
 * compare.
 */
class ReplayRunnerTest {
    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    /** Recorded synthetic shop traffic (with malformed, duplicate and late records) in the order it was produced. */
    private static List<byte[]> recorded;
    @TempDir
    static Path shared;
    private static Path inOrder;
    private static Path shuffledDir;

    @BeforeAll
    static void record() throws IOException {
        // 200 users over about 10 hours of simulated time: carts abandoned and not, bursts, repeat views
        TrafficGenerator g = new TrafficGenerator(TrafficGenerator.Config.defaults(7).withUsers(200).withEventsPerSecond(20));
        recorded = g.nextBatch(12_000).stream().map(TrafficGenerator.GeneratedRecord::value).toList();
        inOrder = shared.resolve("recorded.jsonl");
        Files.write(inOrder, lines(recorded));

        // the same lines shuffled, spread over three files, one of them gzipped
        List<byte[]> shuffled = new ArrayList<>(recorded);
        Collections.shuffle(shuffled, new Random(1));
        shuffledDir = Files.createDirectories(shared.resolve("shuffled"));
        int third = shuffled.size() / 3;
        Files.write(shuffledDir.resolve("part-1.jsonl"), lines(shuffled.subList(0, third)));
        Files.write(shuffledDir.resolve("part-2.jsonl"), lines(shuffled.subList(third, 2 * third)));
        try (OutputStream gz = new GZIPOutputStream(Files.newOutputStream(shuffledDir.resolve("part-3.jsonl.gz")))) {
            gz.write(lines(shuffled.subList(2 * third, shuffled.size())));
        }
    }

    private static byte[] lines(List<byte[]> records) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] r : records) {
            b.writeBytes(r);
            b.write('\n');
        }
        return b.toByteArray();
    }

    private static ReplayRunner.Options options(ReplayRunner.Input input, List<PatternDefinition> patterns, Path out) {
        ReplayRunner.Options o = new ReplayRunner.Options();
        o.input = input;
        o.patterns = patterns;
        o.out = out;
        o.config = JobConfig.of(Map.of());
        o.parallelism = 2;
        return o;
    }

    private static ReplayRunner.Result replay(Path events, List<PatternDefinition> patterns, List<ThresholdSegment> thresholds,
                                              Path out, ReplayRunner.Mode mode) throws Exception {
        ReplayRunner.Options o = options(ReplayRunner.Input.of(EventFiles.of(events, EventLogFormat.SEGMENT)), patterns, out);
        o.segments = thresholds;
        o.mode = mode;
        return ReplayRunner.run(o);
    }

    private static String at(long minutes) {
        return Events.min(minutes).toString();
    }

    @Test
    void computedTraitsAreComputedFromTheReplayedHistory(@TempDir Path dir) throws Exception {
        Duration day = Duration.ofDays(1);
        List<String> lines = List.of(
                // u1: a cart of 59.9 left the day before, then 59.9 more: 119.8 > 100
                Events.added("u1", Events.min(0)).toString(),
                Events.viewed("u1", Events.at(day)).toString(), Events.added("u1", Events.at(day.plusMinutes(1))).toString(),
                // u2: the same, but an order in between empties the cart
                Events.added("u2", Events.min(0)).toString(), Events.ordered("u2", Events.min(5)).toString(),
                Events.viewed("u2", Events.at(day)).toString(), Events.added("u2", Events.at(day.plusMinutes(1))).toString(),
                Events.page("u3", Events.at(day.plusMinutes(30))).toString());
        Path in = dir.resolve("events.jsonl");
        Files.writeString(in, String.join("\n", lines) + "\n");
        PatternLoader.Result folder = PatternLoader.load(Repo.patterns());

        ReplayRunner.Options o = options(ReplayRunner.Input.of(EventFiles.of(in, EventLogFormat.SEGMENT)),
                List.of(Repo.pattern("cart-abandonment-high-value")), dir.resolve("with"));
        o.traits = folder.traits();
        o.mode = ReplayRunner.Mode.BATCH;
        ReplayRunner.Result r = ReplayRunner.run(o);
        assertThat(r.alerts).extracting(a -> a.get("user_id").asText() + "@" + a.get("detected_at").asText() + " " + a.at("/payload/cart_value"))
                .containsExactly("u1@" + Events.at(day.plusMinutes(16)) + " 119.8");

        // without the traits file, the trait is missing and the condition false: nothing
        ReplayRunner.Options without = o.copy();
        without.traits = List.of();
        without.out = dir.resolve("without");
        assertThat(ReplayRunner.run(without).alerts).isEmpty();
    }

    @Test
    void onlyDecidedOutcomesCountAndInputHygieneIsTheStreamingJobs(@TempDir Path dir) throws Exception {
        ObjectNode u1Add = Events.added("u1", Events.min(1));
        ObjectNode order = Events.ordered("u4", Events.min(10));
        List<String> lines = List.of(
                // u1: abandoned at 1m, decided at 16m; the add is recorded three times (one alert)
                Events.viewed("u1", Events.min(0)).toString(), u1Add.toString(), u1Add.toString(), u1Add.toString(),
                // u4 orders in time: nothing
                Events.viewed("u4", Events.min(2)).toString(), Events.added("u4", Events.min(3)).toString(), order.toString(),
                // u5: abandoned at 5m (decided at 20m), then orders at 25m: enters and leaves the segment
                Events.viewed("u5", Events.min(0)).toString(), Events.added("u5", Events.min(5)).toString(),
                Events.ordered("u5", Events.min(25)).toString(),
                // u6: the deadline is exactly the last event time: decided
                Events.viewed("u6", Events.min(14)).toString(), Events.added("u6", Events.min(15)).toString(),
                // u3: the 15 minutes run out at 40m, after the recording ends: pending
                Events.viewed("u3", Events.min(20)).toString(), Events.added("u3", Events.min(25)).toString(),
                // u2's page is the last event: the horizon is 30m
                Events.page("u2", Events.min(30)).toString(),
                // refused as in streaming, and they do not move the horizon
                "not json",
                Events.viewed("u7", Instant.parse("1999-12-31T23:59:59Z")).toString(),
                Events.viewed("u7", Instant.now().plus(Duration.ofHours(2))).toString(),
                Events.viewed("u7", Events.min(29)).without("messageId").toString());
        Path in = dir.resolve("events.jsonl");
        Files.writeString(in, String.join("\n", lines) + "\n");

        ReplayRunner.Result r = replay(in, List.of(Repo.pattern("cart-abandonment")), List.of(), dir.resolve("out"), ReplayRunner.Mode.BATCH);

        assertThat(r.alerts).extracting(a -> a.get("user_id").asText() + "@" + a.get("detected_at").asText())
                .containsExactly("u1@" + at(16), "u5@" + at(20), "u6@" + at(30));
        assertThat(r.pendingAlerts).extracting(a -> a.get("user_id").asText() + "@" + a.get("detected_at").asText())
                .containsExactly("u3@" + at(40));
        assertThat(r.segments).extracting(u -> u.get("user_id").asText() + " " + u.get("action").asText() + "@" + u.get("at").asText())
                .containsExactly("u1 enter@" + at(16), "u5 enter@" + at(20), "u5 exit@" + at(25), "u6 enter@" + at(30));

        ReplaySummary s = r.summary;
        assertThat(s.horizon).isEqualTo(Events.min(30).toEpochMilli());
        assertThat(s.records).isEqualTo(lines.size());
        assertThat(s.events).isEqualTo(lines.size() - 4);
        assertThat(s.byPattern.get("cart-abandonment")).isEqualTo(new ReplaySummary.PatternStats(1, 3, 3, 3, 1));
        // pending: users whose membership changes after the horizon, each once: u3 (its entry at 40m and its
        // 7-day expiry), u1 and u6 (their expiries)
        assertThat(s.bySegment.get("cart_abandoners")).isEqualTo(new ReplaySummary.SegmentStats(2, 3, 1, 3));
        assertThat(s.lateEvents).isZero();

        assertThat(r.deadLetters).extracting(d -> d.get("reason").asText())
                .containsExactly("NOT_JSON", "INVALID_TIMESTAMP", "FUTURE_TIMESTAMP", "MISSING_FIELD");
        JsonNode first = r.deadLetters.get(0);
        assertThat(first.get("record").asText()).isEqualTo("not json");
        assertThat(first.get("source").asText()).isEqualTo(in.toAbsolutePath().toString());
        assertThat(first.get("offset").asLong()).isEqualTo(String.join("\n", lines.subList(0, 15)).length() + 1);

        // the files hold the same as the result, the summary as JSON
        Path out = dir.resolve("out");
        assertThat(Files.readAllLines(out.resolve("alerts.jsonl"))).hasSize(3).noneMatch(l -> l.contains("\"u3\""));
        assertThat(Files.readAllLines(out.resolve("segments.jsonl"))).hasSize(4);
        assertThat(Files.readAllLines(out.resolve("dlq.jsonl"))).hasSize(4);
        JsonNode summary = OutputJson.MAPPER.readTree(out.resolve("summary.json").toFile());
        assertThat(summary.at("/patterns/cart-abandonment/pending").asLong()).isEqualTo(1);
        assertThat(summary.at("/patterns/cart-abandonment/users").asLong()).isEqualTo(3);
        assertThat(summary.at("/segments/cart_abandoners/members_at_end").asLong()).isEqualTo(2);
        assertThat(summary.at("/input/horizon").asText()).isEqualTo(at(30));
        assertThat(summary.at("/run/events_per_second").asLong()).isPositive();
        try (var files = Files.list(out)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder(
                    "alerts.jsonl", "segments.jsonl", "outcomes.jsonl", "dlq.jsonl", "alert-decisions.jsonl", "summary.json");
        }
    }

    @Test
    void aShuffledCopyGivesTheSameAlertsAndSegmentsWithTheStreamingJobsIds(@TempDir Path dir) throws Exception {
        // the shipped folder: patterns and threshold segments (which need streaming execution)
        PatternLoader.Result shipped = PatternLoader.load(Repo.patterns());
        List<PatternDefinition> patterns = shipped.orThrow();
        List<ThresholdSegment> thresholds = shipped.segments();
        assertThat(thresholds).isNotEmpty();
        ReplayRunner.Result ordered = replay(inOrder, patterns, thresholds, dir.resolve("ordered"), ReplayRunner.Mode.AUTO);
        ReplayRunner.Result shuffled = replay(shuffledDir, patterns, thresholds, dir.resolve("shuffled"), ReplayRunner.Mode.AUTO);
        // the patterns alone run in batch execution, sorted by Flink: they decide exactly what they decided above
        ReplayRunner.Result batch = replay(shuffledDir, patterns, List.of(), dir.resolve("batch"), ReplayRunner.Mode.AUTO);
        System.out.print(ordered.summary.table());
        assertThat(ordered.summary.mode).isEqualTo("streaming");
        assertThat(batch.summary.mode).isEqualTo("batch");

        // something to compare: several patterns fire, memberships begin and end, threshold segments too
        assertThat(ordered.summary.byPattern.get("cart-abandonment").alerts()).isGreaterThan(10);
        assertThat(ordered.summary.byPattern.get("repeat-view-no-purchase").alerts()).isPositive();
        assertThat(ordered.segments).anyMatch(u -> u.get("action").asText().equals("exit"));
        Set<String> thresholdIds = thresholds.stream().map(t -> t.id).collect(Collectors.toSet());
        assertThat(ordered.segments).anyMatch(u -> thresholdIds.contains(u.get("segment").asText()));
        assertThat(ordered.summary.deadLetters).isPositive();

        for (String file : List.of("alerts.jsonl", "segments.jsonl")) {
            assertThat(Files.readString(dir.resolve("shuffled").resolve(file))).as("shuffled: " + file)
                    .isEqualTo(Files.readString(dir.resolve("ordered").resolve(file)));
        }
        assertThat(shuffled.summary.toJson().get("patterns")).isEqualTo(ordered.summary.toJson().get("patterns"));
        assertThat(shuffled.summary.toJson().get("segments")).isEqualTo(ordered.summary.toJson().get("segments"));
        assertThat(shuffled.summary.horizon).isEqualTo(ordered.summary.horizon);
        assertThat(batch.alerts).isEqualTo(ordered.alerts);
        assertThat(batch.segments).isEqualTo(ordered.segments.stream().filter(u -> !thresholdIds.contains(u.get("segment").asText())).toList());

        // the streaming job, fed the recording as it was produced, decides the same with the same ids
        InMemoryIO live = new InMemoryIO(recorded);
        try {
            StreamExecutionEnvironment env = Pipelines.env(2);
            BehaviorCepPipeline.build(env, Pipelines.testConfig().with("events.max-out-of-orderness", "1d"), patterns, thresholds, live);
            env.execute("streaming job over the recording");
            long horizon = ordered.summary.horizon;
            assertThat(live.late()).isEmpty();
            Set<String> liveAlerts = live.alerts().stream().filter(a -> a.detectedAt <= horizon).map(a -> a.alertId)
                    .collect(Collectors.toCollection(TreeSet::new));
            Set<String> liveSegments = live.segments().stream().filter(u -> u.at <= horizon).map(u -> u.eventId)
                    .collect(Collectors.toCollection(TreeSet::new));
            assertThat(liveAlerts).isEqualTo(ids(ordered.alerts, "alert_id"));
            assertThat(liveSegments).isEqualTo(ids(ordered.segments, "event_id"));
            Set<String> pendingLive = live.alerts().stream().filter(a -> a.detectedAt > horizon).map(a -> a.alertId).collect(Collectors.toSet());
            assertThat(pendingLive).isEqualTo(ids(ordered.pendingAlerts, "alert_id"));
        } finally {
            live.clear();
        }
    }

    /** Issue #19: under the shipped messaging policy replay decides what the streaming job decides, with the same ids. */
    @Test
    void underTheMessagingPolicyReplayAndTheStreamingJobDecideAlike(@TempDir Path dir) throws Exception {
        List<PatternDefinition> patterns = PatternLoader.load(Repo.patterns()).orThrow();
        String policy = Repo.patterns().resolve("policy.yaml").toAbsolutePath().toString();
        ReplayRunner.Result[] results = new ReplayRunner.Result[2];
        Path[] inputs = {inOrder, shuffledDir};
        for (int i = 0; i < 2; i++) {
            ReplayRunner.Options o = options(ReplayRunner.Input.of(EventFiles.of(inputs[i], EventLogFormat.SEGMENT)), patterns, dir.resolve("r" + i));
            o.config = JobConfig.of(Map.of("policy.file", policy));
            results[i] = ReplayRunner.run(o);
        }
        List<String> decisions = Files.readAllLines(dir.resolve("r0").resolve("alert-decisions.jsonl"));
        // the generated shoppers meet the cap and compete: something to compare
        assertThat(decisions).anyMatch(l -> l.contains("\"global_cap\"") || l.contains("\"priority\""));
        assertThat(Files.readAllLines(dir.resolve("r1").resolve("alert-decisions.jsonl"))).as("shuffled").isEqualTo(decisions);
        assertThat(results[1].alerts).isEqualTo(results[0].alerts);

        InMemoryIO live = new InMemoryIO(recorded);
        try {
            StreamExecutionEnvironment env = Pipelines.env(2);
            BehaviorCepPipeline.build(env, Pipelines.testConfig().with("events.max-out-of-orderness", "1d").with("policy.file", policy), patterns, live);
            env.execute("streaming job over the recording, with the policy");
            long horizon = results[0].summary.horizon;
            Set<String> liveDecisions = live.alertDecisions().stream().filter(d -> d.decidedAt <= horizon).map(d -> d.decisionId)
                    .collect(Collectors.toCollection(TreeSet::new));
            assertThat(liveDecisions).isEqualTo(ids(decisions.stream().map(l -> {
                try {
                    return OutputJson.MAPPER.readTree(l);
                } catch (java.io.IOException e) {
                    throw new IllegalStateException(e);
                }
            }).toList(), "decision_id"));
        } finally {
            live.clear();
        }
    }

    private static Set<String> ids(List<JsonNode> docs, String field) {
        return docs.stream().map(d -> d.get(field).asText()).collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void compareTellsPerPatternWhomOnlyAOnlyBAndBothHit(@TempDir Path dir) throws Exception {
        // A: cart abandonment as shipped; B: after 5 minutes instead of 15, and a pattern A does not have
        Path b = Files.createDirectories(dir.resolve("patterns-b"));
        Files.writeString(b.resolve("cart-abandonment.yaml"), Files.readString(Repo.patterns().resolve("cart-abandonment.yaml"))
                .replace("wait: 15m", "wait: 5m").replaceAll("(?s)\nexamples:.*", "\n"));
        Files.writeString(b.resolve("orders.yaml"), """
                id: any-order
                version: 1
                steps:
                  - name: order
                    event: Order Completed
                actions:
                  alert:
                    type: ordered
                """);
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        int exit = new CommandLine(new ReplayCommand(new PrintStream(stdout, true, StandardCharsets.UTF_8), new PrintStream(stderr, true, StandardCharsets.UTF_8)))
                .execute("--events", inOrder.toString(), "--patterns", Repo.patterns().resolve("cart-abandonment.yaml").toString(),
                        "--compare", b.toString(), "--out", dir.resolve("out").toString(), "--parallelism", "2", "--progress", "lines");
        String printed = stdout.toString(StandardCharsets.UTF_8);
        System.out.println(printed);
        assertThat(exit).as(stderr.toString(StandardCharsets.UTF_8)).isZero();
        assertThat(stderr.toString(StandardCharsets.UTF_8)).contains("events read", "events/s");

        JsonNode cmp = OutputJson.MAPPER.readTree(dir.resolve("out/compare.json").toFile());
        JsonNode a = OutputJson.MAPPER.readTree(dir.resolve("out/a/summary.json").toFile());
        JsonNode bs = OutputJson.MAPPER.readTree(dir.resolve("out/b/summary.json").toFile());
        JsonNode cart = cmp.at("/patterns/cart-abandonment");
        // a shorter absence hits everyone the longer one hits, and more
        assertThat(cart.get("only_a").asLong()).isZero();
        assertThat(cart.get("only_b").asLong()).isPositive();
        assertThat(cart.get("both").asLong()).isEqualTo(a.at("/patterns/cart-abandonment/users").asLong());
        assertThat(cart.get("both").asLong() + cart.get("only_b").asLong()).isEqualTo(bs.at("/patterns/cart-abandonment/users").asLong());
        // patterns in one set only
        JsonNode orders = cmp.at("/patterns/any-order");
        assertThat(orders.get("only_a").asLong()).isZero();
        assertThat(orders.get("both").asLong()).isZero();
        assertThat(orders.get("only_b").asLong()).isEqualTo(bs.at("/patterns/any-order/users").asLong()).isPositive();

        assertThat(printed).contains("only A", "only B", "both")
                .containsPattern("cart-abandonment\\s+0\\s+" + cart.get("only_b").asLong() + "\\s+" + cart.get("both").asLong());
    }
}
