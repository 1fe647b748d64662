package io.behaviorcep.experiment;

import io.behaviorcep.pattern.PatternDefinition;

/**
 * A decision whose goal is still open: kept per user by the actions operator until the goal event
 * comes or event time passes {@link #deadline()}. A POJO, so Flink's POJO serializer can keep it in state.
 */
public class PendingDecision {
    public String decisionId;
    public String userId;
    public String patternId;
    public int patternVersion;
    public String experimentId;
    public String arm;
    public boolean holdout;
    public long decidedAt;
    public String goalEvent;
    public long goalWithinMs;

    public PendingDecision() {}

    /** The decision of {@code def}'s alert {@code decisionId} to {@code user} at {@code at}, in {@code arm}; null when the pattern has no goal. */
    public static PendingDecision of(String decisionId, String user, PatternDefinition def, Arm arm, long at) {
        if (def.goal() == null) return null;
        PendingDecision d = new PendingDecision();
        d.decisionId = decisionId;
        d.userId = user;
        d.patternId = def.id;
        d.patternVersion = def.version;
        d.experimentId = arm.experimentId();
        d.arm = arm.name();
        d.holdout = arm.holdout();
        d.decidedAt = at;
        d.goalEvent = def.goal().event();
        d.goalWithinMs = def.goal().within.toMillis();
        return d;
    }

    /** The last instant a goal event converts it (inclusive). */
    public long deadline() {
        return decidedAt + goalWithinMs;
    }

    /** How goal events name the pattern version whose goal they meet. */
    public String goalKey() {
        return goalKey(patternId, patternVersion);
    }

    public static String goalKey(String patternId, int version) {
        return patternId + "#" + version;
    }
}
