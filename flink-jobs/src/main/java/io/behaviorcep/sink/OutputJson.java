package io.behaviorcep.sink;

import io.behaviorcep.action.Alert;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.profile.ProfileSnapshot;
import io.behaviorcep.segment.SegmentUpdate;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;

/**
 * The one place where output records become JSON. docs/contracts.md documents these shapes and
 * ContractTest holds them to it.
 */
public final class OutputJson {
    public static final ObjectMapper MAPPER = new ObjectMapper();

    private OutputJson() {}

    public static String iso(long epochMillis) {
        return Instant.ofEpochMilli(epochMillis).toString();
    }

    public static ObjectNode alert(Alert a) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("alert_id", a.alertId);
        n.put("pattern_id", a.patternId);
        n.put("pattern_version", a.patternVersion);
        n.put("alert_type", a.alertType);
        n.put("severity", a.severity);
        n.put("user_id", a.userId);
        n.put("detected_at", iso(a.detectedAt));
        n.set("matched", parse(a.matchedJson));
        n.set("payload", parse(a.payloadJson));
        n.set("profile", profile(a.profile));
        return n;
    }

    public static ObjectNode profile(ProfileSnapshot p) {
        ObjectNode n = MAPPER.createObjectNode();
        if (p == null) return n;
        n.put("first_seen", iso(p.firstSeen));
        n.put("last_seen", iso(p.lastSeen));
        n.put("events_24h", p.events24h);
        n.put("events_7d", p.events7d);
        n.put("sessions_24h", p.sessions24h);
        n.put("sessions_7d", p.sessions7d);
        n.put("sessions_lifetime", p.sessionsLifetime);
        n.put("orders_lifetime", p.ordersLifetime);
        n.put("revenue_lifetime", p.revenueLifetime);
        n.put("sessions_last_week", p.sessionsLastWeek);
        n.put("sessions_weekly_avg_prior_4", p.sessionsWeeklyAvgPrior4);
        n.put("decay_weeks", p.decayWeeks);
        return n;
    }

    public static ObjectNode segment(SegmentUpdate u) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("event_id", u.eventId);
        n.put("user_id", u.userId);
        n.put("segment", u.segment);
        n.put("action", u.action);
        n.put("reason", u.reason);
        n.put("at", iso(u.at));
        n.put("version", u.version);
        if (SegmentUpdate.ENTER.equals(u.action)) n.put("expires_at", iso(u.expiresAt));
        else n.putNull("expires_at");
        return n;
    }

    /** A parsed event back as Segment JSON (for the late-events topic); flattened fields are nested again. */
    public static ObjectNode event(BehaviorEvent e) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("type", e.type);
        if (e.event != null) n.put("track".equals(e.type) ? "event" : "name", e.event);
        n.put("messageId", e.messageId);
        if (e.userId != null) n.put("userId", e.userId);
        if (e.anonymousId != null) n.put("anonymousId", e.anonymousId);
        n.put("timestamp", iso(e.timestamp));
        n.set("properties", nest(e.properties));
        n.set("context", nest(e.context));
        return n;
    }

    private static ObjectNode nest(Map<String, String> flat) {
        ObjectNode root = MAPPER.createObjectNode();
        if (flat == null) return root;
        flat.keySet().stream().sorted().forEach(path -> {
            String[] parts = path.split("\\.");
            ObjectNode cur = root;
            for (int i = 0; i < parts.length - 1; i++) {
                JsonNode next = cur.get(parts[i]);
                if (!(next instanceof ObjectNode)) {
                    next = MAPPER.createObjectNode();
                    cur.set(parts[i], next);
                }
                cur = (ObjectNode) next;
            }
            cur.put(parts[parts.length - 1], flat.get(path));
        });
        return root;
    }

    public static byte[] bytes(JsonNode n) {
        return n.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static JsonNode parse(String json) {
        try {
            return MAPPER.readTree(json == null ? "{}" : json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("internal JSON is invalid: " + json, e);
        }
    }
}
