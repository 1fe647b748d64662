package io.behaviorcep.event;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;

import java.util.function.LongSupplier;

/**
 * Bounded-out-of-orderness watermarks that keep moving when a source goes quiet.
 *
 * <p>Absences ("no order within 15 minutes") are decided only when the watermark passes their
 * deadline. Watermarks are not checkpointed, and a quiet stream emits none, so without help a
 * pending absence would wait for the next event of anybody. After {@code idleTimeout} of wall time
 * without events this generator assumes event time moves on with the wall clock from the last
 * event seen (a heartbeat). With {@code idleAdvance} off it marks the split idle instead, so it
 * does not hold back the other splits.
 */
public class IdleAwareWatermarks implements WatermarkGenerator<BehaviorEvent> {
    private final long outOfOrderness;
    private final long idleTimeout;
    private final boolean idleAdvance;
    private final LongSupplier wallClock;

    private long maxTimestamp = Long.MIN_VALUE;
    private long lastEventWallTime;
    private long lastEmitted = Long.MIN_VALUE;
    /** Whether the output was last marked idle: a resumed source must say it is active again. */
    private boolean idle;

    public IdleAwareWatermarks(long outOfOrderness, long idleTimeout, boolean idleAdvance, LongSupplier wallClock) {
        this.outOfOrderness = outOfOrderness;
        this.idleTimeout = idleTimeout;
        this.idleAdvance = idleAdvance;
        this.wallClock = wallClock;
        this.lastEventWallTime = wallClock.getAsLong();
    }

    @Override
    public void onEvent(BehaviorEvent event, long eventTimestamp, WatermarkOutput output) {
        if (eventTimestamp > maxTimestamp) maxTimestamp = eventTimestamp;
        lastEventWallTime = wallClock.getAsLong();
    }

    @Override
    public void onPeriodicEmit(WatermarkOutput output) {
        if (maxTimestamp == Long.MIN_VALUE) {
            if (wallClock.getAsLong() - lastEventWallTime >= idleTimeout) {
                output.markIdle();
                idle = true;
            }
            return;
        }
        long quietFor = wallClock.getAsLong() - lastEventWallTime;
        long watermark = maxTimestamp - outOfOrderness - 1;
        if (quietFor >= idleTimeout) {
            if (!idleAdvance) {
                output.markIdle();
                idle = true;
                return;
            }
            watermark = maxTimestamp + quietFor - outOfOrderness - 1;
        }
        if (watermark > lastEmitted) {
            lastEmitted = watermark;
            output.emitWatermark(new Watermark(watermark)); // also marks the output active
        } else if (idle) {
            // events are flowing again but none beyond the maximum: Flink marks an output active only
            // on an advancing watermark, so say it, or the split stays idle while it has events
            output.markActive();
        }
        idle = false;
    }
}
