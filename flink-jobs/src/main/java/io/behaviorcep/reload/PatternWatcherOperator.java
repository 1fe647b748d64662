package io.behaviorcep.reload;

import io.behaviorcep.config.JobConfig;
import io.behaviorcep.engine.PatternTimeline;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.PatternChange;
import io.behaviorcep.pattern.PatternDefinition;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.util.OutputTag;

import java.util.List;

/**
 * Watches the patterns folder and broadcasts accepted changes. STUB: to be implemented (issue #9);
 * today it emits nothing, so the running pattern set is the one the job was started with.
 */
public final class PatternWatcherOperator {
    /** JSON records of accepted and rejected changes, for the {@code behavior.pattern-events} topic. */
    public static final OutputTag<String> PATTERN_EVENTS = new OutputTag<>("pattern-events", TypeInformation.of(String.class));

    private PatternWatcherOperator() {}

    /**
     * The stream of accepted pattern changes for the job whose event stream (after event time is
     * assigned) is {@code timed}, started with {@code initial}.
     */
    public static DataStream<PatternChange> attach(DataStream<BehaviorEvent> timed, JobConfig config, List<PatternDefinition> initial) {
        return PatternTimeline.noChanges(timed.getExecutionEnvironment());
    }
}
