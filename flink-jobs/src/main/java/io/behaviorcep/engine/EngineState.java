package io.behaviorcep.engine;

import java.util.HashMap;
import java.util.Map;

/**
 * Everything the engine keeps for one user: the runs of every pattern that has any (a pattern with
 * nothing in flight has no entry), and the timer it has asked for. One value per user, so one state
 * access per event whatever the number of patterns.
 */
public final class EngineState {
    /** Pattern id -> its runs. */
    final Map<String, PatternRuns> patterns;
    /** Timestamp of the user's last event, and how many events of that timestamp came before the last one. */
    long lastTs = Long.MIN_VALUE;
    int lastSeq;
    /** The event-time timer registered for the earliest deadline, or Long.MAX_VALUE. */
    long timerAt = Long.MAX_VALUE;
    /**
     * Segments a match of this user may have entered (segment -> {time of the latest such match, when
     * that membership would expire by its TTL}), or null. Only for these is an {@code exit_on} event worth sending to the actions
     * operator: a pattern like dormancy ({@code exit_on: "*"}) would otherwise send it every event.
     */
    Map<String, long[]> maybeMember;

    /**
     * For each pattern version with a leading absence (by its runs key), when this user last sent an
     * event of that absence, or null: one long per leading absence, dropped once its window has passed.
     */
    Map<String, Long> absenceSeen;

    EngineState() {
        this(new HashMap<>(4));
    }

    EngineState(Map<String, PatternRuns> patterns) {
        this.patterns = patterns;
    }

    /** The id rank of an event of this timestamp: 0 for the first, 1 for the second, ... */
    int nextSeq(long ts) {
        lastSeq = ts == lastTs ? lastSeq + 1 : 0;
        lastTs = ts;
        return lastSeq;
    }

    boolean isEmpty() {
        return patterns.isEmpty() && (maybeMember == null || maybeMember.isEmpty()) && (absenceSeen == null || absenceSeen.isEmpty());
    }

    /** Number of runs in flight over all patterns (finished matches waiting for a skip strategy included). */
    public int runCount() {
        int n = 0;
        for (PatternRuns r : patterns.values()) n += r.partial.size() + r.completed.size();
        return n;
    }
}
