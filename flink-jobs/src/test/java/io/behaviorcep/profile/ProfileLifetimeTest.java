package io.behaviorcep.profile;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.privacy.PrivacyRules;
import io.behaviorcep.testing.Repo;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static io.behaviorcep.profile.ProfileState.DAY;
import static io.behaviorcep.profile.ProfileState.HOUR;
import static io.behaviorcep.profile.ThresholdSegmentsTest.D0;
import static io.behaviorcep.profile.ThresholdSegmentsTest.ev;
import static io.behaviorcep.profile.ThresholdSegmentsTest.lines;
import static io.behaviorcep.profile.ThresholdSegmentsTest.page;
import static io.behaviorcep.profile.ThresholdSegmentsTest.segments;
import static io.behaviorcep.profile.ThresholdSegmentsTest.send;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A user's lifecycle past {@code profile.retention}: the full profile goes, a {@link LifetimeRecord}
 * stays until {@code profile.lifetime-retention}, so a user who returns after the retention is not
 * {@code new}, and {@code churned} holds while they are gone (no {@code ttl} exit at the retention).
 */
class ProfileLifetimeTest {
    private final List<KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent>> open = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (var h : open) h.close();
    }

    KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent> harness(ProfileOptions options) throws Exception {
        var h = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(new ProfileFunction(options)),
                (BehaviorEvent e) -> e.userKey, Types.STRING);
        h.open();
        open.add(h);
        return h;
    }

    static ProfileOptions shipped(Duration retention) {
        return new ProfileOptions(retention, PatternLoader.load(Repo.patterns()).segments(), null, PrivacyRules.defaults());
    }

    @Test
    void aUserWhoReturnsAfterTheRetentionIsNotNewAndWasChurnedUntilTheReturn() throws Exception {
        var h = harness(shipped(Duration.ofDays(90)));
        send(h, page("u1", D0 + 10 * HOUR));
        send(h, ev("u1", D0 + 11 * HOUR, "track", "Order Completed", "revenue", "30"));
        h.processWatermark(D0 + 99 * DAY);
        // the full profile went at 90 days 11 hours; churned holds on
        assertThat(lines(h)).containsExactly("enter new (new) +10h", "exit new (new) +7d10h", "enter churned (churned) +30d11h");

        send(h, page("u1", D0 + 100 * DAY));
        h.processWatermark(D0 + 100 * DAY);
        assertThat(lines(h)).containsExactly("enter new (new) +10h", "exit new (new) +7d10h", "enter churned (churned) +30d11h",
                "exit churned (churned) +100d");
        BehaviorEvent back = h.extractOutputValues().get(2);
        assertThat(back.profile.firstSeen).as("first seen of the first visit").isEqualTo(D0 + 10 * HOUR);
        assertThat(back.profile.daysSinceFirstSeen).isEqualTo(99);
        assertThat(back.profile.eventsLifetime).isEqualTo(3);
        assertThat(back.profile.ordersLifetime).isEqualTo(1);
        assertThat(back.profile.revenueLifetime).isEqualTo(30.0);
        // what the compact record does not keep counts from the return
        assertThat(back.profile.sessionsLifetime).isEqualTo(1);
        assertThat(back.profile.pageViewsLifetime).isEqualTo(1);
    }

    @Test
    void theMembershipsTheCompactRecordCannotDecideLeaveWithTtlTheOthersStay() throws Exception {
        var h = harness(new ProfileOptions(Duration.ofDays(10), segments("""
                kind: segments
                segments:
                  - id: gone
                    when: profile.days_since_last_seen >= 3
                  - id: browsed
                    when: profile.page_views_lifetime >= 1
                  - id: lost
                    when: profile.days_since_last_seen >= 20
                """), null, PrivacyRules.defaults()));
        send(h, page("u1", D0 + HOUR + 30 * 60_000L));
        h.processWatermark(D0 + 30 * DAY);
        // page views are not kept past the retention: that membership is forgotten, and says so;
        // days since the last event are, so `lost` is still entered while the user is gone
        assertThat(lines(h)).containsExactly("enter browsed (browsed) +1h30m", "enter gone (gone) +3d1h30m",
                "exit browsed (ttl) +10d2h", "enter lost (lost) +20d1h30m");
    }

    @Test
    void aMembershipTheRecordDecidesThatEndsAtTheRetentionInstantLeavesWithItsOwnReason() throws Exception {
        var h = harness(new ProfileOptions(Duration.ofDays(10), segments("""
                kind: segments
                segments:
                  - id: recent
                    when: profile.days_since_last_seen < 10
                """), null, PrivacyRules.defaults()));
        send(h, page("u1", D0 + 2 * HOUR));
        h.processWatermark(D0 + 20 * DAY);
        // last seen + 10 days is both the retention's instant and the segment's end: time ended it, not forgetting
        assertThat(lines(h)).containsExactly("enter recent (recent) +2h", "exit recent (recent) +10d2h");
    }

    @Test
    void theCompactRecordEndsAtTheLifetimeRetentionAndTheStateDrains() throws Exception {
        var h = harness(new ProfileOptions(Duration.ofDays(10), segments("""
                kind: segments
                segments:
                  - id: churned
                    when: profile.days_since_last_seen >= 3
                """), null, PrivacyRules.defaults()).withLifetimeRetention(Duration.ofDays(40)));
        send(h, page("u1", D0 + HOUR + 30 * 60_000L));
        h.processWatermark(D0 + 40 * DAY + HOUR);
        assertThat(lines(h)).containsExactly("enter churned (churned) +3d1h30m");
        assertThat(h.numKeyedStateEntries()).as("the compact record, and the value holding the membership").isEqualTo(2);
        h.processWatermark(D0 + 40 * DAY + 2 * HOUR);
        assertThat(lines(h)).containsExactly("enter churned (churned) +3d1h30m", "exit churned (ttl) +40d2h");
        assertThat(h.numKeyedStateEntries()).isZero();
        assertThat(h.numEventTimeTimers()).isZero();

        // forgotten for good: new again
        send(h, page("u1", D0 + 50 * DAY));
        h.processWatermark(D0 + 50 * DAY);
        assertThat(h.extractOutputValues().get(1).profile.firstSeen).isEqualTo(D0 + 50 * DAY);
    }

    @Test
    void anErasureOfAGoneUserEndsChurnedAndDeletesTheCompactRecord() throws Exception {
        var h = harness(shipped(Duration.ofDays(90)));
        send(h, page("u1", D0 + 10 * HOUR));
        h.processWatermark(D0 + 95 * DAY);
        h.processElement(new StreamRecord<>(PrivacyRules.controlRecord("u1", PrivacyRules.CONTROL_ERASE, "r1", D0 + 95 * DAY)));
        assertThat(lines(h)).endsWith("enter churned (churned) +30d10h", "exit churned (erased) +95d1ms");
        assertThat(h.numKeyedStateEntries()).isZero();
        assertThat(h.numEventTimeTimers()).isZero();
    }
}
