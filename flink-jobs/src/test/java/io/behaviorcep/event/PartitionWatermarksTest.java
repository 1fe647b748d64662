package io.behaviorcep.event;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.util.clock.RelativeClock;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The watermark generator of one partition under a fake input activity clock. */
class PartitionWatermarksTest {
    static final long OOO = 30_000;
    static final long IDLE = 60_000;
    static final long T0 = 1_772_445_600_000L;

    /** Input activity clock (wall time less backpressure), starting somewhere unrelated to event time. */
    long wall = 5_000_000L;
    final RelativeClock clock = new RelativeClock() {
        @Override
        public long relativeTimeMillis() {
            return wall;
        }

        @Override
        public long relativeTimeNanos() {
            return wall * 1_000_000;
        }
    };

    /** Records what the generator says: "wm:<ts>", "idle" or "active". */
    static final class Recorder implements WatermarkOutput {
        final List<String> calls = new ArrayList<>();
        final List<Long> watermarks = new ArrayList<>();

        @Override
        public void emitWatermark(Watermark w) {
            calls.add("wm:" + w.getTimestamp());
            watermarks.add(w.getTimestamp());
        }

        @Override
        public void markIdle() {
            calls.add("idle");
        }

        @Override
        public void markActive() {
            calls.add("active");
        }

        List<String> drain() {
            List<String> c = new ArrayList<>(calls);
            calls.clear();
            return c;
        }
    }

    final Recorder out = new Recorder();

    PartitionWatermarks generator(boolean idleAdvance) {
        return new PartitionWatermarks(OOO, IDLE, idleAdvance, clock);
    }

    void event(PartitionWatermarks g, long ts) {
        event(g, ts, RawRecord.NO_INGEST_TIME);
    }

    void event(PartitionWatermarks g, long ts, long writtenAt) {
        BehaviorEvent e = new BehaviorEvent();
        e.timestamp = ts;
        ParsedRecord r = new ParsedRecord();
        r.event = e;
        r.ingestTime = writtenAt;
        g.onEvent(r, ts, out);
    }

    void deadLetter(PartitionWatermarks g) {
        ParsedRecord r = new ParsedRecord();
        r.deadLetter = new DeadLetter(DeadLetter.Reason.NOT_JSON, "x", RawRecord.of(new byte[] {1}));
        g.onEvent(r, Long.MIN_VALUE, out);
    }

    @Test
    void whileEventsFlowTheWatermarkIsMaxTimestampMinusOutOfOrdernessMinusOne() {
        PartitionWatermarks g = generator(true);
        event(g, T0);
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("wm:" + (T0 - OOO - 1));

        wall += 1_000;
        event(g, T0 + 10_000);
        event(g, T0 + 4_000); // out of order: does not lower the maximum
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("wm:" + (T0 + 10_000 - OOO - 1));

        // no new maximum: nothing new to say
        wall += 1_000;
        event(g, T0 + 9_000);
        g.onPeriodicEmit(out);
        assertThat(out.drain()).isEmpty();
    }

    @Test
    void nothingBeforeTheFirstEventThenIdleAfterTheTimeout() {
        PartitionWatermarks g = generator(true);
        g.onPeriodicEmit(out);
        assertThat(out.drain()).isEmpty();
        wall += IDLE - 1;
        g.onPeriodicEmit(out);
        assertThat(out.drain()).isEmpty();
        wall += 1;
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("idle");
    }

    @Test
    void withIdleAdvanceEventTimeMovesOnWithTheWallClock() {
        PartitionWatermarks g = generator(true);
        event(g, T0);
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("wm:" + (T0 - OOO - 1));

        // quiet, but not for long enough
        wall += IDLE - 1;
        g.onPeriodicEmit(out);
        assertThat(out.drain()).isEmpty();

        // quiet for the idle timeout: event time = last event + wall time since
        wall += 1;
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("wm:" + (T0 + IDLE - OOO - 1));

        // and keeps moving with the wall clock, never idle
        wall += 15 * 60_000;
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("wm:" + (T0 + IDLE + 15 * 60_000 - OOO - 1));
    }

    @Test
    void withoutIdleAdvanceTheSourceIsMarkedIdle() {
        PartitionWatermarks g = generator(false);
        event(g, T0);
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("wm:" + (T0 - OOO - 1));

        wall += IDLE;
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("idle");
        wall += 10 * IDLE;
        g.onPeriodicEmit(out);
        assertThat(out.drain()).isEmpty();

        // events again: active at once, before the record goes out, then, after the wake-up grace, a
        // watermark from the new maximum
        event(g, T0 + 5_000);
        assertThat(out.drain()).containsExactly("active");
        g.onPeriodicEmit(out);
        assertThat(out.drain()).isEmpty();
        wall += PartitionWatermarks.WAKE_UP_GRACE_MS;
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("wm:" + (T0 + 5_000 - OOO - 1));
    }

