package io.behaviorcep.policy;

import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The messaging policy's decisions for one user, free of Flink: given the alerts the patterns raised at
 * one event-time instant, which are sent now, which wait for the end of quiet hours, and which are
 * suppressed, each with its reason. Rules (docs/pattern-language.md, "The messaging policy"), in order:
 * <ol>
 *   <li>quiet hours: an alert decided inside its channel's quiet window (user's zone) is dropped or waits
 *       for the end of the window; one waits per channel, the highest priority (the earlier among equals);</li>
 *   <li>priority: of the alerts decided at one instant on a channel only the highest rank goes on; an alert
 *       ranked lower than one sent on its channel within {@code compete_within} before it is suppressed;</li>
 *   <li>cap: at most {@code max} sent per channel and user in any {@code per} of event time.</li>
 * </ol>
 * Everything depends on event time and the input only, so replay reproduces it.
 */
public final class MessagingPolicy {
    /** What the decisions produce. */
    public interface Out {
        void send(Candidate alert);

        void record(AlertDecision decision);

        /** Decide again at this event time (the end of a quiet window). */
        void timer(long at);
    }

    /** Longer text is not a zone id: don't spend work on it. */
    public static final int MAX_ZONE_LENGTH = 64;

    private final PolicyDefinition def;

    public MessagingPolicy(PolicyDefinition def) {
        this.def = def;
    }

    public PolicyDefinition definition() {
        return def;
    }

    /**
     * The alerts decided at instant {@code at} (all with that detection time, in any order). Held alerts due
     * before {@code at} are released first, at their own instants.
     */
    public void decide(List<Candidate> alerts, long at, PolicyState state, Out out) {
        releaseDue(at - 1, state, out);
        Map<String, List<Candidate>> byChannel = new TreeMap<>();
        for (Candidate c : alerts) byChannel.computeIfAbsent(channel(c).name(), k -> new ArrayList<>()).add(c);
        List<Candidate> due = new ArrayList<>();
        // a held alert due exactly now competes with the alerts of this instant
        for (Map.Entry<String, PolicyState.Held> h : new ArrayList<>(state.held.entrySet())) {
            if (h.getValue().releaseAt == at) {
                state.held.remove(h.getKey());
                // a policy restored with other channels: the alert goes where the new policy puts it
                String channel = def.channels.containsKey(h.getKey()) ? h.getKey() : channel(h.getValue().candidate).name();
                byChannel.computeIfAbsent(channel, k -> new ArrayList<>()).add(h.getValue().candidate);
                due.add(h.getValue().candidate);
            }
        }
        for (Map.Entry<String, List<Candidate>> e : byChannel.entrySet()) {
            decideOnChannel(def.channels.get(e.getKey()), e.getValue(), due, at, state, out);
        }
    }

    /** Releases every held alert due at or before {@code watermark}, in time order. */
    public void releaseDue(long watermark, PolicyState state, Out out) {
        while (!state.held.isEmpty() && state.nextRelease() <= watermark) {
            long at = state.nextRelease();
            decide(List.of(), at, state, out);
        }
    }

    /** The user opted out: a held alert is not sent. */
    public void suppressed(long at, PolicyState state, Out out) {
        for (Map.Entry<String, PolicyState.Held> h : state.held.entrySet()) {
            out.record(AlertDecision.of(h.getValue().candidate, h.getKey(), AlertDecision.SUPPRESSED, at, 0, null));
        }
        state.held.clear();
    }

    /** Forgets what no longer counts at {@code watermark} (held alerts stay until released). */
    public void prune(long watermark, PolicyState state) {
        for (String channel : new ArrayList<>(state.sent.keySet())) {
            PolicyDefinition.Channel c = def.channels.get(channel);
            long per = c == null || c.cap() == null ? 0 : c.cap().perMillis();
            long[] kept = live(state.sent.get(channel), watermark - per);
            if (kept.length == 0) state.sent.remove(channel);
            else state.sent.put(channel, kept);
        }
        for (String channel : new ArrayList<>(state.lastSentByRank.keySet())) {
            TreeMap<Integer, Long> ranks = state.lastSentByRank.get(channel);
            ranks.values().removeIf(t -> t + def.competeWithinMillis < watermark);
            if (ranks.isEmpty()) state.lastSentByRank.remove(channel);
        }
    }

