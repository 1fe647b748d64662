package io.behaviorcep.engine;

import io.behaviorcep.event.BehaviorEvent;

import org.apache.flink.cep.pattern.conditions.IterativeCondition;

import java.util.ArrayList;
import java.util.List;

/**
 * The state graph of one pattern as the engine walks it: the graph Flink CEP's compiler builds
 * (see {@link FlinkCepInternals}), copied into classes of the engine's own so that no Flink
 * {@code @Internal} type reaches the hot path.
 */
final class StateGraph {
    private StateGraph() {}

    /** What taking an edge does; the names are Flink CEP's {@code StateTransitionAction}. */
    enum Action { TAKE, IGNORE, PROCEED }

    /** The names are Flink CEP's {@code State.StateType}. */
    enum Kind { Start, Normal, Final, Stop, Pending }

    /** One state: its edges in Flink's order, and the window of a run waiting in it. */
    static final class Node {
        final String name;
        /** The step an event bound in this state is reported under (Flink names repeated states {@code step:0}, ...). */
        final String step;
        final Kind kind;
        final boolean start;
        final boolean pending;
        final boolean isFinal;
        final boolean stop;
        /** The window from the previous event ({@code within} of a step, {@code for} of an absence), or 0. */
        final long window;
        /** Filled once by {@link FlinkCepInternals}, read only afterwards. */
        private final List<Edge> edges = new ArrayList<>(3);

        Node(String name, String step, Kind kind, long window) {
            this.name = name;
            this.step = step;
            this.kind = kind;
            this.start = kind == Kind.Start;
            this.pending = kind == Kind.Pending;
            this.isFinal = kind == Kind.Final;
            this.stop = kind == Kind.Stop;
            this.window = window;
        }

        List<Edge> edges() {
            return edges;
        }

        void addEdge(Edge e) {
            edges.add(e);
        }
    }

    /** One edge; a null condition always holds. */
    record Edge(Action action, Node source, Node target, IterativeCondition<BehaviorEvent> condition) {}
}
