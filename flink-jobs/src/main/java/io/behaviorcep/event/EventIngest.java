package io.behaviorcep.event;

import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkGeneratorSupplier;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.datastream.DataStream;

import java.io.Serializable;
import java.time.Duration;

/**
 * What every events source does with a record before it leaves the source: parse and validate it
 * ({@link EventParser}) and stamp it with event time ({@link PartitionWatermarks}). Sources that have
 * splits of their own (Kafka partitions) run {@link #watermarks()} per split; others call
 * {@link #afterSource}.
 */
public final class EventIngest implements Serializable {
    private static final long serialVersionUID = 1L;

    private final EventParser.Limits limits;
    private final long outOfOrderness;
    private final long idleTimeout;
    private final boolean idleAdvance;

    public EventIngest(EventParser.Limits limits, Duration outOfOrderness, Duration idleTimeout, boolean idleAdvance) {
        this.limits = limits;
        this.outOfOrderness = outOfOrderness.toMillis();
        this.idleTimeout = idleTimeout.toMillis();
        this.idleAdvance = idleAdvance;
    }

    public EventParser.Limits limits() {
        return limits;
    }

    public EventParser newParser() {
        return new EventParser(limits);
    }

    public static TypeInformation<ParsedRecord> type() {
        return TypeInformation.of(ParsedRecord.class);
    }

    /** Event time per split: the event's timestamp, watermarks by {@link PartitionWatermarks}. */
    public WatermarkStrategy<ParsedRecord> watermarks() {
        return WatermarkStrategy.forGenerator(new PerSubtask(outOfOrderness, idleTimeout, idleAdvance))
                .withTimestampAssigner((r, previous) -> r.eventTime());
    }

    /**
     * Creates the generators of one source subtask, which share a {@link PartitionWatermarks.Subtask}.
     * Each subtask deserialises its own copy of the strategy, so the shared object is per subtask.
     */
    static final class PerSubtask implements WatermarkGeneratorSupplier<ParsedRecord> {
        private static final long serialVersionUID = 1L;
        private final long outOfOrderness;
        private final long idleTimeout;
        private final boolean idleAdvance;
        private transient PartitionWatermarks.Subtask subtask;

        PerSubtask(long outOfOrderness, long idleTimeout, boolean idleAdvance) {
            this.outOfOrderness = outOfOrderness;
            this.idleTimeout = idleTimeout;
            this.idleAdvance = idleAdvance;
        }

        @Override
        public WatermarkGenerator<ParsedRecord> createWatermarkGenerator(Context ctx) {
            if (subtask == null) subtask = new PartitionWatermarks.Subtask();
            return new PartitionWatermarks(outOfOrderness, idleTimeout, idleAdvance, ctx.getInputActivityClock(), subtask);
        }
    }

    /**
     * For a source without splits of its own (in-memory, files): parse and stamp right after it, at
     * its parallelism (chained, so each subtask's order is kept).
     */
    public DataStream<ParsedRecord> afterSource(DataStream<RawRecord> raw, String uid) {
        return raw.map(new Parse(this)).returns(type()).setParallelism(raw.getParallelism())
                .uid(uid + "-parse").name("Parse & validate")
                .assignTimestampsAndWatermarks(watermarks()).setParallelism(raw.getParallelism())
                .uid(uid + "-event-time").name("Event time");
    }

    static final class Parse extends RichMapFunction<RawRecord, ParsedRecord> {
        private final EventIngest ingest;
        private transient EventParser parser;

        Parse(EventIngest ingest) {
            this.ingest = ingest;
        }

        @Override
        public void open(OpenContext ctx) {
            parser = ingest.newParser();
        }

        @Override
        public ParsedRecord map(RawRecord raw) {
            return ParsedRecord.of(parser.parse(raw), raw.ingestTime);
        }
    }
}
