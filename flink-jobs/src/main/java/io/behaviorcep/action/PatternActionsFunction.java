package io.behaviorcep.action;

import io.behaviorcep.engine.ActionInput;
import io.behaviorcep.engine.PatternTimeline;
import io.behaviorcep.event.DeadLetter;
import io.behaviorcep.output.StepFailure;
import io.behaviorcep.engine.PatternChangeLog;
import io.behaviorcep.engine.SubmittedPatterns;
import io.behaviorcep.metrics.SubtaskCounts;
import io.behaviorcep.output.Alert;
import io.behaviorcep.pattern.MatchFunction;
import io.behaviorcep.pattern.PatternChange;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternMatch;
import io.behaviorcep.segment.Membership;
import io.behaviorcep.segment.SegmentUpdate;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Applies what pattern files say to do with a match, per user and in event-time order: one alert
 * per anchor event, caps, segment enter, exit on an event and exit by TTL.
 *
 * <p>The decisions are {@link UserActions}' (plain logic, like Flink CEP's {@code NFA}); this
 * operator is the glue, like {@code CepOperator}: it buffers inputs, holds the keyed state and
 * timers the decisions work on, and counts metrics.
 *
 * <p>Why a buffer: a match is decided only when the watermark passes its deadline, while an exit
 * event (an order) may arrive earlier or later over the network. Buffering both until the
 * watermark and applying them sorted by (event time, exits first, ids) makes the outcome depend
 * on the input only, never on arrival order, so a restored job reproduces the same output.
 *
 * <p>Overlapping partial matches of one anchor (several views before one add) are decided at the
 * same instant, so they always meet in one batch and are collapsed there without extra state.
 *
 * <p>Metrics: job-wide {@code alertsEmitted}, {@code alertsCapped}, {@code segmentEnters},
 * {@code segmentExits}; per pattern ({@link MatchFunction#patternMetrics}) {@code alertsEmitted},
 * {@code alertsCapped} and {@code matchesCollapsed} (overlapping matches of one anchor event that
 * became no second outcome); per segment ({@code segment=<name>}) the gauge {@code members}: members
 * held on this subtask, kept across restarts in operator state.
 *
 * <p>Privacy signals from the profile operator ({@link ActionInput.PrivacySignal}), applied in the same
 * event-time order: {@code suppress} makes the user leave every segment (reason {@code suppressed})
 * and keeps them from any alert or segment enter until {@code unsuppress}; {@code erase} makes them
 * leave every segment (reason {@code erased}), forgets their caps and pending matches, and for as long
 * as a partial match can still complete ({@link #erasureMarkerMillis}) drops any match that binds an
 * event from before the erasure. Counters {@code alertsSuppressed}, {@code matchesErased}.
 *
 * <p>With a messaging policy ({@link #withPolicy}), alerts past their pattern's cap go through it
 * ({@link PolicyGate}); its per-user state is the keyed value {@code messaging-policy}, its release
 * timers are this operator's event-time timers, and what it holds back goes to {@link #ALERT_DECISIONS}.
 */
public class PatternActionsFunction extends KeyedProcessFunction<String, ActionInput, Alert> implements CheckpointedFunction {
    public static final OutputTag<SegmentUpdate> SEGMENT_UPDATES = new OutputTag<>("segment-updates") {};
    /** Each decision's goal, decided once in event time (docs/contracts.md, "Outcomes"). */
    public static final OutputTag<io.behaviorcep.experiment.Outcome> OUTCOMES = new OutputTag<>("outcomes",
            TypeInformation.of(io.behaviorcep.experiment.Outcome.class));
    /** Inputs (and timers) that made this step throw, as PROCESSING_FAILED dead letters ({@link StepFailure}). */
    public static final OutputTag<DeadLetter> FAILED = new OutputTag<>("actions-processing-failed") {};
    /** The step's name in the dead letters: the operator's. */
    public static final String STEP = "Alerts, caps & segments";
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PatternActionsFunction.class);
    public static final String MATCHES_COLLAPSED = "matchesCollapsed";
    public static final String SEGMENT_MEMBERS = "members";
    /** What the messaging policy did with alerts it did not send at once (issue #19). */
    public static final OutputTag<io.behaviorcep.policy.AlertDecision> ALERT_DECISIONS = new OutputTag<>("alert-decisions") {};
    /** The messaging policy, or null (every alert that passes its pattern's cap goes out). */
    private io.behaviorcep.policy.PolicyDefinition policyDefinition;
    private transient io.behaviorcep.policy.MessagingPolicy policy;
    /** The user's {@link io.behaviorcep.policy.PolicyState} as JSON; absent when empty. */
    private transient ValueState<String> policyState;
    private transient Counter alertDecisions;

    private transient PatternTimeline timeline;
    /**
     * The submission this operator's snapshots were taken with, as the engine keeps it: after a savepoint
     * upgrade with another pattern set, matches of patterns the new set removed (drained by the engine per
     * their {@code on_change}) are still applied with their last version instead of being dropped.
     */
    /** This submission's patterns, to tell a restore of the same job from a resubmission (as the engine does). */
    private final SubmittedPatterns submitted;
    private final PatternChangeLog changes = new PatternChangeLog();
    /** How long after an erasure matches binding earlier events are dropped: the longest span a match can have. */
    private final long erasureMarkerMillis;

    private transient ListState<ActionInput> pending;
    private transient MapState<String, Membership> memberships;
    private transient MapState<String, long[]> recentAlerts;
    /** Set while the user is suppressed (opted out or listed). */
    private transient ValueState<Boolean> suppressed;
    /** The newest erasure of the user, kept for {@link #erasureMarkerMillis}. */
    private transient ValueState<Long> erasedAt;
    /** Decisions whose goal is still open, by decision id; bounded by {@link io.behaviorcep.experiment.GoalTracker#MAX_OPEN_DECISIONS}. */
    private transient MapState<String, io.behaviorcep.experiment.PendingDecision> openDecisions;
    private transient Counter decisionsHeldOut;
    private transient Counter decisionsOverflowed;
    /** Alerts of stitched (replayed) matches not sent again: the anonymous id had sent them (identity stitching). */
    private transient Counter alertsSentUnderAnonymousId;
    private transient Counter outcomesDecided;
    /** The global holdout ({@code experiments.*}). */
    private io.behaviorcep.experiment.Experiments experiments = io.behaviorcep.experiment.Experiments.NONE;
    private transient Counter alertsSuppressed;
    private transient Counter matchesErased;
    private transient StepFailure.Tally failures;
    private transient Counter alertsEmitted;
    private transient Counter alertsCapped;
    private transient Counter segmentEnters;
    private transient Counter segmentExits;
    /** Per pattern id: alerts emitted, alerts capped, matches collapsed. */
    private transient Map<String, Counter[]> patternCounters;
    private transient UserActions decisions;
    private transient UserActions.UserState userState;
    private final SubtaskCounts members = new SubtaskCounts("segment-member-counts");

    public PatternActionsFunction(List<PatternDefinition> patterns) {
        this.submitted = new SubmittedPatterns(patterns);
        long longest = 0;
        for (PatternDefinition p : patterns) longest = Math.max(longest, maxSpanMillis(p));
        this.erasureMarkerMillis = longest + 60 * 60_000L;
    }

    /** Alerts go through this messaging policy (null: none). */
    public PatternActionsFunction withPolicy(io.behaviorcep.policy.PolicyDefinition policy) {
        this.policyDefinition = policy;
        return this;
    }

    /**
     * An upper bound of the event time between a match's first event and its decision: every
     * window and absence of the pattern added up (the pattern window bounds it as well).
     */
    static long maxSpanMillis(PatternDefinition p) {
        long steps = 0;
        for (PatternDefinition.StepDefinition s : p.steps) {
            if (s == p.leadingAbsence()) continue; // it lies before the first event
            if (!s.isGroup()) {
                steps += span(s, s.within);
                continue;
            }
            // a repeated group spans its steps' windows once per repetition
            long group = span(s.group.get(0), s.within);
            for (int i = 1; i < s.group.size(); i++) group += span(s.group.get(i), s.group.get(i).within);
            steps += group * repetitions(s);
        }
        if (p.within != null) {
            PatternDefinition.StepDefinition trailing = p.trailingAbsence();
            long bound = p.within.toMillis() + (trailing == null || trailing.absentFor == null ? 0 : trailing.absentFor.toMillis());
            steps = steps == 0 ? bound : Math.min(steps, bound);
        }
        return steps;
    }

    /** A step's share of {@link #maxSpanMillis}: a repeated step may take its window once per event. */
    private static long span(PatternDefinition.StepDefinition s, java.time.Duration within) {
        long out = within == null ? 0 : within.toMillis() * repetitions(s);
        return s.absentFor == null ? out : out + s.absentFor.toMillis();
    }

    /** How many times a step may repeat; an open-ended one is bounded generously. */
    private static long repetitions(PatternDefinition.StepDefinition s) {
        return s.quantifier.max < 0 ? 100 : Math.max(1, s.quantifier.max);
    }

    /** Holds back the alerts of the global holdout's users, recording their decisions. */
    public PatternActionsFunction withExperiments(io.behaviorcep.experiment.Experiments experiments) {
        this.experiments = experiments;
        return this;
    }

    @Override
    public void open(OpenContext ctx) {
        pending = getRuntimeContext().getListState(new ListStateDescriptor<>("pending-actions", TypeInformation.of(ActionInput.class)));
        memberships = getRuntimeContext().getMapState(new MapStateDescriptor<>("segment-memberships", Types.STRING, TypeInformation.of(Membership.class)));
        recentAlerts = getRuntimeContext().getMapState(new MapStateDescriptor<>("recent-alerts", Types.STRING, PrimitiveArrayTypeInfo.LONG_PRIMITIVE_ARRAY_TYPE_INFO));
        suppressed = getRuntimeContext().getState(new ValueStateDescriptor<>("user-suppressed", Types.BOOLEAN));
        erasedAt = getRuntimeContext().getState(new ValueStateDescriptor<>("user-erased-at", Types.LONG));
        policyState = getRuntimeContext().getState(new ValueStateDescriptor<>("messaging-policy", Types.STRING));
        policy = policyDefinition == null ? null : new io.behaviorcep.policy.MessagingPolicy(policyDefinition);
        openDecisions = getRuntimeContext().getMapState(new MapStateDescriptor<>("open-decisions", Types.STRING,
                TypeInformation.of(io.behaviorcep.experiment.PendingDecision.class)));
        var metrics = getRuntimeContext().getMetricGroup();
        alertsEmitted = metrics.counter("alertsEmitted");
        alertsCapped = metrics.counter("alertsCapped");
        segmentEnters = metrics.counter("segmentEnters");
        segmentExits = metrics.counter("segmentExits");
        alertsSuppressed = metrics.counter("alertsSuppressed");
        matchesErased = metrics.counter("matchesErased");
        alertDecisions = metrics.counter("alertDecisions");
        decisionsHeldOut = metrics.counter("decisionsHeldOut");
        decisionsOverflowed = metrics.counter("decisionsOverflowed");
        alertsSentUnderAnonymousId = metrics.counter("alertsSentUnderAnonymousId");
        outcomesDecided = metrics.counter("outcomesDecided");
        failures = new StepFailure.Tally(metrics, LOG);
        patternCounters = new HashMap<>();
        metricGroup = metrics;
        registeredSegments = new HashSet<>();
        Set<String> segments = new java.util.TreeSet<>(members.names());
        for (PatternDefinition p : submitted.initial()) {
            counters(p);
            if (p.segment != null) segments.add(p.segment.name);
        }
        for (String segment : segments) registerSegment(segment);
        userState = new FlinkUserState();
        decisions = new UserActions(new UserActions.PatternVersions() {
            @Override
            public PatternDefinition version(String patternId, int version) {
                return def(patternId, version);
            }

            @Override
            public PatternDefinition latest(String patternId) {
                return PatternActionsFunction.this.latest(patternId);
            }
        }, erasureMarkerMillis, new MetricCounts(), experiments);
    }

    private transient MetricGroup metricGroup;
    private transient Set<String> registeredSegments;

    private void registerSegment(String segment) {
        if (registeredSegments.add(segment)) members.register(metricGroup.addGroup("segment", segment), SEGMENT_MEMBERS, segment);
    }

    private Counter[] counters(PatternDefinition p) {
        return patternCounters.computeIfAbsent(p.id + "#" + p.version, k -> {
            MetricGroup g = MatchFunction.patternMetrics(metricGroup, p.id, p.version);
            return new Counter[] {g.counter("alertsEmitted"), g.counter("alertsCapped"), g.counter(MATCHES_COLLAPSED)};
        });
    }

    /**
     * Every version the job may still see a match of: the submitted ones and every change since
     * (restored with the operator state after a restore).
     */
    private PatternTimeline timeline() {
        if (timeline == null) timeline = submitted.timeline(changes.all());
        return timeline;
    }

    /** The version a match was found by (falling back to the newest known version of the pattern). */
    private PatternDefinition def(String patternId, int version) {
        PatternTimeline.Entry e = timeline().version(patternId, version);
        return e != null ? e.def : latest(patternId);
    }

    /** The newest known version of a pattern, or null when it is unknown or deleted. */
    private PatternDefinition latest(String patternId) {
        PatternTimeline.Entry e = timeline().current(patternId, Long.MAX_VALUE);
        return e == null || e.delete ? null : e.def;
    }

    /** A change of the running pattern set, in-band from the engine; kept in operator state. */
    void applyChange(PatternChange change) {
        PatternTimeline t = timeline();
        changes.add(change);
        if (t.apply(change) && !change.isDelete()) {
            PatternDefinition d = t.version(change.patternId, change.version).def;
            counters(d);
            if (d.segment != null) registerSegment(d.segment.name);
        }
    }

    @Override
    public void initializeState(FunctionInitializationContext ctx) throws Exception {
        members.initialize(ctx, getRuntimeContext().getTaskInfo());
        submitted.initialize(ctx);
        changes.initialize(ctx);
    }

    @Override
    public void snapshotState(FunctionSnapshotContext ctx) throws Exception {
        members.snapshot(ctx);
        submitted.snapshot(getRuntimeContext().getTaskInfo().getIndexOfThisSubtask());
        changes.snapshot();
    }

    private void countFor(PatternDefinition def, int which) {
        if (def != null && patternCounters != null) counters(def)[which].inc();
    }

    /** Called before each input is applied, in event-time order: a seam for tests to make one fail. */
    protected void inspect(ActionInput in) {
    }

    /** Contains {@code ex} when it is the input's fault (a dead letter, counted), else rethrows it. */
    private void contain(RuntimeException ex, ActionInput in, Context ctx) {
        if (!StepFailure.isRecordFault(ex)) throw ex;
        PatternMatch m = in instanceof ActionInput.Matched matched ? matched.match() : null;
        DeadLetter d = StepFailure.ofDocument(STEP, m == null ? null : m.patternId, m == null ? 0 : m.patternVersion,
                in.userKey() != null ? in.userKey() : ctx.getCurrentKey(), inputDocument(in), ex);
        ctx.output(FAILED, failures.count(d, ex));
    }

    /** What a dead letter of this step carries of an input: its kind, user, time and ids (a match's events are in its alert's form). */
    static com.fasterxml.jackson.databind.node.ObjectNode inputDocument(ActionInput in) {
        var n = io.behaviorcep.output.OutputJson.MAPPER.createObjectNode();
        n.put("input", in instanceof ActionInput.PrivacySignal ? "control" : in instanceof ActionInput.SegmentExit ? "exit"
                : in instanceof ActionInput.Matched ? "match" : in instanceof ActionInput.GoalReached ? "goal" : "pattern change");
        n.put("userKey", in.userKey());
        n.put("timestamp", io.behaviorcep.output.OutputJson.iso(in.timestamp()));
        if (in instanceof ActionInput.PrivacySignal s) n.put("control", s.signal().word);
        if (in instanceof ActionInput.SegmentExit x) {
            n.put("segment", x.segment());
            n.put("exitPatternId", x.patternId());
            n.put("exitEventId", x.eventId());
        }
        if (in instanceof ActionInput.Matched matched) {
            PatternMatch m = matched.match();
            n.put("patternId", m.patternId);
            n.put("patternVersion", m.patternVersion);
            n.put("anchorId", m.anchorId);
            n.put("eventIds", m.eventIds);
            n.put("detectedAt", io.behaviorcep.output.OutputJson.iso(m.detectedAt));
        }
        return n;
    }

    @Override
    public void processElement(ActionInput in, Context ctx, Collector<Alert> out) throws Exception {
        if (in instanceof ActionInput.PatternChanged c) {
            applyChange(c.change()); // belongs to no user: no keyed state, no timer
            return;
        }
        try {
            pending.add(in);
            ctx.timerService().registerEventTimeTimer(in.timestamp());
        } catch (RuntimeException ex) {
            contain(ex, in, ctx);
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<Alert> out) throws Exception {
        try {
            decide(timestamp, ctx, out);
        } catch (RuntimeException ex) {
            // outside any one input (reading or writing the pending inputs, pruning caps)
            if (!StepFailure.isRecordFault(ex)) throw ex;
            ctx.output(FAILED, failures.count(StepFailure.ofTimer(STEP, null, 0, ctx.getCurrentKey(), timestamp, ex), ex));
        }
    }

    private void decide(long timestamp, OnTimerContext ctx, Collector<Alert> out) throws Exception {
        long watermark = Math.max(timestamp, ctx.timerService().currentWatermark());
        UserActions.Effects effects = new UserActions.Effects() {
            @Override
            public void alert(Alert alert) {
                out.collect(alert);
            }

            @Override
            public void segmentUpdate(SegmentUpdate update) {
                ctx.output(SEGMENT_UPDATES, update);
            }

            @Override
            public void outcome(io.behaviorcep.experiment.Outcome outcome) {
                outcomesDecided.inc();
                ctx.output(OUTCOMES, outcome);
            }

            @Override
            public void registerTimer(long at) {
                ctx.timerService().registerEventTimeTimer(at);
            }

            @Override
            public void deleteTimer(long at) {
                ctx.timerService().deleteEventTimeTimer(at);
            }

            @Override
            public void beforeApply(ActionInput in) {
                inspect(in);
            }

            @Override
            public void failed(RuntimeException ex, ActionInput in) {
                contain(ex, in, ctx);
            }
        };
        String policyBefore = policy == null ? null : policyState.value();
        PolicyGate gate = policy == null ? null : new PolicyGate(policy, io.behaviorcep.policy.PolicyState.fromJson(policyBefore), effects,
                d -> {
                    alertDecisions.inc();
                    ctx.output(ALERT_DECISIONS, d);
                });
        decisions.decide(ctx.getCurrentKey(), watermark, userState, effects, gate);
        if (gate != null) {
            // most users had no alert lately: no state write when there was and is nothing to keep
            String after = gate.state().isEmpty() ? null : gate.state().toJson();
            if (after == null && policyBefore != null) policyState.clear();
            else if (after != null && !after.equals(policyBefore)) policyState.update(after);
        }
    }

    /** The operator's keyed state, as the decisions see it. */
    private final class FlinkUserState implements UserActions.UserState {
        @Override
        public Iterable<ActionInput> pending() throws Exception {
            return pending.get();
        }

        @Override
        public void replacePending(List<ActionInput> inputs) throws Exception {
            if (inputs.isEmpty()) pending.clear();
            else pending.update(inputs);
        }

        @Override
        public Iterable<Map.Entry<String, Membership>> memberships() throws Exception {
            return memberships.entries();
        }

        @Override
        public Membership membership(String segment) throws Exception {
            return memberships.get(segment);
        }

        @Override
        public void putMembership(String segment, Membership membership) throws Exception {
            memberships.put(segment, membership);
        }

        @Override
        public void removeMembership(String segment) throws Exception {
            memberships.remove(segment);
        }

        @Override
        public Iterable<Map.Entry<String, long[]>> recentAlerts() throws Exception {
            return recentAlerts.entries();
        }

        @Override
        public long[] recentAlerts(String patternId) throws Exception {
            return recentAlerts.get(patternId);
        }

        @Override
        public void putRecentAlerts(String patternId, long[] times) throws Exception {
            recentAlerts.put(patternId, times);
        }

        @Override
        public void removeRecentAlerts(String patternId) throws Exception {
            recentAlerts.remove(patternId);
        }

        @Override
        public void clearRecentAlerts() {
            recentAlerts.clear();
        }

        @Override
        public boolean suppressed() throws Exception {
            return Boolean.TRUE.equals(suppressed.value());
        }

        @Override
        public void suppressed(boolean value) throws Exception {
            if (value) suppressed.update(true);
            else suppressed.clear();
        }

        @Override
        public Long erasedAt() throws Exception {
            return erasedAt.value();
        }

        @Override
        public void erasedAt(Long at) throws Exception {
            if (at == null) erasedAt.clear();
            else erasedAt.update(at);
        }

        private final io.behaviorcep.experiment.GoalTracker.State decisions = new io.behaviorcep.experiment.GoalTracker.State() {
            @Override
            public Iterable<io.behaviorcep.experiment.PendingDecision> open() throws Exception {
                return openDecisions.values();
            }

            @Override
            public void put(io.behaviorcep.experiment.PendingDecision d) throws Exception {
                openDecisions.put(d.decisionId, d);
            }

            @Override
            public void remove(String decisionId) throws Exception {
                openDecisions.remove(decisionId);
            }

            @Override
            public void clear() {
                openDecisions.clear();
            }
        };

        @Override
        public io.behaviorcep.experiment.GoalTracker.State openDecisions() {
            return decisions;
        }
    }

    /** The job-wide, per-pattern and per-segment metrics of the decisions. */
    private final class MetricCounts implements UserActions.Counts {
        @Override
        public void alertEmitted(PatternDefinition def) {
            alertsEmitted.inc();
            countFor(def, 0);
        }

        @Override
        public void alertCapped(PatternDefinition def) {
            alertsCapped.inc();
            countFor(def, 1);
        }

        @Override
        public void matchCollapsed(PatternDefinition def) {
            countFor(def, 2);
        }

        @Override
        public void alertSuppressed() {
            alertsSuppressed.inc();
        }

        @Override
        public void matchErased() {
            matchesErased.inc();
        }

        @Override
        public void decisionHeldOut(PatternDefinition def) {
            decisionsHeldOut.inc();
        }

        @Override
        public void decisionOverflowed(PatternDefinition def) {
            decisionsOverflowed.inc();
        }

        @Override
        public void alertSentUnderAnonymousId(PatternDefinition def) {
            alertsSentUnderAnonymousId.inc();
        }

        @Override
        public void segmentEntered(String segment) {
            segmentEnters.inc();
            members.increment(segment);
        }

        @Override
        public void segmentExited(String segment) {
            segmentExits.inc();
            members.decrement(segment);
        }
    }

    /** sha-256 of pattern, version, user and the sorted matched event ids; the first 128 bits in hex ({@link UserActions#alertId}). */
    public static String alertId(String patternId, int version, String user, String eventIds) {
        return UserActions.alertId(patternId, version, user, eventIds);
    }
}
