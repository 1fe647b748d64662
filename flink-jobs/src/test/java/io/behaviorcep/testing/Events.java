package io.behaviorcep.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/** Builds Segment-spec JSON events for tests, with readable times ("t0 plus 15 minutes"). */
public final class Events {
    private static final ObjectMapper M = new ObjectMapper();
    private static final AtomicLong SEQ = new AtomicLong();
    public static final Instant T0 = Instant.parse("2026-03-02T10:00:00Z");

    private Events() {}

    public static Instant at(Duration offset) {
        return T0.plus(offset);
    }

    public static Instant min(long minutes) {
        return T0.plus(Duration.ofMinutes(minutes));
    }

    public static ObjectNode track(String user, String event, Instant ts) {
        ObjectNode n = M.createObjectNode();
        n.put("type", "track");
        n.put("event", event);
        n.put("messageId", "m-" + SEQ.incrementAndGet());
        n.put("userId", user);
        n.put("timestamp", ts.toString());
        n.putObject("properties");
        n.putObject("context");
        return n;
    }

    public static ObjectNode viewed(String user, Instant ts) {
        ObjectNode n = track(user, "Product Viewed", ts);
        ((ObjectNode) n.get("properties")).put("product_id", "p-1").put("name", "Shoe").put("price", 59.9);
        return n;
    }

    public static ObjectNode added(String user, Instant ts) {
        ObjectNode n = track(user, "Product Added", ts);
        ((ObjectNode) n.get("properties")).put("product_id", "p-1").put("name", "Shoe").put("price", 59.9);
        return n;
    }

    public static ObjectNode ordered(String user, Instant ts) {
        ObjectNode n = track(user, "Order Completed", ts);
        ((ObjectNode) n.get("properties")).put("order_id", "o-" + SEQ.get()).put("revenue", 59.9);
        return n;
    }

    public static ObjectNode page(String user, Instant ts) {
        ObjectNode n = M.createObjectNode();
        n.put("type", "page");
        n.put("name", "Home");
        n.put("messageId", "m-" + SEQ.incrementAndGet());
        n.put("userId", user);
        n.put("timestamp", ts.toString());
        n.putObject("properties").put("path", "/");
        return n;
    }

    public static byte[] bytes(ObjectNode n) {
        return n.toString().getBytes(StandardCharsets.UTF_8);
    }

    public static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
