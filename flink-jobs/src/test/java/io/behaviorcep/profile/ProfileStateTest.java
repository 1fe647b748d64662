package io.behaviorcep.profile;

import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.event.BehaviorEvent;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static io.behaviorcep.profile.ProfileState.DAY;
import static io.behaviorcep.profile.ProfileState.HOUR;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Profile counters against hand-computed values. */
class ProfileStateTest {
    /** Midnight UTC, so hour and day buckets start at round offsets from it. */
    static final long D0 = Instant.parse("2026-03-02T00:00:00Z").toEpochMilli();
    static final long MIN = 60_000L;

    static BehaviorEvent ev(long ts) {
        return ev(ts, "Product Viewed");
    }

    static BehaviorEvent ev(long ts, String name, String... props) {
        BehaviorEvent e = new BehaviorEvent();
        e.type = "track";
        e.event = name;
        e.messageId = "m" + ts;
        e.userId = "u1";
        e.userKey = "u1";
        e.timestamp = ts;
        for (int i = 0; i < props.length; i += 2) e.properties.put(props[i], props[i + 1]);
        return e;
    }

    static ProfileSnapshot feed(ProfileState s, long... timestamps) {
        for (long t : timestamps) s.add(ev(t));
        return s.snapshot();
    }

    @Test
    void emptyState() {
        ProfileState s = new ProfileState();
        assertThat(s.isEmpty()).isTrue();
        s.add(ev(D0 + 5 * MIN));
        assertThat(s.isEmpty()).isFalse();
        ProfileSnapshot p = s.snapshot();
        assertThat(p.firstSeen).isEqualTo(D0 + 5 * MIN);
        assertThat(p.lastSeen).isEqualTo(D0 + 5 * MIN);
        assertThat(p.events24h).isEqualTo(1);
        assertThat(p.events7d).isEqualTo(1);
        assertThat(p.sessions24h).isEqualTo(1);
        assertThat(p.sessions7d).isEqualTo(1);
        assertThat(p.sessionsLifetime).isEqualTo(1);
        assertThat(p.ordersLifetime).isZero();
        assertThat(p.revenueLifetime).isZero();
    }

    @Test
    void aSessionEndsAfterMoreThanThirtyMinutesOfInactivity() {
        ProfileState s = new ProfileState();
        // 0, 10, 40 (gap exactly 30: same session), 71 (gap 31: new), 72, 200 (new), 230 (gap 30: same)
        ProfileSnapshot p = feed(s, D0, D0 + 10 * MIN, D0 + 40 * MIN, D0 + 71 * MIN, D0 + 72 * MIN, D0 + 200 * MIN, D0 + 230 * MIN);
        assertThat(p.sessionsLifetime).isEqualTo(3);
        assertThat(p.sessions24h).isEqualTo(3);
        assertThat(p.sessions7d).isEqualTo(3);
        assertThat(p.events24h).isEqualTo(7);
        assertThat(s.sessionStart).isEqualTo(D0 + 200 * MIN);
    }

    @Test
    void anOutOfOrderEventDoesNotStartASession() {
        ProfileState s = new ProfileState();
        ProfileSnapshot p = feed(s, D0 + 120 * MIN, D0 + 10 * MIN);
        assertThat(p.sessionsLifetime).isEqualTo(1);
        assertThat(p.firstSeen).isEqualTo(D0 + 10 * MIN);
        assertThat(p.lastSeen).isEqualTo(D0 + 120 * MIN);
        assertThat(p.events24h).isEqualTo(2);
    }

