package io.behaviorcep.ingest;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.DeadLetter;
import io.behaviorcep.event.KeyedPathRecords;
import io.behaviorcep.event.LateEventWarnings;
import io.behaviorcep.event.SeenIdSet;
import io.behaviorcep.event.SeenIdSetSerializer;
import io.behaviorcep.event.SeenIds;
import io.behaviorcep.output.StepFailure;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.TimerService;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.time.Duration;

/**
 * Per-user ingestion hygiene: drops repeats of a messageId already seen (keep the first), and
 * routes events behind the watermark to the late side output instead of letting downstream
 * operators drop them silently.
 *
 * <p>Seen ids are remembered for {@code dedupTtl} of processing time from their first sighting,
 * which bounds the state and matches how producers retry: minutes to hours, not weeks. A repeat
 * exactly {@code dedupTtl} or later after the first passes again.
 *
 * <p>Why not Flink's state TTL: its heap cleanup copies a user's whole map of ids on every state
 * access it piggybacks on, which made dedup half of the job's CPU (issue #7's profile). Instead each
 * id keeps its first-seen time, and each user has at most one processing-time sweep timer, at the
 * expiry of its oldest id rounded up to a sixteenth of the TTL, that removes the expired ids and
 * moves on to the next oldest. A user who goes quiet leaves no ids and no timer once the last one
 * has expired. These decisions are {@link SeenIds}' (plain Java, tested without Flink); this
 * function keeps their state and timers, counts and routes.
 *
 * <p>Bounded per user ({@code events.dedup-max-ids-per-user}): the TTL alone lets one user who sends
 * a million ids in a day hold a million ids. An id that
 * would take a user past the bound first forgets the user's oldest ids, a sixteenth of the bound at
 * once (one sort of the user's ids per sixteenth of the bound, not per event). A repeat of a forgotten
 * id then passes as new: counter {@code dedupIdsForgotten} counts the unexpired ids forgotten so, the
 * most repeats that can pass because of the bound. Never fails, never touches other users. Each id
 * is remembered by its 64-bit fingerprint, so it costs about 12 bytes of state whatever its length
 * (Segment's are 36 characters; the parser allows 64 KiB). A user's ids are one state value
 * ({@link SeenIdSet}, written by {@link SeenIdSetSerializer}): read once per event, written once per
 * first sighting.
 *
 * <p>Privacy: the user's seen ids are forgotten when an erasure from the control topic, or their
 * erasure event (only set with {@code privacy.controls-from-events}), passes; rows of the suppression
 * list and control records pass through untouched (they are not events, and are never late).
 */
public class IngestFilter extends KeyedProcessFunction<String, BehaviorEvent, BehaviorEvent> {
    public static final OutputTag<BehaviorEvent> LATE = new OutputTag<>("late-events") {};
    /** Events (and timers) that made this step throw, as PROCESSING_FAILED dead letters ({@link StepFailure}). */
    public static final OutputTag<DeadLetter> FAILED = new OutputTag<>("dedup-processing-failed") {};
    /** The step's name in the dead letters: the operator's. */
    public static final String STEP = "Dedup & late routing";
    /** The state of the seen ids: one {@link SeenIdSet} per user (fingerprints, first-seen times, sweep time). */
    public static final String SEEN_STATE = "seen-message-ids";

    private final Duration dedupTtl;
    private final int maxIdsPerUser;
    /** Track event name that erases the user; null for none. */
    private final String erasureEvent;
    private transient SeenIds seenIds;
    private transient Timers timers;
    /** The user's ids; absent: none, and no sweep timer. */
    private transient ValueState<SeenIdSet> seen;
    private transient Counter forgotten;
    private transient Counter duplicates;
    private transient Counter late;
    private transient LateEventWarnings lateWarnings;
    private transient StepFailure.Tally failures;

    public IngestFilter(Duration dedupTtl) {
        this(dedupTtl, null);
    }

    public IngestFilter(Duration dedupTtl, String erasureEvent) {
        this(dedupTtl, erasureEvent, DEFAULT_LATE_WARNING_SHARE);
    }

    /** @param lateWarningShare share of a minute's events that, when late, is logged as a warning */
    public IngestFilter(Duration dedupTtl, String erasureEvent, double lateWarningShare) {
        this(dedupTtl, erasureEvent, lateWarningShare, DEFAULT_MAX_IDS_PER_USER);
    }

    /** @param maxIdsPerUser most message ids remembered per user ({@code events.dedup-max-ids-per-user}) */
    public IngestFilter(Duration dedupTtl, String erasureEvent, double lateWarningShare, int maxIdsPerUser) {
        if (dedupTtl.isNegative() || dedupTtl.isZero()) throw new IllegalArgumentException("events.dedup-ttl must be positive, got " + dedupTtl);
        if (maxIdsPerUser < 1) throw new IllegalArgumentException("events.dedup-max-ids-per-user must be positive, got " + maxIdsPerUser);
        this.dedupTtl = dedupTtl;
        this.maxIdsPerUser = maxIdsPerUser;
        this.erasureEvent = erasureEvent == null || erasureEvent.isBlank() ? null : erasureEvent;
        this.lateWarningShare = lateWarningShare;
    }

    public static final double DEFAULT_LATE_WARNING_SHARE = 0.01;
    public static final int DEFAULT_MAX_IDS_PER_USER = 10_000;
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(IngestFilter.class);
    private final double lateWarningShare;

