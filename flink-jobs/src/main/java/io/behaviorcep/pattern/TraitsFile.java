package io.behaviorcep.pattern;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One traits file ({@code kind: traits}): its computed traits and its {@code examples:}, which say
 * what the traits are as of chosen events (run by the test kit through the real job).
 */
public final class TraitsFile {
    /** The id and alert type of {@link #probe()}: what the test kit reads trait values from. */
    public static final String PROBE = "traits";

    public final String source;
    public final List<TraitDefinition> traits;
    public final List<Example> examples;

    TraitsFile(String source, List<TraitDefinition> traits, List<Example> examples) {
        this.source = source;
        this.traits = List.copyOf(traits);
        this.examples = List.copyOf(examples);
    }

    /**
     * A pattern of one step that takes every event and reports, in its alert's payload, each trait of
     * this file as the profile on that event has it ({@code ${profile.traits.<id>}}): the job's own
     * values, read through its own outputs. Its examples are the file's; its source is the file.
     */
    public PatternDefinition probe() {
        PatternDefinition.StepDefinition every = new PatternDefinition.StepDefinition("event", new EventMatcher(null, null, List.of()),
                PatternDefinition.Contiguity.FOLLOWED_BY, null, false, null, PatternDefinition.Quantifier.ONCE, 1);
        Map<String, String> payload = new LinkedHashMap<>();
        for (TraitDefinition t : traits) payload.put(t.id, "${profile.traits." + t.id + "}");
        return new PatternDefinition(PROBE, 1, "the traits of " + source + " on every event", null, true, List.of(every),
                new PatternDefinition.AlertAction(PROBE, "info", payload), null, null, null, PatternDefinition.AfterMatch.NO_SKIP, null,
                PatternDefinition.OnChange.DRAIN, source, examples);
    }
}
