package io.behaviorcep.profile;

import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.event.BehaviorEvent;

/**
 * Per-user behaviour counters, bounded in size whatever the user does. Sliding windows are ring
 * buffers of buckets, exact to the bucket:
 *
 * <ul>
 *   <li>12 five-minute buckets: events and sessions in the last hour;</li>
 *   <li>24 hourly buckets: the last 24 hours;</li>
 *   <li>30 daily buckets (UTC days): the last 7 and 30 days, active days, and, allocated only once the
 *       user has any, product views, adds, checkouts, orders and revenue per day;</li>
 *   <li>8 weekly session counts (calendar weeks from Monday 00:00 UTC): engagement decay.</li>
 * </ul>
 *
 * Everything else is a scalar. Rings that lie entirely outside their window are dropped by
 * {@link #compact} (the profile operator calls it once a user has been quiet for 30 days), so a quiet
 * user costs only the scalars and the weekly ring. {@code ProfileStateSizeTest} measures the
 * serialized size for an active and an idle user.
 *
 * <p>Plain logic, no Flink: {@link ProfileFunction} keeps one of these in keyed state, written by
 * {@link ProfileStateSerializer} (compact: mostly-empty rings cost only their non-zero buckets; new
 * fields need a new layout version there). State written by the 8-day layout of earlier versions is
 * converted on first use.
 */
@org.apache.flink.api.common.typeinfo.TypeInfo(ProfileStateTypeInfo.Factory.class)
public class ProfileState {
    public static final long MINUTE = 60_000L;
    public static final long SLOT = 5 * MINUTE;
    public static final long HOUR = 3_600_000L;
    public static final long DAY = 24 * HOUR;
    public static final long WEEK = 7 * DAY;
    /** A session ends after this much inactivity (Segment/GA convention). */
    public static final long SESSION_GAP = 30 * MINUTE;

    static final int SLOTS = 12;
    static final int HOURS = 24;
    static final int DAYS = 30;
    /** This week, the last completed one, and the five before: enough for two weeks of decay against a 4-week average. */
    static final int WEEKS = 8;
    /** Per-day commerce counters, interleaved in {@link #dailyCommerce}: index {@code slot * COMMERCE + kind}. */
    static final int VIEWS = 0, ADDS = 1, CHECKOUTS = 2, ORDERS = 3, COMMERCE = 4;
    /** 1970-01-01 was a Thursday; weeks start on Monday 00:00 UTC. */
    private static final long MONDAY_OFFSET = 3 * DAY;

    public static final String PRODUCT_VIEWED = "Product Viewed";
    public static final String PRODUCT_ADDED = "Product Added";
    public static final String CHECKOUT_STARTED = "Checkout Started";
    public static final String ORDER_COMPLETED = "Order Completed";

    /** Bounds of the latest events kept for the read API: 10 events, names of at most 64 characters. */
    public static final int RECENT_EVENTS = 10;
    public static final int RECENT_EVENT_NAME_MAX = 64;

    public long firstSeen = Long.MIN_VALUE;
    public long lastSeen = Long.MIN_VALUE;
    /** Start of the user's latest session. */
    public long sessionStart;
    public long sessionsLifetime;
    public long eventsLifetime;
    /** Summed durations (last event minus first event) of the completed sessions, ms. */
    public long sessionTimeCompleted;
    /** Duration of the session before the latest one, ms; 0 while there was only one. */
    public long previousSessionDuration;
    /** Page/screen views and product views in the latest session. */
    public int sessionPageViews;
    public int sessionProductViews;
    public long pageViewsLifetime;
    public long productViewsLifetime;
    public long addsLifetime;
    public long checkoutsLifetime;
    public long ordersLifetime;
    public double revenueLifetime;

    /** Index (epoch five-minute slots / hours / days / weeks) of the newest bucket in each ring. */
    public long newestSlot = Long.MIN_VALUE;
    public long newestHour = Long.MIN_VALUE;
    public long newestDay = Long.MIN_VALUE;
    public long newestWeek = Long.MIN_VALUE;
    public int[] weeklySessions = new int[WEEKS];
    /** Null when compacted (all outside the window) or not yet used. */
    public int[] slotEvents;
    public int[] slotSessions;
    public int[] hourlyEvents;
    public int[] hourlySessions;
    public int[] dailyEvents;
    public int[] dailySessions;
    /** {@link #COMMERCE} counters per day; null until the user views a product, adds, checks out or orders. */
    public int[] dailyCommerce;
    /** Revenue per day; null until the user's first order with revenue. */
    public double[] dailyRevenue;

