package io.behaviorcep.deliver;

import java.io.Serializable;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

/**
 * One webhook receiver of {@code destinations.yaml}. Holds only names of environment variables for
 * secrets (header values written {@code ${NAME}} and {@link #signingSecretEnv}): they are resolved on
 * the task manager ({@link HeaderTemplates}), so no secret travels in the job graph.
 *
 * @param alertTypes alert types routed here; empty: every type
 * @param severities severities routed here; empty: every severity
 * @param headers    header name to value template, e.g. {@code Authorization: "Bearer ${ACME_TOKEN}"}
 * @param ratePerSecond most requests per second for the whole job (split evenly over the subtasks); 0: no limit
 * @param capacity   requests in flight per subtask (Flink async capacity): what a slow receiver may hold up
 */
public record Destination(String name, String url, Set<String> alertTypes, Set<String> severities, Map<String, String> headers,
                          String signingSecretEnv, Duration timeout, double ratePerSecond, int capacity, RetryPolicy retry)
        implements Serializable {

    /** Stable uid of the destination's async operator: savepoints map its in-flight alerts by it. */
    public String operatorUid() {
        return "deliver-" + name;
    }

    /** Whether an alert of this type and severity goes here. */
    public boolean accepts(String alertType, String severity) {
        return (alertTypes.isEmpty() || alertTypes.contains(alertType)) && (severities.isEmpty() || severities.contains(severity));
    }

    /**
     * The longest a single alert can spend here before its outcome is decided: the retry budget, the
     * last attempt's timeout, and the rate limit's queue when every alert in flight waits for slots
     * for all its attempts. Flink's async timeout is set beyond it, so it never cuts a delivery short.
     */
    public Duration worstCaseDecisionTime(int parallelism) {
        Duration decided = retry.maxTotalTime().plus(timeout).plus(timeout);
        if (ratePerSecond > 0) {
            double queuedSeconds = (double) capacity * retry.maxAttempts() * (parallelism > 0 ? parallelism : 128) / ratePerSecond; // unknown (the cluster's default): assume many, it is only a safety net
            decided = decided.plusMillis((long) Math.ceil(queuedSeconds * 1000));
        }
        return decided;
    }
}
