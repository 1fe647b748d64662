package io.behaviorcep.deliver;

/**
 * Spaces requests at most {@code ratePerSecond} apart, allowing a burst of one second's worth after a
 * quiet spell. Not a blocking limiter: {@link #reserve} hands out the next free slot and says how long
 * to wait for it, so the asynchronous operator schedules the request instead of holding its thread.
 * One instance per subtask and destination; not thread-safe, callers synchronise.
 */
public final class RateLimiter {
    private final long intervalNanos;
    private final long burstNanos;
    private long nextFreeNanos;

    /** @param ratePerSecond 0 or less: no limit */
    public RateLimiter(double ratePerSecond, long nowNanos) {
        this.intervalNanos = ratePerSecond <= 0 ? 0 : (long) (1_000_000_000L / ratePerSecond);
        this.burstNanos = 1_000_000_000L;
        this.nextFreeNanos = nowNanos;
    }

    /** Takes the next slot. @return nanoseconds to wait until it, 0 if it is free now */
    public long reserve(long nowNanos) {
        if (intervalNanos == 0) return 0;
        // unused slots older than the burst window are gone: a quiet hour does not allow an hour's requests at once
        long earliest = Math.max(nextFreeNanos, nowNanos - burstNanos + intervalNanos);
        long wait = Math.max(0, earliest - nowNanos);
        nextFreeNanos = earliest + intervalNanos;
        return wait;
    }
}
