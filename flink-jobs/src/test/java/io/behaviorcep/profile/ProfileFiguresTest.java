package io.behaviorcep.profile;

import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.event.BehaviorEvent;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static io.behaviorcep.profile.ProfileState.DAY;
import static io.behaviorcep.profile.ProfileState.HOUR;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Every profile figure: first against values computed by hand for a short, readable history, then
 * against a brute-force count over the raw events of a long generated history, as of each event
 * and as of later instants (windows moving on while the user is quiet).
 */
class ProfileFiguresTest {
    /** Monday 2026-03-02 00:00 UTC. */
    static final long D0 = Instant.parse("2026-03-02T00:00:00Z").toEpochMilli();
    static final long MIN = 60_000L;

    static BehaviorEvent track(long ts, String name, String... props) {
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

    static BehaviorEvent page(long ts) {
        BehaviorEvent e = track(ts, "Home");
        e.type = "page";
        return e;
    }

    @Test
    void aShortHistoryByHand() {
        ProfileState s = new ProfileState();
        // day 0, session 1 (09:00 - 09:20): 2 pages, 3 product views, an add
        s.add(page(D0 + 9 * HOUR));
        s.add(track(D0 + 9 * HOUR + 5 * MIN, "Product Viewed"));
        s.add(track(D0 + 9 * HOUR + 6 * MIN, "Product Viewed"));
        s.add(page(D0 + 9 * HOUR + 10 * MIN));
        s.add(track(D0 + 9 * HOUR + 15 * MIN, "Product Viewed"));
        s.add(track(D0 + 9 * HOUR + 20 * MIN, "Product Added"));
        // day 2, session 2 (18:00 - 18:45): checkout and an order of 80.5
        s.add(track(D0 + 2 * DAY + 18 * HOUR, "Product Viewed"));
        s.add(track(D0 + 2 * DAY + 18 * HOUR + 30 * MIN, "Checkout Started"));
        s.add(track(D0 + 2 * DAY + 18 * HOUR + 45 * MIN, "Order Completed", "revenue", "80.5"));
        // day 2, session 3, 31 minutes later (19:16 - 19:20): one page
        s.add(page(D0 + 2 * DAY + 19 * HOUR + 16 * MIN));
        s.add(page(D0 + 2 * DAY + 19 * HOUR + 20 * MIN));

        ProfileSnapshot p = s.snapshot();
        assertThat(p.asOf).isEqualTo(D0 + 2 * DAY + 19 * HOUR + 20 * MIN);
        assertThat(p.eventsLifetime).isEqualTo(11);
        assertThat(p.sessionsLifetime).isEqualTo(3);
        // the last hour: five-minute slots 18:25 .. 19:20 hold checkout, order and the two pages
        assertThat(p.events1h).isEqualTo(4);
        assertThat(p.sessions1h).isEqualTo(1);
        assertThat(p.events24h).isEqualTo(5);
        assertThat(p.sessions24h).isEqualTo(2);
        assertThat(p.events7d).isEqualTo(11);
        assertThat(p.events30d).isEqualTo(11);
        assertThat(p.sessions7d).isEqualTo(3);
        assertThat(p.activeDays7d).isEqualTo(2);
        assertThat(p.activeDays30d).isEqualTo(2);
        assertThat(p.currentSessionStart).isEqualTo(D0 + 2 * DAY + 19 * HOUR + 16 * MIN);
        assertThat(p.currentSessionDurationS).isEqualTo(4 * 60);
        assertThat(p.lastSessionDurationS).isEqualTo(45 * 60);
        // (20 + 45 + 4) minutes over 3 sessions
        assertThat(p.avgSessionDurationS).isCloseTo(69 * 60 / 3.0, within(1e-9));
        assertThat(p.sessionPageViews).isEqualTo(2);
        assertThat(p.sessionProductViews).isZero();
        assertThat(p.pageViewsLifetime).isEqualTo(4);
        assertThat(p.productViewsLifetime).isEqualTo(4);
        assertThat(p.pageViewsPerSession).isCloseTo(4 / 3.0, within(1e-9));
        assertThat(p.productViewsPerSession).isCloseTo(4 / 3.0, within(1e-9));
        assertThat(p.productViews7d).isEqualTo(4);
        assertThat(p.productViews30d).isEqualTo(4);
        assertThat(p.addsLifetime).isEqualTo(1);
        assertThat(p.adds30d).isEqualTo(1);
        assertThat(p.checkoutsLifetime).isEqualTo(1);
        assertThat(p.checkouts30d).isEqualTo(1);
        assertThat(p.ordersLifetime).isEqualTo(1);
        assertThat(p.orders30d).isEqualTo(1);
        assertThat(p.revenueLifetime).isEqualTo(80.5);
        assertThat(p.revenue30d).isEqualTo(80.5);
        assertThat(p.daysSinceFirstSeen).isEqualTo(2);
        assertThat(p.daysSinceLastSeen).isZero();
        assertThat(p.field("revenue_30d")).isEqualTo("80.5");
        assertThat(p.field("active_days_7d")).isEqualTo("2");

        // as of day 8, 12:00 without another event: day 0 has left the 7-day window
        ProfileSnapshot later = s.snapshot(D0 + 8 * DAY + 12 * HOUR);
        assertThat(later.events1h).isZero();
        assertThat(later.events24h).isZero();
        assertThat(later.events7d).isEqualTo(5);
        assertThat(later.sessions7d).isEqualTo(2);
        assertThat(later.productViews7d).isEqualTo(1);
        assertThat(later.activeDays7d).isEqualTo(1);
        assertThat(later.activeDays30d).isEqualTo(2);
        assertThat(later.events30d).isEqualTo(11);
        assertThat(later.daysSinceLastSeen).isEqualTo(5); // 19:20 on day 2 to 12:00 on day 8: 5 days 16 h
        assertThat(later.daysSinceFirstSeen).isEqualTo(8);
        // as of day 32: only day 2 is left in the 30-day window (days 3 .. 32 -> nothing)
        ProfileSnapshot month = s.snapshot(D0 + 32 * DAY);
        assertThat(month.events30d).isZero();
        assertThat(month.revenue30d).isZero();
        assertThat(month.orders30d).isZero();
        assertThat(month.revenueLifetime).isEqualTo(80.5);
        assertThat(s.snapshot(D0 + 31 * DAY + 23 * HOUR).orders30d).isEqualTo(1); // days 2 .. 31
    }

    /** Brute force over the raw events: what each figure means, without rings. */
    record Raw(long ts, String kind, double revenue) {}

    static ProfileSnapshot bruteForce(List<Raw> events, long asOf) {
        ProfileSnapshot p = new ProfileSnapshot();
        List<long[]> sessions = new ArrayList<>(); // {start, end}
        List<int[]> sessionViews = new ArrayList<>(); // {pages, product views}
        boolean[] starts = new boolean[events.size()];
        long prev = Long.MIN_VALUE;
        for (int i = 0; i < events.size(); i++) {
            Raw e = events.get(i);
            if (prev == Long.MIN_VALUE || e.ts - prev > ProfileState.SESSION_GAP) {
                starts[i] = true;
                sessions.add(new long[] {e.ts, e.ts});
                sessionViews.add(new int[2]);
            }
            sessions.get(sessions.size() - 1)[1] = e.ts;
            if (e.kind.equals("page")) sessionViews.get(sessionViews.size() - 1)[0]++;
            if (e.kind.equals("Product Viewed")) sessionViews.get(sessionViews.size() - 1)[1]++;
            prev = e.ts;
        }
        long slot = Math.floorDiv(asOf, ProfileState.SLOT), hour = Math.floorDiv(asOf, HOUR), day = Math.floorDiv(asOf, DAY);
        Set<Long> days7 = new HashSet<>(), days30 = new HashSet<>();
        for (int i = 0; i < events.size(); i++) {
            Raw e = events.get(i);
            boolean start = starts[i];
            long es = Math.floorDiv(e.ts, ProfileState.SLOT), eh = Math.floorDiv(e.ts, HOUR), ed = Math.floorDiv(e.ts, DAY);
            boolean in1h = es > slot - 12 && es <= slot, in24 = eh > hour - 24 && eh <= hour;
            boolean in7 = ed > day - 7 && ed <= day, in30 = ed > day - 30 && ed <= day;
            p.eventsLifetime++;
            if (in1h) { p.events1h++; if (start) p.sessions1h++; }
            if (in24) { p.events24h++; if (start) p.sessions24h++; }
            if (in7) { p.events7d++; if (start) p.sessions7d++; days7.add(ed); }
            if (in30) { p.events30d++; if (start) p.sessions30d++; days30.add(ed); }
            switch (e.kind) {
                case "page" -> p.pageViewsLifetime++;
                case "Product Viewed" -> {
                    p.productViewsLifetime++;
                    if (in7) p.productViews7d++;
                    if (in30) p.productViews30d++;
                }
                case "Product Added" -> { p.addsLifetime++; if (in30) p.adds30d++; }
                case "Checkout Started" -> { p.checkoutsLifetime++; if (in30) p.checkouts30d++; }
                case "Order Completed" -> {
                    p.ordersLifetime++;
                    p.revenueLifetime += e.revenue;
                    if (in30) { p.orders30d++; p.revenue30d += e.revenue; }
                }
                default -> { }
            }
        }
        p.activeDays7d = days7.size();
        p.activeDays30d = days30.size();
        p.sessionsLifetime = sessions.size();
        long[] last = sessions.get(sessions.size() - 1);
        p.firstSeen = events.get(0).ts;
        p.lastSeen = last[1];
        p.currentSessionStart = last[0];
        p.currentSessionDurationS = (last[1] - last[0]) / 1000;
        p.lastSessionDurationS = sessions.size() < 2 ? 0 : (sessions.get(sessions.size() - 2)[1] - sessions.get(sessions.size() - 2)[0]) / 1000;
        long total = 0;
        for (long[] s : sessions) total += s[1] - s[0];
        p.avgSessionDurationS = total / 1000.0 / sessions.size();
        p.sessionPageViews = sessionViews.get(sessionViews.size() - 1)[0];
        p.sessionProductViews = sessionViews.get(sessionViews.size() - 1)[1];
        p.pageViewsPerSession = (double) p.pageViewsLifetime / sessions.size();
        p.productViewsPerSession = (double) p.productViewsLifetime / sessions.size();
        p.daysSinceFirstSeen = Math.floorDiv(asOf - p.firstSeen, DAY);
        p.daysSinceLastSeen = Math.floorDiv(asOf - p.lastSeen, DAY);
        return p;
    }

    static void assertSame(ProfileSnapshot actual, ProfileSnapshot expected, String when) {
        for (String f : ProfileSnapshot.FIELDS) {
            if (f.equals("sessions_last_week") || f.equals("sessions_weekly_avg_prior_4") || f.equals("decay_weeks")) continue;
            String a = actual.field(f), e = expected.field(f);
            if (f.contains("avg") || f.contains("per_session") || f.contains("revenue")) {
                assertThat(Double.parseDouble(a)).as(f + " " + when).isCloseTo(Double.parseDouble(e), within(1e-6));
            } else {
                assertThat(a).as(f + " " + when).isEqualTo(e);
            }
        }
    }

    @Test
    void aGeneratedHistoryMatchesABruteForceCountAsOfEveryEventAndLater() {
        Random r = new Random(11);
        String[] kinds = {"page", "page", "Product Viewed", "Product Viewed", "Product Viewed", "Product Added", "Checkout Started",
                "Order Completed", "Signed Up"};
        ProfileState s = new ProfileState();
        List<Raw> raw = new ArrayList<>();
        long t = D0 + 7 * HOUR + 13 * MIN;
        for (int i = 0; i < 1_500; i++) {
            int gap = r.nextInt(100);
            t += gap < 60 ? r.nextInt(8) * MIN + r.nextInt(60_000) : gap < 90 ? r.nextInt(5 * 60) * MIN : gap < 98 ? r.nextInt(3) * DAY + r.nextInt(20) * HOUR : r.nextInt(40) * DAY;
            String kind = kinds[r.nextInt(kinds.length)];
            double revenue = kind.equals("Order Completed") ? r.nextInt(50_000) / 100.0 : 0;
            BehaviorEvent e = kind.equals("page") ? page(t)
                    : kind.equals("Order Completed") ? track(t, kind, "revenue", Double.toString(revenue)) : track(t, kind);
            raw.add(new Raw(t, kind, revenue));
            s.add(e);
            assertSame(s.snapshot(), bruteForce(raw, t), "after " + raw.size() + " events");
            if (i % 25 == 0) {
                // the same user, quiet for a while: windows move on
                long later = t + (long) (r.nextDouble() * 45 * DAY);
                assertSame(s.snapshot(later), bruteForce(raw, later), "as of " + Instant.ofEpochMilli(later) + " after " + raw.size() + " events");
            }
            if (i % 100 == 99) {
                // rings dropped while out of their windows change nothing
                long quiet = t + 31 * DAY;
                ProfileState copy = copyOf(s);
                assertThat(copy.compact(quiet)).isTrue();
                assertThat(copy.dailyEvents).isNull();
                assertSame(copy.snapshot(quiet), bruteForce(raw, quiet), "compacted, as of " + Instant.ofEpochMilli(quiet));
            }
        }
    }

    static ProfileState copyOf(ProfileState s) {
        return org.apache.flink.api.common.typeinfo.TypeInformation.of(ProfileState.class)
                .createSerializer(new org.apache.flink.api.common.serialization.SerializerConfigImpl()).copy(s);
    }

    @Test
    void aCompactedProfileStartsItsRingsAgainOnTheNextEvent() {
        ProfileState s = new ProfileState();
        s.add(track(D0 + HOUR, "Order Completed", "revenue", "10"));
        s.add(track(D0 + HOUR + MIN, "Product Viewed"));
        assertThat(s.compactAt()).isEqualTo(D0 + 30 * DAY);
        assertThat(s.compact(D0 + HOUR + 50 * MIN)).isFalse(); // everything still in its window
        assertThat(s.compact(D0 + 30 * DAY - 1)).isTrue();     // the hourly and slot rings go, the daily one not yet
        assertThat(s.hourlyEvents).isNull();
        assertThat(s.slotEvents).isNull();
        assertThat(s.dailyEvents).isNotNull();
        assertThat(s.compact(D0 + 30 * DAY)).isTrue();
        assertThat(s.dailyEvents).isNull();
        assertThat(s.dailyCommerce).isNull();
        assertThat(s.dailyRevenue).isNull();
        assertThat(s.compactAt()).isEqualTo(Long.MAX_VALUE);

        s.add(page(D0 + 40 * DAY));
        ProfileSnapshot p = s.snapshot();
        assertThat(p.events30d).isEqualTo(1);
        assertThat(p.events1h).isEqualTo(1);
        assertThat(p.orders30d).isZero();
        assertThat(p.ordersLifetime).isEqualTo(1);
        assertThat(p.eventsLifetime).isEqualTo(3);
        assertThat(p.activeDays30d).isEqualTo(1);
    }

    @Test
    void stateOfTheEightDayLayoutIsReadIntoTheThirtyDayOne() {
        ProfileState s = new ProfileState();
        // what the previous version held after events on days 2, 5 and 9 (ring of 8 days: days 2 .. 9)
        s.firstSeen = D0 + 2 * DAY;
        s.lastSeen = D0 + 9 * DAY + HOUR;
        s.sessionStart = s.lastSeen;
        s.sessionsLifetime = 3;
        s.newestHour = Math.floorDiv(s.lastSeen, HOUR);
        s.newestDay = Math.floorDiv(s.lastSeen, DAY);
        s.newestWeek = ProfileState.weekOf(s.lastSeen);
        s.hourlyEvents = new int[24];
        s.hourlySessions = new int[24];
        s.hourlyEvents[(int) Math.floorMod(s.newestHour, 24)] = 1;
        s.hourlySessions[(int) Math.floorMod(s.newestHour, 24)] = 1;
        s.dailyEvents = new int[8];
        s.dailySessions = new int[8];
        long day0 = Math.floorDiv(D0, DAY);
        for (long d : new long[] {2, 5, 9}) {
            s.dailyEvents[(int) Math.floorMod(day0 + d, 8)] = 2;
            s.dailySessions[(int) Math.floorMod(day0 + d, 8)] = 1;
        }
        ProfileSnapshot p = s.snapshot();
        assertThat(s.dailyEvents).hasSize(30);
        assertThat(p.events7d).isEqualTo(4);  // days 3..9: 5 and 9
        assertThat(p.events30d).isEqualTo(6); // 2, 5 and 9
        assertThat(p.sessions30d).isEqualTo(3);
        assertThat(p.activeDays30d).isEqualTo(3);
        s.add(page(D0 + 10 * DAY));
        assertThat(s.snapshot().events30d).isEqualTo(7);
    }
}
