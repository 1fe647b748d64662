package io.behaviorcep.engine;

import io.behaviorcep.event.BehaviorEvent;

import org.apache.flink.cep.nfa.NFA;
import org.apache.flink.cep.nfa.State;
import org.apache.flink.cep.nfa.StateTransition;
import org.apache.flink.cep.nfa.StateTransitionAction;
import org.apache.flink.cep.nfa.compiler.NFACompiler;
import org.apache.flink.cep.nfa.compiler.NFAStateNameHandler;
import org.apache.flink.cep.pattern.Pattern;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ToLongFunction;

/**
 * The one place that touches Flink CEP's {@code @Internal} classes ({@link NFACompiler}, {@link NFA},
 * {@link State}, {@link StateTransition}, {@link NFAStateNameHandler}). The engine runs the state
 * graph Flink's compiler builds, so that every quantifier, contiguity and absence means what it
 * means in Flink CEP; this class copies that graph into the engine's {@link StateGraph} once per
 * compiled pattern. Flink does not promise these classes across versions:
 * {@code FlinkCepInternalsTest} pins the facts the engine relies on and fails, naming the Flink
 * version, when an upgrade changes them.
 */
final class FlinkCepInternals {
    private FlinkCepInternals() {}

    /**
     * The states of the compiled pattern, in the order of Flink's {@code NFA.getStates()} (which
     * orders the first runs), each edge in Flink's order.
     *
     * @param windowOf the window of a state that takes its step's events, by the state's name (0: none)
     */
    static List<StateGraph.Node> compile(Pattern<BehaviorEvent, ?> pattern, ToLongFunction<String> windowOf) {
        NFA<BehaviorEvent> nfa = NFACompiler.compileFactory(pattern, false).createNFA();
        // Flink times a step's "take" states (the step itself, and its copies in a repeated group),
        // not the state an optional step's run moves to after ignoring an event: the one that
        // another state of the same step ignores into
        Set<String> ignoreStates = new HashSet<>();
        for (State<BehaviorEvent> s : nfa.getStates()) {
            for (StateTransition<BehaviorEvent> t : s.getStateTransitions()) {
                State<BehaviorEvent> target = t.getTargetState();
                if (t.getAction() == StateTransitionAction.IGNORE && target != s && stepOf(target.getName()).equals(stepOf(s.getName()))) {
                    ignoreStates.add(target.getName());
                }
            }
        }
        Map<String, StateGraph.Node> nodes = new LinkedHashMap<>();
        for (State<BehaviorEvent> s : nfa.getStates()) {
            long window = ignoreStates.contains(s.getName()) ? 0 : windowOf.applyAsLong(s.getName());
            nodes.put(s.getName(), new StateGraph.Node(s.getName(), stepOf(s.getName()),
                    StateGraph.Kind.valueOf(s.getStateType().name()), window));
        }
        for (State<BehaviorEvent> s : nfa.getStates()) {
            StateGraph.Node source = nodes.get(s.getName());
            for (StateTransition<BehaviorEvent> t : s.getStateTransitions()) {
                source.addEdge(new StateGraph.Edge(StateGraph.Action.valueOf(t.getAction().name()), nodes.get(t.getSourceState().getName()),
                        nodes.get(t.getTargetState().getName()), t.getCondition()));
            }
        }
        return new ArrayList<>(nodes.values());
    }

    /** The step a state belongs to: Flink names the states of a repeated step {@code step:0}, {@code step:1}, ... */
    static String stepOf(String stateName) {
        return NFAStateNameHandler.getOriginalNameFromInternal(stateName);
    }
}
