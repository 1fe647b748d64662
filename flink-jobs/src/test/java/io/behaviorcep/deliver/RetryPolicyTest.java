package io.behaviorcep.deliver;

import io.behaviorcep.deliver.RetryPolicy.Verdict;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

class RetryPolicyTest {
    private final RetryPolicy policy = new RetryPolicy(5, Duration.ofSeconds(60), Duration.ofMillis(200), Duration.ofSeconds(5));

    @Test
    void successRetryAndRejectionByStatus() {
        assertThat(RetryPolicy.verdict(200)).isEqualTo(Verdict.DELIVERED);
        assertThat(RetryPolicy.verdict(204)).isEqualTo(Verdict.DELIVERED);
        assertThat(RetryPolicy.verdict(500)).isEqualTo(Verdict.RETRY);
        assertThat(RetryPolicy.verdict(503)).isEqualTo(Verdict.RETRY);
        assertThat(RetryPolicy.verdict(429)).isEqualTo(Verdict.RETRY);
        assertThat(RetryPolicy.verdict(400)).isEqualTo(Verdict.REJECTED);
        assertThat(RetryPolicy.verdict(401)).isEqualTo(Verdict.REJECTED);
        assertThat(RetryPolicy.verdict(404)).isEqualTo(Verdict.REJECTED);
        assertThat(RetryPolicy.verdict(422)).isEqualTo(Verdict.REJECTED);
        assertThat(RetryPolicy.verdict(301)).isEqualTo(Verdict.REJECTED);
        assertThat(RetryPolicy.verdictOfError(new HttpTimeoutException("request timed out"))).isEqualTo(Verdict.RETRY);
        assertThat(RetryPolicy.verdictOfError(new IOException("closed"))).isEqualTo(Verdict.RETRY);
    }

    @Test
    void backoffDoublesUpToTheCapWithJitterInTheUpperHalf() {
        assertThat(policy.backoff(1, 0.0)).isEqualTo(Duration.ofMillis(100));
        assertThat(policy.backoff(1, 0.999999)).isEqualTo(Duration.ofMillis(199));
        assertThat(policy.backoff(2, 0.0)).isEqualTo(Duration.ofMillis(200));
        assertThat(policy.backoff(3, 0.0)).isEqualTo(Duration.ofMillis(400));
        assertThat(policy.backoff(3, 0.5)).isEqualTo(Duration.ofMillis(600));
        // 200ms * 2^9 is past 5 s: capped, no overflow for a large attempt count either
        assertThat(policy.backoff(10, 0.0)).isEqualTo(Duration.ofMillis(2500));
        assertThat(policy.backoff(10_000, 0.999999)).isBetween(Duration.ofMillis(2500), Duration.ofMillis(5000));
    }

    @Test
    void attemptsBudgetEndsRetries() {
        assertThat(policy.nextDelay(4, Duration.ofSeconds(1), Optional.empty(), 0.0)).isPresent();
        assertThat(policy.nextDelay(5, Duration.ofSeconds(1), Optional.empty(), 0.0)).isEmpty();
    }

    @Test
    void totalTimeBudgetEndsRetriesWhenTheNextAttemptWouldStartPastIt() {
        assertThat(policy.nextDelay(1, Duration.ofMillis(59_850), Optional.empty(), 0.0)).contains(Duration.ofMillis(100));
        assertThat(policy.nextDelay(1, Duration.ofMillis(59_950), Optional.empty(), 0.0)).isEmpty();
    }

    @Test
    void retryAfterReplacesTheBackoffAndOneBeyondTheBudgetGivesUpAtOnce() {
        assertThat(policy.nextDelay(1, Duration.ZERO, Optional.of(Duration.ofSeconds(7)), 0.0)).contains(Duration.ofSeconds(7));
        assertThat(policy.nextDelay(1, Duration.ofSeconds(10), Optional.of(Duration.ofSeconds(3600)), 0.0)).isEmpty();
        assertThat(policy.nextDelay(1, Duration.ZERO, Optional.of(Duration.ZERO), 0.9)).contains(Duration.ZERO);
    }

    @Test
    void retryAfterInSecondsOrAsAnHttpDate() {
        Instant now = Instant.parse("2026-12-05T03:00:00Z");
        assertThat(RetryAfter.parse("120", now)).contains(Duration.ofSeconds(120));
        assertThat(RetryAfter.parse(" 0 ", now)).contains(Duration.ZERO);
        assertThat(RetryAfter.parse("Sat, 05 Dec 2026 03:00:30 GMT", now)).contains(Duration.ofSeconds(30));
        assertThat(RetryAfter.parse("Sat, 05 Dec 2026 02:00:00 GMT", now)).contains(Duration.ZERO); // already past
        assertThat(RetryAfter.parse("99999999999999999999", now).orElseThrow()).isGreaterThan(Duration.ofDays(365));
        assertThat(RetryAfter.parse(null, now)).isEmpty();
        assertThat(RetryAfter.parse("", now)).isEmpty();
        assertThat(RetryAfter.parse("-5", now)).isEmpty();
        assertThat(RetryAfter.parse("soon", now)).isEmpty();
        assertThat(RetryAfter.parse("1.5", now)).isEmpty();
    }
}
