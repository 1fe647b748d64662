package io.behaviorcep.sink;

import io.behaviorcep.output.Alert;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.output.OutputJson;
import io.behaviorcep.segment.SegmentUpdate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The output records as JSON, field by field and type by type (docs/contracts.md). */
class OutputJsonTest {
    static final long AT = Instant.parse("2026-03-02T10:15:00.250Z").toEpochMilli();

    static List<String> fieldNames(JsonNode n) {
        List<String> names = new ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }

    static ProfileSnapshot profile() {
        ProfileSnapshot p = new ProfileSnapshot();
        p.firstSeen = Instant.parse("2026-03-01T08:00:00Z").toEpochMilli();
        p.lastSeen = AT - 15 * 60_000;
        p.events24h = 3;
        p.events7d = 11;
        p.sessions24h = 1;
        p.sessions7d = 4;
        p.sessionsLifetime = 9;
        p.ordersLifetime = 2;
        p.revenueLifetime = 120.5;
        return p;
    }

    static Alert alert() {
        Alert a = new Alert();
        a.alertId = "818204a60d8ce1ae0e988419fc2425b5";
        a.patternId = "cart-abandonment";
        a.patternVersion = 1;
        a.alertType = "cart_abandoned";
        a.severity = "medium";
        a.userId = "user-1";
        a.detectedAt = AT;
        a.matchedJson = "{\"viewed\":[{\"message_id\":\"m1\",\"timestamp\":\"2026-03-02T09:55:00Z\"}],"
                + "\"added\":[{\"message_id\":\"m2\",\"timestamp\":\"2026-03-02T10:00:00.250Z\"}]}";
        a.payloadJson = "{\"price\":59.99,\"product_id\":\"p-1\",\"product_name\":null}";
        a.profile = profile();
        return a;
    }

    @Test
    void alertShape() {
        ObjectNode n = OutputJson.alert(alert());
        assertThat(fieldNames(n)).containsExactly(
                "alert_id", "pattern_id", "pattern_version", "alert_type", "severity", "user_id", "detected_at", "matched", "payload", "profile");
        assertThat(n.get("alert_id").textValue()).isEqualTo("818204a60d8ce1ae0e988419fc2425b5");
        assertThat(n.get("pattern_id").textValue()).isEqualTo("cart-abandonment");
        assertThat(n.get("pattern_version").getNodeType()).isEqualTo(JsonNodeType.NUMBER);
        assertThat(n.get("pattern_version").isInt()).isTrue();
        assertThat(n.get("pattern_version").intValue()).isEqualTo(1);
        assertThat(n.get("alert_type").textValue()).isEqualTo("cart_abandoned");
        assertThat(n.get("severity").textValue()).isEqualTo("medium");
        assertThat(n.get("user_id").textValue()).isEqualTo("user-1");
        assertThat(n.get("detected_at").textValue()).isEqualTo("2026-03-02T10:15:00.250Z");

        JsonNode matched = n.get("matched");
        assertThat(matched.isObject()).isTrue();
        assertThat(fieldNames(matched)).containsExactly("viewed", "added");
        assertThat(matched.get("added").isArray()).isTrue();
        assertThat(matched.get("added").get(0).get("message_id").textValue()).isEqualTo("m2");

        // the payload keeps its JSON types: numbers, strings, null
        JsonNode payload = n.get("payload");
        assertThat(payload.get("price").isDouble()).isTrue();
        assertThat(payload.get("price").doubleValue()).isEqualTo(59.99);
        assertThat(payload.get("product_id").isTextual()).isTrue();
        assertThat(payload.get("product_name").isNull()).isTrue();
    }

