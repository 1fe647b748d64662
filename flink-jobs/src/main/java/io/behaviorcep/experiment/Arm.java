package io.behaviorcep.experiment;

import io.behaviorcep.pattern.PatternDefinition;

/**
 * A user's arm for one decision of one pattern: the experiment's variant, {@code global_holdout}, or
 * {@code default} (a pattern without experiment). {@code holdout}: no alert is sent, the decision is
 * still recorded. {@code pattern}: the pattern as this arm runs it (its alert type and payload).
 */
public record Arm(String experimentId, String name, boolean holdout, PatternDefinition pattern) {
    public static final String DEFAULT = "default";
    public static final String GLOBAL_HOLDOUT = "global_holdout";

    /**
     * The arm of {@code user} for {@code def}. The global holdout comes first: its users are in no
     * variant, so every experiment compares like with like among the rest; their decisions still name
     * the pattern's experiment (if any), so they group with it.
     */
    public static Arm of(PatternDefinition def, String user, Experiments settings) {
        PatternDefinition.Experiment e = def.experiment();
        if (Assignment.inGlobalHoldout(settings.globalHoldoutShare(), settings.globalHoldoutSalt(), user)) {
            return new Arm(e == null ? null : e.id, GLOBAL_HOLDOUT, true, def);
        }
        if (e == null) return new Arm(null, DEFAULT, false, def);
        PatternDefinition.Variant v = Assignment.variant(e, user);
        return new Arm(e.id, v.name, v.holdout, v.pattern);
    }
}