    @Test
    void aResumedPartitionIsActiveAgainBeforeItsFirstRecordEvenWithoutANewMaximum() {
        PartitionWatermarks g = generator(false);
        event(g, T0);
        g.onPeriodicEmit(out);
        wall += IDLE;
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("wm:" + (T0 - OOO - 1), "idle");

        // an event behind the maximum (still within the out-of-orderness): the split is no longer idle,
        // or other splits could move the combined watermark past its events; said before the record is emitted
        event(g, T0 - 1_000);
        assertThat(out.drain()).containsExactly("active");
        g.onPeriodicEmit(out);
        assertThat(out.drain()).isEmpty();
        // and it stays active without repeating itself
        g.onPeriodicEmit(out);
        assertThat(out.drain()).isEmpty();
    }

    @Test
    void neverGoesBackwards() {
        PartitionWatermarks g = generator(true);
        event(g, T0);
        wall += 10 * IDLE;
        g.onPeriodicEmit(out); // idle advance: T0 + 10 min - OOO - 1
        long advanced = T0 + 10 * IDLE - OOO - 1;
        assertThat(out.drain()).containsExactly("wm:" + advanced);

        // the source comes back with events behind the advanced watermark: no step back
        event(g, T0 + 60_000);
        g.onPeriodicEmit(out);
        assertThat(out.drain()).isEmpty();

        // only once the events overtake it does the watermark move again (after the wake-up grace)
        wall += PartitionWatermarks.WAKE_UP_GRACE_MS;
        event(g, T0 + 10 * IDLE + 5_000);
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("wm:" + (T0 + 10 * IDLE + 5_000 - OOO - 1));

        assertThat(out.watermarks).isSorted();
    }

    @Test
    void watermarksAreStrictlyIncreasingOverARandomRun() {
        PartitionWatermarks g = generator(true);
        java.util.Random r = new java.util.Random(42);
        long ts = T0;
        for (int i = 0; i < 2_000; i++) {
            wall += r.nextInt(5_000);
            if (r.nextInt(10) < 7) {
                ts += r.nextInt(20_000) - 8_000;
                event(g, ts);
            } else if (r.nextInt(10) == 0) {
                wall += 2 * IDLE;
            }
            g.onPeriodicEmit(out);
        }
        assertThat(out.watermarks).hasSizeGreaterThan(100);
        for (int i = 1; i < out.watermarks.size(); i++) {
            assertThat(out.watermarks.get(i)).isGreaterThan(out.watermarks.get(i - 1));
        }
    }
    @Test
    void anEventMovesEventTimeNoFurtherThanTheTimeItsRecordWasWritten() {
        PartitionWatermarks g = generator(true);
        event(g, T0, T0 + 500);
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("wm:" + (T0 - OOO - 1));

        // stamped 59 minutes ahead by its sender, written now: it moves event time to now only
        event(g, T0 + 59 * 60_000, T0 + 1_000);
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("wm:" + (T0 + 1_000 - OOO - 1));

        // an ordinary event written a second later is on time and moves it on as usual
        event(g, T0 + 2_000, T0 + 2_100);
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("wm:" + (T0 + 2_000 - OOO - 1));
    }

    @Test
    void deadLettersKeepThePartitionAliveButMoveNoTime() {
        PartitionWatermarks g = generator(true);
        event(g, T0);
        g.onPeriodicEmit(out);
        out.drain();
        for (int i = 0; i < 10; i++) {
            wall += IDLE / 2;
            deadLetter(g);
            g.onPeriodicEmit(out);
        }
        // never quiet for the idle timeout, so no advance, and a refused record has no time of its own
        assertThat(out.drain()).isEmpty();
    }

    @Test
    void aPartitionWithoutEventsIsIdleAfterTheTimeoutWhateverIdleAdvanceSays() {
        for (boolean advance : new boolean[] {true, false}) {
            PartitionWatermarks g = generator(advance);
            wall += IDLE;
            g.onPeriodicEmit(out);
            assertThat(out.drain()).containsExactly("idle");
        }
    }

