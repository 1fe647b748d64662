package io.behaviorcep.pattern.differential;

import io.behaviorcep.engine.ActionInput;
import io.behaviorcep.engine.PatternEngineFunction;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.CepPatternCompiler;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.pattern.PatternMatch;
import io.behaviorcep.testing.cep.AbsenceDeadlineCepOperator;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.cep.functions.PatternProcessFunction;
import org.apache.flink.cep.functions.TimedOutPartialMatchHandler;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
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

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code on_timeout} against Flink CEP's timed-out partial matches: each pattern runs in Flink's CEP
 * operator with a {@link TimedOutPartialMatchHandler} (the events of each partial match it times
 * out, and the time it gives them) and in the job's engine (alone, and all together in one
 * operator), over the same seeded random streams. The engine's timed-out matches (that reached the
 * {@code on_timeout.reached} step, which the reference filters the same way) must be the same
 * multisets, with the same timeout instants: the engine's {@code detected_at} is Flink's instant
 * less the 1 ms that makes windows inclusive.
 */
class TimedOutMatchesDifferentialTest {
    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    static final int[] SEEDS = {21, 22};
    static final String CEP_VARIANT = "flink-cep";
    static final String ENGINE = "engine";
    static final String ENGINE_ALL = "engine, all";

    static final Map<String, String> FEATURES = new LinkedHashMap<>();

    static {
        FEATURES.put("timeout-step-windows", """
                steps:
                  - {name: a, event: Product Viewed}
                  - {name: b, event: Product Added, within: 10m}
                  - {name: c, event: Checkout Started, within: 10m}
                on_timeout:
                  alert: {type: timed_out}
                """);
        FEATURES.put("timeout-reached", """
                steps:
                  - {name: a, event: Product Viewed}
                  - {name: b, event: Product Added, within: 10m}
                  - {name: c, event: Checkout Started, within: 10m}
                on_timeout:
                  reached: b
                  alert: {type: timed_out}
                """);
        FEATURES.put("timeout-pattern-window-loop", """
                within: 20m
                steps:
                  - {name: a, event: Product Viewed}
                  - {name: b, event: Product Added, times: 2..3}
                  - {name: c, event: Checkout Started}
                on_timeout:
                  alert: {type: timed_out}
                """);
        FEATURES.put("timeout-followed-by-any-skip", """
                within: 30m
                after_match: skip_past_last_event
                steps:
                  - {name: a, event: Product Viewed}
                  - {name: b, event: Product Added, contiguity: followed_by_any}
                  - {name: c, event: Order Completed}
                on_timeout:
                  alert: {type: timed_out}
                """);
        FEATURES.put("timeout-absence-middle", """
                steps:
                  - {name: a, event: Product Added}
                  - {name: gap, absent: {event: Page}}
                  - {name: c, event: Checkout Started, within: 15m}
                on_timeout:
                  reached: a
                  alert: {type: timed_out}
                """);
        FEATURES.put("timeout-and-absence-at-end", """
                steps:
                  - {name: a, event: Product Viewed}
                  - {name: b, event: Product Added, within: 20m}
                  - {name: none, absent: {event: Order Completed}, for: 15m}
                on_timeout:
                  alert: {type: timed_out}
                """);
    }

