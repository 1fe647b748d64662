package io.behaviorcep.engine;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.CepPatternCompiler;
import io.behaviorcep.pattern.EventMatcher;
import io.behaviorcep.pattern.expr.SimpleEvalContext;
import io.behaviorcep.pattern.PatternDefinition;

import org.apache.flink.cep.pattern.conditions.IterativeCondition;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One pattern ready to run in the {@link PatternEngine}: the very state graph Flink CEP's compiler
 * builds from it (so quantifiers, contiguity, {@code until}, optional and greedy steps and absences
 * mean exactly what they mean in Flink CEP), with its windows, taken from the definition as
 * {@link CepPatternCompiler} sets them, and its after-match strategy.
 */
public final class CompiledPattern {
    public final PatternDefinition def;
    final List<Run> startRuns;
    /** The pattern-wide window from the first event, or 0. */
    final long windowTime;
    final SkipStrategy skip;
    /** Events no step can take can be skipped without changing a match (no strict contiguity). */
    final boolean preFilter;
    /** Per state, its edges and window: one lookup per run. */
    final Map<String, StateGraph.Node> info;
    /** Every condition object of the graph, to open and close with the operator. */
    final List<IterativeCondition<BehaviorEvent>> conditions;
    /** The events of a leading absence ("no X in the D before the first step"), or null. */
    final EventMatcher leadingAbsence;
    /** The leading absence's window D in milliseconds, both ends inclusive; 0 without one. */
    final long leadingAbsenceWindow;

    public CompiledPattern(PatternDefinition def) {
        this.def = def;
        Map<String, Long> windows = CepPatternCompiler.previousEventWindows(def);
        List<StateGraph.Node> states = FlinkCepInternals.compile(CepPatternCompiler.compile(def), name -> windows.getOrDefault(FlinkCepInternals.stepOf(name), 0L));
        Map<String, StateGraph.Node> infos = new HashMap<>();
        List<Run> starts = new ArrayList<>();
        List<IterativeCondition<BehaviorEvent>> conds = new ArrayList<>();
        // the same iteration order as Flink's NFA.createInitialNFAState, which orders the first runs
        for (StateGraph.Node s : states) {
            infos.put(s.name, s);
            if (s.start) starts.add(Run.start(s.name));
            for (StateGraph.Edge t : s.edges()) {
                if (t.condition() != null && !conds.contains(t.condition())) conds.add(t.condition());
            }
        }
        this.info = Collections.unmodifiableMap(infos);
        this.startRuns = List.copyOf(starts);
        this.windowTime = CepPatternCompiler.firstEventWindow(def);
        this.skip = SkipStrategy.of(def);
        this.preFilter = CepPatternCompiler.canPreFilter(def);
        this.conditions = List.copyOf(conds);
        PatternDefinition.StepDefinition leading = def.leadingAbsence();
        this.leadingAbsence = leading == null ? null : leading.matcher;
        this.leadingAbsenceWindow = leading == null ? 0 : (leading.absentFor != null ? leading.absentFor : def.within).toMillis();
    }

    /**
     * Whether a match may start at an event at {@code ts}, given when this user last sent an event
     * of the leading absence before it ({@code lastSeen}, or null): not when that was at most the
     * absence's window before (an event exactly at the window's start still counts as present).
     */
    boolean mayStartAt(long ts, Long lastSeen) {
        return leadingAbsence == null || lastSeen == null || lastSeen < ts - leadingAbsenceWindow;
    }

    /** Whether this event is one the leading absence rules out (then it blocks matches starting after it). */
    boolean isLeadingAbsenceEvent(BehaviorEvent e) {
        return leadingAbsence != null && leadingAbsence.matchesKind(e) && leadingAbsence.matches(e, SimpleEvalContext.of(e));
    }


    StateGraph.Node info(Run r) {
        StateGraph.Node i = info.get(r.state);
        if (i == null) throw new IllegalStateException("pattern " + def.label() + " has no state " + r.state);
        return i;
    }

    public String id() {
        return def.id;
    }

    /** The state graph without conditions and windows: two versions with the same shape can hand runs over. */
    String shape() {
        TreeMap<String, List<String>> out = new TreeMap<>();
        for (StateGraph.Node s : info.values()) {
            List<String> edges = new ArrayList<>();
            for (StateGraph.Edge t : s.edges()) edges.add(t.action() + ">" + t.target().name);
            edges.add(s.kind.toString());
            out.put(s.name, edges);
        }
        return out.toString();
    }

    /** Whether the engine has to show this event to the pattern at all. */
    boolean wants(BehaviorEvent e) {
        return !preFilter || CepPatternCompiler.isRelevant(def, e);
    }

    /** Flink CEP's after-match skip strategies, on the engine's event ids. */
    enum SkipKind { NO_SKIP, SKIP_PAST_LAST_EVENT, SKIP_TO_NEXT, SKIP_TO_FIRST, SKIP_TO_LAST }

    static final class SkipStrategy {
        final SkipKind kind;
        final String step;

        private SkipStrategy(SkipKind kind, String step) {
            this.kind = kind;
            this.step = step;
        }

        static SkipStrategy of(PatternDefinition def) {
            return switch (def.afterMatch) {
                case NO_SKIP -> new SkipStrategy(SkipKind.NO_SKIP, null);
                case SKIP_PAST_LAST_EVENT -> new SkipStrategy(SkipKind.SKIP_PAST_LAST_EVENT, null);
                case SKIP_TO_NEXT -> new SkipStrategy(SkipKind.SKIP_TO_NEXT, null);
                case SKIP_TO_FIRST -> new SkipStrategy(SkipKind.SKIP_TO_FIRST, def.afterMatchStep);
                case SKIP_TO_LAST -> new SkipStrategy(SkipKind.SKIP_TO_LAST, def.afterMatchStep);
            };
        }

        boolean isSkip() {
            return kind != SkipKind.NO_SKIP;
        }
    }
}
