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

    public RawRecord() {}

    public RawRecord(byte[] key, byte[] value, String topic, int partition, long offset) {
        this.key = key;
        this.value = value;
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
    }

    public static RawRecord of(byte[] value) {
        return new RawRecord(null, value, "", -1, -1L);
    }
}
