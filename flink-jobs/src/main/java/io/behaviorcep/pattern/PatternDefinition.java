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
    /** Whole-pattern window, from the first matched event to the last (inclusive), or null. */
    public final Duration within;
    public final AfterMatch afterMatch;
    /** Step name for {@code skip_to_first}/{@code skip_to_last}, else null. */
    public final String afterMatchStep;
    /** What a running job does with this pattern's partial matches when this version replaces another. */
    public final OnChange onChange;
    /** Where it was read from, for messages. */
    public final String source;
    /** The file's {@code examples:}, run by the pattern test kit. */
    public final List<Example> examples;

    PatternDefinition(String id, int version, String description, String owner, boolean enabled, List<StepDefinition> steps,
                      AlertAction alert, SegmentAction segment, CapAction cap, Duration within, AfterMatch afterMatch,
                      String afterMatchStep, OnChange onChange, String source, List<Example> examples) {
        this.id = id;
        this.version = version;
        this.description = description;
        this.owner = owner;
        this.enabled = enabled;
        this.steps = List.copyOf(steps);
        this.flatSteps = flatten(this.steps);
        this.alert = alert;
        this.segment = segment;
        this.cap = cap;
        this.within = within;
        this.afterMatch = afterMatch;
        this.afterMatchStep = afterMatchStep;
        this.onChange = onChange;
        this.source = source;
        this.examples = List.copyOf(examples);
    }

    /**
     * Every step that takes or rules out events, in written order, each group replaced by its steps:
     * what a walk over "the steps of the pattern" means wherever groups play no part (names that
     * events are bound under, event kinds a pattern can use, payload references, windows).
     */
    private final List<StepDefinition> flatSteps;

    public List<StepDefinition> flatSteps() {
        return flatSteps;
    }

    private static List<StepDefinition> flatten(List<StepDefinition> steps) {
        List<StepDefinition> out = new java.util.ArrayList<>(steps.size() + 2);
        for (StepDefinition s : steps) {
            if (s.isGroup()) out.addAll(s.group);
            else out.add(s);
        }
        return List.copyOf(out);
    }

    /** The file's text, as loaded: what a running job keeps to run this version again after a restore. */
    private String text;

    public String text() {
        return text;
    }

    /** {@code on_timeout:}, or null: what to do when a partial match of this pattern times out. */
    private OnTimeout onTimeout;

    public OnTimeout onTimeout() {
        return onTimeout;
    }

    void onTimeout(OnTimeout onTimeout) {
        this.onTimeout = onTimeout;
    }

    /**
     * A partial match that times out (a step's or the pattern's {@code within} passes before the
     * next step's event) and has bound {@link #reached} raises {@link #alert}, at the instant it
     * timed out: Flink CEP's timed-out partial matches ({@code TimedOutPartialMatchHandler}).
     */
    public static final class OnTimeout implements Serializable {
        /** The step the partial match must have bound; null: any timed-out partial match. */
        public final String reached;
        public final AlertAction alert;

        OnTimeout(String reached, AlertAction alert) {
            this.reached = reached;
            this.alert = alert;
        }
    }

    void text(String text) {
        this.text = text;
    }

    /** The file's {@code experiment:} (arms of the pattern), or null. Set by the loader. */
    private Experiment experiment;
    /** The file's {@code goal:} (what counts as a conversion after a decision), or null. Set by the loader. */
    private Goal goal;

    public Experiment experiment() {
        return experiment;
    }

    public Goal goal() {
        return goal;
    }

    void experiment(Experiment experiment) {
        this.experiment = experiment;
    }

    void goal(Goal goal) {
        this.goal = goal;
    }

    /** The last step that binds an event; the match is anchored on its event (one alert per anchor). */
    public StepDefinition anchorStep() {
        for (int i = steps.size() - 1; i >= 0; i--) {
            if (!steps.get(i).absent) return steps.get(i);
        }
        throw new IllegalStateException("pattern " + id + " has no positive step");
    }

    /**
     * An absence written as the first step ("no X in the D before the next step's event"), or null.
     * Flink CEP has no such construct: the engine decides it from the last time it saw an X.
     */
    public StepDefinition leadingAbsence() {
        return !steps.isEmpty() && steps.get(0).absent ? steps.get(0) : null;
    }

    public StepDefinition trailingAbsence() {
        StepDefinition last = steps.get(steps.size() - 1);
        return last.absent ? last : null;
    }

    public String label() {
        return id + " v" + version;
    }

    /**
     * What happens to the partial matches of the version being replaced when a running job takes
     * this version ({@code on_change}; for a deleted file, the last version's). See docs/pattern-language.md.
     */
    public enum OnChange {
        /** The old version finishes the matches it has open; new matches start on this version. The default. */
        DRAIN("drain"),
        /** The old version's open matches are dropped. */
        RESTART("restart"),
        /** Open matches carry on under this version (only where the steps are the same). */
        KEEP("keep");

        public final String yaml;

        OnChange(String yaml) {
            this.yaml = yaml;
        }

        public static OnChange ofYaml(String v) {
            for (OnChange c : values()) if (c.yaml.equals(v)) return c;
            return null;
        }
    }

    /** Which partial matches survive a match (Flink CEP after-match skip strategy). */
    public enum AfterMatch {
        /** Every match is reported; overlapping ones of the same anchor event are still one alert. The default. */
        NO_SKIP("no_skip"),
        /** Partial matches that started before the end of the match are dropped: one match per burst. */
        SKIP_PAST_LAST_EVENT("skip_past_last_event"),
        /** Drop partial matches that started with the match's first event. */
        SKIP_TO_NEXT("skip_to_next"),
        SKIP_TO_FIRST("skip_to_first"),
        SKIP_TO_LAST("skip_to_last");

        public final String yaml;

        AfterMatch(String yaml) {
            this.yaml = yaml;
        }
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
        /**
         * An absence: no event matching {@link #matcher} between the previous step and the next one
         * (in the middle), or for {@link #absentFor} after the previous step (at the end).
         */
        public final boolean absent;
        public final Duration absentFor;
        /** How many events this step binds; {@link Quantifier#ONCE} for a plain step. */
        public final Quantifier quantifier;
        public final int line;
        /**
         * For a group ({@code group:}), its steps, quantified together as one step (Flink CEP's
         * {@code GroupPattern}); null for a step of its own. A group has no {@link #matcher}: its
         * {@link #contiguity} and {@link #within} are those of its first step, its {@link #quantifier}
         * repeats the whole sub-sequence.
         */
        public final List<StepDefinition> group;

        StepDefinition(String name, EventMatcher matcher, Contiguity contiguity, Duration within, boolean absent,
                       Duration absentFor, Quantifier quantifier, int line) {
            this(name, matcher, contiguity, within, absent, absentFor, quantifier, line, null);
        }

        StepDefinition(String name, EventMatcher matcher, Contiguity contiguity, Duration within, boolean absent,
                       Duration absentFor, Quantifier quantifier, int line, List<StepDefinition> group) {
            this.group = group == null ? null : List.copyOf(group);
            this.name = name;
            this.matcher = matcher;
            this.contiguity = contiguity;
            this.within = within;
            this.absent = absent;
            this.absentFor = absentFor;
            this.quantifier = quantifier;
            this.line = line;
        }

        public boolean loops() {
            return quantifier.loops();
        }

        public boolean isGroup() {
            return group != null;
        }
    }

    /** {@code times}, {@code one_or_more}, {@code optional}, {@code greedy}, {@code until} and the contiguity inside a loop. */
    public static final class Quantifier implements Serializable {
        public static final Quantifier ONCE = new Quantifier(1, 1, false, false, Contiguity.FOLLOWED_BY, null);

        public final int min;
        /** -1: no upper bound. */
        public final int max;
        public final boolean optional;
        public final boolean greedy;
        /** Between the events of a looping step: next (consecutive), followed_by (default) or followed_by_any (all combinations). */
        public final Contiguity inner;
        /** A looping step stops accepting events once one matches this; null for none. */
        public final EventMatcher until;

        public boolean loops() {
            return max != 1;
        }

        Quantifier(int min, int max, boolean optional, boolean greedy, Contiguity inner, EventMatcher until) {
            this.min = min;
            this.max = max;
            this.optional = optional;
            this.greedy = greedy;
            this.inner = inner;
            this.until = until;
        }
    }

    public static final class AlertAction implements Serializable {
        public final String type;
        public final String severity;
        /** Output field -> template; {@code ${step.path}} placeholders take values from matched events. */
        public final Map<String, String> payload;
        /** {@link #payload}, parsed once. */
        public final PayloadTemplate template;

        AlertAction(String type, String severity, Map<String, String> payload) {
            this.type = type;
            this.severity = severity;
            this.payload = Map.copyOf(payload);
            this.template = PayloadTemplate.compile(this.payload);
        }
    }

    public static final class SegmentAction implements Serializable {
        public final String name;
        public final Duration ttl;
        /** Any event matching one of these ends membership. */
        public final List<EventMatcher> exitOn;
        /** Raised when a member leaves by an {@code exit_on} event (e.g. "reactivated"); null for none. */
        public final AlertAction exitAlert;

        SegmentAction(String name, Duration ttl, List<EventMatcher> exitOn, AlertAction exitAlert) {
            this.name = name;
            this.ttl = ttl;
            this.exitOn = List.copyOf(exitOn);
            this.exitAlert = exitAlert;
        }
    }

    /**
     * {@code experiment:}: named arms with weights, one of which may be a holdout (no alert, the
     * decision still recorded). An arm may run its own version of the pattern ({@link Variant#pattern}).
     * Language: docs/pattern-language.md, "Experiments and goals".
     */
    public static final class Experiment implements Serializable {
        public final String id;
        public final String salt;
        public final List<Variant> variants;

        Experiment(String id, String salt, List<Variant> variants) {
            this.id = id;
            this.salt = salt;
            this.variants = List.copyOf(variants);
        }

        public Variant variant(String name) {
            for (Variant v : variants) if (v.name.equals(name)) return v;
            return null;
        }
    }

    public static final class Variant implements Serializable {
        public final String name;
        public final double weight;
        public final boolean holdout;
        /** The parameters this arm sets (declared under the pattern's {@code params:}); empty for none. */
        public final Map<String, String> params;
        /**
         * The pattern as this arm runs it: the same id and version, with the arm's parameters and alert
         * overrides; the pattern itself when the arm changes nothing.
         */
        public final PatternDefinition pattern;

        Variant(String name, double weight, boolean holdout, Map<String, String> params, PatternDefinition pattern) {
            this.name = name;
            this.weight = weight;
            this.holdout = holdout;
            this.params = Map.copyOf(params);
            this.pattern = pattern;
        }
    }

    /**
     * {@code goal:}: the first event matching {@link #matcher} in (decision, decision + within] converts
     * the decision; {@link #valuePath} (e.g. {@code properties.revenue}) is its value, or null.
     */
    public static final class Goal implements Serializable {
        public final EventMatcher matcher;
        public final Duration within;
        public final String valuePath;

        Goal(EventMatcher matcher, Duration within, String valuePath) {
            this.matcher = matcher;
            this.within = within;
            this.valuePath = valuePath;
        }

        /** The goal's event name as outcomes name it. */
        public String event() {
            return matcher.event;
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
