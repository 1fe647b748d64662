package io.behaviorcep.testing;

import io.behaviorcep.PipelineIO;
import io.behaviorcep.action.Alert;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.DeadLetter;
import io.behaviorcep.event.RawRecord;
import io.behaviorcep.segment.SegmentUpdate;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * A bounded in-memory source and collecting sinks, for running the real pipeline on a MiniCluster
 * in the same JVM. Each instance has its own id so parallel tests do not see each other's output.
 */
public class CollectingIO implements PipelineIO {
    private static final Map<String, List<Object>> RESULTS = new ConcurrentHashMap<>();

    private final String id = UUID.randomUUID().toString();
    private final List<RawRecord> input;

    public CollectingIO(List<byte[]> records) {
        this.input = new ArrayList<>();
        for (int i = 0; i < records.size(); i++) input.add(new RawRecord(null, records.get(i), "test", 0, i));
    }

    @Override
    public DataStream<RawRecord> events(StreamExecutionEnvironment env) {
        return env.fromData(input, TypeInformation.of(RawRecord.class))
                .assignTimestampsAndWatermarks(WatermarkStrategy.noWatermarks())
                .setParallelism(1).uid("test-source");
    }

    @Override
    public void alerts(DataStream<Alert> alerts) {
        alerts.sinkTo(new Collect<>(id + "/alerts"));
    }

    @Override
    public void segmentUpdates(DataStream<SegmentUpdate> updates) {
        updates.sinkTo(new Collect<>(id + "/segments"));
    }

    @Override
    public void deadLetters(DataStream<DeadLetter> deadLetters) {
        deadLetters.sinkTo(new Collect<>(id + "/dlq"));
    }

    @Override
    public void lateEvents(DataStream<BehaviorEvent> late) {
        late.sinkTo(new Collect<>(id + "/late"));
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

    @SuppressWarnings("unchecked")
    private <T> List<T> get(String what) {
        return RESULTS.getOrDefault(id + "/" + what, List.of()).stream().map(o -> (T) o).collect(Collectors.toList());
    }

    static final class Collect<T> implements Sink<T> {
        private final String key;

        Collect(String key) {
            this.key = key;
        }

        @Override
        public SinkWriter<T> createWriter(WriterInitContext context) {
            List<Object> list = RESULTS.computeIfAbsent(key, k -> java.util.Collections.synchronizedList(new ArrayList<>()));
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
