package io.behaviorcep.event;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * The part of a user's profile that travels with every event and every alert, as of that event
 * (or, for threshold segments and {@code user_profiles}, as of a point in time).
 * Field names (snake_case in JSON) are part of the alert contract: see docs/contracts.md.
 */
public class ProfileSnapshot {
    /** The instant the windows end at: the event's time, or the evaluation time. Not a profile field of its own. */
    public long asOf;
    public long firstSeen;
    public long lastSeen;
    public int events1h;
    public int events24h;
    public int events7d;
    public int events30d;
    public long eventsLifetime;
    public int sessions1h;
    public int sessions24h;
    public int sessions7d;
    public int sessions30d;
    public long sessionsLifetime;
    /** Start of the latest session (epoch ms). */
    public long currentSessionStart;
    /** Latest session so far: its last event minus its first, seconds. */
    public long currentSessionDurationS;
    /** The session before the latest one, seconds; 0 if none. */
    public long lastSessionDurationS;
    /** Mean over every session including the latest, seconds. */
    public double avgSessionDurationS;
    public int sessionPageViews;
    public int sessionProductViews;
    public double pageViewsPerSession;
    public double productViewsPerSession;
    public long pageViewsLifetime;
    public long productViewsLifetime;
    public int productViews7d;
    public int productViews30d;
    public long addsLifetime;
    public int adds30d;
    public long checkoutsLifetime;
    public int checkouts30d;
    public long ordersLifetime;
    public int orders30d;
    public double revenueLifetime;
    public double revenue30d;
    public int activeDays7d;
    public int activeDays30d;
    /** Whole days from first_seen / last_seen to the snapshot's time. */
    public long daysSinceFirstSeen;
    public long daysSinceLastSeen;
    /** Sessions in the last completed calendar week (Monday to Sunday, UTC). */
    public int sessionsLastWeek;
    /** Average weekly sessions over the four weeks before the last completed one. */
    public double sessionsWeeklyAvgPrior4;
    /**
     * Completed weeks in a row (0, 1 or 2, counting back from last week) in which the user's
     * sessions fell to half or less of their average over the four weeks before: engagement decay.
     */
    public int decayWeeks;
    /**
     * The computed traits ({@code profile.traits.<id>}), as of {@link #asOf}: ids and values (as
     * text; null: missing) side by side; null when the job defines no traits. Filled by the profile
     * operator ({@code io.behaviorcep.trait.TraitSet}).
     */
    public String[] traitIds;
    public String[] traitValues;

    /** A trait's field name starts so: {@code profile.traits.cart_value} is field {@code traits.cart_value}. */
    public static final String TRAITS_PREFIX = "traits.";

    public ProfileSnapshot() {}

    /** How a field changes when time passes without events: what a threshold segment must watch. */
    public enum TimeDependence {
        /** Changes only with events. */
        NONE,
        /** Bucketed in five-minute slots (the 1 h windows). */
        SLOT,
        /** Bucketed by the hour (24 h windows). */
        HOUR,
        /** Bucketed by the UTC day (7 d / 30 d windows, active days). */
        DAY,
        /** By calendar week (weekly session history). */
        WEEK,
        /** Whole days since last_seen. */
        SINCE_LAST_SEEN,
        /** Whole days since first_seen. */
        SINCE_FIRST_SEEN
    }

    private record Def(Function<ProfileSnapshot, String> value, java.util.function.ToDoubleFunction<ProfileSnapshot> number, TimeDependence time) {}

    /** Every field is a number; its text is what a condition would otherwise parse back, so both agree. */
    private static Def f(Function<ProfileSnapshot, Object> v, TimeDependence t) {
        return new Def(p -> {
            Object x = v.apply(p);
            return x instanceof Double d ? Double.toString(d) : String.valueOf(x);
        }, p -> ((Number) v.apply(p)).doubleValue(), t);
    }

    private static final Map<String, Def> DEFS = new java.util.LinkedHashMap<>();

