package io.behaviorcep.action;

import io.behaviorcep.engine.PatternTimeline;
import io.behaviorcep.pattern.PatternChange;
import io.behaviorcep.pattern.PatternDefinition;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ReadOnlyBroadcastState;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.TimeDomain;
import org.apache.flink.streaming.api.TimerService;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@link PatternActionsFunction} in the job: the same function, fed the pattern changes of a running
 * job on a broadcast input (kept in broadcast state, so a restored job knows every version it may
 * still see a match of). The logic stays in a plain keyed function that tests drive directly.
 */
public class PatternActionsBroadcast extends KeyedBroadcastProcessFunction<String, ActionInput, PatternChange, Alert>
        implements CheckpointedFunction {
    private static final long serialVersionUID = 1L;

    private final PatternActionsFunction actions;

    public PatternActionsBroadcast(List<PatternDefinition> patterns) {
        this.actions = new PatternActionsFunction(patterns);
    }

    @Override
    public void initializeState(FunctionInitializationContext ctx) throws Exception {
        actions.setRuntimeContext(getRuntimeContext());
        actions.initializeState(ctx);
    }

    @Override
    public void snapshotState(FunctionSnapshotContext ctx) throws Exception {
        actions.snapshotState(ctx);
    }

    @Override
    public void open(OpenContext ctx) throws Exception {
        actions.setRuntimeContext(getRuntimeContext());
        actions.open(ctx);
    }

    @Override
    public void close() throws Exception {
        actions.close();
    }

    private void restore(ReadOnlyBroadcastState<String, PatternChange> broadcast) throws Exception {
        if (actions.timelineReady()) return;
        List<PatternChange> restored = new ArrayList<>();
        for (Map.Entry<String, PatternChange> e : broadcast.immutableEntries()) restored.add(e.getValue());
        actions.restoreChanges(restored);
    }

    @Override
    public void processBroadcastElement(PatternChange change, Context ctx, Collector<Alert> out) throws Exception {
        restore(ctx.getBroadcastState(PatternTimeline.DESCRIPTOR));
        ctx.getBroadcastState(PatternTimeline.DESCRIPTOR).put(PatternTimeline.changeKey(change), change);
        actions.applyChange(change);
    }

    @Override
    public void processElement(ActionInput in, ReadOnlyContext ctx, Collector<Alert> out) throws Exception {
        restore(ctx.getBroadcastState(PatternTimeline.DESCRIPTOR));
        actions.processElement(in, context(ctx, null), out);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<Alert> out) throws Exception {
        restore(ctx.getBroadcastState(PatternTimeline.DESCRIPTOR));
        actions.onTimer(timestamp, context(ctx, ctx.timeDomain()), out);
    }

    /** The keyed function's view of this function's context (an element's context has no time domain). */
    private PatternActionsFunction.OnTimerContext context(ReadOnlyContext ctx, TimeDomain domain) {
        return actions.new OnTimerContext() {
            @Override
            public Long timestamp() {
                return ctx.timestamp();
            }

            @Override
            public TimeDomain timeDomain() {
                return domain;
            }

            @Override
            public TimerService timerService() {
                return ctx.timerService();
            }

            @Override
            public <X> void output(OutputTag<X> tag, X value) {
                ctx.output(tag, value);
            }

            @Override
            public String getCurrentKey() {
                return ctx.getCurrentKey();
            }
        };
    }
}
