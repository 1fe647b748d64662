package io.behaviorcep.engine;

import io.behaviorcep.event.BehaviorEvent;

/**
 * One event bound by a run, linked to the event bound before it. Immutable, so runs that branch
 * from a common prefix share it: this list is what Flink CEP keeps in its shared buffer (with Dewey
 * numbers to tell the paths apart), here as plain references on the heap.
 */
final class PathNode {
    /** The step's name as the pattern file spells it (not the NFA's internal state name). */
    final String step;
    final BehaviorEvent event;
    /** The event's id: its timestamp and its arrival rank among this user's events with that timestamp. */
    final long ts;
    final int seq;
    final PathNode prev;

    PathNode(String step, BehaviorEvent event, long ts, int seq, PathNode prev) {
        this.step = step;
        this.event = event;
        this.ts = ts;
        this.seq = seq;
        this.prev = prev;
    }

    /** Event ids order by timestamp, then arrival (Flink CEP's EventId order). */
    static int compareIds(long ts1, int seq1, long ts2, int seq2) {
        int c = Long.compare(ts1, ts2);
        return c != 0 ? c : Integer.compare(seq1, seq2);
    }
}
