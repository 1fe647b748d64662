package io.behaviorcep.pattern.differential;

import io.behaviorcep.engine.ActionInput;
import io.behaviorcep.engine.PatternEngineFunction;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.testing.cep.AbsenceDeadlineCepOperator;
import io.behaviorcep.pattern.CepPatternCompiler;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The job's pattern engine against Flink CEP on every feature of the pattern language, not only
 * the shipped patterns: each contiguity, quantifier (times, ranges, one_or_more, optional, greedy,
 * until, loop contiguity), absences in the middle and at the end, step and pattern windows, and all
 * five after-match strategies. Each pattern runs in Flink's CEP operator and in the engine (alone,
 * and all together in one engine operator, as in the job) over the same seeded random streams;
 * the matches must be the same multisets.
 */
class EngineFeaturesDifferentialTest {
    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    static final int[] SEEDS = {11, 12, 13};
    static final String CEP = "flink-cep";
    static final String ENGINE = "engine";
    static final String ENGINE_ALL = "engine, all";

    /** Pattern id -> the steps (and pattern-level keys) of a minimal pattern file. */
    static final Map<String, String> FEATURES = new LinkedHashMap<>();

    static {
        FEATURES.put("next", """
                steps:
                  - {name: a, event: Product Viewed}
                  - {name: b, event: Product Added, contiguity: next, within: 30m}
                """);
        FEATURES.put("followed-by", """
                steps:
                  - {name: a, event: Product Viewed}
                  - {name: b, event: Product Added, within: 30m}
                  - {name: c, event: Checkout Started, within: 30m}
                """);
        FEATURES.put("followed-by-any", """
                steps:
                  - {name: a, event: Product Viewed}
                  - {name: b, event: Product Added, contiguity: followed_by_any, within: 15m}
                """);
        FEATURES.put("times-range", """
                within: 30m
                steps:
                  - {name: a, event: Product Viewed}
                  - {name: b, event: Product Added, times: 2..3}
                """);
        FEATURES.put("times-or-more-greedy", """
                within: 30m
                after_match: skip_past_last_event
                steps:
                  - {name: a, event: Product Added, times: 2.., greedy: true}
                  - {name: b, event: Checkout Started}
                """);
        FEATURES.put("one-or-more-until", """
                within: 1h
                steps:
                  - {name: a, event: Checkout Started}
                  - {name: b, event: Product Viewed, one_or_more: true, until: {event: Order Completed}}
                  - {name: c, event: Product Added}
                """);
        FEATURES.put("loop-next", """
                within: 30m
                steps:
                  - {name: a, event: Product Added, times: 3, loop: next}
                """);
        FEATURES.put("loop-any", """
                within: 30m
                steps:
                  - {name: a, event: Product Viewed}
                  - {name: b, event: Product Added, times: 2, loop: followed_by_any}
                """);
        FEATURES.put("optional-middle", """
                within: 30m
                steps:
                  - {name: a, event: Product Viewed}
                  - {name: b, event: Product Added, optional: true}
                  - {name: c, event: Checkout Started}
                """);
        FEATURES.put("absent-middle-next", """
                within: 30m
                steps:
                  - {name: a, event: Product Added}
                  - {name: gap, absent: {event: Page}, contiguity: next}
                  - {name: c, event: Checkout Started}
                """);
        FEATURES.put("absent-middle", """
                within: 24h
                steps:
                  - {name: a, event: Product Viewed}
                  - {name: gap, absent: {event: Product Added, where: [properties.product_id == a.properties.product_id]}}
                  - {name: c, event: Product Viewed, where: [properties.product_id == a.properties.product_id]}
                """);
        FEATURES.put("absent-end-after-loop", """
                steps:
                  - {name: v, event: Product Viewed}
                  - {name: a, event: Product Added, times: 2, within: 10m}
                  - {name: none, absent: {event: Checkout Started}, for: 10m}
                """);
        FEATURES.put("absent-end-pattern-window", """
                within: 30m
                steps:
                  - {name: a, event: Product Viewed}
                  - {name: b, event: Product Added}
                  - {name: none, absent: {event: Order Completed}, for: 15m}
                """);
        FEATURES.put("skip-to-next", """
                within: 30m
                after_match: skip_to_next
                steps:
                  - {name: a, event: Product Viewed}
                  - {name: b, event: Product Added, contiguity: followed_by_any}
                """);
        FEATURES.put("skip-to-first", """
                within: 30m
                after_match: {skip_to_first: b}
                steps:
                  - {name: a, event: Product Viewed, times: 1..2}
                  - {name: b, event: Product Added}
                  - {name: c, event: Checkout Started}
                """);
        FEATURES.put("skip-to-last", """
                within: 30m
                after_match: {skip_to_last: a}
                steps:
                  - {name: a, event: Product Viewed, one_or_more: true}
                  - {name: b, event: Product Added}
                """);
        FEATURES.put("skip-past-last-any", """
                within: 1h
                after_match: skip_past_last_event
                steps:
                  - {name: a, event: Product Viewed}
                  - {name: b, event: Product Added, contiguity: followed_by_any}
                  - {name: c, event: Order Completed}
                """);
        FEATURES.put("any-of", """
                within: 30m
                steps:
                  - {name: a, event: Product Viewed}
                  - name: b
                    contiguity: followed_by_any
                    any_of:
                      - {event: Product Added, where: [properties.product_id == a.properties.product_id]}
                      - {event: Checkout Started}
                """);
        // the same step as one condition with 'or': any_of must mean exactly this
        FEATURES.put("any-of-as-or", """
                within: 30m
                steps:
                  - {name: a, event: Product Viewed}
                  - name: b
                    contiguity: followed_by_any
                    type: track
                    where: ["(event == 'Product Added' and properties.product_id == a.properties.product_id) or event == 'Checkout Started'"]
                """);
        FEATURES.put("any-of-absent-end", """
                steps:
                  - {name: a, event: Product Added}
                  - {name: none, absent: {any_of: [{event: Order Completed}, {event: Checkout Started}]}, for: 15m}
                """);
        // step groups (Flink CEP's GroupPattern): the engine runs the graph Flink compiles for them
        FEATURES.put("group-times", """
                within: 3h
                steps:
                  - name: g
                    times: 2
                    group:
                      - {name: v, event: Product Viewed}
                      - {name: a, event: Product Added, within: 30m}
                  - {name: c, event: Product Added, within: 1h, where: [properties.product_id != a.properties.product_id]}
                """);
        FEATURES.put("group-first-one-or-more", """
                within: 1h
                steps:
                  - name: g
                    one_or_more: true
                    within: 15m
                    group:
                      - {name: v, event: Product Viewed}
                      - {name: a, event: Product Added, within: 10m, where: [properties.product_id == v.properties.product_id]}
                  - {name: c, event: Checkout Started}
                """);
        FEATURES.put("group-optional", """
                within: 1h
                steps:
                  - {name: v, event: Product Viewed}
                  - name: g
                    optional: true
                    group:
                      - {name: a, event: Product Added}
                      - {name: c, event: Checkout Started}
                  - {name: o, event: Order Completed}
                """);
        FEATURES.put("group-absent-inside", """
                within: 1h
                steps:
                  - {name: c, event: Checkout Started}
                  - name: g
                    times: 2
                    group:
                      - {name: v, event: Product Viewed}
                      - {name: gap, absent: {event: Page}}
                      - {name: a, event: Product Added}
                """);
        FEATURES.put("group-any-then-absent-end", """
                steps:
                  - {name: c, event: Checkout Started}
                  - name: g
                    contiguity: followed_by_any
                    times: 2
                    within: 30m
                    group:
                      - {name: v, event: Product Viewed}
                      - {name: a, event: Product Added, within: 10m}
                  - {name: none, absent: {event: Order Completed}, for: 15m}
                """);
        FEATURES.put("group-next-consecutive", """
                within: 30m
                steps:
                  - {name: v, event: Product Viewed}
                  - name: g
                    contiguity: next
                    times: 1..2
                    loop: next
                    group:
                      - {name: a, event: Product Added}
                      - {name: c, event: Checkout Started, contiguity: next}
                """);
        FEATURES.put("group-skip-past-last", """
                within: 1h
                after_match: skip_past_last_event
                steps:
                  - {name: v, event: Product Viewed}
                  - name: g
                    times: 2..
                    group:
                      - {name: a, event: Product Added}
                      - {name: c, event: Product Viewed}
                """);
        FEATURES.put("price-aggregate", """
                within: 30m
                steps:
                  - {name: a, event: Product Added, times: 2..}
                  - {name: b, event: Checkout Started, where: [properties.value > 100]}
                """);
    }