    @Test
    void theJobsStrategyMeasuresQuietOnTheInputActivityClockNotTheWallClock() {
        // Flink's input activity clock stops while the task is backpressured: a stall that the clock
        // does not show is no quiet time. Here it stands still while the real wall clock runs on.
        EventIngest ingest = new EventIngest(EventParser.Limits.defaults(), java.time.Duration.ofMillis(OOO),
                java.time.Duration.ofMillis(1), true);
        var g = ingest.watermarks().createWatermarkGenerator(new org.apache.flink.api.common.eventtime.WatermarkGeneratorSupplier.Context() {
            @Override
            public org.apache.flink.metrics.MetricGroup getMetricGroup() {
                return new org.apache.flink.metrics.groups.UnregisteredMetricsGroup();
            }

            @Override
            public RelativeClock getInputActivityClock() {
                return clock;
            }
        });
        BehaviorEvent e = new BehaviorEvent();
        e.timestamp = T0;
        ParsedRecord r = new ParsedRecord();
        r.event = e;
        g.onEvent(r, T0, out);
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("wm:" + (T0 - OOO - 1));
        java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L); // 20 ms of wall time, 20x the idle timeout
        g.onPeriodicEmit(out);
        assertThat(out.drain()).isEmpty();
        wall += 5;
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("wm:" + (T0 + 5 - OOO - 1));
    }
    @Test
    void afterAQuietSpellTheFirstRecordWakesEveryPartitionOfTheSubtask() {
        PartitionWatermarks.Subtask subtask = new PartitionWatermarks.Subtask();
        Recorder outA = new Recorder(), outB = new Recorder();
        PartitionWatermarks a = new PartitionWatermarks(OOO, IDLE, true, clock, subtask);
        PartitionWatermarks b = new PartitionWatermarks(OOO, IDLE, true, clock, subtask);
        // a quiet start: both are idle
        wall += IDLE;
        a.onPeriodicEmit(outA);
        b.onPeriodicEmit(outB);
        assertThat(outA.drain()).containsExactly("idle");
        assertThat(outB.drain()).containsExactly("idle");

        // partition a is read first: it is active at once, and b is active again at the next round,
        // before a's watermark can be combined with nothing but itself
        a.onEvent(record(T0 + 40 * 60_000), T0 + 40 * 60_000, outA);
        assertThat(outA.drain()).containsExactly("active");
        a.onPeriodicEmit(outA);
        b.onPeriodicEmit(outB);
        assertThat(outB.drain()).containsExactly("active");
        // and the subtask's event time stays put for the grace, so that other subtasks woken by the
        // same traffic are active downstream before it moves
        assertThat(outA.drain()).isEmpty();
        wall += PartitionWatermarks.WAKE_UP_GRACE_MS - 1;
        a.onPeriodicEmit(outA);
        assertThat(outA.drain()).isEmpty();
        wall += 1;
        a.onPeriodicEmit(outA);
        assertThat(outA.drain()).containsExactly("wm:" + (T0 + 40 * 60_000 - OOO - 1));

        // b has a fresh idle timeout: it stays active (holding the subtask back) for that long...
        wall += IDLE - 1 - PartitionWatermarks.WAKE_UP_GRACE_MS;
        a.onEvent(record(T0 + 41 * 60_000), T0 + 41 * 60_000, outA);
        b.onPeriodicEmit(outB);
        assertThat(outB.drain()).isEmpty();
        // ...then, with nothing of its own, it is idle again; a's steady traffic does not wake it again
        wall += 1;
        b.onPeriodicEmit(outB);
        assertThat(outB.drain()).containsExactly("idle");
        for (int i = 0; i < 5; i++) {
            wall += IDLE;
            a.onEvent(record(T0 + (42 + i) * 60_000), T0 + (42 + i) * 60_000, outA);
            b.onPeriodicEmit(outB);
        }
        assertThat(outB.drain()).isEmpty();
    }

    @Test
    void aPartitionThatIsNotQuietIsNoWakeUp() {
        PartitionWatermarks.Subtask subtask = new PartitionWatermarks.Subtask();
        Recorder outA = new Recorder(), outB = new Recorder();
        PartitionWatermarks a = new PartitionWatermarks(OOO, IDLE, false, clock, subtask);
        PartitionWatermarks b = new PartitionWatermarks(OOO, IDLE, false, clock, subtask);
        wall += IDLE;
        b.onPeriodicEmit(outB); // b idle, a never judged quiet
        assertThat(outB.drain()).containsExactly("idle");
        a.onEvent(record(T0), T0, outA);
        b.onPeriodicEmit(outB);
        assertThat(outB.drain()).as("a was not quiet: b stays idle").isEmpty();
    }

    private static ParsedRecord record(long ts) {
        BehaviorEvent e = new BehaviorEvent();
        e.timestamp = ts;
        ParsedRecord r = new ParsedRecord();
        r.event = e;
        return r;
    }
}