    /**
     * The user's latest events for the read API ({@code user_profiles.recent_events}): at most
     * {@link #RECENT_EVENTS}, newest first, name (a track event's name, else the type, cut to
     * {@link #RECENT_EVENT_NAME_MAX} characters) and event time. Bounded, and kept through
     * {@link #compact} (a quiet user's last actions stay true). Null until the first event.
     */
    public String[] recentEventNames;
    public long[] recentEventTimes;

    // --- kept by the profile operator, not behaviour ---------------------------------------------
    /** As-of time of the profile last written to PostgreSQL ({@code user_profiles}); MIN_VALUE if never. */
    public long writtenAt = Long.MIN_VALUE;
    /** Counted since {@link #writtenAt}: a write is due. */
    public boolean dirty;
    /** The user opted out (an opt-out event): their events are neither profiled nor matched. */
    public boolean optedOut;
    /** The user is on the suppression list ({@code suppressed_users}): the same effect. */
    public boolean suppressionListed;
    /** Next instant at which a threshold segment of this user may change by time alone; MIN_VALUE if none. */
    public long segmentCheckAt = Long.MIN_VALUE;
    /** The computed traits' state ({@link io.behaviorcep.trait.TraitSet}, bounds there); null while the job defines none. */
    public io.behaviorcep.trait.TraitCell[] traits;

    public ProfileState() {}

    public boolean isEmpty() {
        return lastSeen == Long.MIN_VALUE;
    }

    public boolean suppressed() {
        return optedOut || suppressionListed;
    }

    /** Counts one event. Events older than the rings only reach the lifetime counters. */
    public void add(BehaviorEvent e) {
        upgrade();
        long ts = e.timestamp;
        boolean first = isEmpty();
        boolean newSession = first || ts - lastSeen > SESSION_GAP;
        firstSeen = first ? ts : Math.min(firstSeen, ts);
        if (newSession) {
            if (!first) {
                previousSessionDuration = lastSeen - sessionStart;
                sessionTimeCompleted += previousSessionDuration;
            }
            sessionsLifetime++;
            sessionStart = ts;
            sessionPageViews = 0;
            sessionProductViews = 0;
        }
        if (ts > lastSeen) lastSeen = ts;
        eventsLifetime++;
        rememberRecent(e);

        long slot = Math.floorDiv(ts, SLOT);
        long hour = Math.floorDiv(ts, HOUR);
        long day = Math.floorDiv(ts, DAY);
        long week = weekOf(ts);
        advance(slot, hour, day, week);
        int s = newSession ? 1 : 0;
        if (newestSlot - slot < SLOTS) {
            int i = (int) Math.floorMod(slot, SLOTS);
            slotEvents[i]++;
            slotSessions[i] += s;
        }
        if (newestHour - hour < HOURS) {
            int i = (int) Math.floorMod(hour, HOURS);
            hourlyEvents[i]++;
            hourlySessions[i] += s;
        }
        int d = newestDay - day < DAYS ? (int) Math.floorMod(day, DAYS) : -1;
        if (d >= 0) {
            dailyEvents[d]++;
            dailySessions[d] += s;
        }
        if (newSession && newestWeek - week < WEEKS) weeklySessions[(int) Math.floorMod(week, WEEKS)]++;

        if ("page".equals(e.type) || "screen".equals(e.type)) {
            pageViewsLifetime++;
            sessionPageViews++;
        } else if ("track".equals(e.type) && e.event != null) {
            switch (e.event) {
                case PRODUCT_VIEWED -> {
                    productViewsLifetime++;
                    sessionProductViews++;
                    commerce(d, VIEWS);
                }
                case PRODUCT_ADDED -> {
                    addsLifetime++;
                    commerce(d, ADDS);
                }
                case CHECKOUT_STARTED -> {
                    checkoutsLifetime++;
                    commerce(d, CHECKOUTS);
                }
                case ORDER_COMPLETED -> {
                    ordersLifetime++;
                    commerce(d, ORDERS);
                    Double revenue = e.numericProperty("revenue");
                    if (revenue == null) revenue = e.numericProperty("total");
                    if (revenue != null && Double.isFinite(revenue)) {
                        revenueLifetime += revenue;
                        if (d >= 0 && revenue != 0) {
                            if (dailyRevenue == null) dailyRevenue = new double[DAYS];
                            dailyRevenue[d] += revenue;
                        }
                    }
                }
                default -> { }
            }
        }
    }

