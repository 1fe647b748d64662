package io.behaviorcep.replay;

import io.behaviorcep.PipelineIO;
import io.behaviorcep.output.Alert;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.DeadLetter;
import io.behaviorcep.event.EventIngest;
import io.behaviorcep.event.ParsedRecord;
import io.behaviorcep.event.RawRecord;
import io.behaviorcep.segment.SegmentUpdate;
import io.behaviorcep.KafkaIO;
import io.behaviorcep.output.OutputJson;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.accumulators.LongMaximum;
import org.apache.flink.api.common.accumulators.LongMinimum;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.function.SerializableFunction;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.function.Function;

/**
 * The replay's connectors around the unchanged pipeline: recorded events in (files or a Kafka
 * range; the suppression list from PostgreSQL when configured), and every output written as JSON lines into part files under a work folder (one file per
 * output and subtask), which {@link ReplayRunner} then cuts at the horizon, sorts and summarises.
 *
 * <p>The parsed events pass a counting step ({@link #afterParse}) that records, through Flink
 * accumulators, how many valid events there were and the first and last event time: the last one
 * is the horizon beyond which nothing is decided.
 */
final class ReplayIO implements PipelineIO {
    static final String ACC_EVENTS = "replay.events";
    static final String ACC_FIRST = "replay.first-event-time";
    static final String ACC_LAST = "replay.last-event-time";

    private final Function<StreamExecutionEnvironment, DataStream<RawRecord>> source;
    private final String workDir;
    private final JobConfig config;
    private final boolean batch;

    ReplayIO(Function<StreamExecutionEnvironment, DataStream<RawRecord>> source, Path workDir, JobConfig config, boolean batch) {
        this.source = source;
        this.workDir = workDir.toAbsolutePath().toString();
        this.config = config;
        this.batch = batch;
    }

    @Override
    public boolean batchExecution() {
        return batch;
    }

    /**
     * With PostgreSQL configured, the suppression list as the job reads it (once: bounded), so that
     * a replay, and above all a backfill, gives listed users nothing, as the running job would.
     */
    @Override
    public DataStream<BehaviorEvent> suppressionList(StreamExecutionEnvironment env) {
        return config.jdbc() == null ? null : new KafkaIO(config, true).suppressionList(env);
    }

    @Override
    public DataStream<ParsedRecord> events(StreamExecutionEnvironment env, EventIngest ingest) {
        return ingest.afterSource(source.apply(env), "replay");
    }

    @Override
    public DataStream<BehaviorEvent> afterParse(DataStream<BehaviorEvent> events) {
        return events.map(new EventTimeRange()).setParallelism(events.getParallelism())
                .uid("replay-event-time-range").name("Event time range");
    }

    @Override
    public void alerts(DataStream<Alert> alerts) {
        alerts.sinkTo(new PartFiles<>(workDir, "alerts", OutputJson::alertDocument))
                .uid("replay-alerts").name("Alerts → part files");
    }

    @Override
    public void alertDecisions(DataStream<io.behaviorcep.policy.AlertDecision> decisions) {
        decisions.sinkTo(new PartFiles<>(workDir, "alert-decisions", io.behaviorcep.output.AlertDecisionJson::text))
                .uid("replay-alert-decisions").name("Alert decisions → part files");
    }

    @Override
    public void outcomes(DataStream<io.behaviorcep.experiment.Outcome> outcomes) {
        outcomes.sinkTo(new PartFiles<>(workDir, "outcomes", o -> OutputJson.text(OutputJson.outcome(o))))
                .uid("replay-outcomes").name("Outcomes → part files");
    }

    @Override
    public void segmentUpdates(DataStream<SegmentUpdate> updates) {
        updates.sinkTo(new PartFiles<>(workDir, "segments", u -> OutputJson.text(OutputJson.segment(u))))
                .uid("replay-segments").name("Segment updates → part files");
    }

    @Override
    public void deadLetters(DataStream<DeadLetter> deadLetters) {
        deadLetters.sinkTo(new PartFiles<>(workDir, "dlq", ReplayIO::deadLetterJson))
                .uid("replay-dlq").name("Dead letters → part files");
    }

    @Override
    public void lateEvents(DataStream<BehaviorEvent> late) {
        late.sinkTo(new PartFiles<>(workDir, "late", e -> OutputJson.text(OutputJson.event(e))))
                .uid("replay-late").name("Late events → part files");
    }

    /**
     * A dead letter as one JSON line: reason and message as in the DLQ headers, where it came from
     * (file and byte offset of the line, or topic, partition and offset), and the original record:
     * as text when it is UTF-8, else base64.
     */
    static String deadLetterJson(DeadLetter d) {
        ObjectNode n = OutputJson.MAPPER.createObjectNode();
        n.put("reason", d.reason.name());
        n.put("message", d.message);
        n.put("source", d.sourceTopic);
        n.put("partition", d.sourcePartition);
        n.put("offset", d.sourceOffset);
        byte[] v = d.value == null ? new byte[0] : d.value;
        String text = new String(v, StandardCharsets.UTF_8);
        if (java.util.Arrays.equals(text.getBytes(StandardCharsets.UTF_8), v)) n.put("record", text);
        else n.put("record_base64", Base64.getEncoder().encodeToString(v));
        return n.toString();
    }

    /** Counts valid events and keeps their first and last event time, in accumulators; passes them on unchanged. */
    static final class EventTimeRange extends RichMapFunction<BehaviorEvent, BehaviorEvent> {
        private transient LongCounter events;
        private transient LongMinimum first;
        private transient LongMaximum last;

        @Override
        public void open(OpenContext ctx) {
            events = new LongCounter();
            first = new LongMinimum();
            last = new LongMaximum();
            getRuntimeContext().addAccumulator(ACC_EVENTS, events);
            getRuntimeContext().addAccumulator(ACC_FIRST, first);
            getRuntimeContext().addAccumulator(ACC_LAST, last);
        }

        @Override
        public BehaviorEvent map(BehaviorEvent e) {
            events.add(1L);
            first.add(e.timestamp);
            last.add(e.timestamp);
            return e;
        }
    }

    /** Writes each element as a line to {@code <dir>/<what>-<subtask>-<attempt>.jsonl}. Local runs only. */
    static final class PartFiles<T> implements Sink<T> {
        private final String dir;
        private final String what;
        private final SerializableFunction<T, String> toLine;

        PartFiles(String dir, String what, SerializableFunction<T, String> toLine) {
            this.dir = dir;
            this.what = what;
            this.toLine = toLine;
        }

        @Override
        public SinkWriter<T> createWriter(WriterInitContext context) throws IOException {
            Path file = Path.of(dir, what + "-" + context.getTaskInfo().getIndexOfThisSubtask() + "-"
                    + context.getTaskInfo().getAttemptNumber() + ".jsonl");
            Files.createDirectories(file.getParent());
            BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
            return new SinkWriter<>() {
                @Override
                public void write(T element, Context ctx) throws IOException {
                    w.write(toLine.apply(element));
                    w.write('\n');
                }

                @Override
                public void flush(boolean endOfInput) throws IOException {
                    w.flush();
                }

                @Override
                public void close() throws IOException {
                    w.close();
                }
            };
        }
    }

    static void deleteQuietly(Path dir) {
        if (!Files.exists(dir)) return;
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