    static {
        TimeDependence none = TimeDependence.NONE;
        DEFS.put("first_seen", f(p -> p.firstSeen, none));
        DEFS.put("last_seen", f(p -> p.lastSeen, none));
        DEFS.put("events_24h", f(p -> p.events24h, TimeDependence.HOUR));
        DEFS.put("events_7d", f(p -> p.events7d, TimeDependence.DAY));
        DEFS.put("sessions_24h", f(p -> p.sessions24h, TimeDependence.HOUR));
        DEFS.put("sessions_7d", f(p -> p.sessions7d, TimeDependence.DAY));
        DEFS.put("sessions_lifetime", f(p -> p.sessionsLifetime, none));
        DEFS.put("orders_lifetime", f(p -> p.ordersLifetime, none));
        DEFS.put("revenue_lifetime", f(p -> p.revenueLifetime, none));
        DEFS.put("sessions_last_week", f(p -> p.sessionsLastWeek, TimeDependence.WEEK));
        DEFS.put("sessions_weekly_avg_prior_4", f(p -> p.sessionsWeeklyAvgPrior4, TimeDependence.WEEK));
        DEFS.put("decay_weeks", f(p -> p.decayWeeks, TimeDependence.WEEK));
        // added with threshold segments
        DEFS.put("events_1h", f(p -> p.events1h, TimeDependence.SLOT));
        DEFS.put("events_30d", f(p -> p.events30d, TimeDependence.DAY));
        DEFS.put("events_lifetime", f(p -> p.eventsLifetime, none));
        DEFS.put("sessions_1h", f(p -> p.sessions1h, TimeDependence.SLOT));
        DEFS.put("sessions_30d", f(p -> p.sessions30d, TimeDependence.DAY));
        DEFS.put("current_session_start", f(p -> p.currentSessionStart, none));
        DEFS.put("current_session_duration_s", f(p -> p.currentSessionDurationS, none));
        DEFS.put("last_session_duration_s", f(p -> p.lastSessionDurationS, none));
        DEFS.put("avg_session_duration_s", f(p -> p.avgSessionDurationS, none));
        DEFS.put("session_page_views", f(p -> p.sessionPageViews, none));
        DEFS.put("session_product_views", f(p -> p.sessionProductViews, none));
        DEFS.put("page_views_per_session", f(p -> p.pageViewsPerSession, none));
        DEFS.put("product_views_per_session", f(p -> p.productViewsPerSession, none));
        DEFS.put("page_views_lifetime", f(p -> p.pageViewsLifetime, none));
        DEFS.put("product_views_lifetime", f(p -> p.productViewsLifetime, none));
        DEFS.put("product_views_7d", f(p -> p.productViews7d, TimeDependence.DAY));
        DEFS.put("product_views_30d", f(p -> p.productViews30d, TimeDependence.DAY));
        DEFS.put("adds_lifetime", f(p -> p.addsLifetime, none));
        DEFS.put("adds_30d", f(p -> p.adds30d, TimeDependence.DAY));
        DEFS.put("checkouts_lifetime", f(p -> p.checkoutsLifetime, none));
        DEFS.put("checkouts_30d", f(p -> p.checkouts30d, TimeDependence.DAY));
        DEFS.put("orders_30d", f(p -> p.orders30d, TimeDependence.DAY));
        DEFS.put("revenue_30d", f(p -> p.revenue30d, TimeDependence.DAY));
        DEFS.put("active_days_7d", f(p -> p.activeDays7d, TimeDependence.DAY));
        DEFS.put("active_days_30d", f(p -> p.activeDays30d, TimeDependence.DAY));
        DEFS.put("days_since_first_seen", f(p -> p.daysSinceFirstSeen, TimeDependence.SINCE_FIRST_SEEN));
        DEFS.put("days_since_last_seen", f(p -> p.daysSinceLastSeen, TimeDependence.SINCE_LAST_SEEN));
    }

    /** Every field's pattern-language name ({@code profile.<name>}), in documentation order. */
    public static final List<String> FIELDS = List.copyOf(DEFS.keySet());

    /** A field by its pattern-language name ({@code profile.sessions_7d}); null if there is no such field. */
    public String field(String name) {
        if (name.startsWith(TRAITS_PREFIX)) return trait(name.substring(TRAITS_PREFIX.length()));
        Def d = DEFS.get(name);
        return d == null ? null : d.value.apply(this);
    }

    /**
     * A field as a number, what parsing {@link #field}'s text gives; NaN for a computed trait or an
     * unknown name (read those as text).
     */
    public double number(String name) {
        Def d = DEFS.get(name);
        return d == null ? Double.NaN : d.number.applyAsDouble(this);
    }

    /** The value of computed trait {@code id}; null if it is missing or not defined. */
    public String trait(String id) {
        if (traitIds == null) return null;
        for (int i = 0; i < traitIds.length; i++) {
            if (traitIds[i].equals(id)) return traitValues[i];
        }
        return null;
    }

    /** How {@code name} changes with time alone; null if there is no such field. */
    public static TimeDependence timeDependence(String name) {
        Def d = DEFS.get(name);
        return d == null ? null : d.time;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ProfileSnapshot p)) return false;
        for (Def d : DEFS.values()) {
            if (!d.value.apply(this).equals(d.value.apply(p))) return false;
        }
        return asOf == p.asOf && java.util.Arrays.equals(traitIds, p.traitIds) && java.util.Arrays.equals(traitValues, p.traitValues);
    }

    @Override
    public int hashCode() {
        return Objects.hash(firstSeen, lastSeen, events24h, events7d, sessions24h, sessionsLifetime, ordersLifetime);
    }

    @Override
    public String toString() {
        return "Profile{events24h=" + events24h + ", events7d=" + events7d + ", sessions24h=" + sessions24h
                + ", sessions7d=" + sessions7d + ", orders=" + ordersLifetime + ", revenue=" + revenueLifetime + "}";
    }
}