    static final Map<String, PatternDefinition> defs = new LinkedHashMap<>();
    static final Map<String, Map<String, List<String>>> timedOut = new TreeMap<>();

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
        List<BehaviorEvent> events = new ArrayList<>();
        for (int seed : SEEDS) events.addAll(RandomBehaviorStreams.generate(seed, 40, 60));
        events.sort(Comparator.comparingLong((BehaviorEvent e) -> e.timestamp).thenComparing(e -> e.messageId));

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        KeyedStream<BehaviorEvent, String> keyed = env.fromData(events, TypeInformation.of(BehaviorEvent.class)).setParallelism(1)
                .assignTimestampsAndWatermarks(CompiledPatternsDifferentialTest.everyEvent()).setParallelism(1)
                .keyBy(e -> e.userKey);
        List<DataStream<String>> outs = new ArrayList<>();
        for (PatternDefinition def : defs.values()) {
            OutputTag<String> tag = new OutputTag<>("timed-out-" + def.id, Types.STRING);
            SingleOutputStreamOperator<String> cep = AbsenceDeadlineCepOperator.apply(keyed, CepPatternCompiler.compile(def),
                    new TimedOutOf(def.id, def.onTimeout().reached, tag), Types.STRING, AbsenceDeadlineCepOperator.windowDeadlines(def));
            outs.add(cep.getSideOutput(tag));
            outs.add(engine(keyed, List.of(def), ENGINE));
        }
        outs.add(engine(keyed, new ArrayList<>(defs.values()), ENGINE_ALL));
        DataStream<String> all = outs.get(0);
        for (int i = 1; i < outs.size(); i++) all = all.union(outs.get(i));
        try (CloseableIterator<String> it = all.executeAndCollect("engine vs Flink CEP, timed-out partial matches")) {
            while (it.hasNext()) {
                String[] parts = it.next().split("\t", 3);
                timedOut.computeIfAbsent(parts[0], v -> new TreeMap<>()).computeIfAbsent(parts[1], p -> new ArrayList<>()).add(parts[2]);
            }
        }
    }

    /** Flink CEP's timed-out partial matches, as the reference: the instant Flink gives them, then the events. */
    static final class TimedOutOf extends PatternProcessFunction<BehaviorEvent, String> implements TimedOutPartialMatchHandler<BehaviorEvent> {
        private final String id;
        private final String reached;
        private final OutputTag<String> tag;

        TimedOutOf(String id, String reached, OutputTag<String> tag) {
            this.id = id;
            this.reached = reached;
            this.tag = tag;
        }

        @Override
        public void processMatch(Map<String, List<BehaviorEvent>> match, Context ctx, Collector<String> out) {}

        @Override
        public void processTimedOutMatch(Map<String, List<BehaviorEvent>> match, Context ctx) {
            if (reached != null && !match.containsKey(reached)) return;
            ctx.output(tag, CEP_VARIANT + "\t" + id + "\t" + ctx.timestamp() + " " + CompiledPatternsDifferentialTest.canonical(match));
        }
    }

    private static DataStream<String> engine(KeyedStream<BehaviorEvent, String> in, List<PatternDefinition> ds, String variant) {
        return in.process(new PatternEngineFunction(ds), TypeInformation.of(ActionInput.class))
                .name(variant + ": " + ds.size())
                .process(new ProcessFunction<ActionInput, String>() {
                    @Override
                    public void processElement(ActionInput in, Context ctx, Collector<String> out) throws Exception {
                        if (in instanceof ActionInput.Matched matched && matched.match().timedOut) {
                            PatternMatch m = matched.match();
                            long flinkInstant = m.detectedAt + CepPatternCompiler.INCLUSIVE.toMillis();
                            out.collect(variant + "\t" + m.patternId + "\t" + flinkInstant + " " + CompiledPatternsDifferentialTest.canonical(m));
                        }
                    }
                });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("features")
    void engineTimesOutWhatFlinkCepTimesOut(String id) {
        List<String> cep = sorted(timedOut.getOrDefault(CEP_VARIANT, Map.of()).getOrDefault(id, List.of()));
        List<String> engine = sorted(timedOut.getOrDefault(ENGINE, Map.of()).getOrDefault(id, List.of()));
        List<String> engineAll = sorted(timedOut.getOrDefault(ENGINE_ALL, Map.of()).getOrDefault(id, List.of()));
        EngineAgreement.assertAgrees(id, "Flink CEP", "times out partial matches of", cep, engine, engineAll, defs.size());
    }

    /**
     * Distinct: Flink CEP keeps a copy of a partial match per NFA state it waits in (an optional
     * third event and the step after it, once an unrelated event made both explicit), and the engine
     * does not show a pattern events none of its steps can take; identical timed-out partial
     * matches are one alert (one anchor, one instant), so their number is not part of the contract.
     */
    private static List<String> sorted(List<String> l) {
        return l.stream().distinct().sorted().toList();
    }
}