    @Test
    void profileShape() {
        JsonNode p = OutputJson.alert(alert()).get("profile");
        // the original fields keep their names and places; fields are only ever added after them
        assertThat(fieldNames(p)).startsWith("first_seen", "last_seen", "events_24h", "events_7d", "sessions_24h", "sessions_7d",
                "sessions_lifetime", "orders_lifetime", "revenue_lifetime", "sessions_last_week",
                "sessions_weekly_avg_prior_4", "decay_weeks");
        // every profile field conditions can read is in the JSON, under the same name
        assertThat(fieldNames(p)).containsExactlyElementsOf(io.behaviorcep.event.ProfileSnapshot.FIELDS);
        assertThat(p.get("first_seen").textValue()).isEqualTo("2026-03-01T08:00:00Z");
        assertThat(p.get("last_seen").textValue()).isEqualTo("2026-03-02T10:00:00.250Z");
        assertThat(p.get("events_24h").isInt()).isTrue();
        assertThat(p.get("events_24h").intValue()).isEqualTo(3);
        assertThat(p.get("events_7d").intValue()).isEqualTo(11);
        assertThat(p.get("sessions_24h").intValue()).isEqualTo(1);
        assertThat(p.get("sessions_7d").intValue()).isEqualTo(4);
        assertThat(p.get("sessions_lifetime").isIntegralNumber()).isTrue();
        assertThat(p.get("sessions_lifetime").longValue()).isEqualTo(9);
        assertThat(p.get("orders_lifetime").isIntegralNumber()).isTrue();
        assertThat(p.get("orders_lifetime").longValue()).isEqualTo(2);
        assertThat(p.get("revenue_lifetime").isFloatingPointNumber()).isTrue();
        assertThat(p.get("revenue_lifetime").doubleValue()).isEqualTo(120.5);
        // zero revenue is still a floating-point number (0.0), as in the contract's example
        ProfileSnapshot none = profile();
        none.revenueLifetime = 0;
        assertThat(OutputJson.profile(none).get("revenue_lifetime").isFloatingPointNumber()).isTrue();
    }

    @Test
    void alertWithoutProfileOrPartsHasEmptyObjects() {
        Alert a = alert();
        a.profile = null;
        a.matchedJson = null;
        a.payloadJson = "{}";
        ObjectNode n = OutputJson.alert(a);
        assertThat(n.get("profile").isObject()).isTrue();
        assertThat(n.get("profile").size()).isZero();
        assertThat(n.get("matched").isObject()).isTrue();
        assertThat(n.get("matched").size()).isZero();
        assertThat(n.get("payload").size()).isZero();
    }

    @Test
    void invalidInternalJsonIsAnError() {
        Alert a = alert();
        a.payloadJson = "{not json";
        assertThatThrownBy(() -> OutputJson.alert(a)).isInstanceOf(IllegalStateException.class).hasMessageContaining("{not json");
    }

    @Test
    void segmentEnterShape() {
        SegmentUpdate u = SegmentUpdate.of("user-1", "cart_abandoners", SegmentUpdate.ENTER, "cart-abandonment", AT, AT + 7 * 86_400_000L);
        ObjectNode n = OutputJson.segment(u);
        assertThat(fieldNames(n)).containsExactly("event_id", "user_id", "segment", "action", "reason", "at", "version", "expires_at");
        assertThat(n.get("event_id").textValue()).isEqualTo("user-1|cart_abandoners|" + (2 * AT + 1));
        assertThat(n.get("user_id").textValue()).isEqualTo("user-1");
        assertThat(n.get("segment").textValue()).isEqualTo("cart_abandoners");
        assertThat(n.get("action").textValue()).isEqualTo("enter");
        assertThat(n.get("reason").textValue()).isEqualTo("cart-abandonment");
        assertThat(n.get("at").textValue()).isEqualTo("2026-03-02T10:15:00.250Z");
        assertThat(n.get("version").isIntegralNumber()).isTrue();
        assertThat(n.get("version").canConvertToLong()).isTrue();
        assertThat(n.get("version").longValue()).isEqualTo(2 * AT + 1);
        assertThat(n.get("expires_at").textValue()).isEqualTo("2026-03-09T10:15:00.250Z");
    }

