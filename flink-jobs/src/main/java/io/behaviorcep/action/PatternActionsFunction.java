package io.behaviorcep.action;

import io.behaviorcep.engine.ActionInput;
import io.behaviorcep.engine.PatternTimeline;
import io.behaviorcep.event.DeadLetter;
import io.behaviorcep.event.StepFailure;
import io.behaviorcep.engine.PatternChangeLog;
import io.behaviorcep.engine.SubmittedPatterns;
import io.behaviorcep.metrics.SubtaskCounts;
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

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Applies what pattern files say to do with a match, per user and in event-time order: one alert
 * per anchor event, caps, segment enter, exit on an event and exit by TTL.
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
 */
public class PatternActionsFunction extends KeyedProcessFunction<String, ActionInput, Alert> implements CheckpointedFunction {
    public static final OutputTag<SegmentUpdate> SEGMENT_UPDATES = new OutputTag<>("segment-updates") {};
    /** Inputs (and timers) that made this step throw, as PROCESSING_FAILED dead letters ({@link StepFailure}). */
    public static final OutputTag<DeadLetter> FAILED = new OutputTag<>("actions-processing-failed") {};
    /** The step's name in the dead letters: the operator's. */
    public static final String STEP = "Alerts, caps & segments";
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PatternActionsFunction.class);
    public static final String MATCHES_COLLAPSED = "matchesCollapsed";
    public static final String SEGMENT_MEMBERS = "members";

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
    private transient Counter alertsSuppressed;
    private transient Counter matchesErased;
    private transient StepFailure.Tally failures;
    private transient Counter alertsEmitted;
    private transient Counter alertsCapped;
    private transient Counter segmentEnters;
    private transient Counter segmentExits;
    /** Per pattern id: alerts emitted, alerts capped, matches collapsed. */
    private transient Map<String, Counter[]> patternCounters;
    private final SubtaskCounts members = new SubtaskCounts("segment-member-counts");

    public PatternActionsFunction(List<PatternDefinition> patterns) {
        this.submitted = new SubmittedPatterns(patterns);
        long longest = 0;
        for (PatternDefinition p : patterns) longest = Math.max(longest, maxSpanMillis(p));
        this.erasureMarkerMillis = longest + 60 * 60_000L;
    }

    /**
     * An upper bound of the event time between a match's first event and its decision: every
     * window and absence of the pattern added up (the pattern window bounds it as well).
     */
    static long maxSpanMillis(PatternDefinition p) {
        long steps = 0;
        for (PatternDefinition.StepDefinition s : p.steps) {
            // a repeated step may take its window once per event; an open-ended one is bounded generously
            if (s.within != null) steps += s.within.toMillis() * (s.quantifier.max < 0 ? 100 : Math.max(1, s.quantifier.max));
            if (s.absentFor != null) steps += s.absentFor.toMillis();
        }
        if (p.within != null) {
            PatternDefinition.StepDefinition trailing = p.trailingAbsence();
            long bound = p.within.toMillis() + (trailing == null || trailing.absentFor == null ? 0 : trailing.absentFor.toMillis());
            steps = steps == 0 ? bound : Math.min(steps, bound);
        }
        return steps;
    }

    @Override
    public void open(OpenContext ctx) {
        pending = getRuntimeContext().getListState(new ListStateDescriptor<>("pending-actions", TypeInformation.of(ActionInput.class)));
        memberships = getRuntimeContext().getMapState(new MapStateDescriptor<>("segment-memberships", Types.STRING, TypeInformation.of(Membership.class)));
        recentAlerts = getRuntimeContext().getMapState(new MapStateDescriptor<>("recent-alerts", Types.STRING, PrimitiveArrayTypeInfo.LONG_PRIMITIVE_ARRAY_TYPE_INFO));
        suppressed = getRuntimeContext().getState(new ValueStateDescriptor<>("user-suppressed", Types.BOOLEAN));
        erasedAt = getRuntimeContext().getState(new ValueStateDescriptor<>("user-erased-at", Types.LONG));
        var metrics = getRuntimeContext().getMetricGroup();
        alertsEmitted = metrics.counter("alertsEmitted");
        alertsCapped = metrics.counter("alertsCapped");
        segmentEnters = metrics.counter("segmentEnters");
        segmentExits = metrics.counter("segmentExits");
        alertsSuppressed = metrics.counter("alertsSuppressed");
        matchesErased = metrics.counter("matchesErased");
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
        var n = io.behaviorcep.sink.OutputJson.MAPPER.createObjectNode();
        n.put("input", in instanceof ActionInput.PrivacySignal ? "control" : in instanceof ActionInput.SegmentExit ? "exit"
                : in instanceof ActionInput.Matched ? "match" : "pattern change");
        n.put("userKey", in.userKey());
        n.put("timestamp", io.behaviorcep.sink.OutputJson.iso(in.timestamp()));
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
            n.put("detectedAt", io.behaviorcep.sink.OutputJson.iso(m.detectedAt));
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
        String user = ctx.getCurrentKey();

        List<ActionInput> due = new ArrayList<>();
        List<ActionInput> later = new ArrayList<>();
        for (ActionInput in : pending.get()) (in.timestamp() <= watermark ? due : later).add(in);
        // TTL expiries are exits too, ordered with everything else by time
        for (Map.Entry<String, Membership> m : memberships.entries()) {
            if (m.getValue().expiresAt <= watermark) {
                due.add(new ActionInput.SegmentExit(user, m.getKey(), SegmentUpdate.REASON_TTL, "", m.getValue().expiresAt, null));
            }
        }
        // a queue, not a sorted list: a membership entered in this batch may also expire in it, and
        // that expiry must take its place in time, or the outcome would depend on how far the
        // watermark jumped at once
        PriorityQueue<ActionInput> queue = new PriorityQueue<>(
                Comparator.comparingLong(ActionInput::timestamp).thenComparing(ActionInput::sortKey));
        queue.addAll(due);

        Set<String> anchorsDone = new HashSet<>();
        while (!queue.isEmpty()) {
            ActionInput in = queue.poll();
            // one input that fails is a dead letter; the others of the batch are still applied
            try {
                inspect(in);
                if (in instanceof ActionInput.PrivacySignal signal) {
                    control(signal, ctx);
                } else if (in instanceof ActionInput.SegmentExit exit) {
                    exit(exit, ctx, out);
                } else if (in instanceof ActionInput.Matched matched) {
                    PatternMatch m = matched.match();
                    if (anchorsDone.add(m.patternId + "|" + m.anchorId + "|" + m.detectedAt)) {
                        Membership entered = apply(m, ctx, out);
                        if (entered != null && entered.expiresAt <= watermark) {
                            queue.add(new ActionInput.SegmentExit(user, def(m.patternId, m.patternVersion).segment.name, SegmentUpdate.REASON_TTL, "",
                                    entered.expiresAt, null));
                        }
                    } else {
                        countFor(def(m.patternId, m.patternVersion), 2);
                    }
                }
            } catch (RuntimeException ex) {
                contain(ex, in, ctx);
            }
        }
        if (later.isEmpty()) pending.clear();
        else pending.update(later);
        pruneRecentAlerts(watermark);
        Long erased = erasedAt.value();
        if (erased != null && erased + erasureMarkerMillis <= watermark) erasedAt.clear();
    }

    private void control(ActionInput.PrivacySignal in, OnTimerContext ctx) throws Exception {
        switch (in.signal()) {
            case SUPPRESS -> {
                suppressed.update(true);
                exitAll(in.userKey(), in.timestamp(), SegmentUpdate.REASON_SUPPRESSED, ctx);
            }
            case UNSUPPRESS -> suppressed.clear();
            case ERASE -> {
                exitAll(in.userKey(), in.timestamp(), SegmentUpdate.REASON_ERASED, ctx);
                recentAlerts.clear();
                // pending inputs are decided later than the erasure; those binding earlier events are
                // dropped as they come due (erasedAt), the others are the user's new behaviour
                Long previous = erasedAt.value();
                erasedAt.update(previous == null ? in.timestamp() : Math.max(previous, in.timestamp()));
                ctx.timerService().registerEventTimeTimer(in.timestamp() + erasureMarkerMillis);
            }
        }
    }

    /** Every membership ends now, whatever its TTL. */
    private void exitAll(String user, long at, String reason, OnTimerContext ctx) throws Exception {
        List<String> segments = new ArrayList<>();
        for (String s : memberships.keys()) segments.add(s);
        segments.sort(null);
        for (String segment : segments) {
            Membership current = memberships.get(segment);
            memberships.remove(segment);
            if (!timerStillNeeded(current.expiresAt)) ctx.timerService().deleteEventTimeTimer(current.expiresAt);
            ctx.output(SEGMENT_UPDATES, SegmentUpdate.of(user, segment, SegmentUpdate.EXIT, reason, at, 0L));
            segmentExits.inc();
            members.decrement(segment);
        }
    }

    /** Whether the match binds an event at or before the user's erasure (only then it is dropped). */
    private boolean bindsErasedEvents(PatternMatch m) throws Exception {
        Long erased = erasedAt.value();
        if (erased == null) return false;
        com.fasterxml.jackson.databind.JsonNode matched = io.behaviorcep.sink.OutputJson.MAPPER.readTree(m.matchedJson);
        for (com.fasterxml.jackson.databind.JsonNode events : matched) {
            for (com.fasterxml.jackson.databind.JsonNode e : events) {
                com.fasterxml.jackson.databind.JsonNode ts = e.get("timestamp");
                if (ts == null || java.time.Instant.parse(ts.asText()).toEpochMilli() <= erased) return true;
            }
        }
        return false;
    }

    /** @return the membership the match entered, or null */
    private Membership apply(PatternMatch m, OnTimerContext ctx, Collector<Alert> out) throws Exception {
        PatternDefinition def = def(m.patternId, m.patternVersion);
        if (def == null) return null; // a pattern removed from the set since the match was buffered
        if (bindsErasedEvents(m)) {
            matchesErased.inc();
            return null;
        }
        if (Boolean.TRUE.equals(suppressed.value())) {
            if (def.alert != null) alertsSuppressed.inc();
            return null;
        }
        if (def.alert != null) {
            if (withinCap(def, m.detectedAt, ctx)) {
                out.collect(toAlert(def, m));
                alertsEmitted.inc();
                countFor(def, 0);
            } else {
                alertsCapped.inc();
                countFor(def, 1);
            }
        }
        if (def.segment != null && !memberships.contains(def.segment.name)) {
            long expires = m.detectedAt + def.segment.ttl.toMillis();
            Membership entered = new Membership(m.detectedAt, expires, def.id);
            memberships.put(def.segment.name, entered);
            ctx.timerService().registerEventTimeTimer(expires);
            ctx.output(SEGMENT_UPDATES, SegmentUpdate.of(m.userKey, def.segment.name, SegmentUpdate.ENTER, def.id, m.detectedAt, expires));
            segmentEnters.inc();
            members.increment(def.segment.name);
            return entered;
        }
        return null;
    }

    private void exit(ActionInput.SegmentExit in, OnTimerContext ctx, Collector<Alert> out) throws Exception {
        Membership current = memberships.get(in.segment());
        if (current == null) return;
        boolean byTtl = SegmentUpdate.REASON_TTL.equals(in.patternId());
        if (byTtl && current.expiresAt != in.timestamp()) return;
        // an exit event from before the enter (or at its millisecond: exits sort first) that reaches
        // us late does not end it; in order it would have been applied before the enter
        if (!byTtl && in.timestamp() <= current.enteredAt) return;
        memberships.remove(in.segment());
        if (!byTtl && !timerStillNeeded(current.expiresAt)) ctx.timerService().deleteEventTimeTimer(current.expiresAt);
        ctx.output(SEGMENT_UPDATES, SegmentUpdate.of(in.userKey(), in.segment(), SegmentUpdate.EXIT, in.patternId(), in.timestamp(), 0L));
        segmentExits.inc();
        members.decrement(in.segment());
        PatternDefinition def = byTtl ? null : latest(in.patternId());
        if (def != null && def.segment != null && def.segment.exitAlert != null) {
            out.collect(exitAlert(def, in));
            alertsEmitted.inc();
            countFor(def, 0);
        }
    }

    /** The alert a segment raises when an event ends membership ("reactivated"): it binds that one event. */
    static Alert exitAlert(PatternDefinition def, ActionInput.SegmentExit in) {
        Alert a = new Alert();
        a.alertId = alertId(def.id, def.version, in.userKey(), "exit:" + in.eventId());
        a.patternId = def.id;
        a.patternVersion = def.version;
        a.alertType = def.segment.exitAlert.type;
        a.severity = def.segment.exitAlert.severity;
        a.userId = in.userKey();
        a.detectedAt = in.timestamp();
        a.matchedJson = "{\"exit\":[{\"message_id\":" + io.behaviorcep.sink.OutputJson.MAPPER.valueToTree(in.eventId())
                + ",\"timestamp\":\"" + io.behaviorcep.sink.OutputJson.iso(in.timestamp()) + "\"}]}";
        a.payloadJson = "{}";
        a.profile = in.profile();
        return a;
    }

    /**
     * Timers are per key and timestamp, so the TTL timer of a membership may also be the timer of a
     * pending input, of a cap window or of another segment's membership at that same instant.
     */
    private boolean timerStillNeeded(long ts) throws Exception {
        Long erased = erasedAt.value();
        if (erased != null && erased + erasureMarkerMillis == ts) return true;
        for (ActionInput in : pending.get()) if (in.timestamp() == ts) return true;
        for (Membership m : memberships.values()) if (m.expiresAt == ts) return true;
        for (Map.Entry<String, long[]> e : recentAlerts.entries()) {
            PatternDefinition def = latest(e.getKey());
            if (def == null || def.cap == null) continue;
            for (long t : e.getValue()) if (t + def.cap.per.toMillis() == ts) return true;
        }
        return false;
    }

    /** At most {@code cap.max} alerts of one pattern per user in any {@code cap.per} of event time. */
    private boolean withinCap(PatternDefinition def, long at, OnTimerContext ctx) throws Exception {
        if (def.cap == null) return true;
        long per = def.cap.per.toMillis();
        long[] times = recentAlerts.get(def.id);
        int inWindow = 0;
        if (times != null) for (long t : times) if (t > at - per) inWindow++;
        if (inWindow >= def.cap.max) return false;
        long[] kept = new long[inWindow + 1];
        int i = 0;
        if (times != null) for (long t : times) if (t > at - per) kept[i++] = t;
        kept[i] = at;
        recentAlerts.put(def.id, kept);
        ctx.timerService().registerEventTimeTimer(at + per);
        return true;
    }

    private void pruneRecentAlerts(long watermark) throws Exception {
        List<String> empty = new ArrayList<>();
        for (Map.Entry<String, long[]> e : recentAlerts.entries()) {
            PatternDefinition def = latest(e.getKey());
            long per = def == null || def.cap == null ? 0 : def.cap.per.toMillis();
            boolean anyLive = false;
            for (long t : e.getValue()) if (t + per > watermark) anyLive = true;
            if (!anyLive) empty.add(e.getKey());
        }
        for (String k : empty) recentAlerts.remove(k);
    }

    static Alert toAlert(PatternDefinition def, PatternMatch m) {
        Alert a = new Alert();
        a.alertId = alertId(def.id, def.version, m.userKey, m.eventIds);
        a.patternId = def.id;
        a.patternVersion = def.version;
        a.alertType = def.alert.type;
        a.severity = def.alert.severity;
        a.userId = m.userKey;
        a.detectedAt = m.detectedAt;
        a.matchedJson = m.matchedJson;
        a.payloadJson = m.payloadJson;
        a.profile = m.profile;
        return a;
    }

    /** sha-256 of pattern, version, user and the sorted matched event ids; the first 128 bits in hex. */
    public static String alertId(String patternId, int version, String user, String eventIds) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            byte[] h = d.digest((patternId + "\n" + version + "\n" + user + "\n" + eventIds).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
