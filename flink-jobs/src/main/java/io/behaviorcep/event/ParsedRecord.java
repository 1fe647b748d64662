package io.behaviorcep.event;

/**
 * A record of the events topic as the source hands it on: parsed into an event, or refused as a
 * dead letter, with the time it was written to the topic. Parsing happens in the source so that
 * event time can be tracked per Kafka partition ({@link PartitionWatermarks}); refused records
 * still pass through the source's watermark generator (they show the partition is alive) but never
 * move event time.
 */
public class ParsedRecord {
    /** The valid event; null when the record was refused. */
    public BehaviorEvent event;
    /** Why the record was refused; null when it is valid. */
    public DeadLetter deadLetter;
    /** {@link RawRecord#ingestTime}. */
    public long ingestTime = RawRecord.NO_INGEST_TIME;

    public ParsedRecord() {}

    public static ParsedRecord of(EventParser.Result result, long ingestTime) {
        ParsedRecord r = new ParsedRecord();
        r.event = result.event;
        r.deadLetter = result.deadLetter;
        r.ingestTime = ingestTime;
        return r;
    }

    /** The event's own time; for a refused record, none (it is not stamped and moves nothing). */
    public long eventTime() {
        return event == null ? Long.MIN_VALUE : event.timestamp;
    }
}
