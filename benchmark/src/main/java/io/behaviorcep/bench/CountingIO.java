package io.behaviorcep.bench;

import io.behaviorcep.PipelineIO;
import io.behaviorcep.output.Alert;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.DeadLetter;
import io.behaviorcep.event.EventIngest;
import io.behaviorcep.event.ParsedRecord;
import io.behaviorcep.event.RawRecord;
import io.behaviorcep.segment.SegmentUpdate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The real pipeline's IO for the benchmark: an in-memory source of raw bytes ({@link MemorySource})
 * and sinks that only count. A counting sink adds to a local long and publishes it when it closes,
 * so it costs next to nothing per record. Optionally the alert sink also keeps (user, anchor event
 * id) of each alert, for the comparison with the peers, and the wall-clock latency of each alert
 * (latency mode). Local (same-JVM) Flink only, like the test kit's InMemoryIO.
 */
public class CountingIO implements PipelineIO, Serializable {
    private static final long serialVersionUID = 1L;

    /** Per run id: counters and recordings. */
    static final Map<String, Run> RUNS = new ConcurrentHashMap<>();

    public static final class Run {
        public final LongAdder alerts = new LongAdder();
        public final LongAdder segmentUpdates = new LongAdder();
        public final LongAdder deadLetters = new LongAdder();
        public final LongAdder late = new LongAdder();
        public final Set<String> matches = ConcurrentHashMap.newKeySet();
        /** (deadline event time, wall micros from the deadline to the sink) per alert, in latency mode. */
        public final List<long[]> latencies = Collections.synchronizedList(new ArrayList<>());
    }

    /** How the latency of an alert is measured: the wall time (nanoTime) at which event time reached the alert's deadline. */
    public interface DeadlineClock extends Serializable {
        long wallNanosOf(long eventTime);
    }

    private final String id = UUID.randomUUID().toString();
    private final String dataId;
    private final int parallelism;
    private final double rate;
    private final boolean hold;
    private final boolean recordMatches;
    private final DeadlineClock latency;

    public CountingIO(String dataId, int parallelism, double rate, boolean hold, boolean recordMatches, DeadlineClock latency) {
        this.dataId = dataId;
        this.parallelism = parallelism;
        this.rate = rate;
        this.hold = hold;
        this.recordMatches = recordMatches;
        this.latency = latency;
        RUNS.put(id, new Run());
    }

    public Run run() {
        return RUNS.get(id);
    }

    public void release() {
        RUNS.remove(id);
    }

    @Override
    public DataStream<ParsedRecord> events(StreamExecutionEnvironment env, EventIngest ingest) {
        DataStream<RawRecord> raw = env.fromSource(MemorySource.create(dataId, parallelism, rate, hold, r -> new RawRecord(null, null, "filler", r, -1L),
                                TypeInformation.of(RawRecord.class)), WatermarkStrategy.noWatermarks(), "In-memory events")
                .setParallelism(parallelism).uid("bench-source")
                .filter(r -> r.value != null).setParallelism(parallelism).name("Drop fillers").uid("bench-drop-fillers");
        return ingest.afterSource(raw, "bench");
    }

    @Override
    public void alerts(DataStream<Alert> alerts) {
        alerts.sinkTo(new AlertSink(id, recordMatches, latency)).name("Count alerts").uid("bench-alerts");
    }

    @Override
    public void segmentUpdates(DataStream<SegmentUpdate> updates) {
        updates.sinkTo(new CountSink<>(id, "segments")).name("Count segment updates").uid("bench-segments");
    }

    @Override
    public void deadLetters(DataStream<DeadLetter> deadLetters) {
        deadLetters.sinkTo(new CountSink<>(id, "dlq")).name("Count dead letters").uid("bench-dlq");
    }

    @Override
    public void lateEvents(DataStream<BehaviorEvent> late) {
        late.sinkTo(new CountSink<>(id, "late")).name("Count late events").uid("bench-late");
    }

    static LongAdder counter(String runId, String what) {
        Run r = RUNS.get(runId);
        return switch (what) {
            case "alerts" -> r.alerts;
            case "segments" -> r.segmentUpdates;
            case "dlq" -> r.deadLetters;
            case "late" -> r.late;
            default -> throw new IllegalArgumentException(what);
        };
    }

    /** Counts locally, publishes on flush and close. */
    public static final class CountSink<T> implements Sink<T> {
        private final String runId;
        private final String what;

        public CountSink(String runId, String what) {
            this.runId = runId;
            this.what = what;
        }

        @Override
        public SinkWriter<T> createWriter(WriterInitContext context) {
            LongAdder total = counter(runId, what);
            return new SinkWriter<>() {
                long n;

                @Override
                public void write(T element, Context context) {
                    n++;
                }

                @Override
                public void flush(boolean endOfInput) {
                    total.add(n);
                    n = 0;
                }

                @Override
                public void close() {
                    total.add(n);
                    n = 0;
                }
            };
        }
    }

    static final class AlertSink implements Sink<Alert> {
        private final String runId;
        private final boolean record;
        private final DeadlineClock latency;

        AlertSink(String runId, boolean record, DeadlineClock latency) {
            this.runId = runId;
            this.record = record;
            this.latency = latency;
        }

        @Override
        public SinkWriter<Alert> createWriter(WriterInitContext context) {
            Run run = RUNS.get(runId);
            ObjectMapper mapper = new ObjectMapper();
            return new SinkWriter<>() {
                long n;

                @Override
                public void write(Alert a, Context context) throws java.io.IOException {
                    if (latency != null) run.latencies.add(new long[] {a.detectedAt, (System.nanoTime() - latency.wallNanosOf(a.detectedAt)) / 1_000});
                    n++;
                    if (record) run.matches.add(a.patternId + " " + a.userId + " " + anchorOf(mapper.readTree(a.matchedJson)));
                }

                @Override
                public void flush(boolean endOfInput) {
                    run.alerts.add(n);
                    n = 0;
                }

                @Override
                public void close() {
                    run.alerts.add(n);
                    n = 0;
                }
            };
        }
    }

    /** The anchor of an alert: the last event of its last positive step (as MatchFunction picks it). */
    static String anchorOf(JsonNode matched) {
        String last = null;
        for (JsonNode step : matched) {
            if (step.isArray() && !step.isEmpty()) last = step.get(step.size() - 1).get("message_id").asText();
        }
        return last;
    }
}