    /** Keeps {@code e} among the {@link #RECENT_EVENTS} newest by event time (ties: the later one counted first). */
    private void rememberRecent(BehaviorEvent e) {
        String name = "track".equals(e.type) && e.event != null ? e.event : String.valueOf(e.type);
        if (name.length() > RECENT_EVENT_NAME_MAX) {
            int end = RECENT_EVENT_NAME_MAX;
            if (Character.isHighSurrogate(name.charAt(end - 1))) end--; // never half a character
            name = name.substring(0, end);
        }
        int n = recentEventTimes == null ? 0 : recentEventTimes.length;
        int at = 0;
        while (at < n && recentEventTimes[at] > e.timestamp) at++;
        if (at >= RECENT_EVENTS) return; // older than every one kept
        if (n < RECENT_EVENTS) { // grows only over a user's first events
            recentEventNames = java.util.Arrays.copyOf(recentEventNames == null ? new String[0] : recentEventNames, n + 1);
            recentEventTimes = java.util.Arrays.copyOf(recentEventTimes == null ? new long[0] : recentEventTimes, n + 1);
            n++;
        }
        // the oldest falls off the end
        System.arraycopy(recentEventNames, at, recentEventNames, at + 1, n - at - 1);
        System.arraycopy(recentEventTimes, at, recentEventTimes, at + 1, n - at - 1);
        recentEventNames[at] = name;
        recentEventTimes[at] = e.timestamp;
    }

    private void commerce(int daySlot, int kind) {
        if (daySlot < 0) return;
        if (dailyCommerce == null) dailyCommerce = new int[DAYS * COMMERCE];
        dailyCommerce[daySlot * COMMERCE + kind]++;
    }

    /** Moves every ring forward to the given newest buckets, zeroing the buckets it recycles; allocates dropped rings. */
    private void advance(long slot, long hour, long day, long week) {
        if (slotEvents == null) {
            slotEvents = new int[SLOTS];
            slotSessions = new int[SLOTS];
        }
        if (hourlyEvents == null) {
            hourlyEvents = new int[HOURS];
            hourlySessions = new int[HOURS];
        }
        if (dailyEvents == null) {
            dailyEvents = new int[DAYS];
            dailySessions = new int[DAYS];
        }
        if (newestWeek == Long.MIN_VALUE) newestWeek = week;
        for (long w = newestWeek + 1; w <= week && w - newestWeek <= WEEKS; w++) weeklySessions[(int) Math.floorMod(w, WEEKS)] = 0;
        newestWeek = Math.max(newestWeek, week);
        if (newestSlot == Long.MIN_VALUE) newestSlot = slot;
        for (long x = newestSlot + 1; x <= slot && x - newestSlot <= SLOTS; x++) {
            int i = (int) Math.floorMod(x, SLOTS);
            slotEvents[i] = 0;
            slotSessions[i] = 0;
        }
        newestSlot = Math.max(newestSlot, slot);
        if (newestHour == Long.MIN_VALUE) newestHour = hour;
        for (long h = newestHour + 1; h <= hour && h - newestHour <= HOURS; h++) {
            int i = (int) Math.floorMod(h, HOURS);
            hourlyEvents[i] = 0;
            hourlySessions[i] = 0;
        }
        newestHour = Math.max(newestHour, hour);
        if (newestDay == Long.MIN_VALUE) newestDay = day;
        for (long d = newestDay + 1; d <= day && d - newestDay <= DAYS; d++) {
            int i = (int) Math.floorMod(d, DAYS);
            dailyEvents[i] = 0;
            dailySessions[i] = 0;
            if (dailyCommerce != null) for (int k = 0; k < COMMERCE; k++) dailyCommerce[i * COMMERCE + k] = 0;
            if (dailyRevenue != null) dailyRevenue[i] = 0;
        }
        newestDay = Math.max(newestDay, day);
    }

