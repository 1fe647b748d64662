package io.behaviorcep.event;

import java.util.Arrays;

/**
 * One user's remembered message ids, as one state value: each id as a 64-bit fingerprint with the
 * processing time it was first seen, in two parallel arrays sorted by fingerprint, plus the user's
 * sweep time. The decisions on it are {@link SeenIds}'.
 *
 * <p>Why fingerprints: a Segment id is 36 characters and costs ~40 bytes in state (up to ~70 for
 * a long one remembered by its digest); a fingerprint costs 8, and every id, whatever its length,
 * costs the same. Two different ids of one user share a fingerprint with probability about
 * n²/2<sup>65</sup> (n the user's remembered ids, at most {@code events.dedup-max-ids-per-user}):
 * below 3·10<sup>-12</sup> per user at the default bound of 10,000, and the only effect is that the
 * later of the two is dropped as a repeat within the TTL. A browser choosing ids to collide can
 * only drop its own events (the set is per user).
 *
 * <p>Why one value instead of a map entry per id: on RocksDB each keyed-state access is a JNI call,
 * a key serialisation and a seek; one value per concern halves the accesses per event (issue #16's
 * {@code layout} benchmark). Looking an id up is a binary search; adding one moves at most the
 * bound's entries, once per first sighting.
 */
public final class SeenIdSet {
    /** {@link #sweepAt} when the user has no ids, hence no sweep timer. */
    public static final long NO_SWEEP = Long.MIN_VALUE;

    private long[] fingerprints;
    private long[] firstSeen;
    private int size;
    /** When the user's sweep timer fires; {@link #NO_SWEEP}: no timer. */
    long sweepAt = NO_SWEEP;

    public SeenIdSet() {
        this(new long[4], new long[4], 0, NO_SWEEP);
    }

    SeenIdSet(long[] fingerprints, long[] firstSeen, int size, long sweepAt) {
        this.fingerprints = fingerprints;
        this.firstSeen = firstSeen;
        this.size = size;
        this.sweepAt = sweepAt;
    }

    /**
     * The 64-bit fingerprint of a message id: each UTF-16 unit mixed in with a multiply and a shift,
     * then the length and MurmurHash3's finaliser, so that ids differing in one character differ in
     * about half the bits. Stable across JVMs and versions: it is stored in savepoints.
     */
    public static long fingerprint(String messageId) {
        long h = 0x9E3779B97F4A7C15L;
        for (int i = 0, n = messageId.length(); i < n; i++) {
            h = (h ^ messageId.charAt(i)) * 0xBF58476D1CE4E5B9L;
            h ^= h >>> 31;
        }
        h ^= messageId.length();
        h ^= h >>> 33;
        h *= 0xFF51AFD7ED558CCDL;
        h ^= h >>> 33;
        h *= 0xC4CEB9FE1A85EC53L;
        h ^= h >>> 33;
        return h;
    }

    public int size() {
        return size;
    }

    public boolean isEmpty() {
        return size == 0;
    }

    /** Whether {@code messageId} is remembered (expired or not: the sweep has not removed it yet). */
    public boolean remembers(String messageId) {
        return indexOf(fingerprint(messageId)) >= 0;
    }

    /** When the sweep timer fires, {@link #NO_SWEEP} for none. */
    public long sweepAt() {
        return sweepAt;
    }

    int indexOf(long fingerprint) {
        return Arrays.binarySearch(fingerprints, 0, size, fingerprint);
    }

    long firstSeenAt(int index) {
        return firstSeen[index];
    }

    long fingerprintAt(int index) {
        return fingerprints[index];
    }

    void setFirstSeen(int index, long at) {
        firstSeen[index] = at;
    }

    /** Inserts a fingerprint not yet held, at {@code -(indexOf + 1)}. */
    void insert(int insertionPoint, long fingerprint, long at) {
        if (size == fingerprints.length) {
            int capacity = Math.max(4, size + (size >> 1));
            fingerprints = Arrays.copyOf(fingerprints, capacity);
            firstSeen = Arrays.copyOf(firstSeen, capacity);
        }
        System.arraycopy(fingerprints, insertionPoint, fingerprints, insertionPoint + 1, size - insertionPoint);
        System.arraycopy(firstSeen, insertionPoint, firstSeen, insertionPoint + 1, size - insertionPoint);
        fingerprints[insertionPoint] = fingerprint;
        firstSeen[insertionPoint] = at;
        size++;
    }

    /** Keeps the ids first seen at or after {@code from}, in their order; returns how many went. */
    int removeFirstSeenBefore(long from) {
        int kept = 0;
        for (int i = 0; i < size; i++) {
            if (firstSeen[i] >= from) {
                fingerprints[kept] = fingerprints[i];
                firstSeen[kept] = firstSeen[i];
                kept++;
            }
        }
        int gone = size - kept;
        size = kept;
        return gone;
    }

    /** Removes the ids at the given indexes (ascending, distinct). */
    void removeAll(int[] ascendingIndexes, int count) {
        int kept = 0;
        int next = 0;
        for (int i = 0; i < size; i++) {
            if (next < count && ascendingIndexes[next] == i) {
                next++;
                continue;
            }
            fingerprints[kept] = fingerprints[i];
            firstSeen[kept] = firstSeen[i];
            kept++;
        }
        size = kept;
    }

    /** The earliest first-seen time, {@link Long#MAX_VALUE} when empty. */
    long oldestFirstSeen() {
        long oldest = Long.MAX_VALUE;
        for (int i = 0; i < size; i++) oldest = Math.min(oldest, firstSeen[i]);
        return oldest;
    }

    /** The indexes of the ids, oldest first (by first sighting). */
    int[] indexesByAge() {
        Integer[] boxed = new Integer[size];
        for (int i = 0; i < size; i++) boxed[i] = i;
        Arrays.sort(boxed, (a, b) -> Long.compare(firstSeen[a], firstSeen[b]));
        int[] order = new int[size];
        for (int i = 0; i < size; i++) order[i] = boxed[i];
        return order;
    }

    void clear() {
        fingerprints = new long[4];
        firstSeen = new long[4];
        size = 0;
        sweepAt = NO_SWEEP;
    }

    SeenIdSet copy() {
        return new SeenIdSet(Arrays.copyOf(fingerprints, Math.max(size, 1)), Arrays.copyOf(firstSeen, Math.max(size, 1)), size, sweepAt);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof SeenIdSet s) || s.size != size || s.sweepAt != sweepAt) return false;
        return Arrays.equals(fingerprints, 0, size, s.fingerprints, 0, size) && Arrays.equals(firstSeen, 0, size, s.firstSeen, 0, size);
    }

    @Override
    public int hashCode() {
        int h = Long.hashCode(sweepAt) * 31 + size;
        for (int i = 0; i < size; i++) h = h * 31 + Long.hashCode(fingerprints[i] ^ firstSeen[i]);
        return h;
    }

    @Override
    public String toString() {
        return "SeenIdSet[" + size + " ids, sweep at " + (sweepAt == NO_SWEEP ? "none" : sweepAt) + "]";
    }
}
