package io.behaviorcep.pattern;

import java.io.Serializable;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One validated pattern file: a sequence of named steps, the actions to take on a match, and
 * metadata. The YAML language is specified in docs/pattern-language.md; {@link PatternLoader}
 * is the only way to build one, so every instance is valid.
 */
public final class PatternDefinition implements Serializable {
    public final String id;
    public final int version;
    public final String description;
    public final String owner;
    public final boolean enabled;
    public final List<StepDefinition> steps;
    public final AlertAction alert;
    public final SegmentAction segment;
    public final CapAction cap;
    /** Where it was read from, for messages. */
    public final String source;

    PatternDefinition(String id, int version, String description, String owner, boolean enabled, List<StepDefinition> steps,
                      AlertAction alert, SegmentAction segment, CapAction cap, String source) {
        this.id = id;
        this.version = version;
        this.description = description;
        this.owner = owner;
        this.enabled = enabled;
        this.steps = List.copyOf(steps);
        this.alert = alert;
        this.segment = segment;
        this.cap = cap;
        this.source = source;
    }

    /** The last step that binds an event; the match is anchored on its event (one alert per anchor). */
    public StepDefinition anchorStep() {
        for (int i = steps.size() - 1; i >= 0; i--) {
            if (!steps.get(i).absent) return steps.get(i);
        }
        throw new IllegalStateException("pattern " + id + " has no positive step");
    }

    public StepDefinition trailingAbsence() {
        StepDefinition last = steps.get(steps.size() - 1);
        return last.absent ? last : null;
    }

    public String label() {
        return id + " v" + version;
    }

    /** How a step follows the one before it (Flink CEP contiguity). */
    public enum Contiguity {
        /** {@code next}: the very next event of this user must match. */
        NEXT("next"),
        /** {@code followed_by}: the first matching event later on, others in between are ignored. */
        FOLLOWED_BY("followed_by"),
        /** {@code followed_by_any}: every matching event later on starts its own match. */
        FOLLOWED_BY_ANY("followed_by_any");

        public final String yaml;

        Contiguity(String yaml) {
            this.yaml = yaml;
        }
    }

    public static final class StepDefinition implements Serializable {
        public final String name;
        public final EventMatcher matcher;
        public final Contiguity contiguity;
        /** Window measured from the previous step's event (inclusive), or null. */
        public final Duration within;
        /** An absence: no event matching {@link #matcher} for {@link #absentFor} after the previous step. */
        public final boolean absent;
        public final Duration absentFor;
        public final int line;

        StepDefinition(String name, EventMatcher matcher, Contiguity contiguity, Duration within, boolean absent,
                       Duration absentFor, int line) {
            this.name = name;
            this.matcher = matcher;
            this.contiguity = contiguity;
            this.within = within;
            this.absent = absent;
            this.absentFor = absentFor;
            this.line = line;
        }
    }

    public static final class AlertAction implements Serializable {
        public final String type;
        public final String severity;
        /** Output field -> template; {@code ${step.path}} placeholders take values from matched events. */
        public final Map<String, String> payload;

        AlertAction(String type, String severity, Map<String, String> payload) {
            this.type = type;
            this.severity = severity;
            this.payload = Map.copyOf(payload);
        }
    }

    public static final class SegmentAction implements Serializable {
        public final String name;
        public final Duration ttl;
        /** Any event matching one of these ends membership. */
        public final List<EventMatcher> exitOn;

        SegmentAction(String name, Duration ttl, List<EventMatcher> exitOn) {
            this.name = name;
            this.ttl = ttl;
            this.exitOn = List.copyOf(exitOn);
        }
    }

    public static final class CapAction implements Serializable {
        public final int max;
        public final Duration per;

        CapAction(int max, Duration per) {
            this.max = max;
            this.per = per;
        }
    }
}
