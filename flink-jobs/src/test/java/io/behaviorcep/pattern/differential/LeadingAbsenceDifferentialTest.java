package io.behaviorcep.pattern.differential;

import io.behaviorcep.engine.ActionInput;
import io.behaviorcep.engine.PatternEngineFunction;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.CepPatternCompiler;
import io.behaviorcep.pattern.EventMatcher;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.pattern.expr.SimpleEvalContext;
import io.behaviorcep.testing.cep.AbsenceDeadlineCepOperator;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.cep.functions.PatternProcessFunction;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An absence at the start of a pattern ("no X in the D before the first step's event") has no Flink
 * CEP equivalent, so it is held to a hand-written reference: for every event, a scan over the same
 * user's earlier events (in the order the job sees them: time, then arrival) says whether an X lies
 * at most D before it. The engine, running the whole pattern, must find exactly the matches that
 * Flink CEP's operator finds for the rest of the pattern whose first event no such X precedes; and
 * for a pattern of one step after the absence, exactly the events the scan alone admits. Streams: the
 * seeded random ones (which hit 15m and 30m distances exactly and 1 ms either side, and repeat
 * timestamps) and hand-made users at the boundaries (an X exactly D before, 1 ms more, an X in the
 * same millisecond before and after the step's event).
 */
class LeadingAbsenceDifferentialTest {
    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    static final String REFERENCE = "reference";
    static final String ENGINE = "engine";
    static final String ENGINE_ALL = "engine, all";

    /** Pattern id -> the steps (and pattern-level keys) of a pattern file with an absence at the start. */
    static final Map<String, String> FEATURES = new LinkedHashMap<>();

    static {
        FEATURES.put("checkout-without-view", """
                steps:
                  - {name: no_view, absent: {event: Product Viewed}, for: 30m}
                  - {name: checkout, event: Checkout Started}
                """);
        // the same kind of event as the step: the step's event does not rule itself out
        FEATURES.put("first-view-in-15m", """
                steps:
                  - {name: quiet, absent: {event: Product Viewed}, for: 15m}
                  - {name: view, event: Product Viewed}
                """);
        FEATURES.put("order-without-add-then-view", """
                within: 30m
                steps:
                  - name: no_add
                    absent: {any_of: [{event: Product Added, where: [properties.price > 20]}, {event: Checkout Started}]}
                  - {name: order, event: Order Completed}
                  - {name: view, event: Product Viewed, contiguity: followed_by_any}
                """);
        FEATURES.put("add-without-view-then-no-checkout", """
                steps:
                  - {name: no_view, absent: {type: track, where: ["event == 'Product Viewed'"]}, for: 15m}
                  - {name: add, event: Product Added}
                  - {name: none, absent: {event: Checkout Started}, for: 10m}
                """);
        FEATURES.put("group-without-order", """
                within: 1h
                steps:
                  - {name: no_order, absent: {event: Order Completed}, for: 30m}
                  - name: g
                    times: 2
                    group:
                      - {name: v, event: Product Viewed}
                      - {name: a, event: Product Added}
                """);
    }

    /** The single-step features, checked against the scan alone (no Flink CEP at all). */
    static final Set<String> SINGLE_STEP = Set.of("checkout-without-view", "first-view-in-15m");

    static final Map<String, PatternDefinition> defs = new LinkedHashMap<>();
    static final Map<String, PatternDefinition> rests = new LinkedHashMap<>();
    static final Map<String, Map<String, List<String>>> matches = new TreeMap<>();
    static List<BehaviorEvent> events;

    static List<String> features() {
        return new ArrayList<>(FEATURES.keySet());
    }

    @BeforeAll
    static void runAll() throws Exception {
        for (Map.Entry<String, String> f : FEATURES.entrySet()) {
            String yaml = "id: " + f.getKey() + "\nversion: 1\n" + f.getValue() + "actions:\n  alert: {type: t}\n";
            PatternLoader.Result r = PatternLoader.loadString(f.getKey() + ".yaml", yaml);
            assertThat(r.problems()).as("pattern %s", f.getKey()).isEmpty();
            PatternDefinition def = r.patterns().get(0);
            assertThat(def.leadingAbsence()).as("%s starts with an absence", f.getKey()).isNotNull();
            defs.put(f.getKey(), def);
            // the rest of the pattern: what Flink CEP can run
            String rest = yaml.replaceFirst("\n  - (\\{name: \\w+, absent: .*\n|name: \\w+\n    absent: .*\n)", "\n");
            PatternLoader.Result rr = PatternLoader.loadString(f.getKey() + "-rest.yaml", rest);
            assertThat(rr.problems()).as("the rest of %s:\n%s", f.getKey(), rest).isEmpty();
            assertThat(rr.patterns().get(0).leadingAbsence()).isNull();
            rests.put(f.getKey(), rr.patterns().get(0));
        }
        events = new ArrayList<>();
        for (int seed : new int[] {21, 22, 23}) events.addAll(RandomBehaviorStreams.generate(seed, 40, 60));
        events.addAll(boundaryUsers());
        events.sort(Comparator.comparingLong((BehaviorEvent e) -> e.timestamp).thenComparing(e -> e.messageId));

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        KeyedStream<BehaviorEvent, String> keyed = env.fromData(events, TypeInformation.of(BehaviorEvent.class)).setParallelism(1)
                .assignTimestampsAndWatermarks(CompiledPatternsDifferentialTest.everyEvent()).setParallelism(1)
                .keyBy(e -> e.userKey);
        List<DataStream<String>> outs = new ArrayList<>();
        for (PatternDefinition rest : rests.values()) {
            // Flink CEP's operator, which also decides an absence at the end when the input ends (as the engine does)
            outs.add(AbsenceDeadlineCepOperator.apply(keyed, CepPatternCompiler.compile(rest), new WithFirstEvent(rest.id), Types.STRING,
                    null, AbsenceDeadlineCepOperator.deadlineAfter(rest)).name("flink-cep rest: " + rest.id));
        }
        for (PatternDefinition def : defs.values()) outs.add(engine(keyed, List.of(def), ENGINE));
        outs.add(engine(keyed, new ArrayList<>(defs.values()), ENGINE_ALL));
        DataStream<String> all = outs.get(0);
        for (int i = 1; i < outs.size(); i++) all = all.union(outs.get(i));
        Map<String, Set<String>> blocked = new HashMap<>();
        for (PatternDefinition def : defs.values()) blocked.put(def.id, blockedByScan(def, events));
        try (CloseableIterator<String> it = all.executeAndCollect("engine vs leading-absence reference")) {
            while (it.hasNext()) {
                String[] parts = it.next().split("\t", 4);
                if (parts[0].equals(REFERENCE)) {
                    // parts: reference, pattern, first event of the match, match
                    if (blocked.get(parts[1]).contains(parts[2])) continue;
                }
                matches.computeIfAbsent(parts[0], v -> new TreeMap<>()).computeIfAbsent(parts[1], p -> new ArrayList<>()).add(parts[3]);
            }
        }
    }

    /**
     * The reference: every event that some earlier event of its user rules out, an event of the
     * absence at most its window before (both ends inclusive; "earlier" in the order the events are
     * fed, so an event in the same millisecond counts when it came first).
     */
    static Set<String> blockedByScan(PatternDefinition def, List<BehaviorEvent> sorted) {
        PatternDefinition.StepDefinition absence = def.leadingAbsence();
        long window = (absence.absentFor != null ? absence.absentFor : def.within).toMillis();
        EventMatcher x = absence.matcher;
        Set<String> out = new HashSet<>();
        for (int i = 0; i < sorted.size(); i++) {
            BehaviorEvent e = sorted.get(i);
            for (int j = 0; j < i; j++) {
                BehaviorEvent before = sorted.get(j);
                if (before.userKey.equals(e.userKey) && before.timestamp >= e.timestamp - window
                        && x.matchesKind(before) && x.matches(before, SimpleEvalContext.of(before))) {
                    out.add(e.messageId);
                    break;
                }
            }
        }
        return out;
    }

    /** Users whose events sit on the boundaries of a 30 m and a 15 m absence. */
    static List<BehaviorEvent> boundaryUsers() {
        long t0 = java.time.Instant.parse("2024-03-10T00:00:00Z").toEpochMilli();
        long m30 = Duration.ofMinutes(30).toMillis();
        long m15 = Duration.ofMinutes(15).toMillis();
        List<BehaviorEvent> out = new ArrayList<>();
        // view, then checkout in the same millisecond: the view came first, it counts
        out.add(event("b-same-before", 1, "Product Viewed", t0));
        out.add(event("b-same-before", 2, "Checkout Started", t0));
        // checkout, then view in the same millisecond: the view came after, it does not
        out.add(event("b-same-after", 1, "Checkout Started", t0));
        out.add(event("b-same-after", 2, "Product Viewed", t0));
        // a view exactly 30 m before counts; 30 m and 1 ms before does not
        out.add(event("b-at-window", 1, "Product Viewed", t0));
        out.add(event("b-at-window", 2, "Checkout Started", t0 + m30));
        out.add(event("b-past-window", 1, "Product Viewed", t0));
        out.add(event("b-past-window", 2, "Checkout Started", t0 + m30 + 1));
        // views 15 m apart, exactly and 1 ms more: the second is not the first in 15 m, the third is
        out.add(event("b-views", 1, "Product Viewed", t0));
        out.add(event("b-views", 2, "Product Viewed", t0 + m15));
        out.add(event("b-views", 3, "Product Viewed", t0 + 2 * m15 + 1));
        // two views in one millisecond: the first one may start a match, the second may not
        out.add(event("b-views-same", 1, "Product Viewed", t0));
        out.add(event("b-views-same", 2, "Product Viewed", t0));
        // an add 15 m after a view is ruled out; the same add 1 ms later is not
        out.add(event("b-add", 1, "Product Viewed", t0));
        out.add(event("b-add", 2, "Product Added", t0 + m15));
        out.add(event("b-add", 3, "Product Added", t0 + m15 + 1));
        return out;
    }

    private static BehaviorEvent event(String user, int n, String name, long ts) {
        BehaviorEvent e = new BehaviorEvent();
        e.messageId = user + "-" + n; // sorts in the order written within a millisecond
        e.userKey = user;
        e.userId = user;
        e.type = "track";
        e.event = name;
        e.timestamp = ts;
        e.properties.put("product_id", "p1");
        e.properties.put("price", "30");
        return e;
    }

    /** "reference, pattern, the match's first event, the match" for the rest of a pattern in Flink CEP. */
    static final class WithFirstEvent extends PatternProcessFunction<BehaviorEvent, String> {
        private final String id;

        WithFirstEvent(String id) {
            this.id = id;
        }

        @Override
        public void processMatch(Map<String, List<BehaviorEvent>> match, Context ctx, Collector<String> out) {
            BehaviorEvent first = null;
            for (List<BehaviorEvent> l : match.values()) {
                for (BehaviorEvent e : l) {
                    if (first == null || e.timestamp < first.timestamp
                            || (e.timestamp == first.timestamp && e.messageId.compareTo(first.messageId) < 0)) {
                        first = e;
                    }
                }
            }
            out.collect(REFERENCE + "\t" + id + "\t" + first.messageId + "\t" + CompiledPatternsDifferentialTest.canonical(match));
        }
    }

    private static DataStream<String> engine(KeyedStream<BehaviorEvent, String> in, List<PatternDefinition> ds, String variant) {
        return in.process(new PatternEngineFunction(ds), TypeInformation.of(ActionInput.class))
                .name(variant + ": " + ds.size())
                .process(new ProcessFunction<ActionInput, String>() {
                    @Override
                    public void processElement(ActionInput in, Context ctx, Collector<String> out) throws Exception {
                        if (in instanceof ActionInput.Matched matched) {
                            out.collect(variant + "\t" + matched.match().patternId + "\t-\t"
                                    + CompiledPatternsDifferentialTest.canonical(matched.match()));
                        }
                    }
                });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("features")
    void engineFindsTheReferencesMatches(String id) {
        List<String> reference = sorted(matches.getOrDefault(REFERENCE, Map.of()).getOrDefault(id, List.of()));
        List<String> engine = sorted(matches.getOrDefault(ENGINE, Map.of()).getOrDefault(id, List.of()));
        List<String> engineAll = sorted(matches.getOrDefault(ENGINE_ALL, Map.of()).getOrDefault(id, List.of()));
        EngineAgreement.assertAgrees(id, "reference", "finds matches of", reference, engine, engineAll, defs.size());
    }

    /** The single-step patterns without Flink CEP: a match for every event of the step that the scan does not rule out. */
    @Test
    void aSingleStepAfterTheAbsenceMatchesExactlyTheEventsTheScanAdmits() {
        for (String id : SINGLE_STEP) {
            PatternDefinition def = defs.get(id);
            PatternDefinition.StepDefinition step = def.steps.get(1);
            Set<String> blocked = blockedByScan(def, events);
            List<String> expected = new ArrayList<>();
            for (BehaviorEvent e : events) {
                if (step.matcher.matchesKind(e) && !blocked.contains(e.messageId)) {
                    expected.add(e.userKey + " " + step.name + "=[" + e.messageId + "]");
                }
            }
            List<String> engine = sorted(matches.getOrDefault(ENGINE, Map.of()).getOrDefault(id, List.of()));
            assertThat(blocked).as("%s: some events are ruled out", id).isNotEmpty();
            assertThat(engine).as("engine vs the scan: %s", id).isEqualTo(sorted(expected));
        }
    }

    @Test
    void theBoundaryUsersGetWhatTheDocsSay() {
        List<String> checkouts = matches.getOrDefault(ENGINE, Map.of()).getOrDefault("checkout-without-view", List.of());
        assertThat(checkouts).as("same millisecond, view first: ruled out").noneMatch(m -> m.startsWith("b-same-before "));
        assertThat(checkouts).as("same millisecond, view after: a match").contains("b-same-after checkout=[b-same-after-1]");
        assertThat(checkouts).as("a view exactly 30 m before counts").noneMatch(m -> m.startsWith("b-at-window "));
        assertThat(checkouts).as("30 m and 1 ms before does not").contains("b-past-window checkout=[b-past-window-2]");
        List<String> views = matches.getOrDefault(ENGINE, Map.of()).getOrDefault("first-view-in-15m", List.of());
        assertThat(views.stream().filter(m -> m.startsWith("b-views ")).sorted().toList())
                .containsExactly("b-views view=[b-views-1]", "b-views view=[b-views-3]");
        assertThat(views.stream().filter(m -> m.startsWith("b-views-same ")).toList()).containsExactly("b-views-same view=[b-views-same-1]");
    }

    private static List<String> sorted(List<String> l) {
        return l.stream().sorted().collect(Collectors.toList());
    }
}
