package io.behaviorcep.profile;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.Durations;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.privacy.PrivacyRules;
import io.behaviorcep.segment.SegmentUpdate;
import io.behaviorcep.pattern.ThresholdSegment;
import io.behaviorcep.testing.Repo;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static io.behaviorcep.profile.ProfileState.DAY;
import static io.behaviorcep.profile.ProfileState.HOUR;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Threshold segments in the profile operator: entered and left on events, and by time alone at the
 * exact instant the profile crosses the threshold, also when the user sends nothing more.
 */
class ThresholdSegmentsTest {
    /** Monday 2026-03-02 00:00 UTC. */
    static final long D0 = Instant.parse("2026-03-02T00:00:00Z").toEpochMilli();
    static final long MIN = 60_000L;

    private final List<KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent>> open = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (var h : open) h.close();
    }

    static List<ThresholdSegment> segments(String yaml) {
        PatternLoader.Result r = PatternLoader.loadString("segments.yaml", yaml);
        assertThat(r.problems()).isEmpty();
        return r.segments();
    }

    KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent> harness(List<ThresholdSegment> segments, Duration retention)
            throws Exception {
        return harness(new ProfileOptions(retention, segments, null, PrivacyRules.defaults()));
    }

    KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent> harness(ProfileOptions options) throws Exception {
        var h = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(new ProfileFunction(options)),
                (BehaviorEvent e) -> e.userKey, Types.STRING);
        h.open();
        open.add(h);
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

    static BehaviorEvent page(String user, long ts) {
        return ev(user, ts, "page", "Home");
    }

    static void send(KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent> h, BehaviorEvent e) throws Exception {
        h.processElement(new StreamRecord<>(e, e.timestamp));
    }

    static List<SegmentUpdate> updates(KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent> h) {
        var q = h.getSideOutput(ProfileFunction.THRESHOLD_UPDATES);
        return q == null ? List.of() : q.stream().map(StreamRecord::getValue).collect(Collectors.toList());
    }

    /** "enter new (new) +10h", offsets from D0. */
    static List<String> lines(KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent> h) {
        return updates(h).stream().map(u -> u.action + " " + u.segment + " (" + u.reason + ") " + Durations.formatOffset(u.at - D0)
                + (u.userId.equals("u1") ? "" : " " + u.userId)).collect(Collectors.toList());
    }

    @Test
    void enteredAndLeftOnTheEventsThatChangeTheProfile() throws Exception {
        var h = harness(segments("""
                kind: segments
                segments:
                  - id: browsing_no_order
                    when: profile.product_views_30d >= 2 and profile.orders_30d == 0
                """), Duration.ofDays(90));
        send(h, ev("u1", D0 + 10 * HOUR, "track", "Product Viewed"));
        send(h, ev("u1", D0 + 11 * HOUR, "track", "Product Viewed"));
        send(h, ev("u1", D0 + 12 * HOUR, "track", "Order Completed", "revenue", "9"));
        h.processWatermark(D0 + 11 * HOUR);
        assertThat(lines(h)).containsExactly("enter browsing_no_order (browsing_no_order) +11h");
        assertThat(updates(h).get(0).expiresAt).isEqualTo(SegmentUpdate.NO_EXPIRY);
        h.processWatermark(D0 + 12 * HOUR);
        assertThat(lines(h)).containsExactly("enter browsing_no_order (browsing_no_order) +11h", "exit browsing_no_order (browsing_no_order) +12h");
    }

    @Test
    void leftByTimeAloneAtTheExactInstantTheWindowMovesOn() throws Exception {
        var h = harness(segments("""
                kind: segments
                segments:
                  - id: busy_hour
                    when: profile.events_1h >= 2
                """), Duration.ofDays(90));
        send(h, page("u1", D0 + 10 * HOUR + 2 * MIN));
        send(h, page("u1", D0 + 10 * HOUR + 7 * MIN));
        h.processWatermark(D0 + 10 * HOUR + 7 * MIN);
        assertThat(lines(h)).containsExactly("enter busy_hour (busy_hour) +10h7m");
        // the five-minute slot of 10:02 leaves the hour at 11:00, and nothing else happens
        h.processWatermark(D0 + 11 * HOUR - 1);
        assertThat(lines(h)).hasSize(1);
        h.processWatermark(D0 + 11 * HOUR);
        assertThat(lines(h)).containsExactly("enter busy_hour (busy_hour) +10h7m", "exit busy_hour (busy_hour) +11h");
    }

    @Test
    void enteredByTimeAloneWhenTheUserSendsNothingAndLeftOnTheirNextEvent() throws Exception {
        var h = harness(segments("""
                kind: segments
                segments:
                  - id: churned
                    when: profile.days_since_last_seen >= 30
                """), Duration.ofDays(90));
        send(h, page("u1", D0 + 10 * HOUR + 17 * MIN));
        h.processWatermark(D0 + 10 * HOUR + 17 * MIN);
        assertThat(h.numEventTimeTimers()).as("one timer for the user").isEqualTo(1);
        h.processWatermark(D0 + 30 * DAY + 10 * HOUR + 17 * MIN - 1);
        assertThat(lines(h)).isEmpty();
        h.processWatermark(D0 + 30 * DAY + 10 * HOUR + 17 * MIN);
        assertThat(lines(h)).containsExactly("enter churned (churned) +30d10h17m");
        assertThat(h.numEventTimeTimers()).as("still one timer: the cleanup").isEqualTo(1);

        send(h, page("u1", D0 + 41 * DAY));
        h.processWatermark(D0 + 41 * DAY);
        assertThat(lines(h)).containsExactly("enter churned (churned) +30d10h17m", "exit churned (churned) +41d");
    }

    @Test
    void theShippedNewSegmentEndsSevenDaysAfterTheFirstEvent() throws Exception {
        var h = harness(PatternLoader.load(Repo.patterns()).segments(), Duration.ofDays(90));
        send(h, page("u1", D0 + 9 * HOUR));
        send(h, page("u2", D0 + 2 * DAY));
        h.processWatermark(D0 + 8 * DAY);
        assertThat(lines(h)).containsExactly("enter new (new) +9h", "enter new (new) +2d u2", "exit new (new) +7d9h");
        h.processWatermark(D0 + 9 * DAY);
        assertThat(lines(h)).last().isEqualTo("exit new (new) +9d u2");
    }

    @Test
    void membershipsEndWhenTheUserIsForgottenAndTheStateDrains() throws Exception {
        // nothing remembered past the retention (profile.lifetime-retention = profile.retention)
        var h = harness(new ProfileOptions(Duration.ofDays(10), segments("""
                kind: segments
                segments:
                  - id: churned
                    when: profile.days_since_last_seen >= 3
                """), null, PrivacyRules.defaults()).withLifetimeRetention(Duration.ofDays(10)));
        send(h, page("u1", D0 + HOUR + 30 * MIN));
        h.processWatermark(D0 + 4 * DAY);
        assertThat(lines(h)).containsExactly("enter churned (churned) +3d1h30m");
        // lastSeen + retention, rounded up to the hour: the state goes, and the membership with it
        h.processWatermark(D0 + 10 * DAY + 2 * HOUR);
        assertThat(lines(h)).containsExactly("enter churned (churned) +3d1h30m", "exit churned (ttl) +10d2h");
        assertThat(h.numKeyedStateEntries()).isZero();
        assertThat(h.numEventTimeTimers()).isZero();
    }

    /**
     * Exactness over many fields at once: a random history, watermarks advancing in random steps,
     * and the emitted enters/exits compared with membership computed from scratch at every instant
     * that matters: each update happens exactly where the from-scratch membership changes.
     */
    @Test
    void updatesHappenExactlyWhereMembershipComputedFromScratchChanges() throws Exception {
        List<ThresholdSegment> defs = segments("""
                kind: segments
                segments:
                  - {id: busy_hour, when: profile.events_1h >= 3}
                  - {id: two_sessions_a_day, when: profile.sessions_24h >= 2}
                  - {id: engaged, when: profile.sessions_7d > 3}
                  - {id: away, when: profile.days_since_last_seen >= 2}
                  - {id: fresh, when: profile.days_since_first_seen < 3}
                  - {id: weekly, when: profile.sessions_last_week >= 2}
                  - {id: regular, when: [profile.active_days_30d >= 4, profile.orders_30d == 0]}
                """);
        ThresholdEvaluator evaluator = new ThresholdEvaluator(defs);
        Random r = new Random(5);
        int updatesSeen = 0;
        for (int run = 0; run < 8; run++) {
            var h = harness(defs, Duration.ofDays(400));
            List<BehaviorEvent> events = new ArrayList<>();
            long t = D0 + r.nextInt(24 * 60) * MIN;
            for (int i = 0; i < 120; i++) {
                int g = r.nextInt(100);
                t += g < 50 ? r.nextInt(20) * MIN + r.nextInt(60_000) : g < 85 ? r.nextInt(12 * 60) * MIN : r.nextInt(6) * DAY + r.nextInt(24) * HOUR;
                events.add(r.nextInt(15) == 0 ? ev("u1", t, "track", "Order Completed", "revenue", "3") : page("u1", t));
            }
            long end = t + 20 * DAY;
            // the operator sees the events with the watermark moving in random steps
            long wm = D0;
            int next = 0;
            while (wm < end) {
                wm += r.nextInt(3) == 0 ? r.nextInt(3 * 60) * MIN : r.nextInt(3 * 24) * HOUR;
                while (next < events.size() && events.get(next).timestamp <= wm + r.nextInt(2) * HOUR) send(h, events.get(next++));
                h.processWatermark(Math.min(wm, end));
            }
            for (; next < events.size(); next++) send(h, events.get(next));
            h.processWatermark(end);

            List<SegmentUpdate> ups = updates(h);
            updatesSeen += ups.size();
            // membership from scratch as of an instant: the events up to it, counted, evaluated there
            java.util.function.LongFunction<Set<String>> scratch = at -> {
                ProfileState s = new ProfileState();
                for (BehaviorEvent e : events) if (e.timestamp <= at) s.add(e);
                return evaluator.evaluate(s, at);
            };
            Map<Long, List<SegmentUpdate>> byTime = new TreeMap<>();
            for (SegmentUpdate u : ups) byTime.computeIfAbsent(u.at, k -> new ArrayList<>()).add(u);
            Set<String> member = new TreeSet<>();
            long previous = Long.MIN_VALUE;
            for (Map.Entry<Long, List<SegmentUpdate>> e : byTime.entrySet()) {
                long at = e.getKey();
                assertThat(scratch.apply(at - 1)).as("run %d: membership just before %s", run, Instant.ofEpochMilli(at)).isEqualTo(member);
                if (previous != Long.MIN_VALUE) {
                    long mid = previous + (at - previous) / 2;
                    assertThat(scratch.apply(mid)).as("run %d: membership between updates, at %s", run, Instant.ofEpochMilli(mid)).isEqualTo(member);
                }
                for (SegmentUpdate u : e.getValue()) {
                    if (u.action.equals(SegmentUpdate.ENTER)) assertThat(member.add(u.segment)).isTrue();
                    else assertThat(member.remove(u.segment)).isTrue();
                    assertThat(u.reason).isEqualTo(u.segment);
                }
                assertThat(scratch.apply(at)).as("run %d: membership at %s", run, Instant.ofEpochMilli(at)).isEqualTo(member);
                previous = at;
            }
            assertThat(scratch.apply(end)).as("run %d: membership at the end", run).isEqualTo(member);
            // and at every hour boundary in between, nothing was missed
            Set<String> m = new TreeSet<>();
            var it = ups.iterator();
            SegmentUpdate pending = it.hasNext() ? it.next() : null;
            for (long x = D0; x <= end; x += HOUR + 7 * MIN) {
                while (pending != null && pending.at <= x) {
                    if (pending.action.equals(SegmentUpdate.ENTER)) m.add(pending.segment);
                    else m.remove(pending.segment);
                    pending = it.hasNext() ? it.next() : null;
                }
                assertThat(scratch.apply(x)).as("run %d: membership at %s", run, Instant.ofEpochMilli(x)).isEqualTo(m);
            }
        }
        assertThat(updatesSeen).as("enters and exits checked").isGreaterThan(200);
    }
}
