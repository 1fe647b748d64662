package io.behaviorcep.deliver;

import io.behaviorcep.deliver.DeliveryOutcome.Status;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Delivers alerts to one destination with {@link HttpClient}, asynchronously: signs each request,
 * spaces requests by the rate limit, and retries by the {@link RetryPolicy}, until an outcome. Holds no
 * Flink types, so the benchmark drives it directly; {@link WebhookDeliveryFunction} is the thin
 * Flink wrapper. Thread-safe.
 */
public final class WebhookSender {
    public static final String IDEMPOTENCY_KEY = "Idempotency-Key";
    public static final String ATTEMPT_HEADER = "Behavior-Cep-Attempt";
    public static final String DESTINATION_HEADER = "Behavior-Cep-Destination";
    /** Errors kept in outcomes and DLQ headers are cut to this many characters. */
    static final int MAX_ERROR_CHARS = 500;

    private final Destination destination;
    private final URI uri;
    private final Map<String, String> headers;
    private final byte[] signingSecret;
    private final HttpClient client;
    private final ScheduledExecutorService scheduler;
    private final RateLimiter rateLimiter;

    /**
     * @param headers       the destination's headers with environment references resolved
     * @param scheduler     runs the waits (rate limit, backoff); the requests run on the client's executor
     * @param ratePerSecond this sender's share of the destination's rate limit
     */
    public WebhookSender(Destination destination, Map<String, String> headers, byte[] signingSecret, HttpClient client,
                         ScheduledExecutorService scheduler, double ratePerSecond) {
        this.destination = destination;
        this.uri = URI.create(destination.url());
        this.headers = headers;
        this.signingSecret = signingSecret.clone();
        this.client = client;
        this.scheduler = scheduler;
        this.rateLimiter = new RateLimiter(ratePerSecond, System.nanoTime());
    }

    /** A client for webhooks: HTTP/1.1 (no h2c upgrade dance with plain receivers), redirects not followed. */
    public static HttpClient newClient(Duration connectTimeout) {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(connectTimeout).build();
    }

    /** Never completes exceptionally: every ending is an outcome. */
    public CompletableFuture<DeliveryOutcome> deliver(AlertToDeliver alert) {
        Delivery d = new Delivery(alert);
        d.next();
        return d.result;
    }

    /** One alert's attempts. */
    private final class Delivery {
        final AlertToDeliver alert;
        final CompletableFuture<DeliveryOutcome> result = new CompletableFuture<>();
        final long firstAttemptNanos = System.nanoTime();
        final long firstAttemptAtMs = System.currentTimeMillis();
        int attempts;

        Delivery(AlertToDeliver alert) {
            this.alert = alert;
        }

        /** The next attempt, once the rate limit has a slot for it. */
        void next() {
            long wait;
            synchronized (rateLimiter) {
                wait = rateLimiter.reserve(System.nanoTime());
            }
            if (wait == 0) send();
            else later(wait, this::send);
        }

        void send() {
            attempts++;
            try {
                HttpRequest.Builder b = HttpRequest.newBuilder(uri)
                        .timeout(destination.timeout())
                        .header("Content-Type", "application/json")
                        .header(IDEMPOTENCY_KEY, alert.alertId())
                        .header(WebhookSignature.HEADER, WebhookSignature.header(signingSecret, Instant.now().getEpochSecond(), alert.value()))
                        .header(ATTEMPT_HEADER, Integer.toString(attempts))
                        .header(DESTINATION_HEADER, destination.name())
                        .POST(HttpRequest.BodyPublishers.ofByteArray(alert.value()));
                headers.forEach(b::header);
                client.sendAsync(b.build(), HttpResponse.BodyHandlers.discarding()).whenComplete(this::answered);
            } catch (RuntimeException e) { // e.g. a header value the client refuses: no request can succeed
                finish(Status.FAILED, 0, describe(e));
            }
        }

        void answered(HttpResponse<Void> response, Throwable error) {
            if (error != null) {
                retryOrGiveUp(0, describe(error), Optional.empty());
                return;
            }
            int status = response.statusCode();
            switch (RetryPolicy.verdict(status)) {
                case DELIVERED -> finish(Status.DELIVERED, status, null);
                case REJECTED -> finish(Status.FAILED, status, "HTTP " + status + ", not retried");
                case RETRY -> retryOrGiveUp(status, "HTTP " + status,
                        RetryAfter.parse(response.headers().firstValue("Retry-After").orElse(null), Instant.now()));
            }
        }

        void retryOrGiveUp(int status, String error, Optional<Duration> retryAfter) {
            Duration elapsed = Duration.ofNanos(System.nanoTime() - firstAttemptNanos);
            Optional<Duration> wait = destination.retry().nextDelay(attempts, elapsed, retryAfter, ThreadLocalRandom.current().nextDouble());
            if (wait.isEmpty()) {
                String budget = attempts >= destination.retry().maxAttempts() ? attempts + " attempts made"
                        : retryAfter.isPresent() ? "Retry-After " + retryAfter.get().toSeconds() + "s is beyond the retry budget"
                        : "max_total_time " + destination.retry().maxTotalTime().toSeconds() + "s spent";
                finish(Status.DEAD_LETTERED, status, error + "; " + budget);
            } else {
                later(wait.get().toNanos(), this::next);
            }
        }

        void later(long nanos, Runnable r) {
            try {
                scheduler.schedule(r, nanos, TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) {
                // shutting down: the operator is closing and its in-flight alerts are in the checkpoint, to be tried again on restore
                result.cancel(false);
            }
        }

        void finish(Status status, int httpStatus, String error) {
            long now = System.nanoTime();
            result.complete(new DeliveryOutcome(alert.alertId(), destination.name(), status, attempts,
                    TimeUnit.NANOSECONDS.toMillis(now - firstAttemptNanos), httpStatus, error, firstAttemptAtMs, System.currentTimeMillis(), alert));
        }
    }

    /** A short, secret-free description: the kind of failure and the JDK's message. */
    static String describe(Throwable e) {
        Throwable t = e;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) t = t.getCause();
        String kind = t instanceof HttpTimeoutException ? "timeout" : t instanceof ConnectException ? "connection refused"
                : t instanceof IOException ? "connection error" : t.getClass().getSimpleName();
        String text = t.getMessage() == null ? kind : kind + ": " + t.getMessage();
        return text.length() <= MAX_ERROR_CHARS ? text : text.substring(0, MAX_ERROR_CHARS - 1) + "…";
    }
}
