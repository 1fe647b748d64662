package io.behaviorcep.engine;

import java.util.Comparator;

/**
 * A partial match of one pattern for one user: the NFA state it is in and the events it has bound.
 * Flink CEP's {@code ComputationState}, without the Dewey version (a run owns its path, so there is
 * nothing to disambiguate). Immutable.
 */
final class Run {
    /** The NFA state's internal name (Flink's compiler names repeated states {@code step:0}, {@code step:1}, ...). */
    final String state;
    /** The last bound event, or null for a run that has bound nothing (the start run). */
    final PathNode path;
    final long startTs;
    final long prevTs;
    /** The first bound event's id; {@code startSeq < 0} means none (the start run). */
    final long startIdTs;
    final int startSeq;

    Run(String state, PathNode path, long startTs, long prevTs, long startIdTs, int startSeq) {
        this.state = state;
        this.path = path;
        this.startTs = startTs;
        this.prevTs = prevTs;
        this.startIdTs = startIdTs;
        this.startSeq = startSeq;
    }

    static Run start(String state) {
        return new Run(state, null, -1L, -1L, Long.MAX_VALUE, -1);
    }

    boolean hasStartId() {
        return startSeq >= 0;
    }

    /**
     * Flink CEP's {@code NFAState.COMPUTATION_STATE_COMPARATOR}: by the first event's id, runs that
     * bound nothing last. The order decides which match is reported first and what a skip strategy
     * prunes, so it must be the same.
     */
    static final Comparator<Run> ORDER = (a, b) -> {
        long ta = a.hasStartId() ? a.startIdTs : Long.MAX_VALUE;
        long tb = b.hasStartId() ? b.startIdTs : Long.MAX_VALUE;
        int c = Long.compare(ta, tb);
        if (c != 0) return c;
        return Integer.compare(a.hasStartId() ? a.startSeq : Integer.MAX_VALUE, b.hasStartId() ? b.startSeq : Integer.MAX_VALUE);
    };

    @Override
    public String toString() {
        return "Run{" + state + ", start=" + startTs + ", prev=" + prevTs + "}";
    }
}
