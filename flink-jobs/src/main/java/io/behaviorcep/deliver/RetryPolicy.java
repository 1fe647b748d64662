package io.behaviorcep.deliver;

import java.io.Serializable;
import java.time.Duration;
import java.util.Optional;

/**
 * When a delivery is tried again and after how long: exponential backoff with jitter on 5xx, 429,
 * timeouts and connection errors, honouring {@code Retry-After}; never on other 4xx (the receiver
 * said the request itself is wrong, sending it again changes nothing). A budget of attempts and of
 * total time bounds each alert; past it the alert is dead-lettered.
 *
 * @param maxAttempts    attempts in all, the first included
 * @param maxTotalTime   no attempt starts later than this after the first one
 * @param initialBackoff the wait before the second attempt (before jitter); doubled for every further one
 * @param maxBackoff     the doubling stops here
 */
public record RetryPolicy(int maxAttempts, Duration maxTotalTime, Duration initialBackoff, Duration maxBackoff) implements Serializable {

    public static final RetryPolicy DEFAULT = new RetryPolicy(8, Duration.ofMinutes(5), Duration.ofMillis(500), Duration.ofSeconds(60));

    /** What one attempt's result means. */
    public enum Verdict {
        DELIVERED,
        /** worth trying again: the receiver or the way to it had a problem */
        RETRY,
        /** the receiver refused the request: trying again gives the same answer */
        REJECTED
    }

    /** @param httpStatus the response's status code */
    public static Verdict verdict(int httpStatus) {
        if (httpStatus >= 200 && httpStatus < 300) return Verdict.DELIVERED;
        if (httpStatus == 429 || httpStatus >= 500) return Verdict.RETRY;
        return Verdict.REJECTED; // other 4xx, and 1xx/3xx: a webhook receiver answers 2xx, redirects are not followed for a POST
    }

    /** Timeouts, refused and dropped connections: the request may or may not have arrived; the idempotency key makes a repeat safe. */
    public static Verdict verdictOfError(Throwable error) {
        return Verdict.RETRY;
    }

    /**
     * The backoff before attempt {@code attemptsMade + 1}: {@code initialBackoff * 2^(attemptsMade-1)},
     * capped at {@code maxBackoff}, then "equal jitter": a uniformly random point in its upper half, so
     * the waits keep growing while subtasks that failed together do not retry together.
     *
     * @param random01 a uniform random number in [0, 1)
     */
    public Duration backoff(int attemptsMade, double random01) {
        long base = initialBackoff.toMillis();
        for (int i = 1; i < attemptsMade && base < maxBackoff.toMillis(); i++) base *= 2;
        base = Math.min(base, maxBackoff.toMillis());
        return Duration.ofMillis(base / 2 + (long) (random01 * (base - base / 2)));
    }

    /**
     * The wait before the next attempt, or empty when the budget is spent: {@code maxAttempts} made,
     * or the next attempt would start more than {@code maxTotalTime} after the first. A
     * {@code Retry-After} from the receiver replaces the computed backoff (it knows when it can take
     * more); one beyond the budget ends the retries at once rather than waiting for nothing.
     *
     * @param attemptsMade    attempts made so far (at least 1)
     * @param sinceFirstAttempt time since the first attempt started
     * @param retryAfter      the receiver's {@code Retry-After}, if it sent one
     */
    public Optional<Duration> nextDelay(int attemptsMade, Duration sinceFirstAttempt, Optional<Duration> retryAfter, double random01) {
        if (attemptsMade >= maxAttempts) return Optional.empty();
        Duration wait = retryAfter.orElseGet(() -> backoff(attemptsMade, random01));
        if (sinceFirstAttempt.plus(wait).compareTo(maxTotalTime) > 0) return Optional.empty();
        return Optional.of(wait);
    }
}
