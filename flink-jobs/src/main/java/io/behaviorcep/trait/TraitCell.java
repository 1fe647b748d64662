package io.behaviorcep.trait;

/**
 * One user's state of one computed trait, kept in {@code ProfileState.traits}. A Flink POJO (public
 * fields of simple types and arrays), so the profile's state keeps using the PojoSerializer. Which
 * fields are used depends on the trait's function and on whether it is windowed or {@code since};
 * the rest stay empty. Sizes are in {@link TraitSet}.
 */
public class TraitCell {
    /** The trait's id and a hash of its {@code TraitDefinition#spec}: a cell of a changed definition is dropped. */
    public String id;
    public int specHash;

    // --- a trait since an event: scalars over the events since the last reset ---------------------
    /** Events taken (for numeric functions: those with a number). */
    public long count;
    public double sum;
    public double min;
    public double max;
    /** {@code first} / {@code last}: the value (cut to {@link TraitSet#MAX_VALUE_CHARS}); null if none. */
    public String first;
    public String last;
    /** Event time of {@link #last} (windowed {@code last}). */
    public long lastAt = Long.MIN_VALUE;

    // --- a windowed trait: a ring of hourly or daily buckets ----------------------------------------
    /** Index (epoch buckets) of the newest bucket of the ring; MIN_VALUE before the first event. */
    public long newestBucket = Long.MIN_VALUE;
    /** count / sum / min / max per bucket (NaN: no value, for min and max); null until used. */
    public double[] buckets;
    /** {@code first}: the first value of each bucket; null until used. */
    public String[] firstBuckets;

    // --- distinct_count: value hashes, with the bucket of their latest occurrence (windowed) ---------
    public long[] hashes;
    public long[] hashBuckets;
    /** Hashes in use in {@link #hashes}. */
    public int distinct;

    public TraitCell() {}
}