    @Test
    void last24HoursIsTheNewestHourAndTheTwentyThreeBefore() {
        ProfileState s = new ProfileState();
        // one event at half past every hour from hour 0 to hour 30 (31 events, 31 sessions: gaps of 60 min)
        for (int h = 0; h <= 30; h++) s.add(ev(D0 + h * HOUR + 30 * MIN));
        ProfileSnapshot p = s.snapshot();
        // hours 7..30
        assertThat(p.events24h).isEqualTo(24);
        assertThat(p.sessions24h).isEqualTo(24);
        // day 0 (hours 0..23) and day 1 (hours 24..30)
        assertThat(p.events7d).isEqualTo(31);
        assertThat(p.sessions7d).isEqualTo(31);
        assertThat(p.sessionsLifetime).isEqualTo(31);
        assertThat(p.firstSeen).isEqualTo(D0 + 30 * MIN);
        assertThat(p.lastSeen).isEqualTo(D0 + 30 * HOUR + 30 * MIN);
    }

    @Test
    void aGapLongerThanTheRingClearsEveryHourlyBucket() {
        ProfileState s = new ProfileState();
        feed(s, D0, D0 + HOUR, D0 + 2 * HOUR);
        ProfileSnapshot p = feed(s, D0 + 50 * HOUR);
        assertThat(p.events24h).isEqualTo(1);
        assertThat(p.sessions24h).isEqualTo(1);
        assertThat(p.events7d).isEqualTo(4);
        assertThat(p.sessionsLifetime).isEqualTo(4);
    }

    @Test
    void dailyBucketsAreRecycledAcrossDays() {
        ProfileState s = new ProfileState();
        // three events on day 0 (one session)
        feed(s, D0 + HOUR, D0 + HOUR + MIN, D0 + HOUR + 2 * MIN);
        assertThat(s.snapshot().events7d).isEqualTo(3);

        // day 6: days 0..6 are the last 7 days
        ProfileSnapshot p6 = feed(s, D0 + 6 * DAY + HOUR);
        assertThat(p6.events7d).isEqualTo(4);
        assertThat(p6.sessions7d).isEqualTo(2);

        // day 7: day 0 falls out (its slot, 0, is the eighth and is not summed)
        ProfileSnapshot p7 = feed(s, D0 + 7 * DAY + HOUR);
        assertThat(p7.events7d).isEqualTo(2);
        assertThat(p7.sessions7d).isEqualTo(2);

        // day 8 uses slot 0 again: day 0's three events must have been cleared, not added to
        ProfileSnapshot p8 = feed(s, D0 + 8 * DAY + HOUR, D0 + 8 * DAY + HOUR + MIN);
        assertThat(p8.events7d).isEqualTo(4); // day 6: 1, day 7: 1, day 8: 2
        assertThat(p8.sessions7d).isEqualTo(3);
        assertThat(p8.events24h).isEqualTo(2);
        assertThat(p8.sessionsLifetime).isEqualTo(4);

        // three weeks later: only the new day counts
        ProfileSnapshot p29 = feed(s, D0 + 29 * DAY);
        assertThat(p29.events7d).isEqualTo(1);
        assertThat(p29.events24h).isEqualTo(1);
        assertThat(p29.sessions7d).isEqualTo(1);
        assertThat(p29.sessionsLifetime).isEqualTo(5);
    }

    @Test
    void lateEventsInsideTheWindowsAreCountedOlderOnesOnlyForLifetime() {
        ProfileState s = new ProfileState();
        feed(s, D0 + 10 * DAY + 12 * HOUR);
        // 5 hours earlier: inside both windows
        ProfileSnapshot a = feed(s, D0 + 10 * DAY + 7 * HOUR);
        assertThat(a.events24h).isEqualTo(2);
        assertThat(a.events7d).isEqualTo(2);
        // 3 days earlier: inside 7d, outside 24h
        ProfileSnapshot b = feed(s, D0 + 7 * DAY + 12 * HOUR);
        assertThat(b.events24h).isEqualTo(2);
        assertThat(b.events7d).isEqualTo(3);
        // 7 days earlier (day 3): in the ring's eighth slot, not in the last 7 days
        ProfileSnapshot c = feed(s, D0 + 3 * DAY + 12 * HOUR);
        assertThat(c.events7d).isEqualTo(3);
        // 9 days earlier: older than the ring
        ProfileSnapshot d = feed(s, D0 + DAY + 12 * HOUR);
        assertThat(d.events7d).isEqualTo(3);
        assertThat(d.firstSeen).isEqualTo(D0 + DAY + 12 * HOUR);
        assertThat(d.lastSeen).isEqualTo(D0 + 10 * DAY + 12 * HOUR);

        // the next day (day 11) recycles day 3's slot: the late day-3 event must not reappear
        ProfileSnapshot e = feed(s, D0 + 11 * DAY);
        assertThat(e.events7d).isEqualTo(4); // days 7 and 10 (x2) and 11
    }

