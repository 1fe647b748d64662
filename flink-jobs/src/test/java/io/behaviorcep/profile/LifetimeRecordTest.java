package io.behaviorcep.profile;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.pattern.ThresholdSegment;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static io.behaviorcep.profile.ProfileState.DAY;
import static io.behaviorcep.profile.ProfileState.HOUR;
import static org.assertj.core.api.Assertions.assertThat;

/** The decisions of {@link LifetimeRecord}, plain: what it keeps, how a return continues, which segments it decides. */
class LifetimeRecordTest {
    static final long D0 = Instant.parse("2026-03-02T00:00:00Z").toEpochMilli();

    static BehaviorEvent ev(long ts, String type, String name, String... props) {
        BehaviorEvent e = new BehaviorEvent();
        e.type = type;
        e.event = name;
        e.messageId = "m" + ts;
        e.userKey = "u";
        e.timestamp = ts;
        for (int i = 0; i < props.length; i += 2) e.properties.put(props[i], props[i + 1]);
        return e;
    }

    static ThresholdSegment segment(String when) {
        var r = io.behaviorcep.pattern.PatternLoader.loadString("segments.yaml", "kind: segments\nsegments:\n  - id: s\n    when: " + when + "\n");
        assertThat(r.problems()).isEmpty();
        return r.segments().get(0);
    }

    @Test
    void aReturningUsersProfileContinuesFromTheRecordForWhatItKeepsAndCountsTheRestFromTheReturn() {
        ProfileState before = new ProfileState();
        before.add(ev(D0 + HOUR, "page", "Home"));
        before.add(ev(D0 + 2 * HOUR, "track", "Product Viewed"));
        before.add(ev(D0 + 3 * HOUR, "track", "Order Completed", "revenue", "25.5"));
        LifetimeRecord r = LifetimeRecord.of(before);

        ProfileState after = new ProfileState();
        long back = D0 + 120 * DAY;
        after.add(ev(back, "page", "Home"));
        r.carryInto(after);
        ProfileSnapshot p = after.snapshot();
        assertThat(p.firstSeen).isEqualTo(D0 + HOUR);
        assertThat(p.lastSeen).isEqualTo(back);
        assertThat(p.daysSinceFirstSeen).isEqualTo(119);
        assertThat(p.daysSinceLastSeen).isZero();
        assertThat(p.eventsLifetime).isEqualTo(4);
        assertThat(p.ordersLifetime).isEqualTo(1);
        assertThat(p.revenueLifetime).isEqualTo(25.5);
        assertThat(p.sessionsLifetime).as("sessions count from the return").isEqualTo(1);
        assertThat(p.productViewsLifetime).isZero();
        assertThat(p.events7d).isEqualTo(1);
    }

    @Test
    void theProfileOfAGoneUserHasTheKeptFieldsAndEmptyWindows() {
        ProfileState active = new ProfileState();
        for (int d = 0; d < 20; d++) active.add(ev(D0 + d * DAY + HOUR, "track", "Order Completed", "revenue", "10"));
        LifetimeRecord r = LifetimeRecord.of(active);
        long asOf = active.lastSeen + 95 * DAY;
        ProfileSnapshot gone = r.snapshot(asOf);
        ProfileSnapshot full = active.snapshot(asOf);
        // what the record keeps, and every window (over by now), read as the full profile would
        for (String f : ProfileSnapshot.FIELDS) {
            ProfileSnapshot.TimeDependence t = ProfileSnapshot.timeDependence(f);
            boolean windowed = t == ProfileSnapshot.TimeDependence.SLOT || t == ProfileSnapshot.TimeDependence.HOUR
                    || t == ProfileSnapshot.TimeDependence.DAY || t == ProfileSnapshot.TimeDependence.WEEK;
            if (LifetimeRecord.KEPT_FIELDS.contains(f) || windowed) assertThat(gone.field(f)).as(f).isEqualTo(full.field(f));
        }
        assertThat(gone.daysSinceLastSeen).isEqualTo(95);
        assertThat(gone.revenueLifetime).isEqualTo(200.0);
    }

    @Test
    void itDecidesSegmentsOverWhatItKeepsAndOverWindowsTheRetentionOutlasts() {
        long ninetyDays = 90 * DAY;
        assertThat(LifetimeRecord.decides(segment("profile.days_since_last_seen >= 30"), ninetyDays)).isTrue();
        assertThat(LifetimeRecord.decides(segment("profile.days_since_first_seen < 7"), ninetyDays)).isTrue();
        assertThat(LifetimeRecord.decides(segment("profile.orders_lifetime >= 1 and profile.days_since_last_seen >= 60"), ninetyDays)).isTrue();
        assertThat(LifetimeRecord.decides(segment("profile.sessions_7d > 5"), ninetyDays)).isTrue();
        assertThat(LifetimeRecord.decides(segment("profile.decay_weeks >= 1"), ninetyDays)).isTrue();
        // forgotten fields
        assertThat(LifetimeRecord.decides(segment("profile.sessions_lifetime >= 3"), ninetyDays)).isFalse();
        assertThat(LifetimeRecord.decides(segment("profile.avg_session_duration_s > 60"), ninetyDays)).isFalse();
        // windows the retention does not outlast: their counts are not known to be 0
        assertThat(LifetimeRecord.decides(segment("profile.events_30d >= 1"), 10 * DAY)).isFalse();
        assertThat(LifetimeRecord.decides(segment("profile.decay_weeks >= 1"), 40 * DAY)).isFalse();
        assertThat(LifetimeRecord.decided(List.of(segment("profile.events_30d >= 1")), 31 * DAY)).hasSize(1);
    }

    @Test
    void aProfileWithoutEventsLeavesNoRecord() {
        assertThat(LifetimeRecord.of(new ProfileState())).isNull();
        assertThat(LifetimeRecord.of(null)).isNull();
    }
}
