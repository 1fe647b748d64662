package io.behaviorcep.engine;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.CepPatternCompiler;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.testing.Repo;

import org.apache.flink.cep.nfa.NFA;
import org.apache.flink.cep.nfa.compiler.NFACompiler;
import org.apache.flink.runtime.util.EnvironmentInformation;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Pins what the engine takes from Flink CEP's {@code @Internal} compiler ({@link FlinkCepInternals}),
 * so that a Flink upgrade that changes it fails here, by name, instead of changing matches silently:
 * the state graph of every shipped pattern and of one pattern per language feature, and the
 * windows Flink's NFA applies, which the engine takes from the definitions instead.
 *
 * <p>After an upgrade that changes a graph on purpose: run the differential tests
 * ({@code *DifferentialTest}); if they pass, rewrite the recorded graphs with
 * {@code -Dflink.cep.graphs.record=true}.
 */
class FlinkCepInternalsTest {
    static final Path RECORDED = Path.of("src/test/resources/io/behaviorcep/engine/flink-cep-state-graphs.txt");

    /** One pattern per feature of the language that shapes the graph or its windows. */
    static final Map<String, String> FEATURES = new LinkedHashMap<>();

    static {
        FEATURES.put("next-within", "  - {name: a, event: Product Viewed}\n  - {name: b, event: Product Added, contiguity: next, within: 30m}\n");
        FEATURES.put("followed-by-any", "  - {name: a, event: Product Viewed}\n  - {name: b, event: Product Added, contiguity: followed_by_any, within: 15m}\n");
        FEATURES.put("optional-within", "  - {name: a, event: Product Viewed}\n  - {name: b, event: Product Added, optional: true, within: 10m}\n  - {name: c, event: Checkout Started, within: 5m}\n");
        FEATURES.put("one-or-more-within", "  - {name: a, event: Product Viewed}\n  - {name: b, event: Product Added, one_or_more: true, within: 10m}\n  - {name: c, event: Checkout Started, within: 5m}\n");
        FEATURES.put("one-or-more-greedy-next", "  - {name: a, event: Product Viewed}\n  - {name: b, event: Product Added, one_or_more: true, greedy: true, within: 10m}\n  - {name: c, event: Checkout Started, contiguity: next, within: 5m}\n");
        FEATURES.put("optional-loop", "  - {name: a, event: Product Viewed}\n  - {name: b, event: Product Added, one_or_more: true, optional: true, within: 10m}\n  - {name: c, event: Checkout Started, within: 5m}\n");
        FEATURES.put("times-range-within", "  - {name: a, event: Product Viewed}\n  - {name: b, event: Product Added, times: 1..3, within: 5m}\n");
        FEATURES.put("loop-any", "  - {name: a, event: Product Viewed}\n  - {name: b, event: Product Added, times: 2, loop: followed_by_any, within: 30m}\n");
        FEATURES.put("absent-next-then-step", "  - {name: a, event: Product Viewed}\n  - {name: g, absent: {event: Page}, contiguity: next}\n  - {name: c, event: Checkout Started, within: 5m}\n");
        FEATURES.put("absent-next-at-end", "  - {name: a, event: Product Viewed}\n  - {name: g, absent: {event: Page}, contiguity: next, for: 5m}\n");
        FEATURES.put("absent-at-end-after-loop", "  - {name: v, event: Product Viewed}\n  - {name: a, event: Product Added, times: 2, within: 10m}\n  - {name: none, absent: {event: Checkout Started}, for: 10m}\n");
        FEATURES.put("group-times", "  - {name: x, event: Checkout Started}\n  - name: g\n    times: 2\n    within: 9m\n    group:\n      - {name: v, event: Product Viewed}\n      - {name: a, event: Product Added, within: 5m}\n  - {name: z, event: Order Completed, within: 7m}\n");
        FEATURES.put("group-first-one-or-more", "  - name: g\n    one_or_more: true\n    within: 9m\n    group:\n      - {name: v, event: Product Viewed}\n      - {name: a, event: Product Added, within: 5m}\n  - {name: z, event: Order Completed, within: 7m}\n");
        FEATURES.put("group-optional-inner-loop", "  - {name: x, event: Checkout Started}\n  - name: g\n    optional: true\n    within: 9m\n    group:\n      - {name: v, event: Product Viewed}\n      - {name: a, event: Product Added, times: 1..2, within: 5m}\n  - {name: z, event: Order Completed, within: 7m}\n");
        FEATURES.put("group-absent-inside-next-consecutive", "  - {name: x, event: Checkout Started}\n  - name: g\n    contiguity: next\n    times: 2\n    loop: next\n    within: 9m\n    group:\n      - {name: v, event: Product Viewed}\n      - {name: n, absent: {event: Page}}\n      - {name: a, event: Product Added, within: 5m}\n");
        FEATURES.put("pattern-window", "  - {name: a, event: Product Viewed, one_or_more: true}\n  - {name: b, event: Product Added, within: 5m}\n");
    }

    static final Map<String, String> PATTERN_LEVEL = Map.of("pattern-window", "within: 1h\nafter_match: skip_past_last_event\n",
            "group-first-one-or-more", "within: 1h\n");

