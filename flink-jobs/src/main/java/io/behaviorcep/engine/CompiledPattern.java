package io.behaviorcep.engine;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.CepPatternCompiler;
import io.behaviorcep.pattern.PatternDefinition;

import org.apache.flink.cep.nfa.NFA;
import org.apache.flink.cep.nfa.State;
import org.apache.flink.cep.nfa.StateTransition;
import org.apache.flink.cep.nfa.compiler.NFACompiler;
import org.apache.flink.cep.nfa.compiler.NFAStateNameHandler;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One pattern ready to run in the {@link PatternEngine}: the very state graph Flink CEP's compiler
 * builds from it (so quantifiers, contiguity, {@code until}, optional and greedy steps and absences
 * mean exactly what they mean in Flink CEP), with its windows and after-match strategy.
 */
public final class CompiledPattern {
    public final PatternDefinition def;
    final List<Run> startRuns;
    /** The pattern-wide window from the first event, or 0. */
    final long windowTime;
    final SkipStrategy skip;
    /** Events no step can take can be skipped without changing a match (no strict contiguity). */
    final boolean preFilter;
    /** Per state, what the engine asks of it for every run: one lookup instead of several. */
    final Map<String, StateInfo> info;
    /** Every condition object of the graph, to open and close with the operator. */
    final List<org.apache.flink.cep.pattern.conditions.IterativeCondition<BehaviorEvent>> conditions;

    public CompiledPattern(PatternDefinition def) {
        this.def = def;
        NFA<BehaviorEvent> nfa = NFACompiler.compileFactory(CepPatternCompiler.compile(def), false).createNFA();
        Map<String, Long> windows = windowTimes(nfa);
        Map<String, StateInfo> infos = new HashMap<>();
        List<Run> starts = new ArrayList<>();
        List<org.apache.flink.cep.pattern.conditions.IterativeCondition<BehaviorEvent>> conds = new ArrayList<>();
        // the same iteration order as Flink's NFA.createInitialNFAState, which orders the first runs
        for (State<BehaviorEvent> s : nfa.getStates()) {
            Long w = windows.get(s.getName());
            infos.put(s.getName(), new StateInfo(s, w == null ? 0 : w));
            if (s.isStart()) starts.add(Run.start(s.getName()));
            for (StateTransition<BehaviorEvent> t : s.getStateTransitions()) {
                if (t.getCondition() != null && !conds.contains(t.getCondition())) conds.add(t.getCondition());
            }
        }
        this.info = Collections.unmodifiableMap(infos);
        this.startRuns = List.copyOf(starts);
        this.windowTime = nfa.getWindowTime();
        this.skip = SkipStrategy.of(def);
        this.preFilter = CepPatternCompiler.canPreFilter(def);
        this.conditions = List.copyOf(conds);
    }

    /** A state and its window, as the engine uses them. */
    static final class StateInfo {
        final State<BehaviorEvent> state;
        /** The step name an event bound in this state is reported under (Flink names repeated states {@code step:0}, ...). */
        final String step;
        final boolean start;
        final boolean pending;
        /** The window from the previous event ({@code within} of a step, {@code for} of an absence), or 0. */
        final long window;

        StateInfo(State<BehaviorEvent> state, long window) {
            this.state = state;
            this.step = NFAStateNameHandler.getOriginalNameFromInternal(state.getName());
            this.start = state.isStart();
            this.pending = state.isPending();
            this.window = window;
        }
    }

    StateInfo info(Run r) {
        StateInfo i = info.get(r.state);
        if (i == null) throw new IllegalStateException("pattern " + def.label() + " has no state " + r.state);
        return i;
    }

    public String id() {
        return def.id;
    }

    /** The state graph without conditions and windows: two versions with the same shape can hand runs over. */
    String shape() {
        java.util.TreeMap<String, java.util.List<String>> out = new java.util.TreeMap<>();
        for (StateInfo i : info.values()) {
            State<BehaviorEvent> s = i.state;
            java.util.List<String> edges = new java.util.ArrayList<>();
            for (StateTransition<BehaviorEvent> t : s.getStateTransitions()) edges.add(t.getAction() + ">" + t.getTargetState().getName());
            edges.add(s.getStateType().toString());
            out.put(s.getName(), edges);
        }
        return out.toString();
    }

    /** Whether the engine has to show this event to the pattern at all. */
    boolean wants(BehaviorEvent e) {
        return !preFilter || CepPatternCompiler.isRelevant(def, e);
    }

    /**
     * Flink's NFA keeps the per-state windows private; they are read once here. A Flink upgrade
     * that renames the field fails every engine test at once, not silently.
     */
    @SuppressWarnings("unchecked")
    private static Map<String, Long> windowTimes(NFA<BehaviorEvent> nfa) {
        try {
            Field f = NFA.class.getDeclaredField("windowTimes");
            f.setAccessible(true);
            return (Map<String, Long>) f.get(nfa);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot read the per-state windows of Flink's NFA", e);
        }
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
