package io.behaviorcep.engine;

import io.behaviorcep.action.ActionInput;
import io.behaviorcep.action.ExitSignals;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.metrics.SubtaskCounts;
import io.behaviorcep.pattern.MatchFunction;
import io.behaviorcep.pattern.PatternDefinition;

import org.apache.flink.api.common.functions.DefaultOpenContext;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.util.FunctionUtils;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * All patterns in one keyed operator. Each user's events arrive in event-time order (the profile
 * operator releases them at the watermark), so every event is evaluated at once by every pattern
 * that could use it, against one state value per user; no per-pattern copy of the stream, no
 * per-event buffering, no timer per event. A timer is set only at the earliest moment one of the
 * user's runs can time out (an absence completing, a window closing), so a user who goes quiet is
 * decided at the deadline and their state drains to nothing.
 *
 * <p>Emits the matches, and the {@code exit_on} signals of segment patterns, as {@link ActionInput}s
 * for the actions operator. Events at or behind the watermark (none in a healthy job: the profile
 * operator already routed them) go to {@link #LATE}, as Flink CEP's late output did.
 */
public class PatternEngineFunction extends KeyedProcessFunction<String, BehaviorEvent, ActionInput> implements CheckpointedFunction {
    private static final long serialVersionUID = 1L;
    public static final OutputTag<BehaviorEvent> LATE = new OutputTag<>("late-patterns", TypeInformation.of(BehaviorEvent.class));
    static final String STATE_NAME = "pattern-runs";
    /** Gauge per pattern: partial matches in flight on this subtask (finished ones held by a skip strategy included). */
    public static final String PARTIAL_MATCHES = "partialMatches";
    /** Gauge: users with anything in flight on this subtask, i.e. keys of the engine's state. */
    public static final String USERS_WITH_PARTIAL_MATCHES = "usersWithPartialMatches";
    private static final String USERS = "users";

    /** Exact counts kept on change (a scan of keyed state would be needed otherwise); they survive restores. */
    private final SubtaskCounts inFlight = new SubtaskCounts("pattern-engine-counts");

    private final List<PatternDefinition> definitions;
    private transient List<CompiledPattern> patterns;
    private transient ExitSignals exits;
    private transient ValueState<EngineState> state;
    private transient Map<String, PatternMetrics> metrics;
    private transient List<Map<String, List<BehaviorEvent>>> found;

    public PatternEngineFunction(List<PatternDefinition> definitions) {
        this.definitions = List.copyOf(definitions);
    }

    /** The descriptor of the engine's one keyed state; events serialised with the job's POJO serializer. */
    public static ValueStateDescriptor<EngineState> stateDescriptor(TypeSerializer<BehaviorEvent> eventSerializer) {
        return new ValueStateDescriptor<>(STATE_NAME, new EngineStateSerializer(eventSerializer));
    }

    @Override
    public void open(OpenContext openContext) throws Exception {
        TypeSerializer<BehaviorEvent> eventSerializer = getRuntimeContext().createSerializer(TypeInformation.of(BehaviorEvent.class));
        state = getRuntimeContext().getState(stateDescriptor(eventSerializer));
        patterns = new ArrayList<>();
        metrics = new java.util.HashMap<>();
        MetricGroup group = getRuntimeContext().getMetricGroup();
        for (PatternDefinition d : definitions) {
            CompiledPattern p = new CompiledPattern(d);
            for (var c : p.conditions) {
                FunctionUtils.setFunctionRuntimeContext(c, getRuntimeContext());
                FunctionUtils.openFunction(c, DefaultOpenContext.INSTANCE);
            }
            patterns.add(p);
            PatternMetrics m = new PatternMetrics(group, d);
            metrics.put(d.id, m);
            inFlight.register(MatchFunction.patternMetrics(group, d.id, d.version), PARTIAL_MATCHES, runsName(d.id));
        }
        inFlight.register(group, USERS_WITH_PARTIAL_MATCHES, USERS);
        exits = new ExitSignals(definitions);
        found = new ArrayList<>();
    }

    @Override
    public void initializeState(FunctionInitializationContext ctx) throws Exception {
        inFlight.initialize(ctx, getRuntimeContext().getTaskInfo());
    }

    @Override
    public void snapshotState(FunctionSnapshotContext ctx) throws Exception {
        inFlight.snapshot(ctx);
    }

    private static String runsName(String patternId) {
        return "runs:" + patternId;
    }

    /** Partial matches in flight for a pattern on this subtask (for tests and the metric). */
    long partialMatches(String patternId) {
        return inFlight.get(runsName(patternId));
    }

    long usersWithPartialMatches() {
        return inFlight.get(USERS);
    }

    private void track(String patternId, int before, PatternRuns after) {
        int n = after == null ? 0 : after.partial.size() + after.completed.size() - startRuns(patternId, after);
        if (n != before) inFlight.add(runsName(patternId), n - before);
    }

    /** Fresh start runs are not partial matches. */
    private int startRuns(String patternId, PatternRuns runs) {
        int n = 0;
        for (Run r : runs.partial) if (r.path == null && r.startSeq < 0) n++;
        return n;
    }

    private int inFlight(String patternId, PatternRuns runs) {
        return runs == null ? 0 : runs.partial.size() + runs.completed.size() - startRuns(patternId, runs);
    }

    @Override
    public void close() throws Exception {
        if (patterns != null) {
            for (CompiledPattern p : patterns) for (var c : p.conditions) FunctionUtils.closeFunction(c);
        }
    }

    @Override
    public void processElement(BehaviorEvent e, Context ctx, Collector<ActionInput> out) throws Exception {
        long watermark = ctx.timerService().currentWatermark();
        if (e.timestamp <= watermark) {
            ctx.output(LATE, e);
            return;
        }
        exits.flatMap(e, out);

        EngineState s = state.value();
        boolean created = s == null;
        if (created) s = new EngineState();
        int seq = s.nextSeq(e.timestamp);
        boolean changed = false;
        for (CompiledPattern p : patterns) {
            if (!p.wants(e)) continue;
            PatternMetrics m = metrics.get(p.id());
            m.evaluated.inc();
            PatternRuns runs = s.patterns.get(p.id());
            int before = inFlight(p.id(), runs);
            if (runs == null) {
                runs = PatternEngine.initial(p);
            } else {
                PatternEngine.advanceTime(p, runs, e.timestamp, found);
                emit(p, m, false, out);
            }
            PatternEngine.process(p, runs, e, e.timestamp, seq, m, found);
            emit(p, m, false, out);
            if (PatternEngine.isIdle(p, runs)) {
                changed |= s.patterns.remove(p.id()) != null;
                track(p.id(), before, null);
            } else {
                s.patterns.put(p.id(), runs);
                changed = true;
                track(p.id(), before, runs);
            }
        }
        if (created && changed) inFlight.increment(USERS);
        settle(s, created ? changed : true, ctx.timerService().currentWatermark(), ctx.timerService());
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<ActionInput> out) throws Exception {
        EngineState s = state.value();
        if (s == null) return;
        if (s.timerAt == timestamp) s.timerAt = Long.MAX_VALUE;
        long watermark = ctx.timerService().currentWatermark();
        for (CompiledPattern p : patterns) {
            PatternRuns runs = s.patterns.get(p.id());
            if (runs == null) continue;
            int before = inFlight(p.id(), runs);
            PatternEngine.advanceTime(p, runs, watermark, found);
            emit(p, metrics.get(p.id()), true, out);
            if (PatternEngine.isIdle(p, runs)) {
                s.patterns.remove(p.id());
                track(p.id(), before, null);
            } else {
                track(p.id(), before, runs);
            }
        }
        settle(s, true, watermark, ctx.timerService());
    }

    /** Stores the user's state (or drops it when nothing is in flight) and keeps one timer at the earliest deadline. */
    private void settle(EngineState s, boolean write, long watermark, org.apache.flink.streaming.api.TimerService timers) throws Exception {
        if (s.patterns.isEmpty()) {
            // nothing in flight: the user costs no state; a timer still pending fires once and finds nothing
            if (state.value() != null) inFlight.decrement(USERS);
            state.clear();
            return;
        }
        long deadline = Long.MAX_VALUE;
        for (CompiledPattern p : patterns) {
            PatternRuns runs = s.patterns.get(p.id());
            if (runs != null) deadline = Math.min(deadline, PatternEngine.nextDeadline(p, runs));
        }
        if (deadline != Long.MAX_VALUE && deadline < s.timerAt) {
            timers.registerEventTimeTimer(deadline);
            s.timerAt = deadline;
            write = true;
        }
        if (write) state.update(s);
    }

    private void emit(CompiledPattern p, PatternMetrics m, boolean byTime, Collector<ActionInput> out) {
        if (found.isEmpty()) return;
        for (Map<String, List<BehaviorEvent>> match : found) {
            out.collect(ActionInput.match(MatchFunction.toMatch(p.def, match)));
            m.matches.inc();
            if (p.def.trailingAbsence() != null) m.timeoutsFired.inc();
        }
        found.clear();
    }

    /** The per-pattern metrics, under the same names the per-pattern CEP operators had. */
    static final class PatternMetrics implements PatternEngine.ErrorSink {
        final Counter evaluated;
        final Counter matches;
        final Counter timeoutsFired;
        final Counter conditionErrors;

        PatternMetrics(MetricGroup operator, PatternDefinition d) {
            MetricGroup g = MatchFunction.patternMetrics(operator, d.id, d.version);
            evaluated = g.counter(MatchFunction.EVENTS_EVALUATED);
            matches = g.counter(MatchFunction.MATCHES);
            timeoutsFired = g.counter(MatchFunction.TIMEOUTS_FIRED);
            conditionErrors = MatchFunction.conditionErrors(operator, d.id, d.version);
        }

        @Override
        public void conditionFailed(CompiledPattern p, RuntimeException e) {
            conditionErrors.inc();
        }
    }
}
