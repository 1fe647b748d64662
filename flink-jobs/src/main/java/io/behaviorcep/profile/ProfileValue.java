package io.behaviorcep.profile;

import io.behaviorcep.event.BehaviorEvent;

import java.util.ArrayList;
import java.util.TreeMap;

/**
 * Everything {@link ProfileFunction} keeps of one user that it touches per event, as one keyed-state
 * value: the profile, the events waiting for the watermark, the threshold segment memberships and the
 * time of the user's housekeeping timer. Read once and written once per event or timer (before: up to
 * ten state accesses, each a JNI call, a key serialisation and a seek on RocksDB; issue #16). What is
 * remembered of a user past the retention ({@link LifetimeRecord}) stays apart: it is read only when a
 * user comes back or goes.
 *
 * <p>Bounded as before: at most {@code profile.max-buffered-events-per-user} waiting events, at most
 * {@code profile.max-buffered-events-per-instant} at one instant, one membership per threshold
 * segment defined.
 */
public final class ProfileValue {
    /** {@link #wakeAt} when the user has no housekeeping timer. */
    public static final long NO_WAKE = Long.MAX_VALUE;

    /** The profile; null: none (a user never seen, erased, or past the retention). */
    public ProfileState profile;
    /** When the user's housekeeping timer fires (the next threshold check, profile record, compaction or retention); {@link #NO_WAKE}: none. */
    public long wakeAt = NO_WAKE;
    /** Events waiting for the watermark, by timestamp, in arrival order. */
    public final TreeMap<Long, ArrayList<BehaviorEvent>> waiting;
    /** How many events {@link #waiting} holds. */
    public int waitingTotal;
    /** Threshold segment id to when the user entered it. */
    public final TreeMap<String, Long> segments;

    public ProfileValue() {
        this(new TreeMap<>(), new TreeMap<>());
    }

    ProfileValue(TreeMap<Long, ArrayList<BehaviorEvent>> waiting, TreeMap<String, Long> segments) {
        this.waiting = waiting;
        this.segments = segments;
    }

    /** Nothing kept: the value is removed from state. */
    public boolean isEmpty() {
        return profile == null && wakeAt == NO_WAKE && waitingTotal == 0 && segments.isEmpty();
    }

    /** How many events wait at {@code timestamp}. */
    public int waitingAt(long timestamp) {
        ArrayList<BehaviorEvent> at = waiting.get(timestamp);
        return at == null ? 0 : at.size();
    }

    /** The earliest instant events wait at; {@link Long#MAX_VALUE} when none. */
    public long earliestWaiting() {
        return waiting.isEmpty() ? Long.MAX_VALUE : waiting.firstKey();
    }

    /** Adds an event to wait for the watermark; returns whether its instant is now the earliest. */
    public boolean addWaiting(BehaviorEvent e) {
        boolean earliest = e.timestamp < earliestWaiting();
        waiting.computeIfAbsent(e.timestamp, t -> new ArrayList<>(2)).add(e);
        waitingTotal++;
        return earliest;
    }

    /** The events waiting at {@code timestamp}, removed; null if none. */
    public ArrayList<BehaviorEvent> takeWaiting(long timestamp) {
        ArrayList<BehaviorEvent> due = waiting.remove(timestamp);
        if (due != null) waitingTotal -= due.size();
        return due;
    }

    public void clearWaiting() {
        waiting.clear();
        waitingTotal = 0;
    }
}