    /**
     * State written before the 30-day ring (8 daily buckets, no five-minute ring) is laid out again:
     * the days it held keep their counts.
     */
    void upgrade() {
        if (dailyEvents != null && dailyEvents.length != DAYS) {
            int old = dailyEvents.length;
            int[] events = new int[DAYS];
            int[] sessions = new int[DAYS];
            for (long d = newestDay - old + 1; d <= newestDay; d++) {
                int from = (int) Math.floorMod(d, old);
                int to = (int) Math.floorMod(d, DAYS);
                events[to] = dailyEvents[from];
                sessions[to] = dailySessions != null && dailySessions.length == old ? dailySessions[from] : 0;
            }
            dailyEvents = events;
            dailySessions = sessions;
        }
        if (newestSlot == Long.MIN_VALUE && slotEvents == null && lastSeen != Long.MIN_VALUE) {
            // no five-minute ring before: start it at the newest event, empty
            newestSlot = Math.floorDiv(lastSeen, SLOT);
        }
    }

    /**
     * Drops the rings that lie entirely outside their window as of {@code now}: they hold nothing a
     * snapshot at or after {@code now} would read, and are allocated again by the next event.
     *
     * @return whether anything was dropped
     */
    public boolean compact(long now) {
        boolean changed = false;
        if (slotEvents != null && Math.floorDiv(now, SLOT) - newestSlot >= SLOTS) {
            slotEvents = null;
            slotSessions = null;
            changed = true;
        }
        if (hourlyEvents != null && Math.floorDiv(now, HOUR) - newestHour >= HOURS) {
            hourlyEvents = null;
            hourlySessions = null;
            changed = true;
        }
        if (dailyEvents != null && Math.floorDiv(now, DAY) - newestDay >= DAYS) {
            dailyEvents = null;
            dailySessions = null;
            dailyCommerce = null;
            dailyRevenue = null;
            changed = true;
        }
        return changed;
    }

    /** When {@link #compact} can drop every ring but the weekly one; MAX_VALUE if there is none to drop. */
    public long compactAt() {
        if (dailyEvents == null && hourlyEvents == null && slotEvents == null) return Long.MAX_VALUE;
        if (newestDay == Long.MIN_VALUE) return Long.MAX_VALUE;
        return (newestDay + DAYS) * DAY;
    }

    static long weekOf(long ts) {
        return Math.floorDiv(ts + MONDAY_OFFSET, WEEK);
    }