    @Test
    void segmentExitShape() {
        SegmentUpdate u = SegmentUpdate.of("user-1", "cart_abandoners", SegmentUpdate.EXIT, SegmentUpdate.REASON_TTL, AT, 0L);
        ObjectNode n = OutputJson.segment(u);
        assertThat(fieldNames(n)).containsExactly("event_id", "user_id", "segment", "action", "reason", "at", "version", "expires_at");
        assertThat(n.get("action").textValue()).isEqualTo("exit");
        assertThat(n.get("reason").textValue()).isEqualTo("ttl");
        assertThat(n.get("version").longValue()).isEqualTo(2 * AT);
        // present, and null
        assertThat(n.has("expires_at")).isTrue();
        assertThat(n.get("expires_at").isNull()).isTrue();
        assertThat(n.get("event_id").textValue()).isEqualTo("user-1|cart_abandoners|" + 2 * AT);
    }

    @Test
    void aThresholdSegmentEnterHasNoExpiry() {
        SegmentUpdate u = SegmentUpdate.of("user-1", "engaged", SegmentUpdate.ENTER, "engaged", AT, SegmentUpdate.NO_EXPIRY);
        ObjectNode n = OutputJson.segment(u);
        assertThat(fieldNames(n)).containsExactly("event_id", "user_id", "segment", "action", "reason", "at", "version", "expires_at");
        assertThat(n.get("reason").textValue()).isEqualTo("engaged");
        assertThat(n.get("expires_at").isNull()).isTrue();
        assertThat(n.get("version").longValue()).isEqualTo(2 * AT + 1);
    }

    @Test
    void newProfileFieldsHaveTheirJsonTypes() {
        ProfileSnapshot p = profile();
        p.currentSessionStart = AT - 60_000;
        p.avgSessionDurationS = 12.5;
        p.revenue30d = 42.25;
        p.activeDays30d = 3;
        p.daysSinceLastSeen = 2;
        JsonNode n = OutputJson.profile(p);
        assertThat(n.get("current_session_start").textValue()).isEqualTo("2026-03-02T10:14:00.250Z");
        assertThat(n.get("avg_session_duration_s").isFloatingPointNumber()).isTrue();
        assertThat(n.get("revenue_30d").doubleValue()).isEqualTo(42.25);
        assertThat(n.get("active_days_30d").isInt()).isTrue();
        assertThat(n.get("days_since_last_seen").isIntegralNumber()).isTrue();
        assertThat(n.get("days_since_last_seen").longValue()).isEqualTo(2);
        for (String f : ProfileSnapshot.FIELDS) {
            // what a condition reads is what the JSON says (instants: epoch ms in conditions, ISO in JSON)
            JsonNode v = n.get(f);
            if (v.isTextual()) assertThat(Instant.parse(v.textValue()).toEpochMilli()).as(f).isEqualTo(Long.parseLong(p.field(f)));
            else assertThat(v.asDouble()).as(f).isEqualTo(Double.parseDouble(p.field(f)));
        }
    }

    @Test
    void profileRecordsAsThePostgresSinkStoresThem() {
        ProfileSnapshot p = profile();
        p.asOf = AT;
        ObjectNode profile = OutputJson.profileRecord(io.behaviorcep.output.ProfileRecord.profile("user-1", p));
        assertThat(fieldNames(profile)).containsExactly("kind", "user_id", "version", "as_of", "profile");
        assertThat(profile.get("kind").textValue()).isEqualTo("profile");
        assertThat(profile.get("version").longValue()).isEqualTo(AT);
        assertThat(profile.get("as_of").textValue()).isEqualTo("2026-03-02T10:15:00.250Z");
        assertThat(profile.get("profile")).isEqualTo(OutputJson.profile(p));

        ObjectNode erasure = OutputJson.profileRecord(io.behaviorcep.output.ProfileRecord.erasure("user-1", AT));
        assertThat(fieldNames(erasure)).containsExactly("kind", "user_id", "version", "erased_at");
        assertThat(erasure.get("kind").textValue()).isEqualTo("erasure");
        assertThat(erasure.get("erased_at").textValue()).isEqualTo("2026-03-02T10:15:00.250Z");
    }

