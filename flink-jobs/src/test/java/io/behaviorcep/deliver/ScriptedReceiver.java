package io.behaviorcep.deliver;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A webhook receiver in the test JVM (the JDK's HttpServer) that honours idempotency keys, as a
 * well-behaved receiver does: the first request with a key is processed, any later one with the same
 * key is answered 200 and counted as a duplicate, not processed again. What happens to a request is
 * up to the {@link Script} of its path, given the key and how often the key has arrived.
 */
final class ScriptedReceiver implements AutoCloseable {
    /** What the receiver does with one request. */
    enum Reply {
        OK,
        /** 500 without processing */
        SERVER_ERROR,
        /** 503 without processing */
        UNAVAILABLE,
        /** 429 with Retry-After: 1, without processing */
        TOO_MANY_REQUESTS,
        /** 422 without processing */
        UNPROCESSABLE,
        /** processes the alert, then answers 200 after the endpoint's hang time (past the client's timeout, the client sees a timeout) */
        PROCESS_THEN_HANG,
        /** processes the alert, then closes the connection without any response */
        PROCESS_THEN_DROP
    }

    interface Script {
        /** @param arrival 1 for the first request with this key on this path, 2 for the second, ... */
        Reply reply(String idempotencyKey, int arrival);
    }

    /** One path's record of what arrived. */
    static final class Endpoint {
        final Script script;
        final long hangMillis;
        final Map<String, AtomicInteger> arrivals = new ConcurrentHashMap<>();
        /** keys processed (once each): what a receiver that honours idempotency keys has acted on */
        final Set<String> honoured = ConcurrentHashMap.newKeySet();
        /** every request that reached processing, duplicates included: what a receiver that ignored keys would have acted on */
        final AtomicInteger processedIgnoringKeys = new AtomicInteger();
        final AtomicInteger duplicates = new AtomicInteger();
        final AtomicInteger requests = new AtomicInteger();
        final List<String> badRequests = new CopyOnWriteArrayList<>();

        Endpoint(Script script, long hangMillis) {
            this.script = script;
            this.hangMillis = hangMillis;
        }
    }

    private final HttpServer server;
    private final byte[] secret;
    private final String expectedAuthorization;
    final Map<String, Endpoint> endpoints = new ConcurrentHashMap<>();

    ScriptedReceiver(byte[] secret, String expectedAuthorization) throws IOException {
        this.secret = secret;
        this.expectedAuthorization = expectedAuthorization;
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "scripted-receiver");
            t.setDaemon(true);
            return t;
        }));
        server.start();
    }

    Endpoint endpoint(String path, Script script, long hangMillis) {
        Endpoint e = new Endpoint(script, hangMillis);
        endpoints.put(path, e);
        server.createContext(path, exchange -> handle(e, exchange));
        return e;
    }

    String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    private void handle(Endpoint e, HttpExchange x) throws IOException {
        e.requests.incrementAndGet();
        byte[] body = x.getRequestBody().readAllBytes(); // the whole body arrives before any reply
        String key = x.getRequestHeaders().getFirst("Idempotency-Key");
        String signature = x.getRequestHeaders().getFirst(WebhookSignature.HEADER);
        if (key == null || !WebhookSignature.verify(secret, signature, body, Instant.now().getEpochSecond(), 300)
                || !expectedAuthorization.equals(x.getRequestHeaders().getFirst("Authorization"))
                || !"POST".equals(x.getRequestMethod()) || !new String(body, StandardCharsets.UTF_8).contains("\"alert_id\":\"" + key + "\"")) {
            e.badRequests.add(key + " " + signature);
            respond(x, 400);
            return;
        }
        int arrival = e.arrivals.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
        Reply reply = e.script.reply(key, arrival);
        switch (reply) {
            case SERVER_ERROR -> respond(x, 500);
            case UNAVAILABLE -> respond(x, 503);
            case UNPROCESSABLE -> respond(x, 422);
            case TOO_MANY_REQUESTS -> {
                x.getResponseHeaders().add("Retry-After", "1");
                respond(x, 429);
            }
            case OK -> {
                process(e, key);
                respond(x, 200);
            }
            case PROCESS_THEN_HANG -> {
                process(e, key);
                try {
                    Thread.sleep(e.hangMillis);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                }
                try {
                    respond(x, 200); // the client has given up by now
                } catch (IOException gone) {
                    // expected: the client closed the connection
                }
            }
            case PROCESS_THEN_DROP -> {
                process(e, key);
                x.close(); // no response was sent: the JDK server closes the connection
            }
        }
    }

    private static void process(Endpoint e, String key) {
        e.processedIgnoringKeys.incrementAndGet();
        if (!e.honoured.add(key)) e.duplicates.incrementAndGet();
    }

    private static void respond(HttpExchange x, int status) throws IOException {
        x.sendResponseHeaders(status, -1);
        x.close();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
