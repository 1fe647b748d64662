package io.behaviorcep.replay;

import io.behaviorcep.output.OutputJson;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What a replay decided, as {@code summary.json} and as the table printed at the end: per pattern
 * the decided alerts, segment entries and users hit, and how many outcomes are still pending (their
 * time lies beyond the last event of the input); per segment its members at the end, and how many
 * users' membership changes after it.
 */
public final class ReplaySummary {
    /** One pattern's outcomes. {@code users}: distinct users with a decided alert or segment entry of it. */
    public record PatternStats(int version, long alerts, long segmentEnters, long users, long pending) {}

    /**
     * One segment at the horizon: members = entered and not left by then; {@code pending}: users whose
     * membership changes after it (each once, however many changes).
     */
    public record SegmentStats(long membersAtEnd, long enters, long exits, long pending) {}

    public String input;
    public String patterns;
    /** Lines or Kafka records read (valid or not). */
    public long records;
    /** Records that parsed into events (duplicates included; the job drops those). */
    public long events;
    public long deadLetters;
    public long lateEvents;
    /** Event time of the first and last valid event; the last is the horizon. Long.MIN_VALUE if none. */
    public long firstEventTime = Long.MIN_VALUE;
    public long horizon = Long.MIN_VALUE;
    public String mode;
    public int parallelism;
    public double seconds;
    public final Map<String, PatternStats> byPattern = new LinkedHashMap<>();
    public final Map<String, SegmentStats> bySegment = new LinkedHashMap<>();

    public double eventsPerSecond() {
        return seconds <= 0 ? 0 : records / seconds;
    }

    public ObjectNode toJson() {
        ObjectNode n = OutputJson.MAPPER.createObjectNode();
        ObjectNode in = n.putObject("input");
        in.put("source", input);
        in.put("patterns", patterns);
        in.put("records", records);
        in.put("events", events);
        in.put("dead_letters", deadLetters);
        in.put("late_events", lateEvents);
        if (horizon == Long.MIN_VALUE) {
            in.putNull("first_event_at");
            in.putNull("horizon");
        } else {
            in.put("first_event_at", OutputJson.iso(firstEventTime));
            in.put("horizon", OutputJson.iso(horizon));
        }
        ObjectNode run = n.putObject("run");
        run.put("mode", mode);
        run.put("parallelism", parallelism);
        run.put("seconds", Math.round(seconds * 1000) / 1000.0);
        run.put("events_per_second", Math.round(eventsPerSecond()));
        ObjectNode ps = n.putObject("patterns");
        byPattern.forEach((id, s) -> ps.putObject(id).put("version", s.version()).put("alerts", s.alerts())
                .put("segment_enters", s.segmentEnters()).put("users", s.users()).put("pending", s.pending()));
        ObjectNode ss = n.putObject("segments");
        bySegment.forEach((name, s) -> ss.putObject(name).put("members_at_end", s.membersAtEnd()).put("enters", s.enters())
                .put("exits", s.exits()).put("pending", s.pending()));
        return n;
    }

    /** The human-readable form printed by {@code replay}. */
    public String table() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "replay of %s with %s%n", input, patterns));
        sb.append(String.format(Locale.ROOT, "  %,d records, %,d events, %,d dead letter(s)%s%n", records, events, deadLetters,
                lateEvents == 0 ? "" : String.format(Locale.ROOT, ", %,d late (unexpected)", lateEvents)));
        sb.append(horizon == Long.MIN_VALUE ? "  no valid events: nothing decided\n"
                : String.format(Locale.ROOT, "  event time %s .. %s (outcomes after the last event are pending)%n",
                        OutputJson.iso(firstEventTime), OutputJson.iso(horizon)));
        sb.append(String.format(Locale.ROOT, "  %.1f s, %,.0f events/s (%s, parallelism %d)%n%n", seconds, eventsPerSecond(), mode, parallelism));
        int w = Math.max(7, byPattern.keySet().stream().mapToInt(String::length).max().orElse(0));
        sb.append(String.format(Locale.ROOT, "%-" + w + "s  %8s  %14s  %8s  %8s%n", "pattern", "alerts", "segment enters", "users", "pending"));
        byPattern.forEach((id, s) -> sb.append(String.format(Locale.ROOT, "%-" + w + "s  %,8d  %,14d  %,8d  %,8d%n",
                id, s.alerts(), s.segmentEnters(), s.users(), s.pending())));
        if (!bySegment.isEmpty()) {
            int sw = Math.max(7, bySegment.keySet().stream().mapToInt(String::length).max().orElse(0));
            sb.append(String.format(Locale.ROOT, "%n%-" + sw + "s  %14s  %8s  %8s  %8s%n", "segment", "members at end", "enters", "exits", "pending"));
            bySegment.forEach((name, s) -> sb.append(String.format(Locale.ROOT, "%-" + sw + "s  %,14d  %,8d  %,8d  %,8d%n",
                    name, s.membersAtEnd(), s.enters(), s.exits(), s.pending())));
        }
        return sb.toString();
    }
}
