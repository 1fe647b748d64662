package io.behaviorcep.event;

import java.time.Instant;

/**
 * When late events are worth a line in the log: at most one per interval (of the wall clock), and
 * only when the interval's late events reach a share of all its events. Late events are never
 * silent (they go to {@code behavior.late} and are counted), but a trickle of stragglers should not
 * fill the log, while a partition or a producer that goes wrong must show up there at once.
 */
public final class LateEventWarnings {
    private final long intervalMillis;
    private final double minShare;

    private long intervalStart = Long.MIN_VALUE;
    private long events;
    private long late;
    private long mostBehind;
    private long watermarkAtMostBehind;

    /**
     * @param minShare late events / all events of an interval at which it is reported; 0 reports any
     *                 late event, above 1 never
     */
    public LateEventWarnings(long intervalMillis, double minShare) {
        if (intervalMillis <= 0) throw new IllegalArgumentException("interval must be positive");
        this.intervalMillis = intervalMillis;
        this.minShare = minShare;
    }

    /**
     * Counts one event and, once an interval is over, says what to log about it.
     *
     * @param eventTime the event's timestamp
     * @param watermark the event time it met
     * @param now       the wall clock
     * @return the warning for the interval just ended, or null
     */
    public String record(boolean isLate, long eventTime, long watermark, long now) {
        String warning = null;
        if (intervalStart == Long.MIN_VALUE) {
            intervalStart = now;
        } else if (now - intervalStart >= intervalMillis) {
            warning = report(now);
            intervalStart = now;
            events = late = mostBehind = 0;
        }
        events++;
        if (isLate) {
            late++;
            long behind = watermark - eventTime;
            if (behind >= mostBehind) {
                mostBehind = behind;
                watermarkAtMostBehind = watermark;
            }
        }
        return warning;
    }

    private String report(long now) {
        if (late == 0 || (double) late / events < minShare) return null;
        return String.format(java.util.Locale.ROOT,
                "%d of %d events in the last %d s were late and went to the late-events topic (up to %d s behind the job's event time, "
                        + "which was %s); causes: producers delivering later than events.max-out-of-orderness, or a partition that was idle "
                        + "(no record for events.idle-timeout) while the others moved on; see docs/contracts.md#event-time",
                late, events, (now - intervalStart) / 1000, (mostBehind + 999) / 1000, Instant.ofEpochMilli(watermarkAtMostBehind));
    }
}
