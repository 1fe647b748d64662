package io.behaviorcep.policy;

import java.io.Serializable;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A messaging policy ({@code kind: policy} file, docs/pattern-language.md "The messaging policy"): which
 * channel each alert belongs to, each channel's cap across patterns and quiet hours, and the priorities
 * between alert types that compete for one user.
 */
public final class PolicyDefinition implements Serializable {
    private static final long serialVersionUID = 1L;

    /** What happens to an alert decided during a channel's quiet hours. */
    public enum QuietAction { DELAY, DROP }

    /** At most {@code max} alerts of one user on the channel in any {@code perMillis} of event time. */
    public record Cap(int max, long perMillis) implements Serializable {}

    /** Local times {@code [from, to)} in the user's zone; {@code from > to} wraps past midnight. */
    public record QuietHours(LocalTime from, LocalTime to, QuietAction action) implements Serializable {
        /** Whether a local time of day lies in the window. */
        public boolean contains(LocalTime t) {
            return from.isBefore(to) ? !t.isBefore(from) && t.isBefore(to) : !t.isBefore(from) || t.isBefore(to);
        }
    }

    /** {@code cap} and {@code quietHours} may be null (none). */
    public record Channel(String name, Set<String> patterns, Set<String> alertTypes, Cap cap, QuietHours quietHours) implements Serializable {}

    public final String source;
    public final Map<String, Channel> channels;
    public final String defaultChannel;
    /** Alert types, highest priority first; a type not listed ranks below all listed ones. */
    public final List<String> priorities;
    /** Alerts of one user on one channel decided within this much event time of each other compete (0: the same millisecond). */
    public final long competeWithinMillis;
    public final ZoneId fallbackZone;
    public final List<PolicyExample> examples;

    public PolicyDefinition(String source, Map<String, Channel> channels, String defaultChannel, List<String> priorities,
                            long competeWithinMillis, ZoneId fallbackZone, List<PolicyExample> examples) {
        this.source = source;
        this.channels = Map.copyOf(channels);
        this.defaultChannel = defaultChannel;
        this.priorities = List.copyOf(priorities);
        this.competeWithinMillis = competeWithinMillis;
        this.fallbackZone = fallbackZone;
        this.examples = List.copyOf(examples);
    }

    /** The channel of an alert: the one naming its pattern id, else the one naming its alert type, else the default. */
    public Channel channelOf(String patternId, String alertType) {
        for (Channel c : channels.values()) if (c.patterns().contains(patternId)) return c;
        for (Channel c : channels.values()) if (c.alertTypes().contains(alertType)) return c;
        return channels.get(defaultChannel);
    }

    /** 0 is the highest; every type not listed has {@code priorities.size()}. */
    public int rank(String alertType) {
        int i = priorities.indexOf(alertType);
        return i < 0 ? priorities.size() : i;
    }
}
