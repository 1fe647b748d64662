package io.behaviorcep.profile;

import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.event.BehaviorEvent;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Collectors;

import static io.behaviorcep.profile.ProfileState.HOUR;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The profile operator: events are counted in event-time order once the watermark passes them,
 * each carries the profile as of itself, and quiet users are cleaned up by an event-time timer.
 */
class ProfileFunctionTest {
    static final Duration RETENTION = Duration.ofDays(2);
    static final long D0 = Instant.parse("2026-03-02T00:00:00Z").toEpochMilli();
    static final long MIN = 60_000L;

    private KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent> harness;

    @BeforeEach
    void open() throws Exception {
        // nothing kept past the retention: the retention's own mechanics (ProfileLifetimeTest: what is kept past it)
        harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new ProfileFunction(ProfileOptions.countingOnly(RETENTION).withLifetimeRetention(RETENTION))),
                e -> e.userKey, Types.STRING);
        harness.open();
    }

    @AfterEach
    void close() throws Exception {
        harness.close();
    }

    static BehaviorEvent ev(String user, long ts, String name, String... props) {
        return ev(user, user + "-" + ts, ts, name, props);
    }

    static BehaviorEvent ev(String user, String messageId, long ts, String name, String... props) {
        BehaviorEvent e = new BehaviorEvent();
        e.type = "track";
        e.event = name;
        e.messageId = messageId;
        e.userId = user;
        e.userKey = user;
        e.timestamp = ts;
        for (int i = 0; i < props.length; i += 2) e.properties.put(props[i], props[i + 1]);
        return e;
    }

    void send(BehaviorEvent e) throws Exception {
        harness.processElement(new StreamRecord<>(e, e.timestamp));
    }

    List<BehaviorEvent> out() {
        return harness.extractOutputValues();
    }

    List<String> ids() {
        return out().stream().map(e -> e.messageId).collect(Collectors.toList());
    }

    @Test
    void everyEventCarriesTheProfileAsOfItself() throws Exception {
        send(ev("u1", D0 + 10 * MIN, "Product Viewed"));
        send(ev("u2", D0 + 11 * MIN, "Product Viewed"));
        send(ev("u1", D0 + 20 * MIN, "Order Completed", "revenue", "42.5"));
        send(ev("u1", D0 + 90 * MIN, "Product Viewed"));
        assertThat(out()).as("nothing before the watermark passes the events").isEmpty();

        harness.processWatermark(D0 + 90 * MIN);
        assertThat(ids()).containsExactly("u1-" + (D0 + 10 * MIN), "u2-" + (D0 + 11 * MIN), "u1-" + (D0 + 20 * MIN), "u1-" + (D0 + 90 * MIN));

        ProfileSnapshot first = out().get(0).profile;
        assertThat(first.events24h).isEqualTo(1);
        assertThat(first.sessionsLifetime).isEqualTo(1);
        assertThat(first.ordersLifetime).isZero();

        ProfileSnapshot other = out().get(1).profile;
        assertThat(other.events24h).isEqualTo(1);
        assertThat(other.firstSeen).isEqualTo(D0 + 11 * MIN);

        ProfileSnapshot order = out().get(2).profile;
        assertThat(order.events24h).isEqualTo(2);
        assertThat(order.ordersLifetime).isEqualTo(1);
        assertThat(order.revenueLifetime).isEqualTo(42.5);
        assertThat(order.lastSeen).isEqualTo(D0 + 20 * MIN);

        ProfileSnapshot last = out().get(3).profile;
        assertThat(last.events24h).isEqualTo(3);
        assertThat(last.sessionsLifetime).isEqualTo(2); // 70 minutes of silence
        assertThat(last.sessions24h).isEqualTo(2);
        assertThat(last.firstSeen).isEqualTo(D0 + 10 * MIN);
        assertThat(last.lastSeen).isEqualTo(D0 + 90 * MIN);
        assertThat(last.revenueLifetime).isEqualTo(42.5);
    }

    @Test
    void eventsAreReleasedAsTheWatermarkPassesThemAndCountedInEventTimeOrder() throws Exception {
        // arrival order: 3rd, 1st, 2nd (with two at one millisecond, in reverse messageId order)
        send(ev("u1", "c", D0 + 50 * MIN, "A"));
        send(ev("u1", "b", D0 + 10 * MIN, "A"));
        send(ev("u1", "a", D0 + 10 * MIN, "A"));
        harness.processWatermark(D0 + 10 * MIN - 1);
        assertThat(ids()).isEmpty();

        harness.processWatermark(D0 + 10 * MIN);
        assertThat(ids()).containsExactly("a", "b");
        assertThat(out().get(0).profile.events24h).isEqualTo(1);
        assertThat(out().get(1).profile.events24h).isEqualTo(2);

        harness.processWatermark(D0 + 50 * MIN);
        assertThat(ids()).containsExactly("a", "b", "c");
        ProfileSnapshot c = out().get(2).profile;
        assertThat(c.events24h).isEqualTo(3);
        assertThat(c.sessionsLifetime).isEqualTo(2); // 40 min after b: a new session, whatever the arrival order
    }

    @Test
    void theProfileDoesNotDependOnArrivalOrder() throws Exception {
        long[] ts = {D0, D0 + 45 * MIN, D0 + 50 * MIN, D0 + 3 * HOUR, D0 + 26 * HOUR};
        for (int i = ts.length - 1; i >= 0; i--) send(ev("u1", ts[i], "A"));
        harness.processWatermark(D0 + 30 * HOUR);
        List<ProfileSnapshot> reversed = out().stream().map(e -> e.profile).collect(Collectors.toList());

        var inOrder = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new ProfileFunction(RETENTION)), (BehaviorEvent e) -> e.userKey, Types.STRING);
        inOrder.open();
        try {
            for (long t : ts) inOrder.processElement(new StreamRecord<>(ev("u1", t, "A"), t));
            inOrder.processWatermark(D0 + 30 * HOUR);
            assertThat(inOrder.extractOutputValues()).extracting(e -> e.profile).isEqualTo(reversed);
        } finally {
            inOrder.close();
        }
        assertThat(reversed.get(4).sessionsLifetime).isEqualTo(4);
        assertThat(reversed.get(4).events24h).isEqualTo(2); // hours 3..26 contain 3h and 26h
    }

    @Test
    void oneCleanupTimerPerUserMovedAsTheUserIsSeenAgain() throws Exception {
        send(ev("u1", D0 + 10 * MIN, "A"));
        send(ev("u1", D0 + 20 * MIN, "A")); // same hour after rounding: same cleanup timer
        send(ev("u2", D0 + 30 * MIN, "A"));
        harness.processWatermark(D0 + 30 * MIN);
        assertThat(harness.numEventTimeTimers()).isEqualTo(2);
        assertThat(harness.numKeyedStateEntries()).isEqualTo(2); // one value per user

        send(ev("u1", D0 + 5 * HOUR, "A")); // waits for the watermark: one more timer
        assertThat(harness.numEventTimeTimers()).isEqualTo(3);
        harness.processWatermark(D0 + 5 * HOUR);  // counted: the cleanup timer moves later
        assertThat(harness.numEventTimeTimers()).isEqualTo(2);
        assertThat(harness.numKeyedStateEntries()).isEqualTo(2);
    }

    @Test
    void quietUsersAreForgottenAfterTheRetention() throws Exception {
        send(ev("u1", D0 + 10 * MIN, "Product Viewed"));
        send(ev("u1", D0 + 3 * HOUR + 10 * MIN, "Order Completed", "revenue", "7"));
        send(ev("u2", D0 + 5 * HOUR + 1, "Product Viewed"));
        harness.processWatermark(D0 + 6 * HOUR);
        assertThat(harness.numKeyedStateEntries()).isEqualTo(2);
        assertThat(harness.numEventTimeTimers()).isEqualTo(2);

        long u1Cleanup = D0 + 4 * HOUR + RETENTION.toMillis();  // lastSeen + retention, up to the hour
        long u2Cleanup = D0 + 6 * HOUR + RETENTION.toMillis();

        harness.processWatermark(u1Cleanup - 1);
        assertThat(harness.numKeyedStateEntries()).isEqualTo(2);
        assertThat(harness.numEventTimeTimers()).isEqualTo(2);

        harness.processWatermark(u1Cleanup);
        assertThat(harness.numKeyedStateEntries()).isEqualTo(1);
        assertThat(harness.numEventTimeTimers()).isEqualTo(1);

        harness.processWatermark(u2Cleanup);
        assertThat(harness.numKeyedStateEntries()).isZero();
        assertThat(harness.numEventTimeTimers()).isZero();

        // u1 coming back starts from scratch
        send(ev("u1", u2Cleanup + HOUR, "Product Viewed"));
        harness.processWatermark(u2Cleanup + HOUR);
        ProfileSnapshot fresh = out().get(3).profile;
        assertThat(fresh.firstSeen).isEqualTo(u2Cleanup + HOUR);
        assertThat(fresh.ordersLifetime).isZero();
        assertThat(fresh.revenueLifetime).isZero();
        assertThat(fresh.sessionsLifetime).isEqualTo(1);
        assertThat(harness.numEventTimeTimers()).isEqualTo(1);
    }

    @Test
    void aUserSeenAgainBeforeTheRetentionIsKept() throws Exception {
        send(ev("u1", D0, "A"));
        harness.processWatermark(D0 + RETENTION.toMillis() - HOUR);
        send(ev("u1", D0 + RETENTION.toMillis() - 30 * MIN, "A"));
        harness.processWatermark(D0 + RETENTION.toMillis() + HOUR); // the first cleanup time has passed
        assertThat(out()).hasSize(2);
        assertThat(harness.numKeyedStateEntries()).isEqualTo(1);
        assertThat(harness.numEventTimeTimers()).isEqualTo(1);

        send(ev("u1", D0 + RETENTION.toMillis() + 2 * HOUR, "A"));
        harness.processWatermark(D0 + RETENTION.toMillis() + 2 * HOUR);
        assertThat(out().get(2).profile.firstSeen).isEqualTo(D0);

        harness.processWatermark(D0 + 2 * RETENTION.toMillis() + 2 * HOUR);
        assertThat(harness.numKeyedStateEntries()).isZero();
        assertThat(harness.numEventTimeTimers()).isZero();
    }

    @Test
    void anEventAtTheInstantOfTheOldCleanupIsNotLostWhenTheCleanupMoves() throws Exception {
        send(ev("u1", "first", D0, "A"));
        harness.processWatermark(D0);
        long cleanup = D0 + RETENTION.toMillis(); // D0 is on the hour
        // the user comes back: one event exactly at the old cleanup instant, one just before it
        send(ev("u1", "at-cleanup", cleanup, "A"));
        send(ev("u1", "before", cleanup - 1_000, "A"));
        harness.processWatermark(cleanup - 1_000); // "before" is counted: the cleanup timer moves later
        harness.processWatermark(cleanup + HOUR);
        assertThat(ids()).containsExactly("first", "before", "at-cleanup");
        ProfileSnapshot p = out().get(2).profile;
        assertThat(p.firstSeen).isEqualTo(D0);
        assertThat(p.events7d).isEqualTo(3);

        harness.processWatermark(cleanup + RETENTION.toMillis() + HOUR);
        assertThat(harness.numKeyedStateEntries()).isZero();
        assertThat(harness.numEventTimeTimers()).isZero();
    }

    @Test
    void anEventAlreadyBehindTheWatermarkIsCountedAtOnce() throws Exception {
        harness.processWatermark(D0 + HOUR);
        send(ev("u1", D0, "A"));
        assertThat(ids()).containsExactly("u1-" + D0);
        assertThat(out().get(0).profile.events24h).isEqualTo(1);
    }
}
