package io.behaviorcep.segment;

/**
 * A user entering or leaving a segment: the record on {@code behavior.segments} and one row of
 * {@code segment_events}. Contract: docs/contracts.md.
 */
public class SegmentUpdate {
    public static final String ENTER = "enter";
    public static final String EXIT = "exit";
    public static final String REASON_TTL = "ttl";
    /** Membership ended because the user opted out or was put on the suppression list. */
    public static final String REASON_SUPPRESSED = "suppressed";
    /** Membership ended because the user's data was erased ({@code User Deleted}). */
    public static final String REASON_ERASED = "erased";
    /** Membership of an anonymous id ended because identity stitching merged it into its user (docs/contracts.md, "Identity"). */
    public static final String REASON_MERGED = "merged";
    /** {@link #expiresAt} of an enter whose end is not known in advance (threshold segments). */
    public static final long NO_EXPIRY = 0L;

    /** Deterministic: the same input yields the same id on every run and replay. */
    public String eventId;
    public String userId;
    public String segment;
    public String action;
    /** The pattern or threshold segment id that caused it, or {@code ttl}, {@code suppressed}, {@code erased}, {@code merged}. */
    public String reason;
    /** Event time of the update. */
    public long at;
    /** Orders the updates of one user and segment; PostgreSQL applies only higher versions. */
    public long version;
    /** For pattern enters: when membership ends without an exit event. 0 ({@link #NO_EXPIRY}) for exits and threshold enters. */
    public long expiresAt;

    public SegmentUpdate() {}

    public static SegmentUpdate of(String userId, String segment, String action, String reason, long at, long expiresAt) {
        SegmentUpdate u = new SegmentUpdate();
        u.userId = userId;
        u.segment = segment;
        u.action = action;
        u.reason = reason;
        u.at = at;
        // enter and exit at the same millisecond: the exit is processed first, so the enter must win
        u.version = 2 * at + (ENTER.equals(action) ? 1 : 0);
        u.expiresAt = expiresAt;
        u.eventId = userId + "|" + segment + "|" + u.version;
        return u;
    }

    @Override
    public String toString() {
        return "SegmentUpdate{" + userId + " " + action + " " + segment + " (" + reason + ") @" + at + "}";
    }
}