    static final Map<String, PatternDefinition> defs = new LinkedHashMap<>();
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
            defs.put(f.getKey(), r.patterns().get(0));
        }
        events = new ArrayList<>();
        for (int seed : SEEDS) events.addAll(RandomBehaviorStreams.generate(seed, 40, 60));
        events.sort(Comparator.comparingLong((BehaviorEvent e) -> e.timestamp).thenComparing(e -> e.messageId));

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        KeyedStream<BehaviorEvent, String> keyed = env.fromData(events, TypeInformation.of(BehaviorEvent.class)).setParallelism(1)
                .assignTimestampsAndWatermarks(CompiledPatternsDifferentialTest.everyEvent()).setParallelism(1)
                .keyBy(e -> e.userKey);
        List<DataStream<String>> outs = new ArrayList<>();
        for (PatternDefinition def : defs.values()) {
            outs.add(AbsenceDeadlineCepOperator.apply(keyed, CepPatternCompiler.compile(def),
                    new CompiledPatternsDifferentialTest.Canonical(CEP + "\t" + def.id + "\t"), Types.STRING, null,
                    AbsenceDeadlineCepOperator.deadlineAfter(def)).name(CEP + ": " + def.id));
            outs.add(engine(keyed, List.of(def), ENGINE));
        }
        outs.add(engine(keyed, new ArrayList<>(defs.values()), ENGINE_ALL));
        DataStream<String> all = outs.get(0);
        for (int i = 1; i < outs.size(); i++) all = all.union(outs.get(i));
        try (CloseableIterator<String> it = all.executeAndCollect("engine vs Flink CEP, all features")) {
            while (it.hasNext()) {
                String[] parts = it.next().split("\t", 4);
                matches.computeIfAbsent(parts[0], v -> new TreeMap<>()).computeIfAbsent(parts[1], p -> new ArrayList<>()).add(parts[3]);
            }
        }
    }

    private static DataStream<String> engine(KeyedStream<BehaviorEvent, String> in, List<PatternDefinition> ds, String variant) {
        return in.process(new PatternEngineFunction(ds), org.apache.flink.api.common.typeinfo.TypeInformation.of(io.behaviorcep.engine.ActionInput.class))
                .name(variant + ": " + ds.size())
                .process(new ProcessFunction<ActionInput, String>() {
                    @Override
                    public void processElement(ActionInput in, Context ctx, Collector<String> out) throws Exception {
                        if (in instanceof ActionInput.Matched matched) {
                            out.collect(variant + "\t" + matched.match().patternId + "\t" + ctx.timestamp() + "\t"
                                    + CompiledPatternsDifferentialTest.canonical(matched.match()));
                        }
                    }
                });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("features")
    void engineFindsWhatFlinkCepFinds(String id) {
        List<String> cep = sorted(matches.getOrDefault(CEP, Map.of()).getOrDefault(id, List.of()));
        List<String> engine = sorted(matches.getOrDefault(ENGINE, Map.of()).getOrDefault(id, List.of()));
        List<String> engineAll = sorted(matches.getOrDefault(ENGINE_ALL, Map.of()).getOrDefault(id, List.of()));
        EngineAgreement.assertAgrees(id, "Flink CEP", "finds matches of", cep, engine, engineAll, defs.size());
    }

    @org.junit.jupiter.api.Test
    void anyOfIsTheOrOfItsAlternatives() {
        List<String> anyOf = sorted(matches.getOrDefault(ENGINE, Map.of()).getOrDefault("any-of", List.of()));
        List<String> asOr = sorted(matches.getOrDefault(CEP, Map.of()).getOrDefault("any-of-as-or", List.of()));
        assertThat(asOr).isNotEmpty();
        assertThat(anyOf).as("any_of in the engine vs the same step written with 'or', in Flink CEP").isEqualTo(asOr);
    }

    private static List<String> sorted(List<String> l) {
        return l.stream().sorted().collect(Collectors.toList());
    }
}
