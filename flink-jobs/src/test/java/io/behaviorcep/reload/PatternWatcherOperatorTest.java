package io.behaviorcep.reload;

import io.behaviorcep.config.JobConfig;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.PatternChange;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.reload.PatternWatcherOperator.Accepted;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The watcher on a real folder, driven by the test harness's processing time (one poll per
 * {@link #INTERVAL}) and watermarks: what it emits, what it rejects and why, what it remembers
 * across a snapshot. No wall-clock waits.
 */
class PatternWatcherOperatorTest {
    static final long INTERVAL = 1_000;
    static final long DELAY = 5_000;
    static final long START = 1_700_000_000_000L;
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private OneInputStreamOperatorTestHarness<BehaviorEvent, PatternChange> h;
    private long now = START;
    private int seenChanges;
    private int seenEvents;

    static String pattern(String id, int version, boolean enabled, String eventName) {
        return """
                id: %s
                version: %d
                enabled: %s
                steps:
                  - name: viewed
                    event: %s
                  - name: added
                    event: Product Added
                    within: 30m
                actions:
                  alert:
                    type: %s_alert
                """.formatted(id, version, enabled, eventName, id.replace('-', '_'));
    }

    @BeforeEach
    void startWithTwoPatterns() throws Exception {
        write("cart.yaml", pattern("cart", 1, true, "Product Viewed"));
        write("burst.yaml", pattern("burst", 1, true, "Product Viewed"));
        write("segments.yaml", """
                kind: segments
                segments:
                  - id: engaged
                    when: profile.sessions_7d > 5
                """);
        h = open(null);
    }

    @AfterEach
    void close() throws Exception {
        if (h != null) h.close();
    }

    private OneInputStreamOperatorTestHarness<BehaviorEvent, PatternChange> open(OperatorSubtaskState restoreFrom) throws Exception {
        PatternLoader.Result loaded = PatternLoader.load(dir);
        assertThat(loaded.problems()).isEmpty();
        return open(restoreFrom, PatternWatcherOperator.initialEntries(dir, loaded.patterns()));
    }

    private OneInputStreamOperatorTestHarness<BehaviorEvent, PatternChange> open(OperatorSubtaskState restoreFrom, List<Accepted> initial) throws Exception {
        PatternWatcherOperator op = new PatternWatcherOperator(dir.toString(), INTERVAL, DELAY, initial);
        OneInputStreamOperatorTestHarness<BehaviorEvent, PatternChange> harness = new OneInputStreamOperatorTestHarness<>(op);
        harness.setProcessingTime(now);
        if (restoreFrom != null) harness.initializeState(restoreFrom);
        harness.open();
        seenChanges = 0;
        seenEvents = 0;
        return harness;
    }

    private void write(String file, String text) throws Exception {
        Files.writeString(dir.resolve(file), text);
    }

    /** One poll: the harness's clock moves one interval on. */
    private void poll() throws Exception {
        now += INTERVAL;
        h.setProcessingTime(now);
    }

    /** Changes emitted since the last call. */
    private List<PatternChange> newChanges() {
        List<PatternChange> all = h.extractOutputValues();
        List<PatternChange> fresh = new ArrayList<>(all.subList(seenChanges, all.size()));
        seenChanges = all.size();
        return fresh;
    }

    /** Pattern-events records emitted since the last call. */
    private List<JsonNode> newEvents() throws Exception {
        List<JsonNode> out = new ArrayList<>();
        List<StreamRecord<String>> all = new ArrayList<>(h.getSideOutput(PatternWatcherOperator.PATTERN_EVENTS) == null
                ? List.of() : h.getSideOutput(PatternWatcherOperator.PATTERN_EVENTS));
        for (StreamRecord<String> r : all.subList(seenEvents, all.size())) out.add(JSON.readTree(r.getValue()));
        seenEvents = all.size();
        return out;
    }

    private static List<String> problems(JsonNode event) {
        List<String> out = new ArrayList<>();
        event.get("problems").forEach(p -> out.add(p.asText()));
        return out;
    }

    @Test
    void anUnchangedFolderEmitsNothing() throws Exception {
        h.processWatermark(new Watermark(10_000));
        for (int i = 0; i < 3; i++) poll();
        assertThat(newChanges()).isEmpty();
        assertThat(newEvents()).isEmpty();
        // and it goes on polling
        write("new.yaml", pattern("new", 1, true, "Page Viewed"));
        poll();
        assertThat(newChanges()).hasSize(1);
    }

    @Test
    void anAddedFileIsEmittedOnceWithItsTextAtWatermarkPlusDelay() throws Exception {
        h.processWatermark(new Watermark(100_000));
        String text = pattern("dormancy", 1, true, "Page Viewed");
        write("dormancy.yaml", text);
        poll();
        List<PatternChange> changes = newChanges();
        assertThat(changes).hasSize(1);
        PatternChange c = changes.get(0);
        assertThat(c.kind).isEqualTo(PatternChange.UPSERT);
        assertThat(c.patternId).isEqualTo("dormancy");
        assertThat(c.version).isEqualTo(1);
        assertThat(c.yaml).isEqualTo(text);
        assertThat(c.activateAt).isEqualTo(100_000 + DELAY);
        assertThat(c.acceptedAt).isEqualTo(now);
        assertThat(c.definition().id).isEqualTo("dormancy");
        List<JsonNode> events = newEvents();
        assertThat(events).hasSize(1);
        JsonNode e = events.get(0);
        assertThat(e.get("kind").asText()).isEqualTo("accepted");
        assertThat(e.get("change").asText()).isEqualTo("added");
        assertThat(e.get("pattern_id").asText()).isEqualTo("dormancy");
        assertThat(e.get("version").asInt()).isEqualTo(1);
        assertThat(e.get("file").asText()).isEqualTo("dormancy.yaml");
        assertThat(e.get("activate_at").asText()).isEqualTo(Instant.ofEpochMilli(100_000 + DELAY).toString());
        assertThat(e.get("at").asText()).isEqualTo(Instant.ofEpochMilli(now).toString());
        assertThat(problems(e)).isEmpty();

        poll();
        poll();
        assertThat(newChanges()).as("accepted once, not at every poll").isEmpty();
        assertThat(newEvents()).isEmpty();
    }

    @Test
    void activateAtFollowsTheLatestWatermarkAndWallClockBeforeAnyWatermark() throws Exception {
        write("cart.yaml", pattern("cart", 2, true, "Product Viewed"));
        poll();
        assertThat(newChanges()).singleElement().satisfies(c -> assertThat(c.activateAt).isEqualTo(now + DELAY));

        h.processWatermark(new Watermark(50_000));
        h.processWatermark(new Watermark(70_000));
        write("cart.yaml", pattern("cart", 3, true, "Product Viewed"));
        poll();
        assertThat(newChanges()).singleElement().satisfies(c -> assertThat(c.activateAt).isEqualTo(70_000 + DELAY));
        // watermarks pass through to the engine's broadcast input
        assertThat(h.getOutput()).contains(new Watermark(50_000), new Watermark(70_000));
    }

    @Test
    void aChangeWithAHigherVersionIsEmittedAsChanged() throws Exception {
        String v2 = pattern("cart", 2, true, "Product Clicked");
        write("cart.yaml", v2);
        poll();
        PatternChange c = newChanges().get(0);
        assertThat(c.patternId).isEqualTo("cart");
        assertThat(c.version).isEqualTo(2);
        assertThat(c.yaml).isEqualTo(v2);
        assertThat(c.source).endsWith("cart.yaml");
        assertThat(newEvents()).singleElement().satisfies(e -> {
            assertThat(e.get("kind").asText()).isEqualTo("accepted");
            assertThat(e.get("change").asText()).isEqualTo("changed");
        });
        assertThat(h.getOperator()).isInstanceOfSatisfying(PatternWatcherOperator.class,
                op -> assertThat(op.acceptedPatterns()).anyMatch(a -> a.patternId.equals("cart") && a.version == 2));
    }

    @Test
    void aChangeWithoutAVersionBumpIsRejectedOnceWithAClearMessageAndTheOldVersionStays() throws Exception {
        write("cart.yaml", pattern("cart", 1, true, "Product Clicked"));
        poll();
        assertThat(newChanges()).isEmpty();
        JsonNode e = newEvents().get(0);
        assertThat(e.get("kind").asText()).isEqualTo("rejected");
        assertThat(e.get("pattern_id").asText()).isEqualTo("cart");
        assertThat(e.get("version").asInt()).isEqualTo(1);
        assertThat(e.get("activate_at").isNull()).isTrue();
        assertThat(problems(e)).singleElement().satisfies(p -> assertThat(p)
                .isEqualTo(dir.resolve("cart.yaml") + ":2:10: the file changed but its version is still 1; "
                        + "version numbers only go forward: give it version 2 or more"));

        poll();
        poll();
        assertThat(newEvents()).as("a rejected text is reported once").isEmpty();

        // fixed: accepted
        write("cart.yaml", pattern("cart", 3, true, "Product Clicked"));
        poll();
        assertThat(newChanges()).singleElement().satisfies(c -> assertThat(c.version).isEqualTo(3));
        assertThat(newEvents()).singleElement().satisfies(ev -> assertThat(ev.get("kind").asText()).isEqualTo("accepted"));

        // going back to a lower version is no better
        write("cart.yaml", pattern("cart", 2, true, "Product Viewed"));
        poll();
        assertThat(newChanges()).isEmpty();
        assertThat(problems(newEvents().get(0))).singleElement().satisfies(p -> assertThat(p)
                .endsWith("version 2 is lower than the running version 3; version numbers only go forward: give it version 4 or more"));
    }

    @Test
    void invalidYamlIsRejectedWithFileLineAndColumn() throws Exception {
        write("cart.yaml", "id: cart\nversion: 2\nsteps:\n  - name: viewed\n    event: [Product Viewed\n");
        poll();
        assertThat(newChanges()).isEmpty();
        JsonNode e = newEvents().get(0);
        assertThat(e.get("kind").asText()).isEqualTo("rejected");
        assertThat(e.get("pattern_id").asText()).isEqualTo("cart");
        assertThat(e.get("change").asText()).isEqualTo("changed");
        assertThat(problems(e)).isNotEmpty().allSatisfy(p -> assertThat(p)
                .matches(java.util.regex.Pattern.quote(dir.resolve("cart.yaml").toString()) + ":\\d+:\\d+: YAML syntax: .*"));
        assertThat(((PatternWatcherOperator) h.getOperator()).acceptedPatterns())
                .as("the running version stays").anyMatch(a -> a.patternId.equals("cart") && a.version == 1);
    }

    /** Bytes that are not UTF-8 (a binary dropped into the folder, a Latin-1 editor) are a rejected change like any invalid file. */
    @Test
    void aFileThatIsNotUtf8IsRejectedAndTheRunningVersionStays() throws Exception {
        byte[] garbage = {'i', 'd', ':', ' ', (byte) 0xC3, (byte) 0x28, '\n', (byte) 0xFF, (byte) 0xFE, 0, 1, 2};
        Files.write(dir.resolve("cart.yaml"), garbage);
        poll();
        assertThat(newChanges()).isEmpty();
        List<JsonNode> events = newEvents();
        assertThat(events).singleElement().satisfies(e -> {
            assertThat(e.get("kind").asText()).isEqualTo("rejected");
            assertThat(e.get("change").asText()).isEqualTo("changed");
            assertThat(problems(e)).containsExactly(dir.resolve("cart.yaml") + ":1:1: not UTF-8 text");
        });
        assertThat(((PatternWatcherOperator) h.getOperator()).acceptedPatterns())
                .as("the running version stays").anyMatch(a -> a.patternId.equals("cart") && a.version == 1);

        poll();
        assertThat(newEvents()).as("reported once").isEmpty();

        // another binary file in its place is a new rejected change; a valid one is accepted
        garbage[garbage.length - 1] = 3;
        Files.write(dir.resolve("cart.yaml"), garbage);
        poll();
        assertThat(newEvents()).singleElement().satisfies(e -> assertThat(e.get("kind").asText()).isEqualTo("rejected"));
        write("cart.yaml", pattern("cart", 2, true, "Product Clicked"));
        poll();
        assertThat(newChanges()).singleElement().satisfies(c -> assertThat(c.version).isEqualTo(2));
    }

    @Test
    void aPatternProblemIsRejectedWithEveryProblemAsValidateReportsIt() throws Exception {
        String broken = pattern("cart", 2, true, "Product Viewed").replace("within: 30m", "withn: 30m");
        write("cart.yaml", broken);
        poll();
        assertThat(newChanges()).isEmpty();
        List<String> expected = PatternLoader.loadString(dir.resolve("cart.yaml").toString(), broken).problems().stream()
                .map(Object::toString).toList();
        assertThat(expected).isNotEmpty();
        assertThat(problems(newEvents().get(0))).isEqualTo(expected);
    }

    @Test
    void aDuplicateIdInANewFileIsRejectedWhateverTheFileOrder() throws Exception {
        // "a-copy.yaml" sorts before "cart.yaml": the loader reports the duplicate on cart.yaml, which did not change
        write("a-copy.yaml", pattern("cart", 5, true, "Product Viewed"));
        poll();
        assertThat(newChanges()).isEmpty();
        JsonNode e = newEvents().get(0);
        assertThat(e.get("kind").asText()).isEqualTo("rejected");
        assertThat(e.get("file").asText()).isEqualTo("a-copy.yaml");
        assertThat(String.join("\n", problems(e))).contains("duplicate pattern id 'cart'");
    }

    @Test
    void aPatternWhoseSegmentClashesWithAThresholdSegmentIsRejected() throws Exception {
        write("cart.yaml", pattern("cart", 2, true, "Product Viewed") + "  segment:\n    name: engaged\n    ttl: 7d\n");
        poll();
        assertThat(newChanges()).isEmpty();
        assertThat(String.join("\n", problems(newEvents().get(0)))).contains("segment 'engaged'");
    }

    @Test
    void aDeletedFileIsEmittedAsADeleteOfTheAcceptedVersion() throws Exception {
        h.processWatermark(new Watermark(20_000));
        Files.delete(dir.resolve("burst.yaml"));
        poll();
        PatternChange c = newChanges().get(0);
        assertThat(c.isDelete()).isTrue();
        assertThat(c.patternId).isEqualTo("burst");
        assertThat(c.version).isEqualTo(1);
        assertThat(c.yaml).isNull();
        assertThat(c.activateAt).isEqualTo(20_000 + DELAY);
        assertThat(newEvents()).singleElement().satisfies(e -> {
            assertThat(e.get("kind").asText()).isEqualTo("accepted");
            assertThat(e.get("change").asText()).isEqualTo("deleted");
            assertThat(e.get("pattern_id").asText()).isEqualTo("burst");
        });
        poll();
        assertThat(newChanges()).isEmpty();
    }

    @Test
    void disablingAndEnablingAreUpsertsThatSaySo() throws Exception {
        write("burst.yaml", pattern("burst", 2, false, "Product Viewed"));
        poll();
        PatternChange off = newChanges().get(0);
        assertThat(off.kind).isEqualTo(PatternChange.UPSERT);
        assertThat(off.definition().enabled).isFalse();
        assertThat(newEvents().get(0).get("change").asText()).isEqualTo("disabled");

        write("burst.yaml", pattern("burst", 3, true, "Product Viewed"));
        poll();
        assertThat(newChanges()).singleElement().satisfies(c -> assertThat(c.definition().enabled).isTrue());
        assertThat(newEvents().get(0).get("change").asText()).isEqualTo("enabled");
    }

    @Test
    void aFileThatNowHoldsAnotherIdDeletesTheOldOne() throws Exception {
        write("burst.yaml", pattern("burst-2", 1, true, "Product Viewed"));
        poll();
        List<PatternChange> changes = newChanges();
        assertThat(changes).extracting(c -> c.kind + " " + c.patternId)
                .containsExactlyInAnyOrder("upsert burst-2", "delete burst");
    }

    @Test
    void keepIsRejectedWhenTheStepsChangeAndAcceptedWhenOnlyConditionsDo() throws Exception {
        String sameSteps = pattern("cart", 2, true, "Product Clicked").replace("version: 2", "version: 2\non_change: keep");
        write("cart.yaml", sameSteps);
        poll();
        assertThat(newChanges()).singleElement().satisfies(c -> assertThat(c.definition().onChange).isEqualTo(PatternDefinition.OnChange.KEEP));
        newEvents();

        String otherSteps = sameSteps.replace("version: 2", "version: 3").replace("name: added", "name: carted");
        write("cart.yaml", otherSteps);
        poll();
        assertThat(newChanges()).isEmpty();
        assertThat(problems(newEvents().get(0))).singleElement().satisfies(p -> assertThat(p)
                .startsWith(dir.resolve("cart.yaml") + ":3:1: on_change: keep needs the same steps as the running version 2")
                .contains("[viewed, added]").contains("[viewed, carted]"));

        // the same change with drain is fine
        write("cart.yaml", otherSteps.replace("on_change: keep", "on_change: drain"));
        poll();
        assertThat(newChanges()).singleElement().satisfies(c -> assertThat(c.version).isEqualTo(3));
    }

    @Test
    void aChangedSegmentsFileIsEmittedForTheProfileAsADefinitionsChange() throws Exception {
        String changed = "kind: segments\nsegments:\n  - id: engaged\n    when: profile.sessions_7d > 6\n";
        write("segments.yaml", changed);
        poll();
        assertThat(newChanges()).singleElement().satisfies(c -> {
            assertThat(c.isDefinitions()).isTrue();
            assertThat(c.definitionFiles()).isEqualTo(java.util.Map.of(dir.resolve("segments.yaml").toString(), changed));
        });
        assertThat(newEvents()).singleElement().satisfies(e -> {
            assertThat(e.get("kind").asText()).isEqualTo("accepted");
            assertThat(e.get("change").asText()).isEqualTo("definitions");
        });
        poll();
        assertThat(newChanges()).isEmpty();
    }

    @Test
    void aRestoreDoesNotEmitAcceptedChangesAgainAndKeepsWatching() throws Exception {
        String v1 = Files.readString(dir.resolve("cart.yaml"));
        write("cart.yaml", pattern("cart", 2, true, "Product Clicked"));
        write("bad.yaml", "id: bad\nversion: 1\nsteps: [");
        poll();
        assertThat(newChanges()).hasSize(1);
        assertThat(newEvents()).extracting(e -> e.get("kind").asText()).containsExactlyInAnyOrder("accepted", "rejected");
        OperatorSubtaskState snapshot = h.snapshot(1, now);
        h.close();

        // the job graph (and so the initial set) is the one submitted with cart v1; the restored state says v2
        List<Accepted> submitted = List.of(new Accepted("cart", 1, "cart.yaml", PatternSetDiff.sha256(v1), true),
                new Accepted("burst", 1, "burst.yaml", PatternSetDiff.sha256(Files.readString(dir.resolve("burst.yaml"))), true));
        h = open(snapshot, submitted);
        poll();
        poll();
        assertThat(newChanges()).as("cart v2 was accepted before the snapshot").isEmpty();
        assertThat(newEvents()).as("bad.yaml was rejected before the snapshot").isEmpty();
        assertThat(((PatternWatcherOperator) h.getOperator()).acceptedPatterns())
                .anyMatch(a -> a.patternId.equals("cart") && a.version == 2);

        // and it still watches
        write("cart.yaml", pattern("cart", 3, true, "Product Clicked"));
        poll();
        assertThat(newChanges()).singleElement().satisfies(c -> assertThat(c.version).isEqualTo(3));
    }

    @Test
    void withoutStateAStaleInitialSetIsCaughtUpWithTheFolder() throws Exception {
        // the same stale initial set without state: the folder's newer cart is news, emitted once
        write("cart.yaml", pattern("cart", 2, true, "Product Clicked"));
        h.close();
        h = open(null, List.of(new Accepted("cart", 1, "cart.yaml", "0".repeat(64), true),
                new Accepted("burst", 1, "burst.yaml", PatternSetDiff.sha256(Files.readString(dir.resolve("burst.yaml"))), true)));
        poll();
        assertThat(newChanges()).singleElement().satisfies(c -> assertThat(c.version).isEqualTo(2));
    }

    @Test
    void withoutStateTheInitialSetIsTheBaseline() throws Exception {
        // a fresh start whose submission had cart v1: the folder's cart v1 is not news
        h.close();
        h = open(null);
        poll();
        assertThat(newChanges()).isEmpty();
        assertThat(((PatternWatcherOperator) h.getOperator()).acceptedPatterns()).extracting(Accepted::toString)
                .containsExactlyInAnyOrder("burst v1 (burst.yaml)", "cart v1 (cart.yaml)");
    }

    @Test
    void aMissingFolderChangesNothing() throws Exception {
        Path moved = dir.resolveSibling(dir.getFileName() + "-moved");
        Files.move(dir, moved);
        try {
            poll();
            assertThat(newChanges()).as("no deletes when the folder itself is gone").isEmpty();
        } finally {
            Files.move(moved, dir);
        }
        poll();
        assertThat(newChanges()).isEmpty();
    }

    @Test
    void stateIsKeptAsFlinkPojosNotKryo() {
        assertThat(TypeInformation.of(Accepted.class)).isInstanceOf(org.apache.flink.api.java.typeutils.PojoTypeInfo.class);
        assertThat(TypeInformation.of(PatternWatcherOperator.Rejected.class)).isInstanceOf(org.apache.flink.api.java.typeutils.PojoTypeInfo.class);
        assertThat(TypeInformation.of(PatternChange.class)).isInstanceOf(org.apache.flink.api.java.typeutils.PojoTypeInfo.class);
    }

    @Test
    void attachBuildsOneWatcherWithAStableUidOnlyWhenWatching() throws Exception {
        List<PatternDefinition> initial = PatternLoader.load(dir).patterns();
        JobConfig on = JobConfig.of(Map.of("kafka.bootstrap-servers", "x:9092", "patterns.dir", dir.toString(), "patterns.watch", "true"));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(3);
        var events = env.fromData(List.<BehaviorEvent>of(), TypeInformation.of(BehaviorEvent.class));
        PatternWatcherOperator.attach(events, on, initial).getSideOutput(PatternWatcherOperator.PATTERN_EVENTS).print();
        StreamNode watcher = env.getStreamGraph(false).getStreamNodes().stream()
                .filter(n -> "pattern-watcher".equals(n.getTransformationUID())).findFirst().orElseThrow();
        assertThat(watcher.getParallelism()).isEqualTo(1);
        assertThat(watcher.getOperatorName()).isEqualTo("Pattern watcher");

        JobConfig off = on.with("patterns.watch", "false");
        StreamExecutionEnvironment env2 = StreamExecutionEnvironment.getExecutionEnvironment();
        var events2 = env2.fromData(List.<BehaviorEvent>of(), TypeInformation.of(BehaviorEvent.class));
        PatternWatcherOperator.attach(events2, off, initial).print();
        assertThat(env2.getStreamGraph(false).getStreamNodes()).noneMatch(n -> "pattern-watcher".equals(n.getTransformationUID()));
    }
}
