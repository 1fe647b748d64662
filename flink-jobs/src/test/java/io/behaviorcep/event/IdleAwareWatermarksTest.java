package io.behaviorcep.event;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The watermark generator under a fake wall clock. */
class IdleAwareWatermarksTest {
    static final long OOO = 30_000;
    static final long IDLE = 60_000;
    static final long T0 = 1_772_445_600_000L;

    /** Wall clock, starting somewhere unrelated to event time. */
    long wall = 5_000_000L;

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

    IdleAwareWatermarks generator(boolean idleAdvance) {
        return new IdleAwareWatermarks(OOO, IDLE, idleAdvance, () -> wall);
    }

    void event(IdleAwareWatermarks g, long ts) {
        g.onEvent(new BehaviorEvent(), ts, out);
    }

    @Test
    void whileEventsFlowTheWatermarkIsMaxTimestampMinusOutOfOrdernessMinusOne() {
        IdleAwareWatermarks g = generator(true);
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
        IdleAwareWatermarks g = generator(true);
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
        IdleAwareWatermarks g = generator(true);
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
        IdleAwareWatermarks g = generator(false);
        event(g, T0);
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("wm:" + (T0 - OOO - 1));

        wall += IDLE;
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("idle");
        wall += 10 * IDLE;
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("idle");

        // events again: a watermark from the new maximum (which makes the output active again)
        event(g, T0 + 5_000);
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("wm:" + (T0 + 5_000 - OOO - 1));
    }

    @Test
    void withoutIdleAdvanceAResumedSourceIsActiveAgainEvenWithoutANewMaximum() {
        IdleAwareWatermarks g = generator(false);
        event(g, T0);
        g.onPeriodicEmit(out);
        wall += IDLE;
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("wm:" + (T0 - OOO - 1), "idle");

        // an event behind the maximum (still within the out-of-orderness): the split is no longer idle,
        // or other splits could move the combined watermark past its events
        event(g, T0 - 1_000);
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("active");
        // and it stays active without repeating itself
        g.onPeriodicEmit(out);
        assertThat(out.drain()).isEmpty();
    }

    @Test
    void neverGoesBackwards() {
        IdleAwareWatermarks g = generator(true);
        event(g, T0);
        wall += 10 * IDLE;
        g.onPeriodicEmit(out); // idle advance: T0 + 10 min - OOO - 1
        long advanced = T0 + 10 * IDLE - OOO - 1;
        assertThat(out.drain()).containsExactly("wm:" + advanced);

        // the source comes back with events behind the advanced watermark: no step back
        event(g, T0 + 60_000);
        g.onPeriodicEmit(out);
        assertThat(out.drain()).isEmpty();

        // only once the events overtake it does the watermark move again
        wall += 1_000;
        event(g, T0 + 10 * IDLE + 5_000);
        g.onPeriodicEmit(out);
        assertThat(out.drain()).containsExactly("wm:" + (T0 + 10 * IDLE + 5_000 - OOO - 1));

        assertThat(out.watermarks).isSorted();
    }

    @Test
    void watermarksAreStrictlyIncreasingOverARandomRun() {
        IdleAwareWatermarks g = generator(true);
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
}