    @Test
    void lateTrackEventShape() {
        BehaviorEvent e = new BehaviorEvent();
        e.type = "track";
        e.event = "Product Added";
        e.messageId = "m-7";
        e.userId = "user-1";
        e.anonymousId = "anon-1";
        e.userKey = "user-1";
        e.timestamp = AT;
        e.properties.put("price", "59.99");
        e.properties.put("name", "Mug");
        e.properties.put("shipping.address.city", "Lyon");
        e.properties.put("shipping.method", "express");
        e.context.put("page.path", "/cart");
        e.context.put("ip", "10.0.0.1");
        e.profile = profile(); // not part of the late event

        ObjectNode n = OutputJson.event(e);
        assertThat(fieldNames(n)).containsExactly("type", "event", "messageId", "userId", "anonymousId", "timestamp", "properties", "context");
        assertThat(n.get("type").textValue()).isEqualTo("track");
        assertThat(n.get("event").textValue()).isEqualTo("Product Added");
        assertThat(n.get("messageId").textValue()).isEqualTo("m-7");
        assertThat(n.get("userId").textValue()).isEqualTo("user-1");
        assertThat(n.get("anonymousId").textValue()).isEqualTo("anon-1");
        assertThat(n.get("timestamp").textValue()).isEqualTo("2026-03-02T10:15:00.250Z");

        // flattened paths are nested again, sorted; values are the flattened text
        JsonNode props = n.get("properties");
        assertThat(fieldNames(props)).containsExactly("name", "price", "shipping");
        assertThat(props.get("price").isTextual()).isTrue();
        assertThat(props.get("price").textValue()).isEqualTo("59.99");
        assertThat(props.get("shipping").get("address").get("city").textValue()).isEqualTo("Lyon");
        assertThat(props.get("shipping").get("method").textValue()).isEqualTo("express");
        assertThat(n.get("context").get("page").get("path").textValue()).isEqualTo("/cart");
        assertThat(n.get("context").get("ip").textValue()).isEqualTo("10.0.0.1");
        assertThat(n.has("profile")).isFalse();
    }

    /** Issue 15: a property may be named anything; nesting never throws and loses no value. */
    @Test
    void anyPropertyNameRendersInALateEvent() throws IOException {
        BehaviorEvent e = new BehaviorEvent();
        e.type = "track";
        e.event = "x";
        e.messageId = "m";
        e.userKey = e.userId = "u";
        e.timestamp = AT;
        for (String name : List.of(".", "..", "a..b", ".a", "a.", "", "a", "a.b", "a.b.c", "b.", "b..")) e.properties.put(name, "v" + name);
        JsonNode props = OutputJson.MAPPER.readTree(OutputJson.bytes(OutputJson.event(e))).get("properties");

        // nested where the path is free; where a value already stands on the way (here "" and "a"),
        // the rest of the path stays one flat name beside it instead of replacing it
        assertThat(props.toString()).isEqualTo("{\"\":\"v\",\".\":\"v.\",\"..\":\"v..\",\".a\":\"v.a\",\"a\":\"va\","
                + "\"a.\":\"va.\",\"a..b\":\"va..b\",\"a.b\":\"va.b\",\"a.b.c\":\"va.b.c\",\"b\":{\"\":\"vb.\",\".\":\"vb..\"}}");

        e.properties.clear();
        for (String name : List.of(".", "a..b", ".a", "a.")) e.properties.put(name, "v" + name);
        assertThat(OutputJson.event(e).get("properties").toString())
                .isEqualTo("{\"\":{\"\":\"v.\",\"a\":\"v.a\"},\"a\":{\"\":\"va.\",\".b\":\"va..b\"}}");
    }

    @Test
    void latePageEventWithoutUserIdShape() {
        BehaviorEvent e = new BehaviorEvent();
        e.type = "page";
        e.event = "Checkout";
        e.messageId = "p-1";
        e.anonymousId = "anon-1";
        e.userKey = "anon-1";
        e.timestamp = AT;
        ObjectNode n = OutputJson.event(e);
        assertThat(fieldNames(n)).containsExactly("type", "name", "messageId", "anonymousId", "timestamp", "properties", "context");
        assertThat(n.get("name").textValue()).isEqualTo("Checkout");
        assertThat(n.get("properties").isObject()).isTrue();
        assertThat(n.get("properties").size()).isZero();

        e.event = null;
        assertThat(fieldNames(OutputJson.event(e))).doesNotContain("name", "event");
    }

