package io.behaviorcep.profile;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.output.ProfileRecord;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.privacy.PrivacyRules;
import io.behaviorcep.segment.SegmentUpdate;
import io.behaviorcep.testing.Repo;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static io.behaviorcep.profile.ProfileState.DAY;
import static io.behaviorcep.profile.ProfileState.HOUR;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Users who go quiet cost nothing for long: with the shipped threshold segments, profile records
 * and privacy events all on, every user's state and every timer drain to zero once the users stop
 * sending events; only opted-out users keep a marker, without a timer.
 */
class ProfileDrainTest {
    static final long D0 = Instant.parse("2026-03-02T00:00:00Z").toEpochMilli();
    static final long MIN = 60_000L;
    static final Duration RETENTION = Duration.ofDays(45);
    static final Duration LIFETIME = Duration.ofDays(120);

    static KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent> harness() throws Exception {
        ProfileOptions options = new ProfileOptions(RETENTION, PatternLoader.load(Repo.patterns()).segments(), Duration.ofMinutes(15),
                PrivacyRules.defaults()).withLifetimeRetention(LIFETIME);
        var h = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(new ProfileFunction(options)),
                (BehaviorEvent e) -> e.userKey, Types.STRING);
        h.open();
        return h;
    }

    static BehaviorEvent ev(String user, long ts, String type, String name, String... props) {
        BehaviorEvent e = new BehaviorEvent();
        e.type = type;
        e.event = name;
        e.messageId = user + "-" + ts + "-" + name;
        e.userId = user;
        e.userKey = user;
        e.timestamp = ts;
        for (int i = 0; i < props.length; i += 2) e.properties.put(props[i], props[i + 1]);
        return e;
    }

    /** A random month of behaviour of {@code users} users; some opt out, one is erased when {@code privacy}. */
    static List<BehaviorEvent> history(int users, boolean privacy, Random r) {
        List<BehaviorEvent> events = new ArrayList<>();
        for (int u = 0; u < users; u++) {
            String user = "user-" + u;
            long t = D0 + r.nextInt(20 * 24) * HOUR;
            int n = 1 + r.nextInt(r.nextInt(10) == 0 ? 200 : 25);
            for (int i = 0; i < n; i++) {
                t += r.nextInt(4) == 0 ? r.nextInt(24) * HOUR : r.nextInt(10) * MIN + 1_000;
                int k = r.nextInt(30);
                events.add(k < 10 ? ev(user, t, "page", "Home") : k < 22 ? ev(user, t, "track", "Product Viewed")
                        : k < 26 ? ev(user, t, "track", "Product Added")
                        : k < 28 ? ev(user, t, "track", "Order Completed", "revenue", Integer.toString(r.nextInt(900)))
                        : ev(user, t, "track", "Signed In"));
            }
            if (privacy && u % 50 == 7) events.add(ev(user, t + MIN, "track", "User Deleted"));
            if (privacy && u % 50 == 9) events.add(ev(user, t + MIN, "track", "Opted Out"));
        }
        events.sort(Comparator.comparingLong((BehaviorEvent e) -> e.timestamp));
        return events;
    }

    static void run(KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent> h, List<BehaviorEvent> events) throws Exception {
        long wm = Long.MIN_VALUE;
        for (BehaviorEvent e : events) {
            h.processElement(new StreamRecord<>(e, e.timestamp));
            // the watermark trails the events by up to an hour, moving in steps
            if (e.timestamp - HOUR > wm + 6 * HOUR) {
                wm = e.timestamp - HOUR;
                h.processWatermark(wm);
            }
        }
    }

    static void assertEveryEnterWasFollowedByAnExit(List<SegmentUpdate> updates) {
        Map<String, String> last = new HashMap<>();
        for (SegmentUpdate u : updates) {
            String key = u.userId + "|" + u.segment;
            String before = last.put(key, u.action);
            assertThat(before).as(key + " alternates enter/exit").isNotEqualTo(u.action);
        }
        last.forEach((k, a) -> assertThat(a).as(k + " ends outside the segment").isEqualTo(SegmentUpdate.EXIT));
    }

    @Test
    void stateAndTimersOfQuietUsersDrainToZero() throws Exception {
        var h = harness();
        try {
            List<BehaviorEvent> events = history(300, false, new Random(3));
            run(h, events);
            long last = events.get(events.size() - 1).timestamp;
            h.processWatermark(last);
            assertThat(h.numKeyedStateEntries()).as("users hold state while active: one value each").isEqualTo(300);
            assertThat(h.numEventTimeTimers()).as("one timer per user still held").isBetween(250, 300);

            // nobody sends anything more: step through the quiet months
            for (long t = last; t <= last + RETENTION.toMillis() + 2 * HOUR; t += 7 * DAY) h.processWatermark(t);
            h.processWatermark(last + RETENTION.toMillis() + 2 * HOUR);
            // past the retention, per user: the compact record, the value with the churned membership and the timer's time, and one timer
            assertThat(h.numEventTimeTimers()).as("timers left past the retention").isEqualTo(300);
            assertThat(h.numKeyedStateEntries()).as("keyed state entries left past the retention").isEqualTo(2 * 300);
            for (long t = last; t <= last + LIFETIME.toMillis() + 2 * HOUR; t += 7 * DAY) h.processWatermark(t);
            h.processWatermark(last + LIFETIME.toMillis() + 2 * HOUR);
            assertThat(h.numEventTimeTimers()).as("timers left").isZero();
            assertThat(h.numKeyedStateEntries()).as("keyed state entries left").isZero();

            List<SegmentUpdate> updates = h.getSideOutput(ProfileFunction.THRESHOLD_UPDATES).stream().map(StreamRecord::getValue).toList();
            assertThat(updates).extracting(u -> u.segment).contains("new", "churned", "engaged", "casual_browsers", "frequent_viewers", "high_value");
            assertEveryEnterWasFollowedByAnExit(updates);
            // 'churned' lasts until the user is forgotten altogether: its ttl exit is at the lifetime retention
            Map<String, Long> lastSeen = new HashMap<>();
            for (BehaviorEvent e : events) lastSeen.merge(e.userKey, e.timestamp, Math::max);
            assertThat(updates).filteredOn(u -> u.reason.equals(SegmentUpdate.REASON_TTL)).hasSize(300)
                    .allSatisfy(u -> {
                        assertThat(u.segment).isEqualTo("churned");
                        long end = lastSeen.get(u.userId) + LIFETIME.toMillis();
                        assertThat(u.at).isBetween(end, end + HOUR - 1);
                    });
        } finally {
            h.close();
        }
    }

    @Test
    void optedOutUsersKeepOnlyAMarkerWithoutTimersAndErasedUsersNothing() throws Exception {
        var h = harness();
        try {
            List<BehaviorEvent> events = history(200, true, new Random(4));
            run(h, events);
            long last = events.get(events.size() - 1).timestamp;
            for (long t = last; t <= last + LIFETIME.toMillis(); t += 5 * DAY) h.processWatermark(t);
            h.processWatermark(last + LIFETIME.toMillis() + 2 * HOUR);
            assertThat(h.numEventTimeTimers()).isZero();
            // users 9, 59, 109, 159 opted out: one state entry each (the marker)
            assertThat(h.numKeyedStateEntries()).isEqualTo(4);
            List<SegmentUpdate> updates = h.getSideOutput(ProfileFunction.THRESHOLD_UPDATES).stream().map(StreamRecord::getValue).toList();
            assertEveryEnterWasFollowedByAnExit(updates);
            assertThat(updates).filteredOn(u -> u.userId.equals("user-9") && u.action.equals(SegmentUpdate.EXIT))
                    .extracting(u -> u.reason).isSubsetOf(SegmentUpdate.REASON_SUPPRESSED, "new", "engaged", "casual_browsers",
                            "frequent_viewers", "high_value").contains(SegmentUpdate.REASON_SUPPRESSED);
            assertThat(h.getSideOutput(ProfileFunction.PROFILE_RECORDS)).extracting(StreamRecord::getValue)
                    .filteredOn(ProfileRecord::isErasure).extracting(x -> x.userId)
                    .containsExactlyInAnyOrder("user-7", "user-57", "user-107", "user-157");
        } finally {
            h.close();
        }
    }
}