    @Test
    void ordersAndRevenue() {
        ProfileState s = new ProfileState();
        s.add(ev(D0, "Order Completed", "revenue", "19.90", "total", "25"));     // revenue wins
        s.add(ev(D0 + MIN, "Order Completed", "total", "30.10"));                // total as the fallback
        s.add(ev(D0 + 2 * MIN, "Order Completed"));                              // an order without an amount
        s.add(ev(D0 + 3 * MIN, "Order Completed", "revenue", "NaN"));            // not a finite number: ignored
        s.add(ev(D0 + 4 * MIN, "Product Added", "revenue", "1000"));             // not an order
        s.add(ev(D0 + 5 * MIN, "order completed", "revenue", "1000"));           // event names are exact
        ProfileSnapshot p = s.snapshot();
        assertThat(p.ordersLifetime).isEqualTo(4);
        assertThat(p.revenueLifetime).isCloseTo(50.0, within(1e-9));
        assertThat(p.events24h).isEqualTo(6);
        assertThat(p.sessionsLifetime).isEqualTo(1);
    }

    @Test
    void ordersAreLifetimeEvenPastTheRings() {
        ProfileState s = new ProfileState();
        s.add(ev(D0, "Order Completed", "revenue", "10"));
        s.add(ev(D0 + 30 * DAY, "Order Completed", "revenue", "5.5"));
        s.add(ev(D0 + 2 * DAY, "Order Completed", "revenue", "1")); // 28 days late
        ProfileSnapshot p = s.snapshot();
        assertThat(p.ordersLifetime).isEqualTo(3);
        assertThat(p.revenueLifetime).isEqualTo(16.5);
        assertThat(p.events7d).isEqualTo(1);
        assertThat(p.events24h).isEqualTo(1);
    }

    /** {@code n} one-event sessions in week {@code week} after D0 (a Monday), one a day at 10:00. */
    static void sessionsInWeek(ProfileState s, int week, int n) {
        for (int i = 0; i < n; i++) s.add(ev(D0 + week * ProfileState.WEEK + i * DAY + 10 * HOUR));
    }

    @Test
    void weeklySessionsAndOneWeekOfDecay() {
        ProfileState s = new ProfileState();
        for (int w = 0; w <= 3; w++) sessionsInWeek(s, w, 4);
        sessionsInWeek(s, 4, 2);
        sessionsInWeek(s, 5, 1); // the current week
        ProfileSnapshot p = s.snapshot();
        assertThat(p.sessionsLastWeek).isEqualTo(2);
        assertThat(p.sessionsWeeklyAvgPrior4).isEqualTo(4.0);
        // week 4: 2 <= 4 / 2 -> decayed; week 3: 4 against (0 + 4 + 4 + 4) / 4 = 3 -> not
        assertThat(p.decayWeeks).isEqualTo(1);
        assertThat(p.field("decay_weeks")).isEqualTo("1");
        assertThat(p.field("sessions_last_week")).isEqualTo("2");
    }

