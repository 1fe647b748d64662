package io.behaviorcep.bench;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * How the number of state accesses per event, and the size of each, cost on RocksDB: the question of
 * issue #16 "one state value per user, or one per concern?", measured on the state backend alone.
 *
 * <p>Each layout does, per event, the work of the keyed path's state with the same bytes per user
 * (the {@code state} mode's figures), but no pattern logic, so the figures isolate state access:
 * <ul>
 *   <li>{@code today}: the accesses the keyed path makes now: dedup (a map of ids and a count), the
 *       profile's event-time buffer (three maps and a total, put then taken when the watermark passes),
 *       the profile value, its cleanup time, the engine's value, and the actions' map for 1 % of events;</li>
 *   <li>{@code per-concern}: one value per concern (dedup, profile with its buffer, engine), read and
 *       written once per event;</li>
 *   <li>{@code per-user}: one value per user holding all of it.</li>
 * </ul>
 * Every layout emits 1 per event it handled; the sum must equal the events sent.
 */
final class StateLayoutBench {
    static final List<String> LAYOUTS = List.of("today", "per-concern", "per-user");

    /** Bytes per user of each concern; an event as buffered by the profile. */
    record Sizes(int dedup, int profile, int engine, int event) implements java.io.Serializable {
        int total() {
            return dedup + profile + engine;
        }
    }

    record Result(long millis, long counted) {}

    private StateLayoutBench() {}

    static Result run(String layout, Contenders.Settings s, long events, int users, Sizes sizes, long seed) throws Exception {
        StreamExecutionEnvironment env = Contenders.env(s);
        KeyedProcessFunction<Integer, Long, Long> f = switch (layout) {
            case "today" -> new Today(sizes);
            case "per-concern" -> new PerConcern(sizes);
            case "per-user" -> new PerUser(sizes);
            default -> throw new IllegalArgumentException("unknown layout " + layout + "; one of " + LAYOUTS);
        };
        CountSink.reset();
        env.fromSequence(0, events - 1)
                .map(i -> i).returns(Types.LONG)
                .keyBy(i -> userOf(i, users, seed), Types.INT)
                .process(f, Types.LONG)
                .sinkTo(new CountSink()).name("Count events");
        long t0 = System.nanoTime();
        env.execute("state layout " + layout);
        return new Result((System.nanoTime() - t0) / 1_000_000, CountSink.total());
    }

    /** A user for event {@code i}: uniform over {@code users}, the same in every layout. */
    static int userOf(long i, int users, long seed) {
        return new SplittableRandom(seed ^ (i * 0x9E3779B97F4A7C15L)).nextInt(users);
    }

    /** A changed copy of {@code old} (or a new value of {@code size} bytes): what re-serialising a value costs at least. */
    static byte[] touched(byte[] old, int size, long n) {
        byte[] b = old == null ? new byte[size] : Arrays.copyOf(old, size);
        b[(int) (n % size)] ^= 1;
        return b;
    }

    /** Sums what the layouts emit (1 per event handled) in this JVM: the check that none was skipped. */
    static final class CountSink implements org.apache.flink.api.connector.sink2.Sink<Long> {
        private static final java.util.concurrent.atomic.LongAdder EVENTS = new java.util.concurrent.atomic.LongAdder();

        static void reset() {
            EVENTS.reset();
        }

        static long total() {
            return EVENTS.sum();
        }

        @Override
        public org.apache.flink.api.connector.sink2.SinkWriter<Long> createWriter(org.apache.flink.api.connector.sink2.WriterInitContext context) {
            return new org.apache.flink.api.connector.sink2.SinkWriter<>() {
                @Override
                public void write(Long one, Context c) {
                    EVENTS.add(one);
                }

                @Override
                public void flush(boolean endOfInput) {}

                @Override
                public void close() {}
            };
        }
    }

    static final class Today extends KeyedProcessFunction<Integer, Long, Long> {
        private final Sizes sizes;
        private transient MapState<String, Long> seen;
        private transient ValueState<Integer> idsHeld;
        private transient MapState<Tuple2<Long, Integer>, byte[]> waitingEvents;
        private transient MapState<Long, Integer> waitingAt;
        private transient ValueState<Integer> waitingTotal;
        private transient ValueState<Long> cleanupAt;
        private transient ValueState<byte[]> profile;
        private transient ValueState<byte[]> engine;
        private transient MapState<String, long[]> recentAlerts;

        Today(Sizes sizes) {
            this.sizes = sizes;
        }

        @Override
        public void open(OpenContext ctx) {
            var rc = getRuntimeContext();
            seen = rc.getMapState(new MapStateDescriptor<>("seen", Types.STRING, Types.LONG));
            idsHeld = rc.getState(new ValueStateDescriptor<>("ids-held", Types.INT));
            waitingEvents = rc.getMapState(new MapStateDescriptor<>("waiting-events", Types.TUPLE(Types.LONG, Types.INT),
                    PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
            waitingAt = rc.getMapState(new MapStateDescriptor<>("waiting-at", Types.LONG, Types.INT));
            waitingTotal = rc.getState(new ValueStateDescriptor<>("waiting-total", Types.INT));
            cleanupAt = rc.getState(new ValueStateDescriptor<>("cleanup-at", Types.LONG));
            profile = rc.getState(new ValueStateDescriptor<>("profile", PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
            engine = rc.getState(new ValueStateDescriptor<>("engine", PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
            recentAlerts = rc.getMapState(new MapStateDescriptor<>("recent-alerts", Types.STRING, PrimitiveArrayTypeInfo.LONG_PRIMITIVE_ARRAY_TYPE_INFO));
        }

        @Override
        public void processElement(Long i, Context ctx, Collector<Long> out) throws Exception {
            // dedup: a map of message ids (kept at about its size per user by keeping the last ids) and a count
            String id = "m-" + i;
            if (seen.contains(id)) return;
            seen.put(id, i);
            Integer held = idsHeld.value();
            int n = held == null ? 0 : held;
            int maxIds = Math.max(1, sizes.dedup / 48);
            if (n >= maxIds) seen.remove("m-" + (i - 1)); // one removal stands for the sweep of old ids
            else idsHeld.update(n + 1);
            // the profile's event-time buffer: put, then taken when the watermark passes
            Integer total = waitingTotal.value();
            Integer at = waitingAt.get(i);
            int k = at == null ? 0 : at;
            waitingEvents.put(Tuple2.of(i, k), new byte[sizes.event]);
            waitingAt.put(i, k + 1);
            waitingTotal.update((total == null ? 0 : total) + 1);
            byte[] event = waitingEvents.get(Tuple2.of(i, k));
            waitingEvents.remove(Tuple2.of(i, k));
            waitingAt.get(i);
            waitingAt.remove(i);
            Integer left = waitingTotal.value();
            if (left != null && left > 1) waitingTotal.update(left - 1);
            else waitingTotal.clear();
            cleanupAt.value();
            // the profile and the engine: one value each, read and written
            profile.update(touched(profile.value(), sizes.profile, i + event.length));
            engine.update(touched(engine.value(), sizes.engine, i));
            // the actions: on a match only
            if (i % 100 == 0) {
                long[] a = recentAlerts.get("pattern");
                recentAlerts.put("pattern", a == null ? new long[] {i} : new long[] {i, a[0]});
            }
            out.collect(1L);
        }
    }

    static final class PerConcern extends KeyedProcessFunction<Integer, Long, Long> {
        private final Sizes sizes;
        private transient ValueState<byte[]> dedup;
        private transient ValueState<byte[]> profile;
        private transient ValueState<byte[]> engine;
        private transient ValueState<byte[]> actions;

        PerConcern(Sizes sizes) {
            this.sizes = sizes;
        }

        @Override
        public void open(OpenContext ctx) {
            var rc = getRuntimeContext();
            dedup = rc.getState(new ValueStateDescriptor<>("dedup", PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
            profile = rc.getState(new ValueStateDescriptor<>("profile", PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
            engine = rc.getState(new ValueStateDescriptor<>("engine", PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
            actions = rc.getState(new ValueStateDescriptor<>("actions", PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        }

        @Override
        public void processElement(Long i, Context ctx, Collector<Long> out) throws Exception {
            dedup.update(touched(dedup.value(), sizes.dedup, i));
            // the buffer is inside the profile's value: the event is in it until the watermark passes
            profile.update(touched(profile.value(), sizes.profile + sizes.event, i));
            engine.update(touched(engine.value(), sizes.engine, i));
            if (i % 100 == 0) actions.update(touched(actions.value(), 74, i));
            out.collect(1L);
        }
    }

    static final class PerUser extends KeyedProcessFunction<Integer, Long, Long> {
        private final Sizes sizes;
        private transient ValueState<byte[]> user;

        PerUser(Sizes sizes) {
            this.sizes = sizes;
        }

        @Override
        public void open(OpenContext ctx) {
            user = getRuntimeContext().getState(new ValueStateDescriptor<>("user", PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        }

        @Override
        public void processElement(Long i, Context ctx, Collector<Long> out) throws Exception {
            user.update(touched(user.value(), sizes.total() + sizes.event + 74, i));
            out.collect(1L);
        }
    }

    static String row(String layout, String backend, double eps, double ofToday) {
        return String.format(Locale.ROOT, "%-12s %-8s %,12.0f %8.2f", layout, backend, eps, ofToday);
    }
}
