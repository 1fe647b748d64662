package io.behaviorcep.profile;

import io.behaviorcep.event.BehaviorEvent;

/**
 * Per-user behaviour counters, bounded in size whatever the user does: events and sessions are
 * counted in 24 hourly and 8 daily ring buckets (so "last 24 h" and "last 7 d" are exact to the
 * bucket), everything else is a scalar. About 300 bytes per user on the heap backend.
 *
 * <p>Plain logic, no Flink: {@link ProfileFunction} keeps one of these in keyed state.
 */
public class ProfileState {
    public static final long HOUR = 3_600_000L;
    public static final long DAY = 24 * HOUR;
    /** A session ends after this much inactivity (Segment/GA convention). */
    public static final long SESSION_GAP = 30 * 60_000L;

    static final int HOURS = 24;
    static final int DAYS = 8;
    /** This week, the last completed one, and the five before: enough for two weeks of decay against a 4-week average. */
    static final int WEEKS = 8;
    public static final long WEEK = 7 * DAY;
    /** 1970-01-01 was a Thursday; weeks start on Monday 00:00 UTC. */
    private static final long MONDAY_OFFSET = 3 * DAY;

    public long firstSeen = Long.MIN_VALUE;
    public long lastSeen = Long.MIN_VALUE;
    public long sessionStart;
    public long sessionsLifetime;
    public long ordersLifetime;
    public double revenueLifetime;
    /** Index (epoch hours / days) of the newest bucket in each ring. */
    public long newestHour = Long.MIN_VALUE;
    public long newestDay = Long.MIN_VALUE;
    public long newestWeek = Long.MIN_VALUE;
    public int[] weeklySessions = new int[WEEKS];
    public int[] hourlyEvents = new int[HOURS];
    public int[] hourlySessions = new int[HOURS];
    public int[] dailyEvents = new int[DAYS];
    public int[] dailySessions = new int[DAYS];

    public ProfileState() {}

    public boolean isEmpty() {
        return lastSeen == Long.MIN_VALUE;
    }

    /** Counts one event. Events older than the rings only reach the lifetime counters. */
    public void add(BehaviorEvent e) {
        long ts = e.timestamp;
        boolean newSession = isEmpty() || ts - lastSeen > SESSION_GAP;
        if (isEmpty()) firstSeen = ts;
        firstSeen = Math.min(firstSeen, ts);
        if (newSession) {
            sessionsLifetime++;
            sessionStart = ts;
        }
        if (ts > lastSeen) lastSeen = ts;

        long hour = Math.floorDiv(ts, HOUR);
        long day = Math.floorDiv(ts, DAY);
        advanceRings(hour, day);
        if (newestHour - hour < HOURS) {
            int h = (int) Math.floorMod(hour, HOURS);
            hourlyEvents[h]++;
            if (newSession) hourlySessions[h]++;
        }
        if (newestDay - day < DAYS) {
            int d = (int) Math.floorMod(day, DAYS);
            dailyEvents[d]++;
            if (newSession) dailySessions[d]++;
        }
        long week = weekOf(ts);
        if (newSession && newestWeek - week < WEEKS) weeklySessions[(int) Math.floorMod(week, WEEKS)]++;

        if ("Order Completed".equals(e.event)) {
            ordersLifetime++;
            Double revenue = e.numericProperty("revenue");
            if (revenue == null) revenue = e.numericProperty("total");
            if (revenue != null && Double.isFinite(revenue)) revenueLifetime += revenue;
        }
    }

    private void advanceRings(long hour, long day) {
        long week = Math.floorDiv(hour * HOUR + MONDAY_OFFSET, WEEK);
        if (newestHour == Long.MIN_VALUE) {
            newestHour = hour;
            newestDay = day;
            newestWeek = week;
            return;
        }
        for (long w = newestWeek + 1; w <= week && w - newestWeek <= WEEKS; w++) {
            weeklySessions[(int) Math.floorMod(w, WEEKS)] = 0;
        }
        newestWeek = Math.max(newestWeek, week);
        for (long h = newestHour + 1; h <= hour && h - newestHour <= HOURS; h++) {
            int i = (int) Math.floorMod(h, HOURS);
            hourlyEvents[i] = 0;
            hourlySessions[i] = 0;
        }
        newestHour = Math.max(newestHour, hour);
        for (long d = newestDay + 1; d <= day && d - newestDay <= DAYS; d++) {
            int i = (int) Math.floorMod(d, DAYS);
            dailyEvents[i] = 0;
            dailySessions[i] = 0;
        }
        newestDay = Math.max(newestDay, day);
    }

    static long weekOf(long ts) {
        return Math.floorDiv(ts + MONDAY_OFFSET, WEEK);
    }

    private int sessionsInWeek(long week) {
        return newestWeek - week < WEEKS && week <= newestWeek ? weeklySessions[(int) Math.floorMod(week, WEEKS)] : 0;
    }

    private double priorAverage(long week) {
        double sum = 0;
        for (long w = week - 4; w < week; w++) sum += sessionsInWeek(w);
        return sum / 4;
    }

    private boolean decayed(long week) {
        double avg = priorAverage(week);
        return avg > 0 && sessionsInWeek(week) <= avg / 2;
    }

    /** The profile as of the newest event seen: windows end at that event's hour / day. */
    public ProfileSnapshot snapshot() {
        ProfileSnapshot s = new ProfileSnapshot();
        s.firstSeen = firstSeen;
        s.lastSeen = lastSeen;
        s.sessionsLifetime = sessionsLifetime;
        s.ordersLifetime = ordersLifetime;
        s.revenueLifetime = revenueLifetime;
        for (int i = 0; i < HOURS; i++) {
            s.events24h += hourlyEvents[i];
            s.sessions24h += hourlySessions[i];
        }
        // 7 days = today and the six before it; the eighth slot is the one about to be recycled.
        for (long d = newestDay - 6; d <= newestDay; d++) {
            int i = (int) Math.floorMod(d, DAYS);
            s.events7d += dailyEvents[i];
            s.sessions7d += dailySessions[i];
        }
        long lastWeek = newestWeek - 1;
        s.sessionsLastWeek = sessionsInWeek(lastWeek);
        s.sessionsWeeklyAvgPrior4 = priorAverage(lastWeek);
        s.decayWeeks = decayed(lastWeek) ? (decayed(lastWeek - 1) ? 2 : 1) : 0;
        return s;
    }
}
