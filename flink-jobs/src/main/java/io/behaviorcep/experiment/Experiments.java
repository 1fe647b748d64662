package io.behaviorcep.experiment;

import java.io.Serializable;

/**
 * The job-wide experiment settings: the share of all users in the global holdout (no pattern alerts
 * them; their decisions are recorded) and the salt it hashes users with. Config keys
 * {@code experiments.global-holdout} and {@code experiments.global-holdout-salt} (README, configuration).
 */
public record Experiments(double globalHoldoutShare, String globalHoldoutSalt) implements Serializable {
    public static final Experiments NONE = new Experiments(0, "");

    public Experiments {
        if (!(globalHoldoutShare >= 0 && globalHoldoutShare < 1)) {
            throw new IllegalArgumentException("the global holdout is a share from 0 (none) up to, not including, 1; got " + globalHoldoutShare);
        }
        if (globalHoldoutSalt == null) globalHoldoutSalt = "";
    }
}