    public static ValueStateDescriptor<SeenIdSet> seenDescriptor() {
        return new ValueStateDescriptor<>(SEEN_STATE, SeenIdSetSerializer.INSTANCE);
    }

    @Override
    public void open(OpenContext ctx) {
        seenIds = new SeenIds(dedupTtl.toMillis(), maxIdsPerUser);
        seen = getRuntimeContext().getState(seenDescriptor());
        timers = new Timers();
        forgotten = getRuntimeContext().getMetricGroup().counter("dedupIdsForgotten");
        duplicates = getRuntimeContext().getMetricGroup().counter("duplicatesDropped");
        late = getRuntimeContext().getMetricGroup().counter("lateEvents");
        lateWarnings = new LateEventWarnings(60_000, lateWarningShare);
        failures = new StepFailure.Tally(getRuntimeContext().getMetricGroup(), LOG);
    }

    /** Called with every record before it is handled: a seam for tests to make one record fail. */
    protected void inspect(BehaviorEvent e) {
    }

    @Override
    public void processElement(BehaviorEvent e, Context ctx, Collector<BehaviorEvent> out) throws Exception {
        if (KeyedPathRecords.isPatternChange(e)) {
            out.collect(e); // on to the engine: no user's, never late, never a duplicate
            return;
        }
        try {
            inspect(e);
            filter(e, ctx, out);
        } catch (RuntimeException ex) {
            // one record's failure is contained; an infrastructure failure still restarts the task
            if (!StepFailure.isRecordFault(ex)) throw ex;
            ctx.output(FAILED, failures.count(StepFailure.ofEvent(STEP, null, 0, e, ex), ex));
        }
    }

    private void filter(BehaviorEvent e, Context ctx, Collector<BehaviorEvent> out) throws Exception {
        if (io.behaviorcep.privacy.PrivacyRules.isInternalRecord(e)) {
            // applied when it arrives: never late, never a duplicate; a control erasure forgets the seen ids
            if (io.behaviorcep.privacy.PrivacyRules.isControlErasure(e) || io.behaviorcep.privacy.PrivacyRules.isRetire(e)) forgetUser(ctx);
            out.collect(e);
            return;
        }
        long now = ctx.timerService().currentProcessingTime();
        SeenIdSet ids = seen.value();
        if (ids == null) ids = new SeenIdSet();
        SeenIds.Sighting sighting = seenIds.see(ids, timers.at(ctx.timerService()), e.messageId, now);
        if (e.stitched()) {
            // replayed by identity stitching: its id is remembered for the user, but it is neither a
            // repeat (the anonymous id saw it, not the user) nor late (it is history, replayed on purpose).
            // Ahead of the watermark the anonymous id never acted on it (its retirement dropped it while it
            // waited for the watermark): for the user it is an ordinary new event
            if (!sighting.repeat()) store(ids);
            if (sighting.forgottenUnexpired() > 0) forgotten.inc(sighting.forgottenUnexpired());
            out.collect(e.timestamp > ctx.timerService().currentWatermark() ? e.unstitched() : e);
            return;
        }
        if (sighting.repeat()) {
            duplicates.inc();
            return;
        }
        store(ids);
        if (sighting.forgottenUnexpired() > 0) forgotten.inc(sighting.forgottenUnexpired());
        long watermark = ctx.timerService().currentWatermark();
        boolean isLate = e.timestamp <= watermark;
        String warning = lateWarnings.record(isLate, e.timestamp, watermark, now);
        if (warning != null) LOG.warn(warning);
        if (isLate) {
            late.inc();
            ctx.output(LATE, e);
            return;
        }
        if (erasureEvent != null && "track".equals(e.type) && erasureEvent.equals(e.event)) forgetUser(ctx);
        out.collect(e);
    }

    private void forgetUser(Context ctx) throws Exception {
        SeenIdSet ids = seen.value();
        if (ids == null) return;
        seenIds.forgetUser(ids, timers.at(ctx.timerService()));
        seen.clear();
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<BehaviorEvent> out) throws Exception {
        try {
            SeenIdSet ids = seen.value();
            if (ids == null || ids.sweepAt() != timestamp) return; // not this user's sweep (erased since)
            seenIds.sweep(ids, timers.at(ctx.timerService()), timestamp);
            store(ids);
        } catch (RuntimeException ex) {
            if (!StepFailure.isRecordFault(ex)) throw ex;
            ctx.output(FAILED, failures.count(StepFailure.ofTimer(STEP, null, 0, ctx.getCurrentKey(), timestamp, ex), ex));
        }
    }

    /** The user's sweep timer among the processing-time timers of the record or timer at hand. */
    private static final class Timers implements SeenIds.SweepTimers {
        private TimerService timers;

        Timers at(TimerService timers) {
            this.timers = timers;
            return this;
        }

        @Override
        public void schedule(long at) {
            timers.registerProcessingTimeTimer(at);
        }

        @Override
        public void cancel(long at) {
            timers.deleteProcessingTimeTimer(at);
        }
    }

    /** Stores the user's ids after a decision changed them: nothing at all once there are none. */
    private void store(SeenIdSet ids) throws Exception {
        if (ids.isEmpty()) seen.clear();
        else seen.update(ids);
    }
}
