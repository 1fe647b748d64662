package io.behaviorcep.testkit;

import io.behaviorcep.PipelineIO;
import io.behaviorcep.output.Alert;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.DeadLetter;
import io.behaviorcep.event.EventIngest;
import io.behaviorcep.event.ParsedRecord;
import io.behaviorcep.event.RawRecord;
import io.behaviorcep.output.ProfileRecord;
import io.behaviorcep.segment.SegmentUpdate;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * A bounded in-memory source and collecting sinks around the real pipeline, for the pattern test
 * kit and tests. Works on a local (same-JVM) Flink only: results are handed over in a static map
 * keyed by this instance's id, so concurrent runs never see each other's output.
 */
public class InMemoryIO implements PipelineIO {
    private static final Map<String, List<Object>> RESULTS = new ConcurrentHashMap<>();

    private final String id = UUID.randomUUID().toString();
    private final List<RawRecord> input;
    private final List<RawRecord> control = new ArrayList<>();

    public InMemoryIO(List<byte[]> records) {
        this.input = new ArrayList<>();
        for (int i = 0; i < records.size(); i++) input.add(new RawRecord(null, records.get(i), "in-memory", 0, i));
    }

    @Override
    public DataStream<ParsedRecord> events(StreamExecutionEnvironment env, EventIngest ingest) {
        DataStream<RawRecord> raw = env.fromData(input, TypeInformation.of(RawRecord.class))
                .setParallelism(1).uid("in-memory-source").name("In-memory events");
        return ingest.afterSource(raw, "in-memory");
    }

    /**
     * Records of the privacy control topic (JSON, see {@link io.behaviorcep.privacy.ControlRecords}), read
     * alongside the events. Bounded and in no order relative to the events: use it for what does not
     * depend on that order (parsing, dead letters), and Flink's test harnesses for the keyed application.
     */
    public InMemoryIO withControlRecords(List<byte[]> records) {
        for (byte[] r : records) control.add(new RawRecord(null, r, "in-memory-control", 0, control.size()));
        return this;
    }

    @Override
    public DataStream<RawRecord> controlRecords(StreamExecutionEnvironment env) {
        if (control.isEmpty()) return null;
        return env.fromData(control, TypeInformation.of(RawRecord.class)).setParallelism(1)
                .uid("in-memory-control-source").name("In-memory privacy controls");
    }

    @Override
    public void alerts(DataStream<Alert> alerts) {
        alerts.sinkTo(new Collect<>(id + "/alerts")).name("Collect alerts");
    }

    @Override
    public void alertDecisions(DataStream<io.behaviorcep.policy.AlertDecision> decisions) {
        decisions.sinkTo(new Collect<>(id + "/alert-decisions")).name("Collect alert decisions");
    }

    /** What the messaging policy did with alerts it did not send at once. */
    public List<io.behaviorcep.policy.AlertDecision> alertDecisions() {
        return get("alert-decisions");
    }

    @Override
    public void outcomes(DataStream<io.behaviorcep.experiment.Outcome> outcomes) {
        outcomes.sinkTo(new Collect<>(id + "/outcomes")).name("Collect outcomes");
    }

    public List<io.behaviorcep.experiment.Outcome> outcomes() {
        return get("outcomes");
    }

    @Override
    public void segmentUpdates(DataStream<SegmentUpdate> updates) {
        updates.sinkTo(new Collect<>(id + "/segments")).name("Collect segment updates");
    }

    @Override
    public void deadLetters(DataStream<DeadLetter> deadLetters) {
        deadLetters.sinkTo(new Collect<>(id + "/dlq")).name("Collect dead letters");
    }

    @Override
    public void lateEvents(DataStream<BehaviorEvent> late) {
        late.sinkTo(new Collect<>(id + "/late")).name("Collect late events");
    }

    @Override
    public void profileRecords(DataStream<ProfileRecord> records) {
        records.sinkTo(new Collect<>(id + "/profiles")).name("Collect profile records");
    }

    @Override
    public void patternEvents(DataStream<String> records) {
        records.sinkTo(new Collect<>(id + "/pattern-events")).name("Collect pattern events");
    }

    /** The pattern watcher's JSON records, accepted and rejected changes (with {@code patterns.watch} on). */
    public List<String> patternEvents() {
        return get("pattern-events");
    }

    public List<ProfileRecord> profileRecords() {
        return get("profiles");
    }

    public List<Alert> alerts() {
        return get("alerts");
    }

    public List<SegmentUpdate> segments() {
        return get("segments");
    }

    public List<DeadLetter> deadLetters() {
        return get("dlq");
    }

    public List<BehaviorEvent> late() {
        return get("late");
    }

    /** Frees this run's results. */
    public void clear() {
        RESULTS.keySet().removeIf(k -> k.startsWith(id + "/"));
    }

    @SuppressWarnings("unchecked")
    private <T> List<T> get(String what) {
        List<Object> l = RESULTS.getOrDefault(id + "/" + what, List.of());
        synchronized (l) {
            return l.stream().map(o -> (T) o).collect(Collectors.toList());
        }
    }

    static final class Collect<T> implements Sink<T> {
        private final String key;

        Collect(String key) {
            this.key = key;
        }

        @Override
        public SinkWriter<T> createWriter(WriterInitContext context) {
            List<Object> list = RESULTS.computeIfAbsent(key, k -> Collections.synchronizedList(new ArrayList<>()));
            return new SinkWriter<>() {
                @Override
                public void write(T element, Context context) {
                    list.add(element);
                }

                @Override
                public void flush(boolean endOfInput) {}

                @Override
                public void close() {}
            };
        }
    }
}
