package io.behaviorcep.action;

import io.behaviorcep.pattern.PatternMatch;

/**
 * What the actions operator orders by event time: a decided match, or an event that ends a
 * segment membership. One type so both travel through one keyed input and one buffer.
 */
public class ActionInput {
    public long timestamp;
    /** Set for a match. */
    public PatternMatch match;
    /** Set for an exit: the segment the event ends, and the event's messageId and pattern id. */
    public String exitSegment;
    public String exitPatternId;
    public String exitEventId;
    /** The exit event's profile, for an alert raised on exit. */
    public io.behaviorcep.profile.ProfileSnapshot exitProfile;
    public String userKey;
    /**
     * Set for a privacy signal from the profile operator: {@link #SUPPRESS} (the user opted out or was
     * put on the suppression list), {@link #UNSUPPRESS}, or {@link #ERASE} (the user's data is erased).
     */
    public String control;
    /**
     * Set for a pattern change of the running job, passed on by the engine: it belongs to no user
     * and is applied on arrival, never buffered.
     */
    public io.behaviorcep.pattern.PatternChange change;

    public static final String SUPPRESS = "suppress";
    public static final String UNSUPPRESS = "unsuppress";
    public static final String ERASE = "erase";

    public ActionInput() {}

    public static ActionInput control(String userKey, String control, long timestamp) {
        ActionInput in = new ActionInput();
        in.timestamp = timestamp;
        in.userKey = userKey;
        in.control = control;
        return in;
    }

    /** @param key the key the change travels under (one of this subtask's, see {@code KeyedPathHead}) */
    public static ActionInput patternChange(io.behaviorcep.pattern.PatternChange change, String key) {
        ActionInput in = new ActionInput();
        in.timestamp = change.activateAt;
        in.userKey = key;
        in.change = change;
        return in;
    }

    public boolean isPatternChange() {
        return change != null;
    }

    public boolean isControl() {
        return control != null;
    }

    public static ActionInput match(PatternMatch m) {
        ActionInput in = new ActionInput();
        in.timestamp = m.detectedAt;
        in.match = m;
        in.userKey = m.userKey;
        return in;
    }

    public static ActionInput exit(String userKey, String segment, String patternId, String eventId, long timestamp) {
        ActionInput in = new ActionInput();
        in.timestamp = timestamp;
        in.userKey = userKey;
        in.exitSegment = segment;
        in.exitPatternId = patternId;
        in.exitEventId = eventId;
        return in;
    }

    public boolean isExit() {
        return exitSegment != null;
    }

    /** Deterministic order within one timestamp: privacy signals, then exits, then matches, then by ids. */
    String sortKey() {
        if (isControl()) return "0|" + control;
        return isExit() ? "1|" + exitSegment + "|" + exitEventId
                : "2|" + match.patternId + "|" + match.anchorId + "|" + match.eventIds;
    }
}
