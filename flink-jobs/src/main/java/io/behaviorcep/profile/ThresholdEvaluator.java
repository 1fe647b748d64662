package io.behaviorcep.profile;

import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.pattern.ThresholdSegment;
import io.behaviorcep.trait.TraitSet;

import java.io.Serializable;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Decides threshold-segment membership from a {@link ProfileState}, and when it can next change
 * while the user sends nothing.
 *
 * <p>A snapshot as of time {@code t} is piecewise constant in {@code t}: it changes only at the
 * <em>breakpoints</em> of the fields the segments read (five-minute, hour, day and week boundaries
 * while the corresponding window still holds something, and whole days after {@code last_seen} /
 * {@code first_seen}). So membership can only change at a breakpoint, and {@link #nextChange} finds
 * the first breakpoint at which it does by evaluating them in order: exact to the millisecond, with
 * one timer per actual change.
 */
public final class ThresholdEvaluator implements Serializable {
    private static final long serialVersionUID = 1L;
    /** Breakpoints {@link #nextChange} looks at before it settles for a re-check at the last one. */
    static final int MAX_STEPS = 64;

    private final List<ThresholdSegment> segments;
    private final Set<ProfileSnapshot.TimeDependence> watched;
    /** The computed traits the segments may read, and the ids of those they do read. */
    private final TraitSet traits;
    private final Set<String> traitsRead;
    /**
     * The last values of {@code days_since_last_seen} / {@code days_since_first_seen} at which
     * membership can still change: both only grow while the user is quiet, and past the largest
     * number a segment compares them with, no comparison changes any more. Long.MAX_VALUE when a
     * segment reads the field in a way that has no such bound.
     */
    private final long lastDaySinceLastSeen;
    private final long lastDaySinceFirstSeen;

    public ThresholdEvaluator(List<ThresholdSegment> segments) {
        this(segments, TraitSet.EMPTY);
    }

    public ThresholdEvaluator(List<ThresholdSegment> segments, TraitSet traits) {
        this.traits = traits;
        this.segments = segments.stream().filter(s -> s.enabled).toList();
        Set<String> read = new TreeSet<>();
        for (ThresholdSegment s : this.segments) read.addAll(s.traitsRead());
        this.traitsRead = read;
        Set<ProfileSnapshot.TimeDependence> w = EnumSet.noneOf(ProfileSnapshot.TimeDependence.class);
        for (ThresholdSegment s : this.segments) w.addAll(s.timeDependences());
        this.watched = w;
        this.lastDaySinceLastSeen = lastChangingDay(this.segments, "days_since_last_seen");
        this.lastDaySinceFirstSeen = lastChangingDay(this.segments, "days_since_first_seen");
    }

    /** The largest whole number of days at which a comparison of {@code field} can still flip. */
    private static long lastChangingDay(List<ThresholdSegment> segments, String field) {
        double reach = Double.NEGATIVE_INFINITY;
        for (ThresholdSegment s : segments) {
            double r = s.numericReach(field);
            if (r != r || r >= Long.MAX_VALUE / 2.0) return Long.MAX_VALUE;
            reach = Math.max(reach, r);
        }
        // a comparison with c has one truth value for every whole number above c: the last change is at floor(c) + 1
        return reach == Double.NEGATIVE_INFINITY ? Long.MAX_VALUE : (long) Math.floor(reach) + 1;
    }

    /** The next day boundary after {@code t} counted from {@code since}, unless it is past {@code lastDay} days. */
    private static long nextDayAfter(long since, long t, long lastDay) {
        long days = Math.floorDiv(t - since, ProfileState.DAY) + 1;
        return days > lastDay ? Long.MAX_VALUE : since + days * ProfileState.DAY;
    }

    public boolean isEmpty() {
        return segments.isEmpty();
    }

    public List<ThresholdSegment> segments() {
        return segments;
    }

    /** Ids of the segments whose conditions hold for the profile as of {@code t}, sorted. */
    public Set<String> evaluate(ProfileState s, long t) {
        return evaluate(s, t, null);
    }

    /** @param atT the snapshot of {@code s} as of {@code t} if the caller has it already, else null */
    public Set<String> evaluate(ProfileState s, long t, ProfileSnapshot atT) {
        Set<String> in = new TreeSet<>();
        if (segments.isEmpty() || s.isEmpty()) return in;
        ProfileSnapshot p = atT;
        if (p == null) {
            p = s.snapshot(t);
            traits.fill(p, s.traits);
        }
        for (ThresholdSegment seg : segments) if (seg.test(p)) in.add(seg.id);
        return in;
    }

    /** The first instant after {@code t} at which a field the segments read may change without events; MAX_VALUE if none. */
    public long nextBreakpoint(ProfileState s, long t) {
        long next = Long.MAX_VALUE;
        if (s.isEmpty()) return next;
        for (ProfileSnapshot.TimeDependence d : watched) {
            long b = switch (d) {
                case SLOT -> s.slotWindowLive(t) ? (Math.floorDiv(t, ProfileState.SLOT) + 1) * ProfileState.SLOT : Long.MAX_VALUE;
                case HOUR -> s.hourWindowLive(t) ? (Math.floorDiv(t, ProfileState.HOUR) + 1) * ProfileState.HOUR : Long.MAX_VALUE;
                case DAY -> s.dayWindowLive(t) ? (Math.floorDiv(t, ProfileState.DAY) + 1) * ProfileState.DAY : Long.MAX_VALUE;
                case WEEK -> s.weekWindowLive(t) ? ProfileState.weekStart(ProfileState.weekOf(t) + 1) : Long.MAX_VALUE;
                case SINCE_LAST_SEEN -> nextDayAfter(s.lastSeen, t, lastDaySinceLastSeen);
                case SINCE_FIRST_SEEN -> nextDayAfter(s.firstSeen, t, lastDaySinceFirstSeen);
                default -> Long.MAX_VALUE;
            };
            next = Math.min(next, b);
        }
        if (!traitsRead.isEmpty()) next = Math.min(next, traits.nextBreakpoint(s.traits, t, traitsRead));
        return next;
    }

    /**
     * When membership next differs from {@code current} if the user sends nothing: the first
     * breakpoint after {@code t} and at or before {@code horizon} at which it does. If none does
     * within {@link #MAX_STEPS} breakpoints, the last one looked at (check again from there); if
     * none does up to the horizon, MAX_VALUE.
     */
    public long nextChange(ProfileState s, long t, Set<String> current, long horizon) {
        long at = t;
        for (int i = 0; i < MAX_STEPS; i++) {
            at = nextBreakpoint(s, at);
            if (at == Long.MAX_VALUE || at > horizon) return Long.MAX_VALUE;
            if (!evaluate(s, at).equals(current)) return at;
        }
        return at;
    }
}
