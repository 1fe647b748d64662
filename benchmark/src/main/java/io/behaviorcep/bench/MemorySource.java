package io.behaviorcep.bench;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;

import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

/**
 * A source over records held in this JVM (a local MiniCluster shares the heap): no copy of the data
 * travels in the job graph, so millions of records cost nothing to submit.
 *
 * <p>Reader r of p emits records r, r + p, r + 2p, ...: every reader's share is in the array's (time)
 * order and the readers interleave, as Kafka partitions of one time-ordered topic would. It relies
 * on each reader taking one of the p splits; {@link #emitted} lets the caller check that all records
 * went out.
 *
 * <p>Modes: as fast as possible (bounded); paced, record i leaving at start + i / rate (the latency
 * run); or "hold": after the last record the source stays open and sends fillers slowly (the caller
 * drops them with {@link #isFiller}) so that state can be snapshotted before end-of-input clears it.
 */
public final class MemorySource {
    private static final Map<String, Object[]> DATA = new ConcurrentHashMap<>();
    private static final Map<String, AtomicLong> EMITTED = new ConcurrentHashMap<>();
    private static final Map<String, AtomicLong> START_NANOS = new ConcurrentHashMap<>();
    private static final Map<String, AtomicLong> MAX_LAG_NANOS = new ConcurrentHashMap<>();

    private MemorySource() {}

    /** Registers records under a fresh id; {@link #release} frees them. */
    public static String register(Object[] records) {
        String id = UUID.randomUUID().toString();
        DATA.put(id, records);
        EMITTED.put(id, new AtomicLong());
        START_NANOS.put(id, new AtomicLong(Long.MIN_VALUE));
        MAX_LAG_NANOS.put(id, new AtomicLong());
        return id;
    }

    public static void release(String id) {
        DATA.remove(id);
        EMITTED.remove(id);
        START_NANOS.remove(id);
        MAX_LAG_NANOS.remove(id);
    }

    /** Paced mode: how far behind its schedule the source sent a record, at most (backpressure). */
    public static long maxLagNanos(String id) {
        return MAX_LAG_NANOS.get(id).get();
    }

    public static long emitted(String id) {
        return EMITTED.get(id).get();
    }

    public static void resetEmitted(String id) {
        EMITTED.get(id).set(0);
        START_NANOS.get(id).set(Long.MIN_VALUE);
        MAX_LAG_NANOS.get(id).set(0);
    }

    /** System.nanoTime() at which record 0 was scheduled to leave in paced mode (Long.MIN_VALUE before). */
    public static long pacedStartNanos(String id) {
        return START_NANOS.get(id).get();
    }

    /**
     * @param ratePerSecond 0: unpaced
     * @param hold          stay open after the last record, sending a filler every 20 ms
     */
    public static <T> DataGeneratorSource<T> create(String id, int parallelism, double ratePerSecond, boolean hold,
                                                    SerializableFiller<T> filler, TypeInformation<T> type) {
        int n = DATA.get(id).length;
        long perReader = (n + parallelism - 1) / parallelism;
        long count = hold ? Long.MAX_VALUE : perReader * parallelism;
        return new DataGeneratorSource<>(new Gen<>(id, parallelism, ratePerSecond, hold, filler), count, RateLimiterStrategy.noOp(), type);
    }

    /** Makes a filler record (never counted, dropped by the caller). */
    public interface SerializableFiller<T> extends Function<Integer, T>, java.io.Serializable {}

    static final class Gen<T> implements GeneratorFunction<Long, T> {
        private final String id;
        private final int parallelism;
        private final double rate;
        private final boolean hold;
        private final SerializableFiller<T> filler;
        private transient Object[] data;
        private transient AtomicLong emitted;
        private transient AtomicLong start;
        private transient AtomicLong maxLag;
        private transient long myMaxLag;
        private transient int reader;
        private transient long next;
        private transient long mine;
        private transient boolean reported;

        Gen(String id, int parallelism, double rate, boolean hold, SerializableFiller<T> filler) {
            this.id = id;
            this.parallelism = parallelism;
            this.rate = rate;
            this.hold = hold;
            this.filler = filler;
        }

        @Override
        public void open(SourceReaderContext ctx) {
            data = DATA.get(id);
            if (data == null) throw new IllegalStateException("no in-memory data " + id + ": the benchmark runs on a local Flink only");
            emitted = EMITTED.get(id);
            start = START_NANOS.get(id);
            maxLag = MAX_LAG_NANOS.get(id);
            reader = ctx.getIndexOfSubtask();
            next = reader;
            if (rate > 0) start.compareAndSet(Long.MIN_VALUE, System.nanoTime() + 200_000_000L);
        }

        @Override
        @SuppressWarnings("unchecked")
        public T map(Long ignored) {
            long i = next;
            if (i >= data.length) {
                report();
                if (hold) LockSupport.parkNanos(20_000_000L);
                return filler.apply(reader);
            }
            next += parallelism;
            if (rate > 0) {
                long at = start.get() + (long) (i * 1e9 / rate);
                long wait;
                while ((wait = at - System.nanoTime()) > 0) LockSupport.parkNanos(wait);
                if (-wait > myMaxLag) myMaxLag = -wait;
            }
            mine++;
            return (T) data[(int) i];
        }

        private void report() {
            if (!reported) {
                reported = true;
                emitted.addAndGet(mine);
                maxLag.accumulateAndGet(myMaxLag, Math::max);
            }
        }

        @Override
        public void close() {
            if (emitted != null) report();
        }
    }
}