    @Test
    void bytesAreUtf8OfTheCompactJson() {
        ObjectNode n = OutputJson.MAPPER.createObjectNode().put("name", "Größe 😀");
        assertThat(new String(OutputJson.bytes(n), StandardCharsets.UTF_8)).isEqualTo("{\"name\":\"Größe 😀\"}");
    }

    @Test
    void isoIsUtcWithMillisOnlyWhenThereAreAny() {
        assertThat(OutputJson.iso(Instant.parse("2026-03-02T10:15:00Z").toEpochMilli())).isEqualTo("2026-03-02T10:15:00Z");
        assertThat(OutputJson.iso(AT)).isEqualTo("2026-03-02T10:15:00.250Z");
        assertThat(Instant.parse(OutputJson.iso(AT)).toEpochMilli()).isEqualTo(AT);
    }

    // ------------------------------------------------------------------ PostgreSQL committables

    @Test
    void batchSerializerRoundTrip() throws IOException {
        PostgresSink.BatchSerializer s = new PostgresSink.BatchSerializer();
        assertThat(s.getVersion()).isEqualTo(1);
        List<String> docs = List.of(OutputJson.alert(alert()).toString(), "{\"name\":\"Größe 😀\"}", "", "x".repeat(70_000));
        for (PostgresSink.Kind kind : PostgresSink.Kind.values()) {
            byte[] bytes = s.serialize(new PostgresSink.Batch(kind, docs));
            PostgresSink.Batch back = s.deserialize(1, bytes);
            assertThat(back.kind).isEqualTo(kind);
            assertThat(back.documents).containsExactlyElementsOf(docs);
        }
        PostgresSink.Batch empty = s.deserialize(1, s.serialize(new PostgresSink.Batch(PostgresSink.Kind.SEGMENTS, List.of())));
        assertThat(empty.kind).isEqualTo(PostgresSink.Kind.SEGMENTS);
        assertThat(empty.documents).isEmpty();
    }

    @Test
    void batchSerializerLayoutIsKindCountThenLengthPrefixedUtf8() throws IOException {
        byte[] bytes = new PostgresSink.BatchSerializer().serialize(new PostgresSink.Batch(PostgresSink.Kind.SEGMENTS, List.of("é")));
        // kind ordinal, int count, int length, bytes: a stored checkpoint depends on this never changing
        assertThat(bytes).containsExactly(1, 0, 0, 0, 1, 0, 0, 0, 2, (byte) 0xC3, (byte) 0xA9);
    }

    @Test
    void batchSerializerRefusesAnUnknownVersion() {
        assertThatThrownBy(() -> new PostgresSink.BatchSerializer().deserialize(2, new byte[] {0, 0, 0, 0, 0}))
                .isInstanceOf(IOException.class).hasMessageContaining("version 2");
    }

    @Test
    void writerHandsOverOneBatchPerCheckpoint() throws Exception {
        PostgresSink.Writer<SegmentUpdate> w = new PostgresSink.Writer<>(PostgresSink.Kind.SEGMENTS, u -> OutputJson.segment(u).toString());
        assertThat(w.prepareCommit()).isEmpty();
        w.write(SegmentUpdate.of("u1", "s", SegmentUpdate.ENTER, "p", AT, AT + 1), null);
        w.write(SegmentUpdate.of("u1", "s", SegmentUpdate.EXIT, "p", AT + 1, 0), null);
        Collection<PostgresSink.Batch> first = w.prepareCommit();
        assertThat(first).hasSize(1);
        PostgresSink.Batch b = first.iterator().next();
        assertThat(b.kind).isEqualTo(PostgresSink.Kind.SEGMENTS);
        assertThat(b.documents).hasSize(2);
        assertThat(OutputJson.MAPPER.readTree(b.documents.get(0)).get("action").textValue()).isEqualTo("enter");
        assertThat(OutputJson.MAPPER.readTree(b.documents.get(1)).get("expires_at").isNull()).isTrue();
        // the next checkpoint starts empty
        assertThat(w.prepareCommit()).isEmpty();
    }
}