    @Test
    void twoWeeksOfDecay() {
        ProfileState s = new ProfileState();
        for (int w = 0; w <= 3; w++) sessionsInWeek(s, w, 4);
        sessionsInWeek(s, 4, 1);
        sessionsInWeek(s, 5, 1);
        sessionsInWeek(s, 6, 1);
        ProfileSnapshot p = s.snapshot();
        assertThat(p.sessionsLastWeek).isEqualTo(1);
        assertThat(p.sessionsWeeklyAvgPrior4).isEqualTo(3.25); // weeks 1..4: 4 + 4 + 4 + 1
        assertThat(p.decayWeeks).isEqualTo(2);                 // week 4 against weeks 0..3 (avg 4) too
    }

    @Test
    void noHistoryIsNoDecayAndSundayBelongsToTheWeekBefore() {
        ProfileState s = new ProfileState();
        s.add(ev(D0 - 2 * HOUR)); // Sunday 22:00, the week before D0
        s.add(ev(D0 + 10 * HOUR)); // Monday
        ProfileSnapshot p = s.snapshot();
        assertThat(p.sessionsLastWeek).isEqualTo(1);
        assertThat(p.sessionsWeeklyAvgPrior4).isZero();
        assertThat(p.decayWeeks).isZero();

        // a quiet month: the weeks in between are recycled to zero
        s.add(ev(D0 + 6 * ProfileState.WEEK + HOUR));
        ProfileSnapshot later = s.snapshot();
        assertThat(later.sessionsLastWeek).isZero();
        assertThat(later.sessionsWeeklyAvgPrior4).isEqualTo(0.0);
        assertThat(later.decayWeeks).isZero();
    }

    /** A generated in-order history against a brute-force count over the raw timestamps. */
    @Test
    void generatedHistoryMatchesABruteForceCount() {
        Random r = new Random(7);
        ProfileState s = new ProfileState();
        List<Long> times = new ArrayList<>();
        List<Long> sessionStarts = new ArrayList<>();
        long t = D0 + 3 * HOUR;
        for (int i = 0; i < 3_000; i++) {
            int kind = r.nextInt(100);
            t += kind < 70 ? r.nextInt(10) * MIN : kind < 95 ? r.nextInt(6 * 60) * MIN : r.nextInt(5) * DAY;
            if (times.isEmpty() || t - times.get(times.size() - 1) > ProfileState.SESSION_GAP) sessionStarts.add(t);
            times.add(t);
            s.add(ev(t));
            ProfileSnapshot p = s.snapshot();

            long hour = Math.floorDiv(t, HOUR);
            long day = Math.floorDiv(t, DAY);
            assertThat(p.events24h).as("events_24h after %d events", i + 1).isEqualTo(countIn(times, hour - 23, hour, HOUR));
            assertThat(p.sessions24h).as("sessions_24h after %d events", i + 1).isEqualTo(countIn(sessionStarts, hour - 23, hour, HOUR));
            assertThat(p.events7d).as("events_7d after %d events", i + 1).isEqualTo(countIn(times, day - 6, day, DAY));
            assertThat(p.sessions7d).as("sessions_7d after %d events", i + 1).isEqualTo(countIn(sessionStarts, day - 6, day, DAY));
            assertThat(p.sessionsLifetime).isEqualTo(sessionStarts.size());
        }
    }

    private static int countIn(List<Long> times, long fromBucket, long toBucket, long size) {
        int n = 0;
        for (long x : times) {
            long b = Math.floorDiv(x, size);
            if (b >= fromBucket && b <= toBucket) n++;
        }
        return n;
    }

