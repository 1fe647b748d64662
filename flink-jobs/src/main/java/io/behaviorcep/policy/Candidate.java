package io.behaviorcep.policy;

/**
 * An alert the patterns raised (after their own caps), as the policy sees it. {@code body} is the
 * alert itself in the caller's encoding, kept only while the alert waits out quiet hours; {@code timezone}
 * is the event's {@code context.timezone} as sent (untrusted), or null.
 */
public record Candidate(String alertId, String patternId, int patternVersion, String alertType, String userId, long detectedAt,
                        String timezone, String body) {}