    static List<PatternDefinition> corpus() {
        List<PatternDefinition> defs = new ArrayList<>(Repo.shippedPatterns());
        for (Map.Entry<String, String> f : FEATURES.entrySet()) {
            String yaml = "id: " + f.getKey() + "\nversion: 1\n" + PATTERN_LEVEL.getOrDefault(f.getKey(), "")
                    + "steps:\n" + f.getValue() + "actions:\n  alert: {type: t}\n";
            PatternLoader.Result r = PatternLoader.loadString(f.getKey() + ".yaml", yaml);
            assertThat(r.problems()).as("feature pattern %s", f.getKey()).isEmpty();
            defs.add(r.patterns().get(0));
        }
        return defs;
    }

    /** Flink CEP's name of the state a repeated group returns to between repetitions (its GroupPattern's name). */
    static final String GROUP_STATE = "GroupPattern";

    static String upgradeMessage(String what) {
        return "Flink " + EnvironmentInformation.getVersion() + " changed what the pattern engine relies on from Flink CEP's"
                + " internal compiler (io.behaviorcep.engine.FlinkCepInternals): " + what;
    }

    @Test
    void theWindowsTakenFromTheDefinitionsAreTheOnesFlinksNfaApplies() throws Exception {
        for (PatternDefinition def : corpus()) {
            NFA<BehaviorEvent> nfa = NFACompiler.compileFactory(CepPatternCompiler.compile(def), false).createNFA();
            Map<String, Long> engineWindows = new java.util.HashMap<>();
            for (StateGraph.Node s : new CompiledPattern(def).info.values()) {
                // a run never waits in a stop state: its window cannot matter
                if (s.window > 0 && !s.stop) engineWindows.put(s.name, s.window);
            }
            assertThat(engineWindows)
                    .as(upgradeMessage("the per-state windows of pattern " + def.id + " (NFA.windowTimes) are no longer "
                            + "CepPatternCompiler.previousEventWindows by each state's step"))
                    .isEqualTo(windowTimesOf(nfa));
            assertThat(CepPatternCompiler.firstEventWindow(def))
                    .as(upgradeMessage("the pattern-wide window of " + def.id + " (NFA.getWindowTime)"))
                    .isEqualTo(nfa.getWindowTime());
        }
    }

    @Test
    void everyGraphHasOneFinalStateAStartAndStatesNamedAfterTheirSteps() {
        for (PatternDefinition def : corpus()) {
            List<StateGraph.Node> states = FlinkCepInternals.compile(CepPatternCompiler.compile(def), name -> 0);
            Set<String> steps = new HashSet<>();
            for (PatternDefinition.StepDefinition s : def.flatSteps()) steps.add(s.name);
            boolean groups = def.steps.stream().anyMatch(PatternDefinition.StepDefinition::isGroup);
            assertThat(states.stream().filter(s -> s.isFinal).count()).as(upgradeMessage(def.id + ": one final state")).isEqualTo(1);
            assertThat(states.stream().filter(s -> s.start).count()).as(upgradeMessage(def.id + ": a start state")).isPositive();
            for (StateGraph.Node s : states) {
                if (groups && s.step.equals(GROUP_STATE)) {
                    assertThat(s.edges()).as(upgradeMessage(def.id + ": the state between repetitions of a group only proceeds"))
                            .allMatch(e -> e.action() == StateGraph.Action.PROCEED);
                } else if (!s.isFinal) {
                    assertThat(steps).as(upgradeMessage(def.id + ": state " + s.name + " names its step (NFAStateNameHandler)")).contains(s.step);
                }
                for (StateGraph.Edge e : s.edges()) {
                    assertThat(e.source()).as(upgradeMessage(def.id + ": an edge leaves the state that holds it")).isSameAs(s);
                    assertThat(e.target()).as(upgradeMessage(def.id + ": every edge ends in a state of the graph")).isNotNull();
                }
            }
        }
    }

    @Test
    void theStateGraphsAreTheRecordedOnes() throws IOException {
        StringBuilder now = new StringBuilder();
        for (PatternDefinition def : corpus()) {
            now.append("== ").append(def.id).append('\n');
            for (StateGraph.Node s : FlinkCepInternals.compile(CepPatternCompiler.compile(def), name -> 0)) {
                now.append(s.name).append(' ').append(s.kind).append(':');
                for (StateGraph.Edge e : s.edges()) {
                    now.append(' ').append(e.action()).append('>').append(e.target().name).append(e.condition() == null ? "" : "?");
                }
                now.append('\n');
            }
        }
        if (Boolean.getBoolean("flink.cep.graphs.record")) {
            Files.writeString(RECORDED, now.toString(), StandardCharsets.UTF_8);
            return;
        }
        if (!Files.exists(RECORDED)) fail("no recorded graphs at " + RECORDED + "; record them with -Dflink.cep.graphs.record=true");
        assertThat(now.toString())
                .as(upgradeMessage("the state graphs (states, kinds, edges and their order) differ from " + RECORDED
                        + ". Run the differential tests; if they pass, record the new graphs with -Dflink.cep.graphs.record=true"))
                .isEqualTo(Files.readString(RECORDED, StandardCharsets.UTF_8));
    }

    /** Test-side only: the field the engine no longer reads, read here as the oracle of the windows. */
    @SuppressWarnings("unchecked")
    private static Map<String, Long> windowTimesOf(NFA<BehaviorEvent> nfa) throws ReflectiveOperationException {
        Field f;
        try {
            f = NFA.class.getDeclaredField("windowTimes");
        } catch (NoSuchFieldException e) {
            throw new AssertionError(upgradeMessage("NFA has no field windowTimes any more; find where Flink now keeps the "
                    + "per-state windows and compare CepPatternCompiler.previousEventWindows with them"), e);
        }
        f.setAccessible(true);
        return (Map<String, Long>) f.get(nfa);
    }
}
