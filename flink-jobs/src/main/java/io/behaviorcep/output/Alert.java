package io.behaviorcep.output;

import io.behaviorcep.event.ProfileSnapshot;

/** An alert as published on {@code behavior.alerts} and stored in {@code alerts}. Contract: docs/contracts.md. */
public class Alert {
    /** Deterministic from pattern, version, user and matched event ids: a replay yields the same id. */
    public String alertId;
    public String patternId;
    public int patternVersion;
    public String alertType;
    public String severity;
    public String userId;
    public long detectedAt;
    public String matchedJson;
    public String payloadJson;
    public ProfileSnapshot profile;
    /** The pattern's experiment, or null when it runs none. */
    public String experimentId;
    /** The user's arm in {@link #experimentId}, or null. */
    public String arm;

    public Alert() {}

    @Override
    public String toString() {
        return "Alert{" + alertId + " " + patternId + " v" + patternVersion + " " + userId + " @" + detectedAt + "}";
    }
}
