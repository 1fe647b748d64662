package io.behaviorcep.trait;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.pattern.TraitDefinition;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The computed traits of the running job: updates a user's {@link TraitCell}s with each of their
 * events (in event-time order, as the profile operator counts them) and reads the values as of a
 * point in time into the {@link ProfileSnapshot} ({@code profile.traits.<id>}). Plain logic, no Flink.
 *
 * <p>Per user and trait, bounded whatever the user sends:
 * <ul>
 *   <li>{@code since}: scalars only (about 90 bytes serialized, with the id);</li>
 *   <li>windowed {@code count}, {@code sum}, {@code min}, {@code max}: one double per bucket, an hour
 *       wide for windows up to 2 days (at most 48), a UTC day beyond (at most 90): at most 720 bytes;
 *       windowed {@code last}: scalars; windowed {@code first}: one value per bucket (at most 90 of
 *       {@link #MAX_VALUE_CHARS} characters); about 470 / 810 bytes at 48 hourly / 90 daily buckets;</li>
 *   <li>{@code distinct_count}: a 64-bit hash per distinct value (and its latest bucket, windowed),
 *       exact up to {@link #MAX_DISTINCT} values; beyond that the value stays at {@link #MAX_DISTINCT}
 *       (read it as "at least"): at most about 4.2 KB.</li>
 * </ul>
 * Windows are exact to the bucket, like the profile's own windows: a 7d trait as of a time holds the
 * events of that time's UTC day and the 6 days before.
 *
 * <p>A trait reads as: {@code count} and {@code sum} 0 with no events; {@code min}, {@code max},
 * {@code first}, {@code last} missing (a comparison with them is false) with no events;
 * {@code distinct_count} the number of distinct values (as text, so {@code 1} and {@code 1.0} differ).
 * Numbers that are not finite numbers are skipped by {@code sum}, {@code min} and {@code max}; events
 * without the property are skipped by every function but {@code count}.
 */
public final class TraitSet implements Serializable {
    private static final long serialVersionUID = 1L;
    /** Most distinct values a {@code distinct_count} trait tells apart per user. */
    public static final int MAX_DISTINCT = 256;
    /** {@code first} and {@code last} keep at most this many characters of a value. */
    public static final int MAX_VALUE_CHARS = 256;

    public static final TraitSet EMPTY = new TraitSet(List.of());

    private final List<TraitDefinition> traits;
    private final String[] ids;
    private final int[] specHashes;

    public TraitSet(List<TraitDefinition> traits) {
        this.traits = List.copyOf(traits);
        this.ids = new String[this.traits.size()];
        this.specHashes = new int[this.traits.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = this.traits.get(i).id;
            specHashes[i] = this.traits.get(i).spec().hashCode();
        }
    }

    public List<TraitDefinition> traits() {
        return traits;
    }

    public boolean isEmpty() {
        return traits.isEmpty();
    }

    /**
     * The cells after event {@code e}: one per defined trait, in definition order. Cells of traits no
     * longer defined, or defined differently, are dropped; a new or changed trait starts empty.
     */
    public TraitCell[] add(TraitCell[] cells, BehaviorEvent e) {
        if (traits.isEmpty()) return null;
        TraitCell[] out = aligned(cells);
        for (int i = 0; i < out.length; i++) {
            TraitDefinition d = traits.get(i);
            if (d.resets(e)) {
                out[i] = fresh(i);
            } else if (d.takes(e)) {
                take(d, out[i], e);
            }
        }
        return out;
    }

    private TraitCell[] aligned(TraitCell[] cells) {
        if (cells != null && cells.length == ids.length) {
            boolean same = true;
            for (int i = 0; i < ids.length && same; i++) same = cells[i] != null && ids[i].equals(cells[i].id) && specHashes[i] == cells[i].specHash;
            if (same) return cells;
        }
        TraitCell[] out = new TraitCell[ids.length];
        for (int i = 0; i < ids.length; i++) {
            TraitCell kept = null;
            if (cells != null) {
                for (TraitCell c : cells) if (c != null && ids[i].equals(c.id) && specHashes[i] == c.specHash) kept = c;
            }
            out[i] = kept != null ? kept : fresh(i);
        }
        return out;
    }

    private TraitCell fresh(int i) {
        TraitCell c = new TraitCell();
        c.id = ids[i];
        c.specHash = specHashes[i];
        return c;
    }

    private static void take(TraitDefinition d, TraitCell c, BehaviorEvent e) {
        String raw = d.property == null ? null : e.field(d.property);
        if (d.function.needsProperty() && raw == null) return;
        double number = Double.NaN;
        if (d.function.numeric()) {
            number = parse(raw);
            if (!Double.isFinite(number)) return;
        }
        if (d.windowed()) {
            takeWindowed(d, c, e.timestamp, raw, number);
            return;
        }
        switch (d.function) {
            case COUNT -> c.count++;
            case SUM -> {
                c.sum += number;
                c.count++;
            }
            case MIN -> {
                c.min = c.count == 0 ? number : Math.min(c.min, number);
                c.count++;
            }
            case MAX -> {
                c.max = c.count == 0 ? number : Math.max(c.max, number);
                c.count++;
            }
            case FIRST -> {
                if (c.count++ == 0) c.first = cut(raw);
            }
            case LAST -> {
                c.last = cut(raw);
                c.lastAt = e.timestamp;
                c.count++;
            }
            case DISTINCT_COUNT -> remember(c, hash(raw), 0, Long.MIN_VALUE);
        }
    }

    private static void takeWindowed(TraitDefinition d, TraitCell c, long ts, String raw, double number) {
        int n = d.buckets();
        long bucket = Math.floorDiv(ts, d.bucketMillis());
        if (d.function == TraitDefinition.Function.LAST) {
            if (ts >= c.lastAt) {
                c.last = cut(raw);
                c.lastAt = ts;
            }
            return;
        }
        if (d.function == TraitDefinition.Function.DISTINCT_COUNT) {
            if (c.newestBucket == Long.MIN_VALUE || bucket > c.newestBucket) c.newestBucket = bucket;
            if (c.newestBucket - bucket >= n) return; // older than the window
            remember(c, hash(raw), bucket, c.newestBucket - n);
            return;
        }
        advance(d, c, bucket, n);
        if (c.newestBucket - bucket >= n) return; // older than the window: events come in event-time order, so rare
        int i = (int) Math.floorMod(bucket, n);
        switch (d.function) {
            case COUNT -> c.buckets[i]++;
            case SUM -> c.buckets[i] += number;
            case MIN -> c.buckets[i] = Double.isNaN(c.buckets[i]) ? number : Math.min(c.buckets[i], number);
            case MAX -> c.buckets[i] = Double.isNaN(c.buckets[i]) ? number : Math.max(c.buckets[i], number);
            case FIRST -> {
                if (c.firstBuckets[i] == null) c.firstBuckets[i] = cut(raw);
            }
            default -> { }
        }
    }

    /** Moves the ring forward to {@code bucket}, emptying the buckets it recycles. */
    private static void advance(TraitDefinition d, TraitCell c, long bucket, int n) {
        boolean first = d.function == TraitDefinition.Function.FIRST;
        double empty = d.function == TraitDefinition.Function.MIN || d.function == TraitDefinition.Function.MAX ? Double.NaN : 0;
        if (first && c.firstBuckets == null) c.firstBuckets = new String[n];
        if (!first && c.buckets == null) {
            c.buckets = new double[n];
            Arrays.fill(c.buckets, empty);
        }
        if (c.newestBucket == Long.MIN_VALUE) {
            c.newestBucket = bucket;
            return;
        }
        for (long b = c.newestBucket + 1; b <= bucket && b - c.newestBucket <= n; b++) {
            int i = (int) Math.floorMod(b, n);
            if (first) c.firstBuckets[i] = null;
            else c.buckets[i] = empty;
        }
        c.newestBucket = Math.max(c.newestBucket, bucket);
    }

    /**
     * Adds a value hash (or moves it to {@code bucket}). When the set is full, hashes whose bucket is
     * at or before {@code expiredUpTo} are dropped first; if none is, the new value is not kept.
     */
    private static void remember(TraitCell c, long h, long bucket, long expiredUpTo) {
        if (c.hashes == null) {
            c.hashes = new long[8];
            c.hashBuckets = new long[8];
        }
        for (int i = 0; i < c.distinct; i++) {
            if (c.hashes[i] == h) {
                c.hashBuckets[i] = Math.max(c.hashBuckets[i], bucket);
                return;
            }
        }
        if (c.distinct >= MAX_DISTINCT) {
            int kept = 0;
            for (int i = 0; i < c.distinct; i++) {
                if (c.hashBuckets[i] > expiredUpTo) {
                    c.hashes[kept] = c.hashes[i];
                    c.hashBuckets[kept++] = c.hashBuckets[i];
                }
            }
            c.distinct = kept;
            if (kept >= MAX_DISTINCT) return;
        }
        if (c.distinct == c.hashes.length) {
            int size = Math.min(MAX_DISTINCT, c.hashes.length * 2);
            c.hashes = Arrays.copyOf(c.hashes, size);
            c.hashBuckets = Arrays.copyOf(c.hashBuckets, size);
        }
        c.hashes[c.distinct] = h;
        c.hashBuckets[c.distinct++] = bucket;
    }

    // --- reading ------------------------------------------------------------------------------------

    /** The value of trait {@code i} as of {@code asOf}, as text (as profile fields are); null: missing. */
    String value(int i, TraitCell c, long asOf) {
        TraitDefinition d = traits.get(i);
        if (c == null || c.specHash != specHashes[i] || !ids[i].equals(c.id)) c = fresh(i);
        if (!d.windowed()) {
            return switch (d.function) {
                case COUNT -> Long.toString(c.count);
                case SUM -> Double.toString(c.sum);
                case MIN -> c.count == 0 ? null : Double.toString(c.min);
                case MAX -> c.count == 0 ? null : Double.toString(c.max);
                case FIRST -> c.first;
                case LAST -> c.last;
                case DISTINCT_COUNT -> Integer.toString(c.distinct);
            };
        }
        int n = d.buckets();
        long to = Math.floorDiv(asOf, d.bucketMillis());
        long from = to - n + 1;
        switch (d.function) {
            case LAST:
                return c.last != null && Math.floorDiv(c.lastAt, d.bucketMillis()) >= from ? c.last : null;
            case DISTINCT_COUNT: {
                int k = 0;
                for (int j = 0; j < c.distinct; j++) if (c.hashBuckets[j] >= from && c.hashBuckets[j] <= to) k++;
                return Integer.toString(k);
            }
            case FIRST: {
                if (c.firstBuckets == null) return null;
                for (long b = Math.max(from, c.newestBucket - n + 1); b <= Math.min(to, c.newestBucket); b++) {
                    String v = c.firstBuckets[(int) Math.floorMod(b, n)];
                    if (v != null) return v;
                }
                return null;
            }
            default: {
                double acc = d.function == TraitDefinition.Function.COUNT || d.function == TraitDefinition.Function.SUM ? 0 : Double.NaN;
                if (c.buckets != null) {
                    for (long b = Math.max(from, c.newestBucket - n + 1); b <= Math.min(to, c.newestBucket); b++) {
                        double v = c.buckets[(int) Math.floorMod(b, n)];
                        if (Double.isNaN(v)) continue;
                        acc = switch (d.function) {
                            case MIN -> Double.isNaN(acc) ? v : Math.min(acc, v);
                            case MAX -> Double.isNaN(acc) ? v : Math.max(acc, v);
                            default -> acc + v;
                        };
                    }
                }
                if (d.function == TraitDefinition.Function.COUNT) return Long.toString((long) acc);
                return Double.isNaN(acc) ? null : Double.toString(acc);
            }
        }
    }

    /** Puts every trait's value as of {@code p.asOf} into {@code p}. */
    public void fill(ProfileSnapshot p, TraitCell[] cells) {
        if (traits.isEmpty()) return;
        String[] values = new String[ids.length];
        for (int i = 0; i < ids.length; i++) values[i] = value(i, cellOf(cells, i), p.asOf);
        p.traitIds = ids;
        p.traitValues = values;
    }

    private TraitCell cellOf(TraitCell[] cells, int i) {
        if (cells == null) return null;
        if (i < cells.length && cells[i] != null && ids[i].equals(cells[i].id)) return cells[i];
        for (TraitCell c : cells) if (c != null && ids[i].equals(c.id)) return c;
        return null;
    }

    /**
     * The first instant after {@code t} at which a windowed trait among {@code read} may change without
     * events (its window moves past a bucket that holds something); MAX_VALUE if none.
     */
    public long nextBreakpoint(TraitCell[] cells, long t, Set<String> read) {
        long next = Long.MAX_VALUE;
        for (int i = 0; i < ids.length; i++) {
            TraitDefinition d = traits.get(i);
            if (!d.windowed() || !read.contains(d.id)) continue;
            TraitCell c = cellOf(cells, i);
            if (c == null) continue;
            long width = d.bucketMillis();
            long newest = d.function == TraitDefinition.Function.LAST ? (c.last == null ? Long.MIN_VALUE : Math.floorDiv(c.lastAt, width)) : c.newestBucket;
            if (d.function == TraitDefinition.Function.DISTINCT_COUNT) {
                newest = Long.MIN_VALUE;
                for (int j = 0; j < c.distinct; j++) newest = Math.max(newest, c.hashBuckets[j]);
            }
            if (newest == Long.MIN_VALUE || Math.floorDiv(t, width) - newest >= d.buckets()) continue; // nothing left in the window
            next = Math.min(next, (Math.floorDiv(t, width) + 1) * width);
        }
        return next;
    }

    /** Ids of the traits, in definition order. */
    public List<String> ids() {
        return new ArrayList<>(Arrays.asList(ids));
    }

    private static double parse(String raw) {
        if (raw == null) return Double.NaN;
        try {
            return Double.parseDouble(raw.trim());
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    private static String cut(String v) {
        if (v == null || v.length() <= MAX_VALUE_CHARS) return v;
        int end = MAX_VALUE_CHARS;
        if (Character.isHighSurrogate(v.charAt(end - 1))) end--;
        return v.substring(0, end);
    }

    /** FNV-1a, 64 bits, over the value's characters: collisions are negligible within {@link #MAX_DISTINCT} values. */
    static long hash(String v) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < v.length(); i++) {
            h ^= v.charAt(i);
            h *= 0x100000001b3L;
        }
        return h;
    }
}
