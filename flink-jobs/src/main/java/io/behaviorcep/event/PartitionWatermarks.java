package io.behaviorcep.event;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.util.clock.RelativeClock;

/**
 * Event time of one source split (one Kafka partition): what moves it and what does not. The rule
 * is documented in docs/contracts.md ("Event time") and tested in {@code PartitionWatermarksTest}.
 *
 * <ul>
 *   <li><b>Per partition.</b> The Kafka source runs one instance per partition and emits the minimum
 *       over its partitions, so a subtask that reads several partitions one after another (a backlog,
 *       a catch-up after a restore) never lets one partition's progress make another's events late.</li>
 *   <li><b>No further than the record was written.</b> An event moves its partition's event time to
 *       at most the time its record was written to the topic ({@link ParsedRecord#ingestTime}, the
 *       Kafka record timestamp). A sender who stamps an event an hour ahead (allowed by
 *       {@code events.max-future-skew}) cannot push everybody else's events into lateness: the event
 *       itself is processed, in its own time order, once the others' catch up with it. Refused
 *       records move nothing.</li>
 *   <li><b>Bounded out-of-orderness.</b> While events flow, the watermark is the highest such time
 *       minus {@code events.max-out-of-orderness}, minus 1 ms.</li>
 *   <li><b>Quiet partitions.</b> Quiet is measured on Flink's input activity clock, which stops while
 *       the task is backpressured (or paused for watermark alignment): a stall downstream, such as a
 *       PostgreSQL outage the job waits out, is never mistaken for a quiet source. After
 *       {@code events.idle-timeout} of quiet the partition is caught up (the consumer kept polling it
 *       and got nothing). With {@code events.idle-advance} its event time then moves on with the
 *       wall clock from its last event, so pending absences are decided; without it, or if the
 *       partition has had no event since the job started, it is marked idle and holds nobody back.</li>
 *   <li><b>Back from idle.</b> The first record of an idle partition marks it active at once, before
 *       the record is emitted, so the minimum waits for it again.</li>
 *   <li><b>Waking up together.</b> When every partition of a subtask has been quiet and one of them
 *       gets a record (traffic after a quiet start, a quiet spell, or a restore), every partition of
 *       the subtask is active again and gets a fresh {@code events.idle-timeout} to deliver its own
 *       first records before it may be marked idle. Without that, the first partition read after a
 *       quiet spell would set the subtask's event time alone, and the others' records, read a poll
 *       later, would be late. And for {@link #WAKE_UP_GRACE_MS} after a wake-up the subtask's event
 *       time stays where it was: the other source subtasks, woken by the same traffic, are still
 *       marked idle downstream until their first periodic emission, and an operator downstream
 *       ignores an idle input, so their first records would be late if this subtask's event time
 *       moved on first.</li>
 * </ul>
 *
 * <p>Watermarks are not checkpointed: after a restore every partition starts from nothing, and its
 * first events set its event time again.
 */
public class PartitionWatermarks implements WatermarkGenerator<ParsedRecord> {
    /** How long a subtask's event time stays put after it wakes up: many periodic emissions (200 ms). */
    public static final long WAKE_UP_GRACE_MS = 2_000;

    private final long outOfOrderness;
    private final long idleTimeout;
    private final boolean idleAdvance;
    private final RelativeClock activityClock;
    private final Subtask subtask;

    private long maxEventTime = Long.MIN_VALUE;
    /** On the activity clock: the last record, or the subtask's last wake-up if later. */
    private long lastRecordAt;
    private long lastEmitted = Long.MIN_VALUE;
    private boolean idle;
    /** Whether this partition is counted as quiet in {@link Subtask#quiet}. */
    private boolean countedQuiet;
    private long seenWakeUps;
    /** No watermark before this (activity clock): the grace after a wake-up. */
    private long holdUntil = Long.MIN_VALUE;

    /** The partitions of one source subtask, and how many of them are quiet. Used from the task thread only. */
    public static final class Subtask {
        private int partitions;
        private int quiet;
        private long wakeUps;
    }

    public PartitionWatermarks(long outOfOrderness, long idleTimeout, boolean idleAdvance, RelativeClock activityClock) {
        this(outOfOrderness, idleTimeout, idleAdvance, activityClock, new Subtask());
    }

    public PartitionWatermarks(long outOfOrderness, long idleTimeout, boolean idleAdvance, RelativeClock activityClock, Subtask subtask) {
        this.outOfOrderness = outOfOrderness;
        this.idleTimeout = idleTimeout;
        this.idleAdvance = idleAdvance;
        this.activityClock = activityClock;
        this.lastRecordAt = activityClock.relativeTimeMillis();
        this.subtask = subtask;
        subtask.partitions++;
        seenWakeUps = subtask.wakeUps;
    }

    @Override
    public void onEvent(ParsedRecord record, long eventTimestamp, WatermarkOutput output) {
        lastRecordAt = activityClock.relativeTimeMillis();
        if (countedQuiet) {
            if (subtask.quiet == subtask.partitions) {
                subtask.wakeUps++;
                holdUntil = lastRecordAt + WAKE_UP_GRACE_MS;
            }
            subtask.quiet--;
            countedQuiet = false;
        }
        seenWakeUps = subtask.wakeUps;
        if (idle) {
            output.markActive();
            idle = false;
        }
        if (record.event == null) return;
        long movesTo = Math.min(record.event.timestamp, record.ingestTime);
        if (movesTo > maxEventTime) maxEventTime = movesTo;
    }

    @Override
    public void onPeriodicEmit(WatermarkOutput output) {
        long now = activityClock.relativeTimeMillis();
        if (seenWakeUps != subtask.wakeUps) {
            // another partition of this subtask got the first record after a quiet spell: give this one
            // a fresh idle timeout to deliver its own, holding the subtask's event time back meanwhile
            seenWakeUps = subtask.wakeUps;
            lastRecordAt = Math.max(lastRecordAt, now);
            holdUntil = now + WAKE_UP_GRACE_MS;
            if (countedQuiet) {
                subtask.quiet--;
                countedQuiet = false;
            }
            if (idle) {
                output.markActive();
                idle = false;
            }
        }
        long quietFor = now - lastRecordAt;
        boolean quiet = quietFor >= idleTimeout;
        if (quiet && !countedQuiet) {
            subtask.quiet++;
            countedQuiet = true;
        }
        if (maxEventTime == Long.MIN_VALUE || (quiet && !idleAdvance)) {
            if (quiet && !idle) {
                output.markIdle();
                idle = true;
            }
            return;
        }
        long watermark = maxEventTime - outOfOrderness - 1 + (quiet ? quietFor : 0);
        if (watermark > lastEmitted && now >= holdUntil) {
            lastEmitted = watermark;
            output.emitWatermark(new Watermark(watermark));
        }
    }
}
