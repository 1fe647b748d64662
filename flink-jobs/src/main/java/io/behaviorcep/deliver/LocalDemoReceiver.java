package io.behaviorcep.deliver;

import io.behaviorcep.config.JobConfig;
import io.behaviorcep.local.EmbeddedKafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The webhook receiver of {@code local}: the JDK's HttpServer on a free loopback port, printing each
 * alert that arrives and whether its signature checks out, so a new user sees a webhook arrive. It
 * also adds the deliver pipeline for it to the local job graph.
 */
public final class LocalDemoReceiver implements AutoCloseable {
    /** The signing secret of the demo destination; random per run unless set. */
    public static final String SECRET_ENV = "BEHAVIOR_CEP_LOCAL_WEBHOOK_SECRET";
    /** Print this many webhooks in full; then one summary line every {@link #SUMMARY_EVERY}. */
    static final int PRINT_FIRST = 5;
    static final int SUMMARY_EVERY = 100;

    private final HttpServer server;
    private final byte[] secret;
    private final AtomicLong received = new AtomicLong();
    private final ObjectMapper json = new ObjectMapper();

    private LocalDemoReceiver(byte[] secret) throws IOException {
        this.secret = secret;
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/webhook", this::handle);
        server.start();
    }

    /**
     * Starts the receiver, writes a destinations.yaml for it into {@code workDir}, creates the
     * deliveries and delivery DLQ topics, and adds the deliver pipeline to {@code env}.
     */
    public static LocalDemoReceiver addTo(StreamExecutionEnvironment env, JobConfig config, EmbeddedKafka kafka, Path workDir) throws IOException {
        if (HeaderTemplates.fromEnvironment(SECRET_ENV) == null) System.setProperty(SECRET_ENV, UUID.randomUUID().toString());
        LocalDemoReceiver receiver = new LocalDemoReceiver(HeaderTemplates.fromEnvironment(SECRET_ENV).getBytes(StandardCharsets.UTF_8));
        Path file = workDir.resolve("destinations.yaml");
        Files.writeString(file, """
                # written by `local`: one destination, the demo receiver in this process
                destinations:
                  - name: local-demo
                    url: %s
                    signing_secret_env: %s
                    timeout: 5s
                    retry: {max_attempts: 5, max_total_time: 1m, initial_backoff: 500ms, max_backoff: 10s}
                """.formatted(receiver.url(), SECRET_ENV));
        kafka.createTopic(DeliverJob.DEFAULT_DELIVERIES_TOPIC, 1, false);
        kafka.createTopic(DeliverJob.DEFAULT_DLQ_TOPIC, 1, false);
        DeliverJob.build(env, config, new DeliverJob.Settings(file, DeliverJob.DEFAULT_DELIVERIES_TOPIC, DeliverJob.DEFAULT_DLQ_TOPIC),
                DestinationsFile.read(file).orThrow());
        return receiver;
    }

    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/webhook";
    }

    public long received() {
        return received.get();
    }

    private void handle(HttpExchange x) throws IOException {
        byte[] body = x.getRequestBody().readAllBytes();
        boolean signed = WebhookSignature.verify(secret, x.getRequestHeaders().getFirst(WebhookSignature.HEADER), body,
                Instant.now().getEpochSecond(), 300);
        long n = received.incrementAndGet();
        if (n <= PRINT_FIRST) {
            JsonNode a = json.readTree(body);
            System.out.printf("  webhook received #%d: POST %s  %s (%s) for %s  Idempotency-Key %s  signature %s%n", n, x.getRequestURI(),
                    a.path("alert_type").asText(), a.path("severity").asText(), a.path("user_id").asText(),
                    x.getRequestHeaders().getFirst(WebhookSender.IDEMPOTENCY_KEY), signed ? "valid" : "INVALID");
            if (n == PRINT_FIRST) System.out.printf("  (further webhooks are counted, a line every %d)%n", SUMMARY_EVERY);
        } else if (n % SUMMARY_EVERY == 0) {
            System.out.printf("  webhooks received: %d%n", n);
        }
        x.sendResponseHeaders(signed ? 200 : 401, -1);
        x.close();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
