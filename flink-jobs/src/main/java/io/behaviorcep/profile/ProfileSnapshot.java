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

    public ProfileSnapshot() {}

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ProfileSnapshot)) return false;
        ProfileSnapshot p = (ProfileSnapshot) o;
        return firstSeen == p.firstSeen && lastSeen == p.lastSeen && events24h == p.events24h && events7d == p.events7d
                && sessions24h == p.sessions24h && sessions7d == p.sessions7d && sessionsLifetime == p.sessionsLifetime
                && ordersLifetime == p.ordersLifetime && Double.compare(revenueLifetime, p.revenueLifetime) == 0;
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