    private void decideOnChannel(PolicyDefinition.Channel channel, List<Candidate> alerts, List<Candidate> released, long at,
                                 PolicyState state, Out out) {
        alerts.sort(Comparator.comparingInt((Candidate c) -> def.rank(c.alertType())).thenComparing(Candidate::alertId));
        List<Candidate> now = new ArrayList<>();
        for (Candidate c : alerts) {
            if (channel.quietHours() != null && !released.contains(c)) {
                ZoneId zone = zoneOf(c.timezone(), def.fallbackZone);
                LocalTime local = Instant.ofEpochMilli(at).atZone(zone).toLocalTime();
                if (channel.quietHours().contains(local)) {
                    quiet(channel, c, at, endOfQuietWindow(at, zone, channel.quietHours()), state, out);
                    continue;
                }
            }
            now.add(c);
        }
        if (now.isEmpty()) return;
        int best = def.rank(now.get(0).alertType());
        TreeMap<Integer, Long> ranks = state.lastSentByRank.get(channel.name());
        for (Candidate c : now) {
            int rank = def.rank(c.alertType());
            if (rank > best) {
                out.record(AlertDecision.of(c, channel.name(), AlertDecision.PRIORITY, at, 0, now.get(0).alertId()));
                continue;
            }
            Integer shadowing = higherSentWithin(ranks, rank, at);
            if (shadowing != null) {
                out.record(AlertDecision.of(c, channel.name(), AlertDecision.PRIORITY, at, 0, null));
                continue;
            }
            if (!withinCap(channel, at, state)) {
                out.record(AlertDecision.of(c, channel.name(), AlertDecision.GLOBAL_CAP, at, 0, null));
                continue;
            }
            if (released.contains(c)) out.record(AlertDecision.of(c, channel.name(), AlertDecision.QUIET_HOURS_RELEASED, at, 0, null));
            out.send(c);
            ranks = state.lastSentByRank.computeIfAbsent(channel.name(), k -> new TreeMap<>());
            ranks.put(rank, at);
        }
    }

    /** A rank higher (smaller) than {@code rank} sent within the compete window before {@code at}, or null. */
    private Integer higherSentWithin(TreeMap<Integer, Long> ranks, int rank, long at) {
        if (ranks == null) return null;
        for (Map.Entry<Integer, Long> e : ranks.headMap(rank, false).entrySet()) {
            if (e.getValue() + def.competeWithinMillis >= at) return e.getKey();
        }
        return null;
    }

    private void quiet(PolicyDefinition.Channel channel, Candidate c, long at, long releaseAt, PolicyState state, Out out) {
        if (channel.quietHours().action() == PolicyDefinition.QuietAction.DROP) {
            out.record(AlertDecision.of(c, channel.name(), AlertDecision.QUIET_HOURS_DROPPED, at, 0, null));
            return;
        }
        PolicyState.Held waiting = state.held.get(channel.name());
        if (waiting != null) {
            // one place per channel: the higher priority keeps it, the earlier among equals
            if (def.rank(c.alertType()) >= def.rank(waiting.candidate.alertType())) {
                out.record(AlertDecision.of(c, channel.name(), AlertDecision.PRIORITY, at, 0, waiting.candidate.alertId()));
                return;
            }
            out.record(AlertDecision.of(waiting.candidate, channel.name(), AlertDecision.PRIORITY, at, 0, c.alertId()));
        }
        state.held.put(channel.name(), new PolicyState.Held(c, releaseAt));
        out.record(AlertDecision.of(c, channel.name(), AlertDecision.QUIET_HOURS_DELAYED, at, releaseAt, null));
        out.timer(releaseAt);
    }

    private boolean withinCap(PolicyDefinition.Channel channel, long at, PolicyState state) {
        if (channel.cap() == null) return true;
        long[] kept = live(state.sent.get(channel.name()), at - channel.cap().perMillis());
        if (kept.length >= channel.cap().max()) return false;
        long[] now = java.util.Arrays.copyOf(kept, kept.length + 1);
        now[kept.length] = at;
        state.sent.put(channel.name(), now);
        return true;
    }

    /** The times after {@code after}. */
    private static long[] live(long[] times, long after) {
        if (times == null) return new long[0];
        return java.util.Arrays.stream(times).filter(t -> t > after).toArray();
    }

    private PolicyDefinition.Channel channel(Candidate c) {
        return def.channelOf(c.patternId(), c.alertType());
    }

    /**
     * The zone an event's {@code context.timezone} names, or {@code fallback} when it names none: missing,
     * too long, or not a zone id {@link ZoneId#of} knows (a region like {@code Europe/Berlin} or an offset).
     */
    public static ZoneId zoneOf(String timezone, ZoneId fallback) {
        if (timezone == null || timezone.isEmpty() || timezone.length() > MAX_ZONE_LENGTH) return fallback;
        try {
            return ZoneId.of(timezone);
        } catch (RuntimeException notAZone) {
            return fallback;
        }
    }

    /**
     * The first instant after {@code at} at which the local time is the window's end. On a day whose end
     * time falls in a DST gap it moves later by the length of the gap (02:30 becomes 03:30); in an
     * overlap it is the earlier of the two instants ({@link ZonedDateTime#of}).
     */
    static long endOfQuietWindow(long at, ZoneId zone, PolicyDefinition.QuietHours quiet) {
        ZonedDateTime now = Instant.ofEpochMilli(at).atZone(zone);
        LocalDate day = now.toLocalDate();
        for (int i = 0; i < 3; i++) {
            long end = ZonedDateTime.of(day.plusDays(i), quiet.to(), zone).toInstant().toEpochMilli();
            if (end > at) return end;
        }
        throw new IllegalStateException("no end of the quiet window after " + Instant.ofEpochMilli(at));
    }
}
