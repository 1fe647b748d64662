package io.behaviorcep;

import io.behaviorcep.output.Alert;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.DeadLetter;
import io.behaviorcep.event.EventIngest;
import io.behaviorcep.event.ParsedRecord;
import io.behaviorcep.output.ProfileRecord;
import io.behaviorcep.segment.SegmentUpdate;

import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Where the job reads and writes. {@link BehaviorCepPipeline} holds the logic; this holds the
 * connectors, so tests swap Kafka and PostgreSQL for collecting sinks without touching the graph.
 * Implementations give every source and sink a stable uid.
 */
public interface PipelineIO {
    /**
     * The events, parsed and stamped with event time by {@code ingest}: a source with splits of its
     * own (Kafka) runs {@link EventIngest#watermarks()} per split, so event time is tracked per
     * partition; others may call {@link EventIngest#afterSource}.
     */
    DataStream<ParsedRecord> events(StreamExecutionEnvironment env, EventIngest ingest);

    void alerts(DataStream<Alert> alerts);

    void segmentUpdates(DataStream<SegmentUpdate> updates);

    void deadLetters(DataStream<DeadLetter> deadLetters);

    void lateEvents(DataStream<BehaviorEvent> late);

    /**
     * One JSON line per pattern change the running job accepted or rejected (the pattern watcher's
     * side output {@link io.behaviorcep.reload.PatternWatcherOperator#PATTERN_EVENTS}); default: not written.
     */
    default void patternEvents(DataStream<String> records) {}

    /**
     * Whether the job runs in BATCH execution (replay of a bounded history), where Flink sorts each
     * keyed operator's input by key and timestamp; default: no (STREAMING).
     */
    default boolean batchExecution() {
        return false;
    }

    /**
     * What the messaging policy did with alerts it did not send at once ({@code behavior.alert-decisions},
     * table {@code alert_decisions}); default: not written.
     */
    default void alertDecisions(DataStream<io.behaviorcep.policy.AlertDecision> decisions) {}

    /** Each decision's outcome (docs/contracts.md, "Outcomes"); default: not written. */
    default void outcomes(DataStream<io.behaviorcep.experiment.Outcome> outcomes) {}

    /** Latest profiles and erasures for PostgreSQL ({@code user_profiles}, {@code erasures}); default: not written. */
    default void profileRecords(DataStream<ProfileRecord> records) {}

    /**
     * Rows of the suppression list ({@code suppressed_users}) as they change, as records made by
     * {@link io.behaviorcep.privacy.PrivacyRules#suppressionListRecord}, carrying no event time: its
     * source is idle for good, so it neither holds event time back nor pushes it forward; null when
     * there is no list (the default).
     */
    default DataStream<BehaviorEvent> suppressionList(StreamExecutionEnvironment env) {
        return null;
    }

    /**
     * The records of the privacy control topic ({@code topics.control}), as they came, parsed by
     * {@link io.behaviorcep.privacy.ControlRecords} in the pipeline. Like the suppression list they carry
     * no event time: the source uses {@link io.behaviorcep.privacy.ControlRecords#watermarks()} (idle for
     * good). Null when there is none (the default).
     */
    default DataStream<io.behaviorcep.event.RawRecord> controlRecords(StreamExecutionEnvironment env) {
        return null;
    }

    /** A seam for tests (e.g. failure injection); production leaves the parsed stream as it is. */
    default DataStream<BehaviorEvent> afterParse(DataStream<BehaviorEvent> events) {
        return events;
    }
}
