package io.behaviorcep.event;

/** A record the job refused, with why: published to the dead-letter topic with its original bytes. */
public class DeadLetter {
    public Reason reason;
    public String message;
    public byte[] key;
    public byte[] value;
    public String sourceTopic;
    public int sourcePartition;
    public long sourceOffset;

    /** Reason codes are part of the DLQ contract (header {@code dlq.reason}); only ever add to them. */
    public enum Reason {
        NOT_JSON,
        NOT_AN_OBJECT,
        MISSING_FIELD,
        WRONG_TYPE,
        INVALID_TIMESTAMP,
        FUTURE_TIMESTAMP,
        TOO_LARGE,
        TOO_DEEP,
        UNSUPPORTED_TYPE,
        /** A record of the control topic that is no valid control ({@link io.behaviorcep.privacy.ControlRecords}). */
        INVALID_CONTROL,
        /**
         * A valid event refused by the profile operator: its user already had
         * {@code profile.max-buffered-events-per-user} events waiting for the watermark. The value is
         * the event as Segment JSON (as on the late topic), not the original bytes; no source offset.
         */
        USER_BUFFER_FULL,
        /**
         * A valid event (or a timer) that made a step after parsing throw ({@link io.behaviorcep.output.StepFailure}): the
         * message names the step and, where one was at work, the pattern and version. The value is the
         * event as Segment JSON (a timer's: its user key and time); no source offset.
         */
        PROCESSING_FAILED
    }

    /** The reasons the parser gives: every one but those of operators after it. */
    public static java.util.Set<Reason> parserReasons() {
        return java.util.EnumSet.complementOf(java.util.EnumSet.of(Reason.USER_BUFFER_FULL, Reason.INVALID_CONTROL, Reason.PROCESSING_FAILED));
    }

    public DeadLetter() {}

    public DeadLetter(Reason reason, String message, RawRecord raw) {
        this.reason = reason;
        this.message = message;
        this.key = raw.key;
        this.value = raw.value;
        this.sourceTopic = raw.topic;
        this.sourcePartition = raw.partition;
        this.sourceOffset = raw.offset;
    }

    @Override
    public String toString() {
        return "DeadLetter{" + reason + ": " + message + " @" + sourceTopic + "/" + sourcePartition + "/" + sourceOffset + "}";
    }
}
