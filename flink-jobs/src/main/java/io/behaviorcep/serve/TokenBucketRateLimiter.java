package io.behaviorcep.serve;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Requests per API key, in memory: one token bucket per key, holding at most {@code burst} tokens and
 * refilled at {@code perSecond}. A request takes a token or is refused with the time until the next
 * one. In memory on purpose: each replica limits on its own (the Deployment's replica count
 * multiplies the limit; docs/operations.md), and a restart forgives everyone, which costs nothing a
 * read API needs to protect.
 */
public final class TokenBucketRateLimiter {
    private final double perSecond;
    private final double burst;
    private final LongSupplier nanoClock;
    private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();

    /** What one request gets: allowed, or refused with a wait. */
    public record Decision(boolean allowed, long retryAfterNanos) {
        /** For the {@code Retry-After} header: whole seconds, at least 1. */
        public long retryAfterSeconds() {
            return Math.max(1, TimeUnit.NANOSECONDS.toSeconds(retryAfterNanos + TimeUnit.SECONDS.toNanos(1) - 1));
        }
    }

    private static final class Bucket {
        double tokens;
        long refilledAt;

        Bucket(double tokens, long now) {
            this.tokens = tokens;
            this.refilledAt = now;
        }
    }

    public TokenBucketRateLimiter(double perSecond, double burst) {
        this(perSecond, burst, System::nanoTime);
    }

    /** {@code nanoClock}: a monotonic clock in nanoseconds (tests pass their own). */
    public TokenBucketRateLimiter(double perSecond, double burst, LongSupplier nanoClock) {
        if (!(perSecond > 0) || !(burst >= 1)) {
            throw new IllegalArgumentException("rate limit needs requests/second > 0 and a burst of at least 1, got "
                    + perSecond + " and " + burst);
        }
        this.perSecond = perSecond;
        this.burst = burst;
        this.nanoClock = nanoClock;
    }

    /** Takes one token of {@code key}'s bucket if there is one. */
    public Decision tryAcquire(String key) {
        long now = nanoClock.getAsLong();
        Bucket b = buckets.computeIfAbsent(key, k -> new Bucket(burst, now));
        synchronized (b) {
            double elapsedSeconds = Math.max(0, now - b.refilledAt) / 1e9;
            b.tokens = Math.min(burst, b.tokens + elapsedSeconds * perSecond);
            b.refilledAt = now;
            if (b.tokens >= 1) {
                b.tokens -= 1;
                return new Decision(true, 0);
            }
            long wait = (long) Math.ceil((1 - b.tokens) / perSecond * 1e9);
            return new Decision(false, wait);
        }
    }
}
