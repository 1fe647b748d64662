package io.behaviorcep.experiment;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Decides each open decision's goal in event time, exactly once: converted at the first goal event in
 * (decided_at, decided_at + within], else not converted once event time passes decided_at + within.
 * The actions operator calls it in event-time order (goal events sort after the matches of their
 * instant), so the outcome depends on the input only. A goal event converts every open decision of
 * the pattern versions whose goal it meets (overlapping decisions each count it; docs/pattern-language.md).
 * Bound: at most {@link #MAX_OPEN_DECISIONS} open decisions per user; a decision beyond it is not
 * recorded (counted), the alert itself is unaffected.
 */
public final class GoalTracker {
    public static final int MAX_OPEN_DECISIONS = 256;

    /** One user's open decisions; the operator backs it with keyed state. */
    public interface State {
        Iterable<PendingDecision> open() throws Exception;

        void put(PendingDecision d) throws Exception;

        void remove(String decisionId) throws Exception;

        void clear() throws Exception;
    }

    public interface Output {
        void outcome(Outcome o);

        void registerTimer(long at);
    }

    private GoalTracker() {}

    /** Keeps the decision until its goal is decided; false (nothing kept) when the user already has the most open. */
    public static boolean open(PendingDecision d, State state, Output out) throws Exception {
        int n = 0;
        for (PendingDecision p : state.open()) {
            if (p.decisionId.equals(d.decisionId)) return true; // the same decision twice (a replayed input): once
            n++;
        }
        if (n >= MAX_OPEN_DECISIONS) return false;
        state.put(d);
        out.registerTimer(d.deadline());
        return true;
    }

    /**
     * A goal event at {@code at}; {@code valueByGoalKey}: the {@link PendingDecision#goalKey} of every
     * pattern version whose goal it meets, with the event's value for that goal (null for none).
     */
    public static void goal(long at, Map<String, Double> valueByGoalKey, State state, Output out) throws Exception {
        List<PendingDecision> done = new ArrayList<>();
        for (PendingDecision d : state.open()) {
            if (valueByGoalKey.containsKey(d.goalKey()) && at > d.decidedAt && at <= d.deadline()) done.add(d);
        }
        done.sort(Comparator.comparing(d -> d.decisionId));
        for (PendingDecision d : done) {
            state.remove(d.decisionId);
            out.outcome(Outcome.converted(d, at, valueByGoalKey.get(d.goalKey())));
        }
    }

    /** Every open decision whose window closed at or before {@code watermark}: not converted. */
    public static void expire(long watermark, State state, Output out) throws Exception {
        List<PendingDecision> done = new ArrayList<>();
        for (PendingDecision d : state.open()) if (d.deadline() <= watermark) done.add(d);
        done.sort(Comparator.comparingLong(PendingDecision::deadline).thenComparing(d -> d.decisionId));
        for (PendingDecision d : done) {
            state.remove(d.decisionId);
            out.outcome(Outcome.notConverted(d));
        }
    }

    /** Whether an open decision's window closes at {@code ts} (a timer at that instant is still needed). */
    public static boolean closesAt(long ts, State state) throws Exception {
        for (PendingDecision d : state.open()) if (d.deadline() == ts) return true;
        return false;
    }
}
