package io.behaviorcep.experiment;

/**
 * What became of one decision (an alert, or a holdout's "would have been alerted"): whether and when
 * its goal happened, decided once in event time. Published on {@code behavior.outcomes} and stored in
 * {@code outcomes}; contract (fields, JSON, table): docs/contracts.md, "Outcomes".
 *
 * @param decisionId      the alert's id (for a holdout, the id the alert would have had)
 * @param experimentId    null when the pattern has no experiment
 * @param arm             the variant's name, {@code global_holdout}, or {@code default}
 * @param holdout         no alert was sent
 * @param convertedAt     null when not converted
 * @param value           the goal event's value field, or null (no value field, not converted, not a number)
 * @param timeToConvertMs null when not converted
 */
public record Outcome(String decisionId, String userId, String patternId, int patternVersion, String experimentId, String arm,
                      boolean holdout, long decidedAt, String goalEvent, long goalWithinMs, boolean converted, Long convertedAt,
                      Double value, Long timeToConvertMs) {

    /** The same outcome for another user id (pseudonymised outputs). */
    public Outcome withUserId(String user) {
        return new Outcome(decisionId, user, patternId, patternVersion, experimentId, arm, holdout, decidedAt, goalEvent, goalWithinMs,
                converted, convertedAt, value, timeToConvertMs);
    }

    static Outcome converted(PendingDecision d, long at, Double value) {
        return new Outcome(d.decisionId, d.userId, d.patternId, d.patternVersion, d.experimentId, d.arm, d.holdout, d.decidedAt,
                d.goalEvent, d.goalWithinMs, true, at, value, at - d.decidedAt);
    }

    static Outcome notConverted(PendingDecision d) {
        return new Outcome(d.decisionId, d.userId, d.patternId, d.patternVersion, d.experimentId, d.arm, d.holdout, d.decidedAt,
                d.goalEvent, d.goalWithinMs, false, null, null, null);
    }
}
