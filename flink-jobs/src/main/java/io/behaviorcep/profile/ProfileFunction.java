package io.behaviorcep.profile;

import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.DeadLetter;
import io.behaviorcep.event.KeyedPathRecords;
import io.behaviorcep.output.StepFailure;
import io.behaviorcep.metrics.SubtaskCounts;
import io.behaviorcep.output.ProfileRecord;
import io.behaviorcep.privacy.PrivacyRules;
import io.behaviorcep.segment.SegmentUpdate;
import io.behaviorcep.pattern.ThresholdSegment;
import io.behaviorcep.output.OutputJson;
import io.behaviorcep.trait.TraitSet;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Keeps each user's {@link ProfileState} and stamps every event with the profile as of that event,
 * so a match and the profile it carries come from one consistent, checkpointed state.
 *
 * <p>Events are counted in event-time order, not arrival order: each event waits until the
 * watermark passes it (the pattern engine decides absences at the same watermark anyway, so this
 * adds no latency to matches), then a user's events of one timestamp are taken in messageId
 * order. So the profile an event carries does not depend on how the input was ordered or
 * partitioned, and a replay of shuffled history gives the same results.
 *
 * <p>Besides counting, in the same event-time order (see {@link ProfileOptions}):
 * <ul>
 *   <li><b>computed traits</b> ({@code kind: traits}, {@link TraitSet}): updated with each event and
 *       carried in its profile snapshot ({@code profile.traits.<id>});</li>
 *   <li><b>threshold segments and traits changed in a running job</b>: a definitions record of the
 *       pattern watcher ({@link ProfileDefinitions}), applied from its activation time;</li>
 *   <li><b>threshold segments</b> ({@code segments.yaml}): membership is decided after each
 *       timestamp's events and whenever time alone changes it (side output {@link #THRESHOLD_UPDATES});</li>
 *   <li><b>profile records</b> for {@code user_profiles}: at most one per user per write interval of
 *       event time, the last one delayed until the interval is over (side output {@link #PROFILE_RECORDS});</li>
 *   <li><b>privacy</b> ({@link PrivacyRules}): events without analytics consent are dropped before
 *       anything is stored; opted-out and suppression-listed users are not profiled or matched and
 *       leave their segments; an erasure clears the user's state and asks for their rows to be
 *       deleted. Erasure, opt-out and opt-in come from the control topic ({@link #applyControl}, applied
 *       on arrival), and from events only with {@code privacy.controls-from-events}. The actions operator is told in-band ({@link KeyedPathRecords#actionsControl}), through the engine.</li>
 * </ul>
 *
 * <p>What the operator touches per event is one state value per user ({@link ProfileValue}, state
 * {@value #STATE}): the profile, the events waiting for the watermark, the threshold memberships and
 * the housekeeping time, read once and written once per event or timer (issue #16: on RocksDB every
 * state access is a seek, and one value per concern beat ten accesses per event). Each instant events
 * wait at has its event-time timer, registered when its first event comes (BATCH execution ignores a
 * timer registered while timers fire, so one timer moved on from drain to drain would strand the
 * rest of a user's events in a replay). A user has
 * at most {@code profile.max-buffered-events-per-user} events waiting, and at most
 * {@code profile.max-buffered-events-per-instant} at one instant: one more goes to the dead-letter side
 * output {@link #BUFFER_FULL} (reason {@code USER_BUFFER_FULL}, counted) instead of being held, so a
 * user who floods one instant, or stamps events far ahead, costs bounded state and the watermark,
 * and everyone else, is unaffected. (On RocksDB each waiting event rewrites the user's value, so a
 * flood up to the per-instant bound costs that user's task time quadratic in the bound, once.)
 *
 * <p>Every user has at most one timer besides the waiting events' one: the next
 * moment something is due ({@link ProfileValue#wakeAt}): the next threshold check, a delayed
 * profile record, dropping the rings of a user quiet for 30 days ({@link ProfileState#compact}), or
 * dropping the full profile at {@code lastSeen + retention}, rounded up to the hour. What stays then
 * is a {@link LifetimeRecord} (state {@code profile-lifetime}), until {@code lastSeen +
 * profile.lifetime-retention}: the threshold segments it decides keep their membership and change by
 * time alone (the timer: their next change, else the record's end); the others leave with reason
 * {@code ttl}. A returning user's new profile continues from it. So users who go quiet cost a few
 * dozen bytes for long, and nothing after the lifetime retention. Suppressed users keep a small
 * marker (their opt-out must not be forgotten) without any timer, and no lifetime record.
 *
 * <p>Metric: the gauge {@value #PROFILES_HELD} (users with profile state on this subtask), counted
 * when a profile is created or cleared and kept across restarts in operator state, and so
 * {@value #LIFETIME_RECORDS_HELD} (users of whom only the lifetime record is kept). Counters:
 * {@code consentDenied}, {@code suppressedEventsDropped}, {@code optOuts}, {@code erasures},
 * {@code thresholdSegmentEnters}, {@code thresholdSegmentExits}, {@code profileRecords}, and for
 * events refused past the buffer bound {@code dlq.USER_BUFFER_FULL} and {@code reason.USER_BUFFER_FULL.deadLetters}
 * (the names the parse step uses for its dead letters).
 */
public class ProfileFunction extends KeyedProcessFunction<String, BehaviorEvent, BehaviorEvent> implements CheckpointedFunction {
    public static final String PROFILES_HELD = "profilesHeld";
    /** Gauge: users past the retention of whom only a {@link LifetimeRecord} is kept, on this subtask. */
    public static final String LIFETIME_RECORDS_HELD = "lifetimeRecordsHeld";
    public static final OutputTag<SegmentUpdate> THRESHOLD_UPDATES = new OutputTag<>("threshold-segment-updates") {};
    public static final OutputTag<ProfileRecord> PROFILE_RECORDS = new OutputTag<>("profile-records") {};
    /** Events refused because their user had too many waiting for the watermark. */
    public static final OutputTag<DeadLetter> BUFFER_FULL = new OutputTag<>("profile-buffer-full") {};
    /** Events (and timers) that made this step throw, as PROCESSING_FAILED dead letters ({@link StepFailure}). */
    public static final OutputTag<DeadLetter> FAILED = new OutputTag<>("profile-processing-failed") {};
    /** The step's name in the dead letters: the operator's. */
    public static final String STEP = "User profile";
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ProfileFunction.class);

    private final long retentionMillis;
    private final ProfileOptions options;
    /** Threshold segments and computed traits in effect: those of the submission, until a running job changes them in-band. */
    private transient ThresholdEvaluator thresholds;
    private transient TraitSet traits;
    /** Segments and traits files changed in the running job ({@link ProfileDefinitions}): in effect, and waiting for their activation time. */
    private transient ProfileDefinitions definitions;
    /** The segments a {@link LifetimeRecord} decides, of those in effect: kept, and changed by time, while a user is gone. */
    private transient ThresholdEvaluator thresholdsWhileGone;
    private final SubtaskCounts held = new SubtaskCounts("profiles-held-count");
    /** The user's profile, waiting events, memberships and housekeeping time ({@link ProfileValue}). */
    private transient ValueState<ProfileValue> state;
    /** The current user's value, read once at the start of each element or timer and written once at its end. */
    private transient ProfileValue kept;
    /** What is remembered of a user past the retention, while {@link #profile} is empty. */
    private transient ValueState<LifetimeRecord> lifetime;
    /** The snapshot the last handled event got, and of which state object: see applyThresholds. */
    private transient ProfileSnapshot lastSnapshot;
    private transient ProfileState lastSnapshotOf;
    private transient Counter bufferFull;
    private transient Counter bufferFullByReason;
    private transient StepFailure.Tally failures;
    private transient Counter consentDenied;
    private transient Counter suppressedDropped;
    private transient Counter optOuts;
    private transient Counter erasures;
    private transient Counter segmentEnters;
    private transient Counter segmentExits;
    private transient Counter profileRecords;

    /** Counting and retention only. */
    public ProfileFunction(Duration retention) {
        this(ProfileOptions.countingOnly(retention));
    }

    public ProfileFunction(ProfileOptions options) {
        this.options = options;
        this.retentionMillis = options.retentionMillis;
    }

    @Override
    public void open(OpenContext ctx) {
        state = getRuntimeContext().getState(stateDescriptor(
                getRuntimeContext().createSerializer(TypeInformation.of(ProfileState.class)),
                getRuntimeContext().createSerializer(TypeInformation.of(BehaviorEvent.class))));
        lifetime = getRuntimeContext().getState(new ValueStateDescriptor<>("profile-lifetime", TypeInformation.of(LifetimeRecord.class)));
        held.register(getRuntimeContext().getMetricGroup(), PROFILES_HELD, PROFILES_HELD);
        held.register(getRuntimeContext().getMetricGroup(), LIFETIME_RECORDS_HELD, LIFETIME_RECORDS_HELD);
        var metrics = getRuntimeContext().getMetricGroup();
        consentDenied = metrics.counter("consentDenied");
        suppressedDropped = metrics.counter("suppressedEventsDropped");
        optOuts = metrics.counter("optOuts");
        erasures = metrics.counter("erasures");
        segmentEnters = metrics.counter("thresholdSegmentEnters");
        segmentExits = metrics.counter("thresholdSegmentExits");
        profileRecords = metrics.counter("profileRecords");
        String reason = DeadLetter.Reason.USER_BUFFER_FULL.name();
        bufferFull = metrics.addGroup("dlq").counter(reason);
        bufferFullByReason = metrics.addGroup("reason", reason).counter("deadLetters");
        failures = new StepFailure.Tally(metrics, LOG);
    }

    /** The state of the user's {@link ProfileValue}. */
    public static final String STATE = "profile-user";

    public static ValueStateDescriptor<ProfileValue> stateDescriptor(TypeSerializer<ProfileState> profiles, TypeSerializer<BehaviorEvent> events) {
        return new ValueStateDescriptor<>(STATE, new ProfileValueSerializer(profiles, events));
    }

    /** Reads the current user's value into {@link #kept}. */
    private void load() throws Exception {
        ProfileValue v = state.value();
        kept = v == null ? new ProfileValue() : v;
    }

    /** Writes {@link #kept} back: nothing at all once it holds nothing. */
    private void store() throws Exception {
        if (kept.isEmpty()) state.clear();
        else state.update(kept);
        kept = null;
    }

    /** Called with every event as it is counted, in event-time order: a seam for tests to make one fail. */
    protected void inspect(BehaviorEvent e) {
    }

    /** Contains {@code ex} when it is the record's fault (a dead letter, counted), else rethrows it. */
    private void contain(RuntimeException ex, BehaviorEvent e, Context ctx) {
        if (!StepFailure.isRecordFault(ex)) throw ex;
        ctx.output(FAILED, failures.count(StepFailure.ofEvent(STEP, null, 0, e, ex), ex));
    }

    @Override
    public void initializeState(FunctionInitializationContext ctx) throws Exception {
        held.initialize(ctx, getRuntimeContext().getTaskInfo());
        definitions = new ProfileDefinitions(options.segments, options.traits);
        definitions.initialize(ctx.getOperatorStateStore().getUnionListState(
                new org.apache.flink.api.common.state.ListStateDescriptor<>(ProfileDefinitions.STATE, String.class)), ctx.isRestored());
        useDefinitions();
    }

    @Override
    public void snapshotState(FunctionSnapshotContext ctx) throws Exception {
        held.snapshot(ctx);
        definitions.snapshot();
    }

    /** Takes the segments and traits a change brought once event time reaches its activation (hot reload). */
    private void activateDefinitionsUpTo(long time) {
        if (definitions.activateUpTo(time)) useDefinitions();
    }

    private void useDefinitions() {
        traits = definitions.traits();
        thresholds = new ThresholdEvaluator(definitions.segments(), traits);
        thresholdsWhileGone = new ThresholdEvaluator(LifetimeRecord.decided(definitions.segments(), options.retentionMillis), traits);
    }

    @Override
    public void processElement(BehaviorEvent event, Context ctx, Collector<BehaviorEvent> out) throws Exception {
        if (io.behaviorcep.pattern.PatternChange.isDefinitionsRecord(event) || KeyedPathRecords.isPatternChange(event)) {
            receive(event, ctx, out); // not a user's: no state
            return;
        }
        load();
        try {
            receive(event, ctx, out);
        } catch (RuntimeException ex) {
            contain(ex, event, ctx);
        } finally {
            store();
        }
    }

    private void receive(BehaviorEvent event, Context ctx, Collector<BehaviorEvent> out) throws Exception {
        if (io.behaviorcep.pattern.PatternChange.isDefinitionsRecord(event)) {
            // segments and traits files of a running job: for this operator only
            definitions.receive(io.behaviorcep.pattern.PatternChange.fromRecord(event));
            return;
        }
        if (KeyedPathRecords.isPatternChange(event)) {
            out.collect(event); // for the engine and the actions; nothing of the user's
            return;
        }
        if (PrivacyRules.isSuppressionListRecord(event)) {
            applySuppressionList(event, ctx, out);
            return;
        }
        if (PrivacyRules.isControlRecord(event)) {
            applyControl(event, ctx, out);
            return;
        }
        if (options.privacy.classify(event) == PrivacyRules.Kind.CONSENT_DENIED) {
            // dropped before anything about it is stored
            consentDenied.inc();
            return;
        }
        if (event.timestamp <= ctx.timerService().currentWatermark()) {
            // already behind the watermark (the ingest filter routes such events away; kept for safety)
            activateDefinitionsUpTo(event.timestamp);
            ProfileState s = handle(kept.profile, event, ctx, out);
            settle(s, event.timestamp, false, ctx);
            return;
        }
        int held = kept.waitingTotal;
        int n = kept.waitingAt(event.timestamp);
        if (held >= options.maxBufferedEvents || n >= options.maxBufferedAtOneInstant) {
            refuse(event, held, n, ctx);
            return;
        }
        kept.addWaiting(event);
        // one timer per waiting instant, registered here and not when the previous one fires: BATCH
        // execution ignores timers registered from a timer, and drains each user at the end of its input
        if (n == 0) ctx.timerService().registerEventTimeTimer(event.timestamp);
    }

    private void refuse(BehaviorEvent event, int held, int atThisInstant, Context ctx) {
        bufferFull.inc();
        bufferFullByReason.inc();
        DeadLetter d = new DeadLetter();
        d.reason = DeadLetter.Reason.USER_BUFFER_FULL;
        d.message = atThisInstant >= options.maxBufferedAtOneInstant
                ? "user already has " + atThisInstant + " events waiting for the watermark at this instant (profile.max-buffered-events-per-instant); event at "
                        + java.time.Instant.ofEpochMilli(event.timestamp) + ", messageId " + event.messageId
                : "user already has " + held + " events waiting for the watermark (profile.max-buffered-events-per-user); event at "
                        + java.time.Instant.ofEpochMilli(event.timestamp) + ", messageId " + event.messageId;
        d.key = OutputJson.key(event.userKey);
        d.value = OutputJson.lateEventValue(event);
        d.sourcePartition = -1;
        d.sourceOffset = -1;
        ctx.output(BUFFER_FULL, d);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<BehaviorEvent> out) throws Exception {
        activateDefinitionsUpTo(timestamp);
        load();
        try {
            drain(timestamp, ctx, out);
        } finally {
            store();
        }
    }

    /** The watermark passed {@code timestamp}: the events waiting at it are counted, and the housekeeping due then is done. */
    private void drain(long timestamp, OnTimerContext ctx, Collector<BehaviorEvent> out) throws Exception {
        ProfileState s = kept.profile;
        List<BehaviorEvent> due = kept.takeWaiting(timestamp);
        if (due != null) {
            due.sort(Comparator.comparing(e -> e.messageId));
            for (BehaviorEvent e : due) {
                // one event that fails goes to the DLQ; the others of its timestamp are still counted
                try {
                    s = handle(s, e, ctx, out);
                } catch (RuntimeException ex) {
                    contain(ex, e, ctx);
                }
            }
        }
        try {
            boolean woken = kept.wakeAt == timestamp;
            if (woken) kept.wakeAt = ProfileValue.NO_WAKE;
            if (due != null || woken) settle(s, timestamp, woken, ctx);
        } catch (RuntimeException ex) {
            if (!StepFailure.isRecordFault(ex)) throw ex;
            ctx.output(FAILED, failures.count(StepFailure.ofTimer(STEP, null, 0, ctx.getCurrentKey(), timestamp, ex), ex));
        }
    }

    // --- one event ----------------------------------------------------------------------------------

    /** Applies one event in event-time order; returns the user's state afterwards (null: none). */
    private ProfileState handle(ProfileState s, BehaviorEvent e, Context ctx, Collector<BehaviorEvent> out) throws Exception {
        inspect(e);
        switch (options.privacy.classify(e)) {
            case ERASURE: {
                ProfileState after = erase(s, e.timestamp, ctx, out);
                // passed on (without a profile) so that the pattern engine drops the user's open matches too
                e.profile = null;
                out.collect(e);
                return after;
            }
            case OPT_OUT: {
                optOuts.inc();
                s = ensure(s);
                boolean was = s.suppressed();
                s.optedOut = true;
                if (!was) suppress(s, e.timestamp, ctx, out);
                return s;
            }
            case OPT_IN: {
                if (s != null && s.optedOut) {
                    s.optedOut = false;
                    if (!s.suppressed()) unsuppress(e.timestamp, ctx, out);
                }
                return s;
            }
            case CONSENT_DENIED:
                consentDenied.inc();
                return s;
            default:
                break;
        }
        if (s != null && s.suppressed()) {
            suppressedDropped.inc();
            return s;
        }
        boolean fresh = s == null;
        s = ensure(s);
        s.add(e);
        if (fresh) resumeLifetime(s);
        s.traits = traits.add(s.traits, e);
        s.dirty = true;
        e.profile = s.snapshot();
        traits.fill(e.profile, s.traits);
        lastSnapshot = e.profile;
        lastSnapshotOf = s;
        out.collect(e);
        return s;
    }

    private ProfileState ensure(ProfileState s) {
        if (s != null) return s;
        held.increment(PROFILES_HELD);
        return new ProfileState();
    }

    /** A user back after the retention: the new profile continues from what was remembered of them. */
    private void resumeLifetime(ProfileState s) throws Exception {
        LifetimeRecord r = lifetime.value();
        if (r == null) return;
        r.carryInto(s);
        dropLifetime();
    }

    private void dropLifetime() throws Exception {
        if (lifetime.value() == null) return;
        lifetime.clear();
        held.decrement(LIFETIME_RECORDS_HELD);
    }

    /** Everything the job holds about the user goes; only whether they opted out or are listed stays. */
    private ProfileState erase(ProfileState s, long at, Context ctx, Collector<BehaviorEvent> out) throws Exception {
        erasures.inc();
        ctx.output(PROFILE_RECORDS, ProfileRecord.erasure(ctx.getCurrentKey(), at));
        return forget(s, at, SegmentUpdate.REASON_ERASED, KeyedPathRecords.ERASE, ctx, out);
    }

    /** An anonymous id merged into its user (identity stitching): its state goes like an erasure's, but no row is deleted. */
    private ProfileState retire(ProfileState s, long at, Context ctx, Collector<BehaviorEvent> out) throws Exception {
        return forget(s, at, SegmentUpdate.REASON_MERGED, KeyedPathRecords.RETIRE, ctx, out);
    }

    /**
     * The user's profile, memberships and lifetime record go (exits with {@code reason}), and the actions
     * operator is told ({@code control}); a suppressed user keeps only the marker that keeps them suppressed.
     */
    private ProfileState forget(ProfileState s, long at, String reason, String control, Context ctx, Collector<BehaviorEvent> out) throws Exception {
        exitAll(at, reason, ctx);
        dropLifetime();
        out.collect(KeyedPathRecords.actionsControl(ctx.getCurrentKey(), control, at));
        if (s == null) return null;
        if (!s.suppressed()) {
            held.decrement(PROFILES_HELD);
            return null;
        }
        ProfileState marker = new ProfileState();
        marker.optedOut = s.optedOut;
        marker.suppressionListed = s.suppressionListed;
        return marker;
    }


    /** Drops the user's events waiting for the watermark, and their timers (not the housekeeping one). */
    private void dropWaiting(Context ctx) {
        for (long t : kept.waiting.keySet()) if (t != kept.wakeAt) ctx.timerService().deleteEventTimeTimer(t);
        kept.clearWaiting();
    }

    private void suppress(ProfileState s, long at, Context ctx, Collector<BehaviorEvent> out) throws Exception {
        exitAll(at, SegmentUpdate.REASON_SUPPRESSED, ctx);
        // not profiled any more: nothing of their past is kept for a return either
        dropLifetime();
        s.segmentCheckAt = Long.MIN_VALUE;
        out.collect(KeyedPathRecords.actionsControl(ctx.getCurrentKey(), KeyedPathRecords.SUPPRESS, at));
    }

    private void unsuppress(long at, Context ctx, Collector<BehaviorEvent> out) {
        out.collect(KeyedPathRecords.actionsControl(ctx.getCurrentKey(), KeyedPathRecords.UNSUPPRESS, at));
    }

    /**
     * A row of {@code suppressed_users}, applied when it arrives: at the current watermark (plus 1 ms),
     * since the list is not part of the event stream. Events of the user not yet counted are then
     * dropped, and the actions operator suppresses what is still pending.
     */
    private void applySuppressionList(BehaviorEvent record, Context ctx, Collector<BehaviorEvent> out) throws Exception {
        boolean listed = Boolean.parseBoolean(record.property(PrivacyRules.SUPPRESSED_PROPERTY));
        ProfileState s = kept.profile;
        if (s == null && !listed) return;
        s = ensure(s);
        if (s.suppressionListed == listed) {
            kept.profile = s;
            return;
        }
        long wm = ctx.timerService().currentWatermark();
        long at = wm == Long.MIN_VALUE ? Long.MIN_VALUE + 1 : wm + 1;
        boolean was = s.suppressed();
        s.suppressionListed = listed;
        if (!was && s.suppressed()) suppress(s, at, ctx, out);
        if (was && !s.suppressed()) unsuppress(at, ctx, out);
        settle(s, at, false, ctx);
    }

    /**
     * A record of the control topic for this id, applied when it arrives, whatever its own time: at the
     * current watermark plus 1 ms (the wall clock while there is no watermark yet), like a row of the
     * suppression list. So an erasure is never late, and covers everything of the id the job holds:
     * the profile, threshold segments, events still waiting for the watermark (dropped), open matches
     * (the record goes on to the pattern engine), pending alerts and segments (the actions operator),
     * and the PostgreSQL rows up to that time (an erasure profile record). Opt-out and opt-in set or
     * lift the user's opt-out as the event forms do.
     */
    private void applyControl(BehaviorEvent record, Context ctx, Collector<BehaviorEvent> out) throws Exception {
        long wm = ctx.timerService().currentWatermark();
        long at = wm == Long.MIN_VALUE ? ctx.timerService().currentProcessingTime() : wm + 1;
        ProfileState s = kept.profile;
        String control = record.property(PrivacyRules.CONTROL_PROPERTY);
        switch (control == null ? "" : control) {
            case PrivacyRules.CONTROL_ERASE: {
                dropWaiting(ctx);
                s = erase(s, at, ctx, out);
                // on to the pattern engine, which drops the user's open matches
                out.collect(PrivacyRules.controlRecord(ctx.getCurrentKey(), PrivacyRules.CONTROL_ERASE,
                        record.property(PrivacyRules.REQUEST_ID_PROPERTY), at));
                break;
            }
            case PrivacyRules.CONTROL_OPT_OUT: {
                optOuts.inc();
                s = ensure(s);
                boolean was = s.suppressed();
                s.optedOut = true;
                if (!was) suppress(s, at, ctx, out);
                break;
            }
            case PrivacyRules.CONTROL_RETIRE: {
                // identity stitching replays the anonymous id's events under its user: its own state goes,
                // its events still waiting included (they are among those replayed), without erasure effects
                dropWaiting(ctx);
                s = retire(s, at, ctx, out);
                out.collect(PrivacyRules.controlRecord(ctx.getCurrentKey(), PrivacyRules.CONTROL_RETIRE, null, at));
                break;
            }
            case PrivacyRules.CONTROL_OPT_IN: {
                if (s == null || !s.optedOut) return;
                s.optedOut = false;
                if (!s.suppressed()) unsuppress(at, ctx, out);
                break;
            }
            default:
                return;
        }
        settle(s, at, false, ctx);
    }

    // --- after a timestamp's events, or at the user's timer -----------------------------------------

    /**
     * Housekeeping as of {@code now}: drop the state after the retention, compact quiet users,
     * decide threshold segments, write a due profile record; then set the user's one timer.
     *
     * @param woken the user's timer fired: look ahead exactly for the next threshold change
     */
    private void settle(ProfileState s, long now, boolean woken, Context ctx) throws Exception {
        if (s == null) {
            LifetimeRecord r = lifetime.value();
            if (r != null) settleGone(r, now, ctx);
            else clearState(ctx);
            return;
        }
        long cleanup = cleanupTime(s);
        if (now >= cleanup) {
            if (!s.suppressed()) {
                held.decrement(PROFILES_HELD);
                forget(s, cleanup, ctx);
                return;
            }
            exitAll(cleanup, SegmentUpdate.REASON_TTL, ctx);
            // the opt-out or listing must not be forgotten: keep a marker, without timers
            ProfileState marker = new ProfileState();
            marker.optedOut = s.optedOut;
            marker.suppressionListed = s.suppressionListed;
            kept.profile = marker;
            setWake(Long.MAX_VALUE, ctx);
            return;
        }
        if (now >= s.compactAt()) {
            s.compact(now);
            lastSnapshot = null;
        }

        if (!thresholds.isEmpty() && !s.suppressed() && !s.isEmpty()) {
            Set<String> in = applyThresholds(s, now, ctx);
            if (woken || s.segmentCheckAt <= now) {
                s.segmentCheckAt = thresholds.nextChange(s, now, in, cleanup);
            } else {
                // cheap after an event: wake at the next breakpoint (rounded down to the hour, so the
                // timer moves at most hourly), and look ahead exactly from there
                long b = thresholds.nextBreakpoint(s, now);
                long rounded = Math.floorDiv(b, ProfileState.HOUR) * ProfileState.HOUR;
                s.segmentCheckAt = b == Long.MAX_VALUE ? Long.MAX_VALUE : rounded > now ? rounded : b;
            }
        }

        if (options.writeIntervalMillis > 0 && s.dirty && !s.isEmpty() && !s.suppressed()
                && (s.writtenAt == Long.MIN_VALUE || now >= s.writtenAt + options.writeIntervalMillis)) {
            ctx.output(PROFILE_RECORDS, ProfileRecord.profile(ctx.getCurrentKey(), s.snapshot(Math.max(now, s.lastSeen))).withRecentEvents(s.recentEventNames, s.recentEventTimes));
            profileRecords.inc();
            s.writtenAt = now;
            s.dirty = false;
        }

        long wake = cleanup;
        if (s.compactAt() > now) wake = Math.min(wake, s.compactAt());
        if (s.segmentCheckAt > now) wake = Math.min(wake, s.segmentCheckAt);
        if (options.writeIntervalMillis > 0 && s.dirty && !s.suppressed()) wake = Math.min(wake, s.writtenAt + options.writeIntervalMillis);
        kept.profile = s;
        setWake(wake, ctx);
    }

    /**
     * The full profile goes at the retention; a {@link LifetimeRecord} stays. Memberships the record
     * cannot decide leave with reason {@code ttl} (the job no longer knows); the others stay.
     */
    private void forget(ProfileState s, long cleanup, Context ctx) throws Exception {
        kept.profile = null;
        LifetimeRecord r = LifetimeRecord.of(s);
        if (r == null || lifetimeEnd(r) <= cleanup) {
            exitAll(cleanup, SegmentUpdate.REASON_TTL, ctx);
            clearState(ctx);
            return;
        }
        // the record decides the others from now on (settleGone), a change at this very instant with the segment's own reason
        Set<String> decidable = new java.util.TreeSet<>();
        for (ThresholdSegment seg : thresholdsWhileGone.segments()) decidable.add(seg.id);
        List<String> undecidable = new ArrayList<>();
        for (String seg : kept.segments.keySet()) if (!decidable.contains(seg)) undecidable.add(seg);
        undecidable.sort(null);
        for (String seg : undecidable) exit(seg, SegmentUpdate.REASON_TTL, cleanup, ctx);
        lifetime.update(r);
        held.increment(LIFETIME_RECORDS_HELD);
        settleGone(r, cleanup, ctx);
    }

    /**
     * A user gone past the retention, as of {@code now}: threshold segments the record decides, by
     * time alone; at {@code profile.lifetime-retention} everything goes (reason {@code ttl}).
     */
    private void settleGone(LifetimeRecord r, long now, Context ctx) throws Exception {
        long end = lifetimeEnd(r);
        if (now >= end) {
            exitAll(end, SegmentUpdate.REASON_TTL, ctx);
            clearState(ctx);
            return;
        }
        long wake = end;
        if (!thresholdsWhileGone.isEmpty()) {
            ProfileState known = r.asProfile();
            Set<String> in = applyThresholds(thresholdsWhileGone, known, now, ctx);
            wake = Math.min(wake, thresholdsWhileGone.nextChange(known, now, in, end));
        }
        setWake(wake, ctx);
    }

    private long lifetimeEnd(LifetimeRecord r) {
        return roundUpToHour(r.lastSeen + options.lifetimeRetentionMillis);
    }

    /**
     * When the user's behaviour is dropped: the newest counted event plus the retention, up to the
     * hour. A suppressed user then keeps only the marker, which has no end.
     */
    private long cleanupTime(ProfileState s) {
        if (s.lastSeen == Long.MIN_VALUE) return s.suppressed() ? Long.MAX_VALUE : Long.MIN_VALUE;
        return roundUpToHour(s.lastSeen + retentionMillis);
    }

    /** Enters and leaves threshold segments so that membership is what the profile says as of {@code now}. */
    private Set<String> applyThresholds(ProfileState s, long now, Context ctx) throws Exception {
        return applyThresholds(thresholds, s, now, ctx);
    }

    private Set<String> applyThresholds(ThresholdEvaluator thresholds, ProfileState s, long now, Context ctx) throws Exception {
        // right after an event the profile as of now is the snapshot the event just got: computing
        // it twice per event was a measurable share of the job
        ProfileSnapshot known = lastSnapshotOf == s && lastSnapshot != null && lastSnapshot.asOf == now ? lastSnapshot : null;
        lastSnapshot = null;
        lastSnapshotOf = null;
        Set<String> in = thresholds.evaluate(s, now, known);
        String user = ctx.getCurrentKey();
        Map<String, Long> current = kept.segments;
        for (java.util.Iterator<String> it = current.keySet().iterator(); it.hasNext(); ) {
            String seg = it.next();
            if (!in.contains(seg)) {
                it.remove();
                // a segment no longer defined leaves with its own id as the reason too
                ctx.output(THRESHOLD_UPDATES, SegmentUpdate.of(user, seg, SegmentUpdate.EXIT, seg, now, SegmentUpdate.NO_EXPIRY));
                segmentExits.inc();
            }
        }
        for (String seg : in) {
            if (!current.containsKey(seg)) {
                current.put(seg, now);
                ctx.output(THRESHOLD_UPDATES, SegmentUpdate.of(user, seg, SegmentUpdate.ENTER, seg, now, SegmentUpdate.NO_EXPIRY));
                segmentEnters.inc();
            }
        }
        return in;
    }

    private void exitAll(long at, String reason, Context ctx) throws Exception {
        List<String> segments = new ArrayList<>(kept.segments.keySet());
        for (String seg : segments) {
            ctx.output(THRESHOLD_UPDATES, SegmentUpdate.of(ctx.getCurrentKey(), seg, SegmentUpdate.EXIT, reason, at, SegmentUpdate.NO_EXPIRY));
            segmentExits.inc();
        }
        kept.segments.clear();
    }

    private void exit(String seg, String reason, long at, Context ctx) throws Exception {
        kept.segments.remove(seg);
        ctx.output(THRESHOLD_UPDATES, SegmentUpdate.of(ctx.getCurrentKey(), seg, SegmentUpdate.EXIT, reason, at, SegmentUpdate.NO_EXPIRY));
        segmentExits.inc();
    }

    private void clearState(Context ctx) throws Exception {
        kept.profile = null;
        dropLifetime();
        kept.segments.clear();
        setWake(Long.MAX_VALUE, ctx);
    }

    /** Moves the user's one housekeeping timer to {@code at} (MAX_VALUE: none). */
    private void setWake(long at, Context ctx) throws Exception {
        long current = kept.wakeAt;
        if (current == at) return;
        // the old instant may also be the waiting events' timer: timers are per key and time, so
        // deleting it would strand them
        if (current != ProfileValue.NO_WAKE && !kept.waiting.containsKey(current)) ctx.timerService().deleteEventTimeTimer(current);
        kept.wakeAt = at;
        if (at != Long.MAX_VALUE) ctx.timerService().registerEventTimeTimer(at);
    }

    private static long roundUpToHour(long t) {
        return Math.floorDiv(t + ProfileState.HOUR - 1, ProfileState.HOUR) * ProfileState.HOUR;
    }
}
