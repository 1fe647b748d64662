package io.behaviorcep.serve;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TokenBucketRateLimiterTest {
    static final long SECOND = 1_000_000_000L;
    final AtomicLong now = new AtomicLong(5 * SECOND);

    @Test
    void aFullBucketAllowsTheBurstThenRefillsAtTheRate() {
        TokenBucketRateLimiter limiter = new TokenBucketRateLimiter(2, 3, now::get);
        for (int i = 0; i < 3; i++) assertThat(limiter.tryAcquire("k").allowed()).as("request %d", i).isTrue();
        TokenBucketRateLimiter.Decision refused = limiter.tryAcquire("k");
        assertThat(refused.allowed()).isFalse();
        // 2 per second: the next token is half a second away; Retry-After rounds up to whole seconds
        assertThat(refused.retryAfterNanos()).isEqualTo(SECOND / 2);
        assertThat(refused.retryAfterSeconds()).isEqualTo(1);

        now.addAndGet(SECOND / 2);
        assertThat(limiter.tryAcquire("k").allowed()).isTrue();
        assertThat(limiter.tryAcquire("k").allowed()).isFalse();

        // a long quiet spell refills to the burst, not beyond
        now.addAndGet(60 * SECOND);
        for (int i = 0; i < 3; i++) assertThat(limiter.tryAcquire("k").allowed()).isTrue();
        assertThat(limiter.tryAcquire("k").allowed()).isFalse();
    }

    @Test
    void eachKeyHasItsOwnBucket() {
        TokenBucketRateLimiter limiter = new TokenBucketRateLimiter(1, 1, now::get);
        assertThat(limiter.tryAcquire("a").allowed()).isTrue();
        assertThat(limiter.tryAcquire("a").allowed()).isFalse();
        assertThat(limiter.tryAcquire("b").allowed()).isTrue();
    }

    @Test
    void aSlowRateGivesALongRetryAfter() {
        TokenBucketRateLimiter limiter = new TokenBucketRateLimiter(0.1, 1, now::get);
        assertThat(limiter.tryAcquire("k").allowed()).isTrue();
        assertThat(limiter.tryAcquire("k").retryAfterSeconds()).isEqualTo(10);
    }

    @Test
    void nonsenseLimitsAreRefused() {
        assertThatThrownBy(() -> new TokenBucketRateLimiter(0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TokenBucketRateLimiter(1, 0.5)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TokenBucketRateLimiter(Double.NaN, 1)).isInstanceOf(IllegalArgumentException.class);
    }
}
