package io.behaviorcep.deliver;

import io.behaviorcep.deliver.DeliveryOutcome.Status;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link WebhookSender} against a real HTTP server in this JVM: what it sends, and how each answer ends. */
class WebhookSenderTest {
    private static final byte[] SECRET = "s3cret".getBytes(StandardCharsets.UTF_8);
    private static final RetryPolicy QUICK = new RetryPolicy(3, Duration.ofSeconds(10), Duration.ofMillis(20), Duration.ofMillis(40));
    private static HttpServer server;
    private static ScheduledExecutorService scheduler;
    private static final List<Headers> seen = new CopyOnWriteArrayList<>();
    private static final List<Long> arrivals = new CopyOnWriteArrayList<>();
    private static final AtomicInteger tooMany = new AtomicInteger();

    @BeforeAll
    static void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/ok", x -> {
            x.getRequestBody().readAllBytes();
            seen.add(x.getRequestHeaders());
            x.sendResponseHeaders(204, -1);
            x.close();
        });
        server.createContext("/bad-request", x -> {
            x.getRequestBody().readAllBytes();
            x.sendResponseHeaders(400, -1);
            x.close();
        });
        server.createContext("/busy", x -> {
            x.getRequestBody().readAllBytes();
            x.sendResponseHeaders(503, -1);
            x.close();
        });
        // 429 once with an HTTP-date Retry-After two seconds ahead (dates have whole seconds: 1 to 2 s of wait), then 200
        server.createContext("/throttled", x -> {
            x.getRequestBody().readAllBytes();
            arrivals.add(System.nanoTime());
            if (tooMany.getAndIncrement() == 0) {
                x.getResponseHeaders().add("Retry-After",
                        DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC).plusSeconds(2)));
                x.sendResponseHeaders(429, -1);
            } else {
                x.sendResponseHeaders(200, -1);
            }
            x.close();
        });
        server.start();
        scheduler = Executors.newSingleThreadScheduledExecutor();
    }

    @AfterAll
    static void stop() {
        server.stop(0);
        scheduler.shutdownNow();
    }

    private static String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    private static DeliveryOutcome deliver(String url, RetryPolicy retry) throws Exception {
        Destination d = new Destination("test", url, Set.of(), Set.of(), Map.of("Authorization", "${T}"), "S", Duration.ofSeconds(2), 0, 10, retry);
        WebhookSender sender = new WebhookSender(d, Map.of("Authorization", "Bearer abc"), SECRET, WebhookSender.newClient(Duration.ofSeconds(2)),
                scheduler, 0);
        byte[] body = "{\"alert_id\":\"a-1\"}".getBytes(StandardCharsets.UTF_8);
        return sender.deliver(AlertToDeliver.of(null, body, "alerts", 0, 7)).get(30, TimeUnit.SECONDS);
    }

    @Test
    void aDeliveredRequestCarriesKeySignatureAndTheDestinationsHeaders() throws Exception {
        DeliveryOutcome o = deliver(url("/ok"), QUICK);
        assertThat(o.status()).isEqualTo(Status.DELIVERED);
        assertThat(o.attempts()).isEqualTo(1);
        assertThat(o.httpStatus()).isEqualTo(204);
        Headers h = seen.get(seen.size() - 1);
        assertThat(h.getFirst("Idempotency-Key")).isEqualTo("a-1");
        assertThat(h.getFirst("Authorization")).isEqualTo("Bearer abc");
        assertThat(h.getFirst("Content-Type")).isEqualTo("application/json");
        assertThat(h.getFirst("Behavior-Cep-Attempt")).isEqualTo("1");
        assertThat(WebhookSignature.verify(SECRET, h.getFirst(WebhookSignature.HEADER), "{\"alert_id\":\"a-1\"}".getBytes(StandardCharsets.UTF_8),
                System.currentTimeMillis() / 1000, 60)).isTrue();
    }

    @Test
    void a4xxFailsAtOnceAndA5xxIsDeadLetteredAfterTheAttemptsBudget() throws Exception {
        DeliveryOutcome rejected = deliver(url("/bad-request"), QUICK);
        assertThat(rejected.status()).isEqualTo(Status.FAILED);
        assertThat(rejected.attempts()).isEqualTo(1);
        assertThat(rejected.httpStatus()).isEqualTo(400);
        DeliveryOutcome busy = deliver(url("/busy"), QUICK);
        assertThat(busy.status()).isEqualTo(Status.DEAD_LETTERED);
        assertThat(busy.attempts()).isEqualTo(3);
        assertThat(busy.httpStatus()).isEqualTo(503);
        assertThat(busy.error()).isEqualTo("HTTP 503; 3 attempts made");
    }

    @Test
    void aRefusedConnectionIsRetriedThenDeadLettered() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        DeliveryOutcome o = deliver("http://127.0.0.1:" + closedPort + "/x", QUICK);
        assertThat(o.status()).isEqualTo(Status.DEAD_LETTERED);
        assertThat(o.attempts()).isEqualTo(3);
        assertThat(o.httpStatus()).isZero();
        assertThat(o.error()).startsWith("connection");
    }

    @Test
    void retryAfterAsAnHttpDateIsHonoured() throws Exception {
        tooMany.set(0);
        arrivals.clear();
        DeliveryOutcome o = deliver(url("/throttled"), QUICK);
        assertThat(o.status()).isEqualTo(Status.DELIVERED);
        assertThat(o.attempts()).isEqualTo(2);
        long waitedMillis = TimeUnit.NANOSECONDS.toMillis(arrivals.get(1) - arrivals.get(0));
        // not the 20 ms backoff: the receiver's date, whole seconds, so between 1 and about 2 s
        assertThat(waitedMillis).isBetween(900L, 3_000L);
    }

    @Test
    void aRetryAfterBeyondTheBudgetDeadLettersAtOnce() throws Exception {
        tooMany.set(0);
        RetryPolicy shortBudget = new RetryPolicy(5, Duration.ofMillis(500), Duration.ofMillis(20), Duration.ofMillis(40));
        DeliveryOutcome o = deliver(url("/throttled"), shortBudget);
        assertThat(o.status()).isEqualTo(Status.DEAD_LETTERED);
        assertThat(o.attempts()).isEqualTo(1);
        assertThat(o.httpStatus()).isEqualTo(429);
        assertThat(o.error()).contains("beyond the retry budget");
    }
}
