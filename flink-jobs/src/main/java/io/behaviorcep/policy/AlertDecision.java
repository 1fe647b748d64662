package io.behaviorcep.policy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * What the messaging policy did with an alert other than sending it at once: published on
 * {@code behavior.alert-decisions} and stored in {@code alert_decisions}. Contract: docs/contracts.md.
 */
public class AlertDecision {
    public static final String GLOBAL_CAP = "global_cap";
    public static final String PRIORITY = "priority";
    public static final String QUIET_HOURS_DELAYED = "quiet_hours_delayed";
    public static final String QUIET_HOURS_DROPPED = "quiet_hours_dropped";
    public static final String QUIET_HOURS_RELEASED = "quiet_hours_released";
    public static final String SUPPRESSED = "suppressed";

    /** Deterministic from the alert, the reason and the decision time: a replay yields the same id. */
    public String decisionId;
    public String alertId;
    public String patternId;
    public int patternVersion;
    public String alertType;
    public String userId;
    public String channel;
    public String reason;
    /** The alert's own detection time. */
    public long detectedAt;
    /** Event time of this decision. */
    public long decidedAt;
    /** For {@code quiet_hours_delayed}: when the alert is decided again (the end of the quiet window); else 0. */
    public long releaseAt;
    /** For {@code priority}: the alert that won; else null. */
    public String winnerAlertId;

    public AlertDecision() {}

    static AlertDecision of(Candidate c, String channel, String reason, long decidedAt, long releaseAt, String winner) {
        AlertDecision d = new AlertDecision();
        d.alertId = c.alertId();
        d.patternId = c.patternId();
        d.patternVersion = c.patternVersion();
        d.alertType = c.alertType();
        d.userId = c.userId();
        d.channel = channel;
        d.reason = reason;
        d.detectedAt = c.detectedAt();
        d.decidedAt = decidedAt;
        d.releaseAt = releaseAt;
        d.winnerAlertId = winner;
        d.decisionId = id(c.alertId(), reason, decidedAt);
        return d;
    }

    /** sha-256 of alert id, reason and decision time; the first 128 bits in hex. */
    public static String id(String alertId, String reason, long decidedAt) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest((alertId + "\n" + reason + "\n" + decidedAt).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return "AlertDecision{" + reason + " " + alertType + " " + userId + " @" + decidedAt + (releaseAt > 0 ? " until " + releaseAt : "") + "}";
    }
}
