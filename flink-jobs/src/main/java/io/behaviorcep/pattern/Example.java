package io.behaviorcep.pattern;

import java.io.Serializable;
import java.util.List;
import java.util.Map;

/**
 * One {@code examples:} entry of a pattern file: events at times relative to the example's start,
 * and what the pattern must do with them. Run by the pattern test kit through the real job.
 */
public final class Example implements Serializable {
    public final String name;
    public final int line;
    public final List<Event> events;
    /** Stream time the example reaches (offset millis); outcomes after it are still pending. Defaults to the last event. */
    public final long until;
    /** Null when the example does not check alerts. */
    public final List<ExpectedAlert> alerts;
    /** Null when the example does not check segments. */
    public final List<ExpectedSegment> segments;

    Example(String name, int line, List<Event> events, long until, List<ExpectedAlert> alerts, List<ExpectedSegment> segments) {
        this.name = name;
        this.line = line;
        this.events = List.copyOf(events);
        this.until = until;
        this.alerts = alerts == null ? null : List.copyOf(alerts);
        this.segments = segments == null ? null : List.copyOf(segments);
    }

    /** User -> experiment arm the user is put in (the test kit picks a user id that lands there); empty for none. */
    private Map<String, String> arms = Map.of();
    /** Null when the example does not check outcomes. */
    private List<ExpectedOutcome> outcomes;
    /** Null when the example does not check computed traits (only traits files' examples do). */
    private List<ExpectedTraits> traits;

    public List<ExpectedTraits> traits() {
        return traits;
    }

    void traits(List<ExpectedTraits> traits) {
        this.traits = traits == null ? null : List.copyOf(traits);
    }

    /**
     * The values of computed traits as of the user's event at {@code at} (the last one at that time),
     * that event included: trait id -> its value as written (a number, a text, or null for missing).
     */
    public record ExpectedTraits(long at, String user, Map<String, String> values) implements Serializable {}

    public Map<String, String> arms() {
        return arms;
    }

    public List<ExpectedOutcome> outcomes() {
        return outcomes;
    }

    void experiment(Map<String, String> arms, List<ExpectedOutcome> outcomes) {
        this.arms = Map.copyOf(arms);
        this.outcomes = outcomes == null ? null : List.copyOf(outcomes);
    }

    /**
     * An outcome of a decision: {@code at} is when it is decided (the goal event, or the end of the goal's
     * window); {@code arm} and {@code value} null when not checked.
     */
    public record ExpectedOutcome(long at, String user, String arm, boolean converted, Double value) implements Serializable {}

    /** An input event; {@code json} holds type/event/properties/context as written, without id, user and time. */
    /** @param user the example's name of the userId; null for an event with an {@code anonymousId} only (then in {@code json}) */
    public record Event(long at, String user, Map<String, Object> json, String messageId) implements Serializable {}

    /** {@code bound}: step name to indexes into {@link #events}; null when not checked. */
    public record ExpectedAlert(long at, String user, String type, Map<String, List<Integer>> bound) implements Serializable {}

    public record ExpectedSegment(String action, String segment, long at, String user, String reason) implements Serializable {}
}
