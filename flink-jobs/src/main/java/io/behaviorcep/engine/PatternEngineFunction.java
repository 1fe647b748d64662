package io.behaviorcep.engine;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.DeadLetter;
import io.behaviorcep.event.KeyedPathRecords;
import io.behaviorcep.output.StepFailure;
import io.behaviorcep.metrics.SubtaskCounts;
import io.behaviorcep.pattern.EventMatcher;
import io.behaviorcep.pattern.MatchFunction;
import io.behaviorcep.pattern.PatternChange;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.expr.SimpleEvalContext;

import org.apache.flink.api.common.functions.DefaultOpenContext;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.util.FunctionUtils;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.TimerService;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * All patterns in one keyed operator. Each user's events arrive in event-time order (the profile
 * operator releases them at the watermark), so every event is evaluated at once by every pattern
 * that could use it, against one state value per user; no per-pattern copy of the stream, no
 * per-event buffering, no timer per event. A timer is set only at the earliest moment one of the
 * user's runs can time out (an absence completing, a window closing), so a user who goes quiet is
 * decided at the deadline and their state drains to nothing.
 *
 * <p>Patterns change while the job runs: {@link PatternChange}s arrive in-band, on the keyed path ({@link KeyedPathRecords}), and
 * apply from their activation time ({@link PatternTimeline}). A user's runs of a version that no
 * longer applies are handled, the next time the user is touched, as the new version's
 * {@code on_change} says: {@code drain} (they go on, no new ones start), {@code restart} (dropped),
 * {@code keep} (carried over; only between versions with the same state graph, else drained).
 * When a pattern is disabled or deleted, the disabled version's (the deleted one's) {@code on_change}
 * decides between draining and dropping its open matches; no new ones start.
 *
 * <p>Emits the matches, and the {@code exit_on} signals of segment patterns, as {@link ActionInput}s
 * for the actions operator. Events at or behind the watermark (none in a healthy job: the profile
 * operator already routed them) go to {@link #LATE}, as Flink CEP's late output did.
 */
public class PatternEngineFunction extends KeyedProcessFunction<String, BehaviorEvent, ActionInput>
        implements CheckpointedFunction {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(PatternEngineFunction.class);

    public static final OutputTag<BehaviorEvent> LATE = new OutputTag<>("late-patterns", TypeInformation.of(BehaviorEvent.class));
    /** Events (and deadlines) that made this step throw, as PROCESSING_FAILED dead letters ({@link StepFailure}). */
    public static final OutputTag<DeadLetter> FAILED = new OutputTag<>("engine-processing-failed", TypeInformation.of(DeadLetter.class));
    /** The step's name in the dead letters: the operator's. */
    public static final String STEP = "Pattern engine";
    static final String STATE_NAME = "pattern-runs";
    /** Gauge per pattern version: partial matches in flight on this subtask (finished ones held by a skip strategy included). */
    public static final String PARTIAL_MATCHES = "partialMatches";
    /** Gauge: users with anything in flight on this subtask, i.e. keys of the engine's state. */
    public static final String USERS_WITH_PARTIAL_MATCHES = "usersWithPartialMatches";
    /** Per pattern version: open matches dropped because a newer version restarted them, or the pattern was deleted. */
    public static final String PARTIAL_MATCHES_DROPPED = "partialMatchesDropped";
    /** Per pattern version: partial matches dropped, oldest first, because a user had more open than {@code engine.max-runs-per-user-pattern}. */
    public static final String PARTIAL_MATCHES_OVERFLOWED = "partialMatchesOverflowed";
    /** The default of {@code engine.max-runs-per-user-pattern} (see {@code JobConfig}). */
    public static final int DEFAULT_MAX_RUNS_PER_USER_PATTERN = 1000;
    /** Operator: pattern changes applied, and those that reached this subtask after their activation time. */
    public static final String PATTERN_CHANGES_APPLIED = "patternChangesApplied";
    public static final String LATE_ACTIVATIONS = "lateActivations";
    private static final String USERS = "users";


    /** Exact counts kept on change (a scan of keyed state would be needed otherwise); they survive restores. */
    private final SubtaskCounts inFlight = new SubtaskCounts("pattern-engine-counts");
    /** This submission's patterns, to tell a restore of the same job from a resubmission. */
    private final SubmittedPatterns submitted;
    /** Every pattern change this job has seen, in operator state (each subtask holds them all). */
    private final PatternChangeLog changes = new PatternChangeLog();

    private transient Map<String, String> runsNames;
    private transient PatternTimeline timeline;
    private transient ValueState<EngineState> state;
    private transient Map<String, PatternMetrics> metrics;
    private transient List<Map<String, List<BehaviorEvent>>> found;
    /** Partial matches that timed out, of patterns with {@code on_timeout}; emitted with {@link #found}. */
    private transient List<PatternEngine.TimedOut> timedOut;
    private transient MetricGroup group;
    private transient Counter changesApplied;
    private transient Counter lateActivations;
    /** Events replayed by identity stitching that the engine skipped: older than the user's latest event. */
    private transient Counter stitchedSkipped;
    private transient StepFailure.Tally failures;

    /** The track event that erases a user ({@code privacy.erasure-event}, with privacy.controls-from-events), or null; control-topic erasures always erase. */
    private String erasureEvent;

    /** At most this many open partial matches per user and pattern version; the oldest go first. */
    private int maxRunsPerUserPattern = DEFAULT_MAX_RUNS_PER_USER_PATTERN;

    /** Bounds the open partial matches of each user and pattern version ({@code engine.max-runs-per-user-pattern}). */
    public PatternEngineFunction boundingRunsAt(int maxRunsPerUserPattern) {
        if (maxRunsPerUserPattern < 1) throw new IllegalArgumentException("the bound on runs must be 1 or more");
        this.maxRunsPerUserPattern = maxRunsPerUserPattern;
        return this;
    }

    /**
     * For BATCH execution (replay). There Flink sorts this operator's input by key and timestamp, and
     * its sort does not keep the order of one user's events of one instant: the messageId order the
     * profile emits them in (docs/contracts.md) would be lost, and a view and an add of the same
     * second could be taken in either order. So each user's events of one instant are held until the
     * instant is over (the user's next later event, or the end of the user's input, when BATCH fires
     * the user's timers) and then taken in messageId order, as STREAMING takes them.
     */
    public PatternEngineFunction orderingInstantsByMessageId() {
        this.orderInstants = true;
        return this;
    }

    /** Drops a user's open matches when their erasure event comes through (the profile operator passes it on). */
    public PatternEngineFunction erasingOn(String erasureEvent) {
        this.erasureEvent = erasureEvent;
        return this;
    }

    /** See {@link #orderingInstantsByMessageId()}. */
    private boolean orderInstants;
    /** With {@link #orderInstants}: the current user's events of {@link #instantAt} not taken yet. */
    private transient List<BehaviorEvent> instant;
    private transient long instantAt;

    public PatternEngineFunction(List<PatternDefinition> initial) {
        this.submitted = new SubmittedPatterns(initial);
    }

    /** The descriptor of the engine's one keyed state; events written with the job's event serializer. */
    public static ValueStateDescriptor<EngineState> stateDescriptor(TypeSerializer<BehaviorEvent> eventSerializer) {
        return new ValueStateDescriptor<>(STATE_NAME, new EngineStateSerializer(eventSerializer));
    }

    @Override
    public void initializeState(FunctionInitializationContext ctx) throws Exception {
        inFlight.initialize(ctx, getRuntimeContext().getTaskInfo());
        submitted.initialize(ctx);
        changes.initialize(ctx);
    }

    @Override
    public void snapshotState(FunctionSnapshotContext ctx) throws Exception {
        inFlight.snapshot(ctx);
        submitted.snapshot(getRuntimeContext().getTaskInfo().getIndexOfThisSubtask());
        changes.snapshot();
    }

    @Override
    public void open(OpenContext openContext) throws Exception {
        instant = new ArrayList<>();
        TypeSerializer<BehaviorEvent> eventSerializer = getRuntimeContext().createSerializer(TypeInformation.of(BehaviorEvent.class));
        state = getRuntimeContext().getState(stateDescriptor(eventSerializer));
        metrics = new HashMap<>();
        group = getRuntimeContext().getMetricGroup();
        changesApplied = group.counter(PATTERN_CHANGES_APPLIED);
        lateActivations = group.counter(LATE_ACTIVATIONS);
        stitchedSkipped = group.counter("stitchedEventsSkipped");
        failures = new StepFailure.Tally(group, LOG);
        inFlight.register(group, USERS_WITH_PARTIAL_MATCHES, USERS);
        found = new ArrayList<>();
        timedOut = new ArrayList<>();
        kept = new KeptEvent();
        // the submitted patterns' metrics exist from the start (at 0), as operators expect to find them
        for (PatternDefinition d : submitted.initial()) metricsOf(d.id, d.version);
    }

    @Override
    public void close() throws Exception {
        if (timeline != null) {
            for (PatternTimeline.Entry e : timeline.versions()) {
                if (e.compiled != null) for (var c : e.compiled.conditions) FunctionUtils.closeFunction(c);
            }
        }
        if (armsCompiled != null) for (CompiledPattern p : armsCompiled.values()) for (var c : p.conditions) FunctionUtils.closeFunction(c);
    }

    /** Built on first use, from the changes restored with the operator state. */
    private PatternTimeline timeline() throws Exception {
        if (timeline == null) {
            timeline = submitted.timeline(changes.all());
            if (submitted.resubmitted()) LOG.info("pattern set differs from the snapshot's: now live {}", timeline.liveAt(Long.MAX_VALUE));
        }
        return timeline;
    }

    /**
     * The pattern as the current user's experiment arm runs it: an arm that sets parameters or
     * overrides the alert is its own compiled version of the pattern (same id, version, runs key and
     * metrics; a user is only ever in one arm), see docs/pattern-language.md, "Experiments and goals".
     */
    private CompiledPattern compiled(PatternTimeline.Entry e) throws Exception {
        if (e.def == null || e.def.experiment() == null || user == null) return compiledBase(e);
        PatternDefinition arm = io.behaviorcep.experiment.Assignment.patternFor(e.def, user);
        if (arm == e.def) return compiledBase(e);
        if (armsCompiled == null) armsCompiled = new java.util.IdentityHashMap<>();
        CompiledPattern p = armsCompiled.get(arm);
        if (p == null) {
            p = new CompiledPattern(arm);
            for (var c : p.conditions) {
                FunctionUtils.setFunctionRuntimeContext(c, getRuntimeContext());
                FunctionUtils.openFunction(c, DefaultOpenContext.INSTANCE);
            }
            armsCompiled.put(arm, p);
        }
        return p;
    }

    /** The user being evaluated (set per element and timer): experiment arms depend on it. */
    private transient String user;
    /** Experiment arms' own versions of their patterns, compiled once. */
    private transient Map<PatternDefinition, CompiledPattern> armsCompiled;

    /**
     * Passes on an event that meets the {@code goal:} of some pattern version (live, draining or
     * deleted: their decisions may still be open), with its value per version.
     */
    private void emitGoal(PatternTimeline t, BehaviorEvent e, Collector<ActionInput> out) {
        Map<String, Double> values = null;
        for (PatternTimeline.Entry entry : t.entries()) {
            PatternDefinition d = entry.def;
            if (d == null || d.goal() == null || !d.goal().matcher.matchesKind(e)) continue;
            if (!d.goal().matcher.matches(e, SimpleEvalContext.of(e))) continue;
            if (values == null) values = new HashMap<>(2);
            values.put(io.behaviorcep.experiment.PendingDecision.goalKey(d.id, d.version), goalValue(d.goal().valuePath, e));
        }
        if (values != null) out.collect(new ActionInput.GoalReached(e.userKey, e.messageId, e.timestamp, values));
    }

    /** The goal event's value field as a finite number, or null. */
    static Double goalValue(String path, BehaviorEvent e) {
        if (path == null) return null;
        String v = e.field(path);
        if (v == null) return null;
        try {
            double d = Double.parseDouble(v.trim());
            return Double.isFinite(d) ? d : null;
        } catch (NumberFormatException notANumber) {
            return null;
        }
    }

    private CompiledPattern compiledBase(PatternTimeline.Entry e) throws Exception {
        if (e.compiled == null) {
            CompiledPattern p = new CompiledPattern(e.def);
            for (var c : p.conditions) {
                FunctionUtils.setFunctionRuntimeContext(c, getRuntimeContext());
                FunctionUtils.openFunction(c, DefaultOpenContext.INSTANCE);
            }
            e.compiled = p;
        }
        return e.compiled;
    }

    private PatternMetrics metricsOf(PatternTimeline.Entry e) {
        if (e.metrics == null) e.metrics = metricsOf(e.id, e.version);
        return (PatternMetrics) e.metrics;
    }

    private PatternMetrics metricsOf(String id, int version) {
        return metrics.computeIfAbsent(PatternTimeline.runsKey(id, version), k -> {
            PatternMetrics m = new PatternMetrics(group, id, version);
            inFlight.register(MatchFunction.patternMetrics(group, id, version), PARTIAL_MATCHES, runsName(k));
            return m;
        });
    }

    /** A pattern change in-band: applied here, kept in operator state, and passed on to the actions operator. */
    private void applyChange(PatternChange change, String key, long watermark, Collector<ActionInput> out) throws Exception {
        PatternTimeline t = timeline();
        changes.add(change);
        out.collect(new ActionInput.PatternChanged(key, change));
        if (!t.apply(change)) return;
        changesApplied.inc();
        if (change.activateAt <= watermark) {
            // events up to the watermark were already evaluated by the previous version here
            lateActivations.inc();
            LOG.warn("pattern change {} reached subtask {} after event time {} had passed its activation; "
                            + "raise patterns.activation-delay", change, getRuntimeContext().getTaskInfo().getIndexOfThisSubtask(), watermark);
        } else {
            LOG.info("pattern change {} applies from event time {}", change, change.activateAt);
        }
    }

    /**
     * Called before a pattern version evaluates an event, or decides its deadlines ({@code e} null):
     * a seam for tests to make one fail.
     */
    protected void inspect(String user, PatternDefinition def, BehaviorEvent e) {
    }

    @Override
    public void processElement(BehaviorEvent e, Context ctx, Collector<ActionInput> out) throws Exception {
        if (KeyedPathRecords.isPatternChange(e)) {
            if (orderInstants) takeInstant(ctx, out);
            applyChange(PatternChange.fromRecord(e), e.userKey, ctx.timerService().currentWatermark(), out);
            return;
        }
        if (KeyedPathRecords.isActionsControl(e)) {
            if (orderInstants) takeInstant(ctx, out);
            out.collect(new ActionInput.PrivacySignal(e.userKey, ActionInput.Signal.of(e.property(KeyedPathRecords.CONTROL_PROPERTY)), e.timestamp));
            return;
        }
        if (orderInstants) {
            if (!instant.isEmpty() && e.timestamp != instantAt) takeInstant(ctx, out);
            if (instant.isEmpty()) {
                instantAt = e.timestamp;
                // in BATCH, fired when the user's input ends, before Flink drops the user's state
                ctx.timerService().registerEventTimeTimer(e.timestamp);
            }
            instant.add(e);
            return;
        }
        evaluateContained(e, ctx, out, true);
    }

    /** The held events of one instant, in messageId order (BATCH only, {@link #orderingInstantsByMessageId()}). */
    private void takeInstant(Context ctx, Collector<ActionInput> out) throws Exception {
        if (instant.isEmpty()) return;
        List<BehaviorEvent> due = new ArrayList<>(instant);
        instant.clear();
        due.sort(java.util.Comparator.comparing((BehaviorEvent x) -> x.messageId, java.util.Comparator.nullsFirst(java.util.Comparator.naturalOrder())));
        // held, they were on time when they came; BATCH fires this at the end of the user's input, with its watermark at the end of time
        for (BehaviorEvent e : due) evaluateContained(e, ctx, out, false);
    }

    private void evaluateContained(BehaviorEvent e, Context ctx, Collector<ActionInput> out, boolean mayBeLate) throws Exception {
        user = ctx.getCurrentKey();
        try {
            evaluate(e, ctx, out, mayBeLate);
        } catch (RuntimeException ex) {
            // a failure outside one pattern's evaluation (reconciling versions, exits, storing): the
            // event is a dead letter; an infrastructure failure still restarts the task
            if (!StepFailure.isRecordFault(ex)) throw ex;
            found.clear();
            timedOut.clear();
            ctx.output(FAILED, failures.count(StepFailure.ofEvent(STEP, null, 0, e, ex), ex));
        }
    }

    private void evaluate(BehaviorEvent e, Context ctx, Collector<ActionInput> out, boolean mayBeLate) throws Exception {
        long watermark = ctx.timerService().currentWatermark();
        if (mayBeLate && e.timestamp <= watermark && !e.stitched()) {
            ctx.output(LATE, e);
            return;
        }
        if (e.stitched() && e.profile != null && e.profile.lastSeen > e.timestamp) {
            // identity stitching replayed it behind events the user already had here: interleaved
            // histories. The profile counted it; runs cannot go back in time (docs/contracts.md, "Identity")
            stitchedSkipped.inc();
            return;
        }
        PatternTimeline t = timeline();
        long ts = e.timestamp;
        if (io.behaviorcep.privacy.PrivacyRules.erases(e, erasureEvent) || io.behaviorcep.privacy.PrivacyRules.isRetire(e)) {
            erase();
            return;
        }

        emitGoal(t, e, out);
        // most events are of no use to any pattern (page and list views for a cart pattern): they
        // leave the user's state untouched, so they need not even read it
        if (!anyVersionMayUse(t, e)) return;

        EngineState s = state.value();
        boolean created = s == null;
        if (created) s = new EngineState();
        int seq = s.nextSeq(ts);
        kept.of(e, projection(t));
        boolean changed = !created;
        if (!s.patterns.isEmpty()) changed |= reconcile(t, s, e, ts, seq, out);
        for (String id : t.ids()) {
            PatternTimeline.Entry cur = t.current(id, ts);
            if (cur == null || !cur.live()) continue;
            CompiledPattern p = compiled(cur);
            if (!p.wants(e)) continue;
            PatternMetrics m = metricsOf(cur);
            m.evaluated.inc();
            PatternRuns runs = s.patterns.get(cur.key);
            int before = inFlight(runs);
            try {
                inspect(ctx.getCurrentKey(), cur.def, e);
                if (runs == null) {
                    runs = PatternEngine.initial(p);
                } else {
                    PatternEngine.advanceTime(p, runs, ts, found, timedOut);
                    emit(s, p, m, out);
                }
                boolean mayStart = p.leadingAbsence == null || p.mayStartAt(ts, absenceSeen(s, cur.key, p, ts));
                m.overflowed.inc(PatternEngine.process(p, runs, e, kept, ts, seq, m, found, maxRunsPerUserPattern, mayStart));
                emit(s, p, m, out);
                // after the event's own evaluation: an event does not rule out a match starting at itself
                if (p.isLeadingAbsenceEvent(e)) {
                    if (s.absenceSeen == null) s.absenceSeen = new HashMap<>(2);
                    s.absenceSeen.put(cur.key, ts);
                }
                changed |= store(s, cur.key, runs, p, before);
            } catch (RuntimeException ex) {
                if (!StepFailure.isRecordFault(ex)) throw ex;
                // this pattern's outcome of the event is lost, its runs stay as far as they got; the
                // other patterns still see the event
                found.clear();
                timedOut.clear();
                track(cur.key, before, inFlight(s.patterns.get(cur.key)));
                changed = true;
                ctx.output(FAILED, failures.count(StepFailure.ofEvent(STEP, cur.id, cur.version, e, ex), ex));
            }
        }
        // after the patterns: a match this event completed (or whose deadline it passed) comes first
        if (s.maybeMember != null) emitExits(t, s, e, out);
        if (created && !s.isEmpty()) inFlight.increment(USERS);
        settle(s, !created, changed, ctx.timerService());
    }

    /** When the user last sent an event of this version's leading absence, if that still matters at {@code ts}; else null. */
    private static Long absenceSeen(EngineState s, String key, CompiledPattern p, long ts) {
        Long seen = s.absenceSeen == null ? null : s.absenceSeen.get(key);
        if (seen != null && seen < ts - p.leadingAbsenceWindow) {
            s.absenceSeen.remove(key);
            if (s.absenceSeen.isEmpty()) s.absenceSeen = null;
            return null;
        }
        return seen;
    }

    /**
     * Whether some version of some pattern (including versions that only drain) could bind the event
     * or end a segment on it. If none can, the event changes nothing: no run binds it, and time
     * passing is the timer's business (a run's timeouts fire at the same deadline either way).
     */
    private boolean anyVersionMayUse(PatternTimeline t, BehaviorEvent e) throws Exception {
        for (PatternTimeline.Entry entry : t.entries()) {
            if (entry.def == null) continue;
            if (compiled(entry).wants(e)) return true;
            PatternDefinition.SegmentAction seg = entry.def.segment;
            if (seg != null) for (EventMatcher m : seg.exitOn) if (m.matches(e, SimpleEvalContext.of(e))) return true;
        }
        return false;
    }

    /**
     * The user's runs of versions that no longer apply at {@code ts}: handled by the applying
     * version's {@code on_change}; drained runs also see the event (with id {@code seq}), or only
     * time passing when {@code e} is null.
     */
    private boolean reconcile(PatternTimeline t, EngineState s, BehaviorEvent e, long ts, int seq, Collector<ActionInput> out) throws Exception {
        boolean stale = false;
        for (String key : s.patterns.keySet()) {
            PatternTimeline.Entry mine = t.byRunsKey(key);
            if (mine == null || t.current(mine.id, ts) != mine) {
                stale = true;
                break;
            }
        }
        if (!stale) return false; // the common case: every run belongs to the version that applies
        boolean changed = false;
        List<String> keys = new ArrayList<>(s.patterns.keySet());
        for (String key : keys) {
            PatternRuns runs = s.patterns.get(key);
            PatternTimeline.Entry mine = t.byRunsKey(key);
            PatternTimeline.Entry cur = mine == null ? null : t.current(mine.id, ts);
            if (cur == mine) continue;
            int before = inFlight(runs);
            PatternDefinition.OnChange policy;
            if (mine == null) {
                policy = PatternDefinition.OnChange.RESTART; // a pattern this job does not know
            } else if (cur == null || !cur.live()) {
                // nothing runs after it: the disabled version's on_change (a deleted file's last one) decides
                PatternDefinition.OnChange declared = cur != null && !cur.delete ? cur.def.onChange : mine.def.onChange;
                policy = declared == PatternDefinition.OnChange.KEEP ? PatternDefinition.OnChange.DRAIN : declared;
            } else {
                policy = cur.def.onChange;
            }
            if (policy == PatternDefinition.OnChange.KEEP && !compatible(compiled(mine), compiled(cur))) {
                policy = PatternDefinition.OnChange.DRAIN;
            }
            changed = true;
            switch (policy) {
                case RESTART -> {
                    s.patterns.remove(key);
                    track(key, before, 0);
                    if (mine != null) metricsOf(mine).dropped.inc(before);
                }
                case KEEP -> {
                    s.patterns.remove(key);
                    track(key, before, 0);
                    PatternRuns into = s.patterns.get(cur.key);
                    int intoBefore = inFlight(into);
                    if (into == null) {
                        runs.version = cur.version;
                        s.patterns.put(cur.key, runs);
                        into = runs;
                    } else {
                        for (Run r : runs.partial) if (r.path != null) into.partial.add(r);
                        into.completed.addAll(runs.completed);
                    }
                    track(cur.key, intoBefore, inFlight(into));
                }
                case DRAIN -> {
                    CompiledPattern p = compiled(mine);
                    // no new matches start on a draining version
                    runs.partial.removeIf(r -> r.path == null && p.info(r).start);
                    PatternMetrics m = metricsOf(mine);
                    PatternEngine.advanceTime(p, runs, ts, found, timedOut);
                    emit(s, p, m, out);
                    if (e != null && p.wants(e)) {
                        m.evaluated.inc();
                        m.overflowed.inc(PatternEngine.process(p, runs, e, kept, ts, seq, m, found, maxRunsPerUserPattern, true));
                        emit(s, p, m, out);
                    }
                    store(s, key, runs, p, before);
                }
            }
        }
        return changed;
    }

    /** An erased user's open matches go: nothing they did before the erasure may come out later. */
    private void erase() throws Exception {
        EngineState s = state.value();
        if (s == null) return;
        for (Map.Entry<String, PatternRuns> r : s.patterns.entrySet()) track(r.getKey(), inFlight(r.getValue()), 0);
        inFlight.decrement(USERS);
        state.clear(); // a timer still pending fires once and finds nothing
    }

    /**
     * Runs can change version under {@code keep} only when both versions have the same states and
     * edges, and the new one reads no field of bound events that the running one does not: its runs
     * hold only what it reads ({@link EventProjection}).
     */
    static boolean compatible(CompiledPattern a, CompiledPattern b) {
        return a.shape().equals(b.shape())
                && EventProjection.of(java.util.List.of(a.def)).covers(EventProjection.pathsReadBy(b.def));
    }

    /** What runs keep of the event being evaluated. */
    private transient KeptEvent kept;
    private transient EventProjection projection;
    private transient PatternTimeline projectionOf;
    private transient int projectionGeneration;

    /** What runs keep of events: what any version the timeline holds reads of them (those draining included). */
    private EventProjection projection(PatternTimeline t) {
        if (projectionOf != t || projectionGeneration != t.generation()) {
            List<PatternDefinition> defs = new ArrayList<>();
            for (PatternTimeline.Entry v : t.versions()) if (v.def != null) defs.add(v.def);
            projection = EventProjection.of(defs);
            projectionOf = t;
            projectionGeneration = t.generation();
        }
        return projection;
    }

    /** Puts the runs back, or drops the entry when nothing is in flight; true (the state changed). */
    private boolean store(EngineState s, String key, PatternRuns runs, CompiledPattern p, int before) {
        if (PatternEngine.isIdle(p, runs)) {
            s.patterns.remove(key);
            track(key, before, 0);
        } else {
            s.patterns.put(key, runs);
            track(key, before, inFlight(runs));
        }
        return true;
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<ActionInput> out) throws Exception {
        if (orderInstants) takeInstant(ctx, out);
        EngineState s = state.value();
        if (s == null) return;
        user = ctx.getCurrentKey();
        try {
            decide(timestamp, s, ctx, out);
        } catch (RuntimeException ex) {
            // no new timer is set: the user's next event tries again
            if (!StepFailure.isRecordFault(ex)) throw ex;
            found.clear();
            timedOut.clear();
            ctx.output(FAILED, failures.count(StepFailure.ofTimer(STEP, null, 0, ctx.getCurrentKey(), timestamp, ex), ex));
        }
    }

    private void decide(long timestamp, EngineState s, OnTimerContext ctx, Collector<ActionInput> out) throws Exception {
        if (s.timerAt == timestamp) s.timerAt = Long.MAX_VALUE;
        PatternTimeline t = timeline();
        long watermark = ctx.timerService().currentWatermark();
        if (s.maybeMember != null) {
            s.maybeMember.values().removeIf(m -> m[1] <= watermark);
            if (s.maybeMember.isEmpty()) s.maybeMember = null;
        }
        if (s.absenceSeen != null) {
            // a leading absence's last event matters to events up to its window later, and later ones are all after the watermark
            for (Iterator<Map.Entry<String, Long>> it = s.absenceSeen.entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<String, Long> a = it.next();
                if (absenceExpiry(t, a.getKey(), a.getValue()) <= watermark) it.remove();
            }
            if (s.absenceSeen.isEmpty()) s.absenceSeen = null;
        }
        reconcile(t, s, null, watermark, 0, out);
        for (String key : new ArrayList<>(s.patterns.keySet())) {
            PatternRuns runs = s.patterns.get(key);
            PatternTimeline.Entry entry = t.byRunsKey(key);
            if (runs == null || entry == null) continue;
            CompiledPattern p = compiled(entry);
            int before = inFlight(runs);
            try {
                inspect(ctx.getCurrentKey(), entry.def, null);
                PatternEngine.advanceTime(p, runs, watermark, found, timedOut);
                emit(s, p, metricsOf(entry), out);
                store(s, key, runs, p, before);
            } catch (RuntimeException ex) {
                if (!StepFailure.isRecordFault(ex)) throw ex;
                // the user's runs of this version go (counted as dropped): kept, their deadline would
                // stay behind the watermark and fire again at once, for ever
                found.clear();
                timedOut.clear();
                s.patterns.remove(key);
                track(key, before, 0);
                metricsOf(entry).dropped.inc(before);
                ctx.output(FAILED, failures.count(StepFailure.ofTimer(STEP, entry.id, entry.version, ctx.getCurrentKey(), timestamp, ex), ex));
            }
        }
        settle(s, true, true, ctx.timerService());
    }

    /** Stores the user's state (or drops it when nothing is in flight) and keeps one timer at the earliest deadline. */
    private void settle(EngineState s, boolean stored, boolean write, TimerService timers) throws Exception {
        if (s.isEmpty()) {
            // nothing in flight: the user costs no state; a timer still pending fires once and finds nothing
            if (stored) {
                inFlight.decrement(USERS);
                state.clear();
            }
            return;
        }
        long deadline = Long.MAX_VALUE;
        for (Map.Entry<String, PatternRuns> r : s.patterns.entrySet()) {
            PatternTimeline.Entry entry = timeline.byRunsKey(r.getKey());
            if (entry != null) deadline = Math.min(deadline, PatternEngine.nextDeadline(compiled(entry), r.getValue()));
        }
        if (s.maybeMember != null) for (long[] m : s.maybeMember.values()) deadline = Math.min(deadline, m[1]);
        if (s.absenceSeen != null) {
            for (Map.Entry<String, Long> a : s.absenceSeen.entrySet()) deadline = Math.min(deadline, absenceExpiry(timeline, a.getKey(), a.getValue()));
        }
        if (deadline != Long.MAX_VALUE && deadline < s.timerAt) {
            // one timer per user: a million quiet users cost a million timers, not several each
            if (s.timerAt != Long.MAX_VALUE) timers.deleteEventTimeTimer(s.timerAt);
            timers.registerEventTimeTimer(deadline);
            s.timerAt = deadline;
            write = true;
        }
        if (write) state.update(s);
    }

    /** When the last event of a version's leading absence, seen at {@code seen}, stops mattering; at once for a version the job no longer knows. */
    private long absenceExpiry(PatternTimeline t, String key, long seen) throws Exception {
        PatternTimeline.Entry entry = t.byRunsKey(key);
        if (entry == null || entry.def == null) return Long.MIN_VALUE;
        CompiledPattern p = compiled(entry);
        return p.leadingAbsence == null ? Long.MIN_VALUE : seen + p.leadingAbsenceWindow;
    }

    /**
     * The {@code exit_on} signals of the versions that apply to this event, for segments a match of
     * this user may have entered: at most one per segment. An exit ends the marker: the actions
     * operator decides whether the user really was a member.
     */
    private void emitExits(PatternTimeline t, EngineState s, BehaviorEvent e, Collector<ActionInput> out) {
        Set<String> segments = null;
        for (String id : t.ids()) {
            PatternTimeline.Entry cur = t.current(id, e.timestamp);
            if (cur == null || !cur.live() || cur.def.segment == null || cur.def.segment.exitOn.isEmpty()) continue;
            PatternDefinition p = cur.def;
            if (!s.maybeMember.containsKey(p.segment.name)) continue;
            for (EventMatcher m : p.segment.exitOn) {
                if (m.matches(e, SimpleEvalContext.of(e))) {
                    if (segments == null) segments = new HashSet<>();
                    if (segments.add(p.segment.name)) {
                        out.collect(new ActionInput.SegmentExit(e.userKey, p.segment.name, p.id, e.messageId, e.timestamp,
                                p.segment.exitAlert != null ? e.profile : null));
                    }
                    // the exit ends any membership entered before it; one entered at this very
                    // millisecond outlives it (exits sort first in the actions operator)
                    long[] marker = s.maybeMember.get(p.segment.name);
                    if (marker != null && marker[0] < e.timestamp) s.maybeMember.remove(p.segment.name);
                    break;
                }
            }
        }
    }

    private void emit(EngineState s, CompiledPattern p, PatternMetrics m, Collector<ActionInput> out) {
        if (!timedOut.isEmpty()) {
            // first: a run that timed out did so before the event now being processed
            for (PatternEngine.TimedOut t : timedOut) {
                out.collect(new ActionInput.Matched(MatchFunction.toTimedOutMatch(p.def, t.partial(), t.at())));
                m.timeoutsFired.inc();
            }
            timedOut.clear();
        }
        if (found.isEmpty()) return;
        for (Map<String, List<BehaviorEvent>> match : found) {
            ActionInput.Matched in = new ActionInput.Matched(MatchFunction.toMatch(p.def, match));
            out.collect(in);
            if (p.def.segment != null && !p.def.segment.exitOn.isEmpty()) {
                if (s.maybeMember == null) s.maybeMember = new HashMap<>(2);
                long entered = in.match().detectedAt;
                long expires = entered + p.def.segment.ttl.toMillis();
                s.maybeMember.merge(p.def.segment.name, new long[] {entered, expires},
                        (a, b) -> new long[] {Math.max(a[0], b[0]), Math.max(a[1], b[1])});
            }
            m.matches.inc();
            if (p.def.trailingAbsence() != null) m.timeoutsFired.inc();
        }
        found.clear();
    }

    private static String runsName(String key) {
        return "runs:" + key;
    }

    /** Partial matches in flight for a pattern version on this subtask (for tests and the metric). */
    long partialMatches(String patternId, int version) {
        return inFlight.get(runsName(PatternTimeline.runsKey(patternId, version)));
    }

    /** Records and deadlines contained as PROCESSING_FAILED on this subtask (for tests; the metric is {@value StepFailure#METRIC}). */
    long processingFailures() {
        return failures.count();
    }

    long usersWithPartialMatches() {
        return inFlight.get(USERS);
    }

    private void track(String key, int before, int after) {
        if (after == before) return;
        // the metric's name per runs key, built once: a string built per event was a measurable cost
        if (runsNames == null) runsNames = new HashMap<>();
        inFlight.add(runsNames.computeIfAbsent(key, PatternEngineFunction::runsName), after - before);
    }

    /** Runs that have bound an event (fresh start runs are not partial matches). */
    private static int inFlight(PatternRuns runs) {
        if (runs == null) return 0;
        int n = runs.completed.size();
        for (Run r : runs.partial) if (r.path != null) n++;
        return n;
    }

    /** The per-pattern-version metrics (docs/contracts.md, Metrics), in the pattern version's metric group. */
    static final class PatternMetrics implements PatternEngine.ErrorSink {
        final Counter evaluated;
        final Counter matches;
        final Counter timeoutsFired;
        final Counter conditionErrors;
        final Counter dropped;
        final Counter overflowed;

        PatternMetrics(MetricGroup operator, String id, int version) {
            MetricGroup g = MatchFunction.patternMetrics(operator, id, version);
            evaluated = g.counter(MatchFunction.EVENTS_EVALUATED);
            matches = g.counter(MatchFunction.MATCHES);
            timeoutsFired = g.counter(MatchFunction.TIMEOUTS_FIRED);
            dropped = g.counter(PARTIAL_MATCHES_DROPPED);
            overflowed = g.counter(PARTIAL_MATCHES_OVERFLOWED);
            conditionErrors = MatchFunction.conditionErrors(operator, id, version);
        }

        @Override
        public void conditionFailed(CompiledPattern p, RuntimeException e) {
            conditionErrors.inc();
        }
    }
}
