package io.behaviorcep.profile;

import java.util.Objects;

/**
 * The part of a user's profile that travels with every event and every alert, as of that event.
 * Field names (snake_case in JSON) are part of the alert contract: see docs/contracts.md.
 */
public class ProfileSnapshot {
    public long firstSeen;
    public long lastSeen;
    public int events24h;
    public int events7d;
    public int sessions24h;
    public int sessions7d;
    public long sessionsLifetime;
    public long ordersLifetime;
    public double revenueLifetime;
    /** Sessions in the last completed calendar week (Monday to Sunday, UTC). */
    public int sessionsLastWeek;
    /** Average weekly sessions over the four weeks before the last completed one. */
    public double sessionsWeeklyAvgPrior4;
    /**
     * Completed weeks in a row (0, 1 or 2, counting back from last week) in which the user's
     * sessions fell to half or less of their average over the four weeks before: engagement decay.
     */
    public int decayWeeks;

    public ProfileSnapshot() {}

    /** A field by its pattern-language name ({@code profile.sessions_7d}); null if there is no such field. */
    public String field(String name) {
        return switch (name) {
            case "first_seen" -> Long.toString(firstSeen);
            case "last_seen" -> Long.toString(lastSeen);
            case "events_24h" -> Integer.toString(events24h);
            case "events_7d" -> Integer.toString(events7d);
            case "sessions_24h" -> Integer.toString(sessions24h);
            case "sessions_7d" -> Integer.toString(sessions7d);
            case "sessions_lifetime" -> Long.toString(sessionsLifetime);
            case "orders_lifetime" -> Long.toString(ordersLifetime);
            case "revenue_lifetime" -> Double.toString(revenueLifetime);
            case "sessions_last_week" -> Integer.toString(sessionsLastWeek);
            case "sessions_weekly_avg_prior_4" -> Double.toString(sessionsWeeklyAvgPrior4);
            case "decay_weeks" -> Integer.toString(decayWeeks);
            default -> null;
        };
    }

    public static final java.util.List<String> FIELDS = java.util.List.of("first_seen", "last_seen", "events_24h", "events_7d",
            "sessions_24h", "sessions_7d", "sessions_lifetime", "orders_lifetime", "revenue_lifetime", "sessions_last_week",
            "sessions_weekly_avg_prior_4", "decay_weeks");

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ProfileSnapshot)) return false;
        ProfileSnapshot p = (ProfileSnapshot) o;
        return firstSeen == p.firstSeen && lastSeen == p.lastSeen && events24h == p.events24h && events7d == p.events7d
                && sessions24h == p.sessions24h && sessions7d == p.sessions7d && sessionsLifetime == p.sessionsLifetime
                && ordersLifetime == p.ordersLifetime && Double.compare(revenueLifetime, p.revenueLifetime) == 0
                && sessionsLastWeek == p.sessionsLastWeek && decayWeeks == p.decayWeeks
                && Double.compare(sessionsWeeklyAvgPrior4, p.sessionsWeeklyAvgPrior4) == 0;
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