    /** Start (epoch ms) of week index {@code week}. */
    static long weekStart(long week) {
        return week * WEEK - MONDAY_OFFSET;
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

    /** Sum of {@code ring[i * stride + offset]} over the buckets {@code to - width + 1 .. to} the ring holds. */
    static int sum(int[] ring, int stride, int offset, long newest, long to, int width) {
        if (ring == null || newest == Long.MIN_VALUE) return 0;
        int size = ring.length / stride;
        long from = Math.max(to - width + 1, newest - size + 1);
        long until = Math.min(to, newest);
        int s = 0;
        // one modulo per call, not per bucket: this runs for every field of every profile snapshot
        int i = from <= until ? (int) Math.floorMod(from, size) : 0;
        for (long b = from; b <= until; b++) {
            s += ring[i * stride + offset];
            if (++i == size) i = 0;
        }
        return s;
    }

    static double sum(double[] ring, long newest, long to, int width) {
        if (ring == null || newest == Long.MIN_VALUE) return 0;
        long from = Math.max(to - width + 1, newest - ring.length + 1);
        long until = Math.min(to, newest);
        double s = 0;
        int i = from <= until ? (int) Math.floorMod(from, ring.length) : 0;
        for (long b = from; b <= until; b++) {
            s += ring[i];
            if (++i == ring.length) i = 0;
        }
        return s;
    }

    static int countNonZero(int[] ring, long newest, long to, int width) {
        if (ring == null || newest == Long.MIN_VALUE) return 0;
        long from = Math.max(to - width + 1, newest - ring.length + 1);
        long until = Math.min(to, newest);
        int n = 0;
        int i = from <= until ? (int) Math.floorMod(from, ring.length) : 0;
        for (long b = from; b <= until; b++) {
            if (ring[i] > 0) n++;
            if (++i == ring.length) i = 0;
        }
        return n;
    }

    /** Whether the daily rings have one length, so that {@link #dailyWindows} can read them in one pass. */
    private boolean dailyRingsAligned() {
        if (dailyEvents == null || dailySessions == null || newestDay == Long.MIN_VALUE) return false;
        int size = dailyEvents.length;
        return size > 0 && dailySessions.length == size && (dailyCommerce == null || dailyCommerce.length == size * COMMERCE)
                && (dailyRevenue == null || dailyRevenue.length == size);
    }

    /**
     * The 7- and 30-day windows of every daily ring in one pass over the days (the snapshot is taken
     * for every event, and a pass per field was a measurable share of the job): the same sums, added
     * in the same order, as {@link #sum} and {@link #countNonZero} field by field.
     */
    private void dailyWindows(ProfileSnapshot s, long day) {
        int size = dailyEvents.length;
        long from = Math.max(day - 30 + 1, newestDay - size + 1);
        long until = Math.min(day, newestDay);
        long from7 = day - 7 + 1;
        int events7 = 0, events30 = 0, sessions7 = 0, sessions30 = 0, active7 = 0, active30 = 0;
        int views7 = 0, views30 = 0, adds30 = 0, checkouts30 = 0, orders30 = 0;
        double revenue30 = 0;
        int i = from <= until ? (int) Math.floorMod(from, size) : 0;
        for (long b = from; b <= until; b++) {
            int events = dailyEvents[i], sessions = dailySessions[i];
            boolean week = b >= from7;
            events30 += events;
            sessions30 += sessions;
            if (events > 0) active30++;
            if (week) {
                events7 += events;
                sessions7 += sessions;
                if (events > 0) active7++;
            }
            if (dailyCommerce != null) {
                int c = i * COMMERCE;
                views30 += dailyCommerce[c + VIEWS];
                if (week) views7 += dailyCommerce[c + VIEWS];
                adds30 += dailyCommerce[c + ADDS];
                checkouts30 += dailyCommerce[c + CHECKOUTS];
                orders30 += dailyCommerce[c + ORDERS];
            }
            if (dailyRevenue != null) revenue30 += dailyRevenue[i];
            if (++i == size) i = 0;
        }
        s.events7d = events7;
        s.events30d = events30;
        s.sessions7d = sessions7;
        s.sessions30d = sessions30;
        s.activeDays7d = active7;
        s.activeDays30d = active30;
        s.productViews7d = views7;
        s.productViews30d = views30;
        s.adds30d = adds30;
        s.checkouts30d = checkouts30;
        s.orders30d = orders30;
        s.revenue30d = revenue30;
    }

    /** The profile as of the newest event seen: windows end at that event's bucket. */
    public ProfileSnapshot snapshot() {
        return snapshot(lastSeen);
    }

    /**
     * The profile as of {@code asOf} (at or after the newest event): windows end at the bucket
     * holding {@code asOf}, so counts fall as time passes without events; {@code days_since_*}
     * are whole days up to {@code asOf}.
     */
    public ProfileSnapshot snapshot(long asOf) {
        upgrade();
        ProfileSnapshot s = new ProfileSnapshot();
        s.asOf = asOf;
        s.firstSeen = firstSeen;
        s.lastSeen = lastSeen;
        s.eventsLifetime = eventsLifetime;
        s.sessionsLifetime = sessionsLifetime;
        s.ordersLifetime = ordersLifetime;
        s.revenueLifetime = revenueLifetime;
        s.addsLifetime = addsLifetime;
        s.checkoutsLifetime = checkoutsLifetime;
        s.productViewsLifetime = productViewsLifetime;
        s.pageViewsLifetime = pageViewsLifetime;

        long slot = Math.floorDiv(asOf, SLOT);
        long hour = Math.floorDiv(asOf, HOUR);
        long day = Math.floorDiv(asOf, DAY);
        s.events1h = sum(slotEvents, 1, 0, newestSlot, slot, SLOTS);
        s.sessions1h = sum(slotSessions, 1, 0, newestSlot, slot, SLOTS);
        s.events24h = sum(hourlyEvents, 1, 0, newestHour, hour, HOURS);
        s.sessions24h = sum(hourlySessions, 1, 0, newestHour, hour, HOURS);
        if (dailyRingsAligned()) {
            dailyWindows(s, day);
        } else {
            s.events7d = sum(dailyEvents, 1, 0, newestDay, day, 7);
            s.sessions7d = sum(dailySessions, 1, 0, newestDay, day, 7);
            s.events30d = sum(dailyEvents, 1, 0, newestDay, day, 30);
            s.sessions30d = sum(dailySessions, 1, 0, newestDay, day, 30);
            s.activeDays7d = countNonZero(dailyEvents, newestDay, day, 7);
            s.activeDays30d = countNonZero(dailyEvents, newestDay, day, 30);
            s.productViews7d = sum(dailyCommerce, COMMERCE, VIEWS, newestDay, day, 7);
            s.productViews30d = sum(dailyCommerce, COMMERCE, VIEWS, newestDay, day, 30);
            s.adds30d = sum(dailyCommerce, COMMERCE, ADDS, newestDay, day, 30);
            s.checkouts30d = sum(dailyCommerce, COMMERCE, CHECKOUTS, newestDay, day, 30);
            s.orders30d = sum(dailyCommerce, COMMERCE, ORDERS, newestDay, day, 30);
            s.revenue30d = sum(dailyRevenue, newestDay, day, 30);
        }

        if (!isEmpty()) {
            s.currentSessionStart = sessionStart;
            s.currentSessionDurationS = (lastSeen - sessionStart) / 1000;
            s.lastSessionDurationS = previousSessionDuration / 1000;
            s.avgSessionDurationS = sessionsLifetime == 0 ? 0 : (sessionTimeCompleted + (lastSeen - sessionStart)) / 1000.0 / sessionsLifetime;
            s.pageViewsPerSession = sessionsLifetime == 0 ? 0 : (double) pageViewsLifetime / sessionsLifetime;
            s.productViewsPerSession = sessionsLifetime == 0 ? 0 : (double) productViewsLifetime / sessionsLifetime;
            s.daysSinceFirstSeen = Math.floorDiv(asOf - firstSeen, DAY);
            s.daysSinceLastSeen = Math.floorDiv(asOf - lastSeen, DAY);
        }
        s.sessionPageViews = sessionPageViews;
        s.sessionProductViews = sessionProductViews;

        long lastWeek = weekOf(asOf) - 1;
        s.sessionsLastWeek = sessionsInWeek(lastWeek);
        s.sessionsWeeklyAvgPrior4 = priorAverage(lastWeek);
        s.decayWeeks = decayed(lastWeek) ? (decayed(lastWeek - 1) ? 2 : 1) : 0;
        return s;
    }

    // --- when snapshots change by time alone (for threshold segments) -----------------------------

    /** Whether any bucket of the five-minute / hourly / daily / weekly ring still lies in its window at {@code t}. */
    boolean slotWindowLive(long t) {
        return slotEvents != null && newestSlot != Long.MIN_VALUE && Math.floorDiv(t, SLOT) - newestSlot < SLOTS;
    }

    boolean hourWindowLive(long t) {
        return hourlyEvents != null && newestHour != Long.MIN_VALUE && Math.floorDiv(t, HOUR) - newestHour < HOURS;
    }

    boolean dayWindowLive(long t) {
        return dailyEvents != null && newestDay != Long.MIN_VALUE && Math.floorDiv(t, DAY) - newestDay < DAYS;
    }

    boolean weekWindowLive(long t) {
        return newestWeek != Long.MIN_VALUE && weekOf(t) - newestWeek < WEEKS;
    }
}
