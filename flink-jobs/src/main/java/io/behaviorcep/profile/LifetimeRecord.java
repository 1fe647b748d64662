package io.behaviorcep.profile;

import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.pattern.ThresholdSegment;

import java.util.List;
import java.util.Set;

/**
 * What the job remembers of a user once their full {@link ProfileState} is dropped after
 * {@code profile.retention} without events: when they were first and last seen, and their lifetime
 * events, orders and revenue. A few dozen bytes ({@code ProfileStateSizeTest} measures it), kept in
 * keyed state of its own until {@code profile.lifetime-retention} after the last event, or until the
 * user is erased or opts out.
 *
 * <p>It is what makes a lifecycle survive the retention: a user who returns is not new (the
 * profile continues from this record, see {@link #carryInto}), and threshold segments that the
 * record can still decide (see {@link #decides}) keep their membership while the user is gone,
 * {@code churned} above all, and change by time alone as before ({@code days_since_last_seen}).
 *
 * <p>What is meaningful for a gone user, as the profile of {@link #asProfile}: {@code first_seen},
 * {@code last_seen}, {@code days_since_first_seen}, {@code days_since_last_seen},
 * {@code events_lifetime}, {@code orders_lifetime}, {@code revenue_lifetime}, and the windowed
 * counts, which are all 0 once the retention is longer than their window (30 days; 8 weeks for the
 * weekly fields). Session figures and the other lifetime counters are not kept: a segment reading
 * them loses its membership at the retention (reason {@code ttl}: the job forgot it), and those
 * fields count from the user's return when they come back.
 *
 * <p>Plain logic, no Flink; a Flink POJO (public fields of simple types) so that its state can evolve.
 */
public class LifetimeRecord {
    /** The profile fields the record keeps, besides the windowed counts. */
    public static final Set<String> KEPT_FIELDS = Set.of("first_seen", "last_seen", "days_since_first_seen", "days_since_last_seen",
            "events_lifetime", "orders_lifetime", "revenue_lifetime");
    /** The longest window of each time dependence: its fields read 0 once it lies wholly after the last event. */
    private static final long DAY_WINDOWS = (ProfileState.DAYS + 1) * ProfileState.DAY;
    private static final long WEEK_WINDOWS = (ProfileState.WEEKS + 1) * ProfileState.WEEK;

    public long firstSeen = Long.MIN_VALUE;
    public long lastSeen = Long.MIN_VALUE;
    public long eventsLifetime;
    public long ordersLifetime;
    public double revenueLifetime;

    public LifetimeRecord() {}

    /** The record of a profile about to be dropped; null if it never counted an event. */
    public static LifetimeRecord of(ProfileState s) {
        if (s == null || s.isEmpty()) return null;
        LifetimeRecord r = new LifetimeRecord();
        r.firstSeen = s.firstSeen;
        r.lastSeen = s.lastSeen;
        r.eventsLifetime = s.eventsLifetime;
        r.ordersLifetime = s.ordersLifetime;
        r.revenueLifetime = s.revenueLifetime;
        return r;
    }

    /** Folds the record into the new profile of a returning user, after it counted the first event back. */
    public void carryInto(ProfileState s) {
        s.firstSeen = Math.min(s.firstSeen, firstSeen);
        s.lastSeen = Math.max(s.lastSeen, lastSeen);
        s.eventsLifetime += eventsLifetime;
        s.ordersLifetime += ordersLifetime;
        s.revenueLifetime += revenueLifetime;
    }

    /** The profile of the gone user as far as it is known: what threshold segments are decided over meanwhile. */
    public ProfileState asProfile() {
        ProfileState s = new ProfileState();
        s.firstSeen = firstSeen;
        s.lastSeen = lastSeen;
        s.sessionStart = lastSeen;
        s.eventsLifetime = eventsLifetime;
        s.ordersLifetime = ordersLifetime;
        s.revenueLifetime = revenueLifetime;
        return s;
    }

    public ProfileSnapshot snapshot(long asOf) {
        return asProfile().snapshot(asOf);
    }

    /**
     * Whether the record can decide {@code segment} for a user gone for {@code retentionMillis}: it
     * reads only fields the record keeps, or windowed counts whose windows the retention outlasts.
     */
    public static boolean decides(ThresholdSegment segment, long retentionMillis) {
        for (String field : segment.profileFields()) {
            if (KEPT_FIELDS.contains(field)) continue;
            ProfileSnapshot.TimeDependence t = ProfileSnapshot.timeDependence(field);
            boolean windowOver = t != null && switch (t) {
                case SLOT, HOUR, DAY -> retentionMillis >= DAY_WINDOWS;
                case WEEK -> retentionMillis >= WEEK_WINDOWS;
                default -> false;
            };
            if (!windowOver) return false;
        }
        return true;
    }

    /** The segments of {@code segments} that the record decides while a user is gone. */
    public static List<ThresholdSegment> decided(List<ThresholdSegment> segments, long retentionMillis) {
        return segments.stream().filter(s -> decides(s, retentionMillis)).toList();
    }
}
