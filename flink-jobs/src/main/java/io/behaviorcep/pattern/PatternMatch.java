package io.behaviorcep.pattern;

import io.behaviorcep.event.ProfileSnapshot;

/**
 * A decided match of one pattern for one user, before caps and segments are applied. Rendered
 * parts (matched events, payload) are JSON text so this stays a cheap Flink POJO.
 */
public class PatternMatch {
    public String patternId;
    public int patternVersion;
    public String userKey;
    /** Event time at which the match was decided: the anchor event, or the end of a trailing absence. */
    public long detectedAt;
    /** messageId of the anchor event: overlapping partial matches of one anchor are one match. */
    public String anchorId;
    /** Sorted, comma-joined messageIds of every matched event: the input to the deterministic alert id. */
    public String eventIds;
    /** {"step": [{"message_id": ..., "timestamp": ...}], ...} */
    public String matchedJson;
    /** The alert payload with templates filled in, as a JSON object. */
    public String payloadJson;
    public ProfileSnapshot profile;
    /**
     * A partial match that timed out ({@code on_timeout}): {@link #detectedAt} is the instant it timed
     * out, the payload is the {@code on_timeout} alert's, and it enters no segment.
     */
    public boolean timedOut;
    /**
     * Every bound event was replayed by identity stitching ({@code BehaviorEvent#stitchedAt}) and the
     * match was decided no later than the link: the anonymous id already raised its alert, so the
     * actions operator counts it for caps and segments and sends nothing (docs/contracts.md, "Identity").
     */
    public boolean sentUnderAnonymousId;
    /** The anchor event's {@code context.timezone} as sent (untrusted; the messaging policy validates it), or null. */
    public String timezone;

    public PatternMatch() {}

    @Override
    public String toString() {
        return "PatternMatch{" + patternId + " v" + patternVersion + " " + userKey + " @" + detectedAt + " " + eventIds + (timedOut ? " timed out" : "") + "}";
    }
}