    /** Ring sums against the plain definition: each bucket b in the window at index floorMod(b, size), before and after 1970, wrapping. */
    @Test
    void ringSumsAreTheSumsOfTheWindowsBuckets() {
        Random r = new Random(11);
        for (int trial = 0; trial < 2_000; trial++) {
            int size = 1 + r.nextInt(40);
            int stride = 1 + r.nextInt(3);
            int offset = r.nextInt(stride);
            int[] ring = new int[size * stride];
            double[] money = new double[size];
            for (int i = 0; i < ring.length; i++) ring[i] = r.nextInt(3);
            for (int i = 0; i < size; i++) money[i] = r.nextInt(5) * 0.5;
            long newest = r.nextInt(200) - 100;
            long to = newest + r.nextInt(60) - 20;
            int width = 1 + r.nextInt(50);
            int sum = 0, nonZero = 0;
            double moneySum = 0;
            for (long b = to - width + 1; b <= to; b++) {
                if (b > newest || b <= newest - size) continue; // not in the ring
                int i = (int) Math.floorMod(b, (long) size);
                sum += ring[i * stride + offset];
                moneySum += money[i];
                if (ring[i] > 0) nonZero++;
            }
            assertThat(ProfileState.sum(ring, stride, offset, newest, to, width)).isEqualTo(sum);
            assertThat(ProfileState.sum(money, newest, to, width)).isEqualTo(moneySum);
            if (stride == 1) assertThat(ProfileState.countNonZero(ring, newest, to, width)).isEqualTo(nonZero);
        }
    }

    /** The daily windows taken in one pass equal the field-by-field sums over the same rings, for random histories and instants. */
    @Test
    void theOnePassDailyWindowsEqualTheSumsFieldByField() {
        Random r = new Random(21);
        int compared = 0;
        for (int run = 0; run < 40; run++) {
            ProfileState s = ProfileStateSizeTest.activeShopper(1 + r.nextInt(70), r);
            for (int k = 0; k < 10; k++) {
                long asOf = s.lastSeen + (r.nextInt(4) == 0 ? 0 : r.nextInt(40) * DAY + r.nextInt(24) * HOUR);
                ProfileSnapshot p = s.snapshot(asOf);
                long day = Math.floorDiv(asOf, DAY);
                assertThat(p.events7d).isEqualTo(ProfileState.sum(s.dailyEvents, 1, 0, s.newestDay, day, 7));
                assertThat(p.events30d).isEqualTo(ProfileState.sum(s.dailyEvents, 1, 0, s.newestDay, day, 30));
                assertThat(p.sessions7d).isEqualTo(ProfileState.sum(s.dailySessions, 1, 0, s.newestDay, day, 7));
                assertThat(p.sessions30d).isEqualTo(ProfileState.sum(s.dailySessions, 1, 0, s.newestDay, day, 30));
                assertThat(p.activeDays7d).isEqualTo(ProfileState.countNonZero(s.dailyEvents, s.newestDay, day, 7));
                assertThat(p.activeDays30d).isEqualTo(ProfileState.countNonZero(s.dailyEvents, s.newestDay, day, 30));
                assertThat(p.productViews7d).isEqualTo(ProfileState.sum(s.dailyCommerce, ProfileState.COMMERCE, ProfileState.VIEWS, s.newestDay, day, 7));
                assertThat(p.productViews30d).isEqualTo(ProfileState.sum(s.dailyCommerce, ProfileState.COMMERCE, ProfileState.VIEWS, s.newestDay, day, 30));
                assertThat(p.adds30d).isEqualTo(ProfileState.sum(s.dailyCommerce, ProfileState.COMMERCE, ProfileState.ADDS, s.newestDay, day, 30));
                assertThat(p.checkouts30d).isEqualTo(ProfileState.sum(s.dailyCommerce, ProfileState.COMMERCE, ProfileState.CHECKOUTS, s.newestDay, day, 30));
                assertThat(p.orders30d).isEqualTo(ProfileState.sum(s.dailyCommerce, ProfileState.COMMERCE, ProfileState.ORDERS, s.newestDay, day, 30));
                assertThat(p.revenue30d).isEqualTo(ProfileState.sum(s.dailyRevenue, s.newestDay, day, 30));
                if (p.events30d > 0) compared++;
            }
        }
        assertThat(compared).as("windows that hold something").isGreaterThan(100);
    }
}
