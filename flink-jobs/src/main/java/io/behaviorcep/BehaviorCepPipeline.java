package io.behaviorcep;

import io.behaviorcep.action.ActionInput;
import io.behaviorcep.action.Alert;
import io.behaviorcep.action.ExitSignals;
import io.behaviorcep.action.PatternActionsFunction;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.IdleAwareWatermarks;
import io.behaviorcep.event.IngestFilter;
import io.behaviorcep.event.ParseFunction;
import io.behaviorcep.event.RawRecord;
import io.behaviorcep.pattern.CepPatternCompiler;
import io.behaviorcep.pattern.MatchFunction;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternMatch;
import io.behaviorcep.profile.ProfileFunction;
import io.behaviorcep.segment.SegmentUpdate;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.cep.CEP;
import org.apache.flink.cep.PatternStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamUtils;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.OutputTag;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds the job graph from a typed config and a pattern set; connectors come from {@link PipelineIO}.
 *
 * <pre>
 * events ─ parse &amp; validate ─┬─ event time ─ keyBy(user) ─ dedup &amp; late ─ profile ─┬─ pattern A (CEP) ─┐
 *                             └─ DLQ                            └─ late           ├─ pattern B (CEP) ─┼─ keyBy(user) ─ alerts, caps &amp; segments ─┬─ alerts
 *                                                                                  └─ segment exits ───┘                                       └─ segment updates
 * </pre>
 *
 * <p>Every stateful operator has a stable uid; they are part of the savepoint contract
 * (docs/contracts.md) and must never change.
 */
public final class BehaviorCepPipeline {
    public static final String UID_SOURCE = "events-source";
    public static final String UID_PARSE = "parse-validate";
    public static final String UID_WATERMARKS = "event-time";
    public static final String UID_DEDUP = "dedup-late";
    public static final String UID_PROFILE = "user-profile";
    public static final String UID_EXITS = "segment-exit-signals";
    public static final String UID_ACTIONS = "pattern-actions";

    private BehaviorCepPipeline() {}

    public static String patternUid(PatternDefinition p) {
        return "pattern-" + p.id;
    }

    public static void build(StreamExecutionEnvironment env, JobConfig config, List<PatternDefinition> allPatterns, PipelineIO io) {
        List<PatternDefinition> patterns = allPatterns.stream().filter(p -> p.enabled).toList();

        DataStream<RawRecord> raw = io.events(env);
        // same parallelism as the source: chained, and each partition's order is kept up to the keyBy
        SingleOutputStreamOperator<BehaviorEvent> parsed = raw
                .process(new ParseFunction(config.limits()))
                .setParallelism(raw.getParallelism())
                .uid(UID_PARSE).name("Parse & validate");
        io.deadLetters(parsed.getSideOutput(ParseFunction.DEAD_LETTERS));

        long ooo = config.maxOutOfOrderness().toMillis();
        long idle = config.idleTimeout().toMillis();
        boolean idleAdvance = config.idleAdvance();
        DataStream<BehaviorEvent> timed = io.afterParse(parsed)
                .assignTimestampsAndWatermarks(WatermarkStrategy
                        .<BehaviorEvent>forGenerator(ctx -> new IdleAwareWatermarks(ooo, idle, idleAdvance, System::currentTimeMillis))
                        .withTimestampAssigner((e, previous) -> e.timestamp))
                .setParallelism(raw.getParallelism())
                .uid(UID_WATERMARKS).name("Event time & watermarks");

        SingleOutputStreamOperator<BehaviorEvent> fresh = timed
                .keyBy(e -> e.userKey)
                .process(new IngestFilter(config.dedupTtl()))
                .uid(UID_DEDUP).name("Dedup & late routing");

        List<DataStream<BehaviorEvent>> late = new ArrayList<>();
        late.add(fresh.getSideOutput(IngestFilter.LATE));

        // Same key, same parallelism: stay on the same subtask instead of shuffling again.
        KeyedStream<BehaviorEvent, String> profiled = DataStreamUtils.reinterpretAsKeyedStream(
                DataStreamUtils.reinterpretAsKeyedStream(fresh, e -> e.userKey)
                        .process(new ProfileFunction(config.profileRetention()))
                        .uid(UID_PROFILE).name("User profile"),
                e -> e.userKey);

        List<DataStream<ActionInput>> actionInputs = new ArrayList<>();
        for (PatternDefinition p : patterns) {
            KeyedStream<BehaviorEvent, String> input = profiled;
            if (CepPatternCompiler.canPreFilter(p)) {
                input = DataStreamUtils.reinterpretAsKeyedStream(
                        profiled.filter(e -> CepPatternCompiler.isRelevant(p, e))
                                .uid(patternUid(p) + "-prefilter").name("Pre-filter: " + p.id),
                        e -> e.userKey);
            }
            OutputTag<BehaviorEvent> lateTag = new OutputTag<>("late-" + p.id, TypeInformation.of(BehaviorEvent.class));
            PatternStream<BehaviorEvent> ps = CEP.pattern(input, CepPatternCompiler.compile(p)).inEventTime().sideOutputLateData(lateTag);
            SingleOutputStreamOperator<PatternMatch> matches = ps
                    .process(new MatchFunction(p), TypeInformation.of(PatternMatch.class))
                    .uid(patternUid(p)).name("Pattern: " + p.label());
            late.add(matches.getSideOutput(lateTag));
            actionInputs.add(matches.map(ActionInput::match).uid(patternUid(p) + "-to-actions").name("Matches: " + p.id));
        }
        ExitSignals exits = new ExitSignals(patterns);
        if (exits.hasAny()) {
            actionInputs.add(profiled.flatMap(exits, TypeInformation.of(ActionInput.class)).uid(UID_EXITS).name("Segment exit signals"));
        }

        DataStream<BehaviorEvent> allLate = late.get(0);
        for (int i = 1; i < late.size(); i++) allLate = allLate.union(late.get(i));
        io.lateEvents(allLate);

        if (actionInputs.isEmpty()) return;
        DataStream<ActionInput> allInputs = actionInputs.get(0);
        for (int i = 1; i < actionInputs.size(); i++) allInputs = allInputs.union(actionInputs.get(i));
        SingleOutputStreamOperator<Alert> alerts = allInputs
                .keyBy(in -> in.userKey)
                .process(new PatternActionsFunction(patterns), TypeInformation.of(Alert.class))
                .uid(UID_ACTIONS).name("Alerts, caps & segments");
        io.alerts(alerts);
        DataStream<SegmentUpdate> segments = alerts.getSideOutput(PatternActionsFunction.SEGMENT_UPDATES);
        io.segmentUpdates(segments);
    }

    /** Exactly-once checkpointing as the job needs it; cluster-wide settings (state backend, storage) stay with the cluster. */
    public static void configureCheckpointing(StreamExecutionEnvironment env, Duration interval) {
        env.enableCheckpointing(interval.toMillis(), org.apache.flink.core.execution.CheckpointingMode.EXACTLY_ONCE);
        env.getCheckpointConfig().setMinPauseBetweenCheckpoints(Math.min(interval.toMillis() / 2, 5_000));
        env.getCheckpointConfig().setTolerableCheckpointFailureNumber(3);
    }
}
