package io.behaviorcep.event;

/**
 * One record as it came off the events topic, before anything is trusted. Keeping the bytes and
 * the coordinates lets a rejected record reach the dead-letter topic exactly as it was sent.
 */
public class RawRecord {
    public byte[] key;
    public byte[] value;
    public String topic;
    public int partition;
    public long offset;
    /**
     * When the record was written to the events topic (the Kafka record's timestamp), epoch ms;
     * {@link #NO_INGEST_TIME} when the source has none. Event time never runs ahead of it
     * ({@link PartitionWatermarks}).
     */
    public long ingestTime = NO_INGEST_TIME;

    public static final long NO_INGEST_TIME = Long.MAX_VALUE;

    public RawRecord() {}

    public RawRecord(byte[] key, byte[] value, String topic, int partition, long offset) {
        this.key = key;
        this.value = value;
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
    }

    public RawRecord(byte[] key, byte[] value, String topic, int partition, long offset, long ingestTime) {
        this(key, value, topic, partition, offset);
        this.ingestTime = ingestTime;
    }

    public static RawRecord of(byte[] value) {
        return new RawRecord(null, value, "", -1, -1L);
    }
}
