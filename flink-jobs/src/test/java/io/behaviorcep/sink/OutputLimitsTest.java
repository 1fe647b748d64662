package io.behaviorcep.sink;

import io.behaviorcep.KafkaIO;
import io.behaviorcep.output.Alert;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.output.OutputJson;
import io.behaviorcep.segment.SegmentUpdate;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.record.AbstractRecords;
import org.apache.kafka.common.record.CompressionType;
import org.apache.kafka.common.record.RecordBatch;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 15: what PostgreSQL or Kafka would refuse is never written. {@link OutputJson} is where every
 * output becomes text or bytes, and where this is decided (docs/contracts.md, "What the outputs never hold").
 */
class OutputLimitsTest {
    /** A default producer's {@code max.request.size}: the producer refuses a larger record (RecordTooLargeException). */
    static final int DEFAULT_MAX_REQUEST_SIZE = 1024 * 1024;

    /** The size the producer checks against {@code max.request.size}, headers included. */
    static int producerSize(ProducerRecord<byte[], byte[]> r) {
        return AbstractRecords.estimateSizeInBytesUpperBound(RecordBatch.CURRENT_MAGIC_VALUE, CompressionType.NONE,
                r.key(), r.value(), r.headers().toArray());
    }

    static BehaviorEvent event(String user) {
        BehaviorEvent e = new BehaviorEvent();
        e.type = "track";
        e.event = "Product Viewed";
        e.messageId = "m-1";
        e.userId = e.userKey = user;
        e.timestamp = OutputJsonTest.AT;
        return e;
    }

    static boolean clean(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == 0) return false;
            if (Character.isHighSurrogate(c) && (i + 1 == s.length() || !Character.isLowSurrogate(s.charAt(++i)))) return false;
            if (Character.isLowSurrogate(c)) return false;
        }
        return true;
    }

    @Test
    void nulAndLoneSurrogatesBecomeTheReplacementCharacterInEveryOutput() throws Exception {
        String bad = "a\u0000b\ud800c\udc00d😀";
        String cleaned = "a\ufffdb\ufffdc\ufffdd😀";

        Alert a = OutputJsonTest.alert();
        a.userId = "user\u0000" + bad;
        a.payloadJson = "{\"name\":\"" + OutputJson.appendEscaped(new StringBuilder(), bad) + "\"}";
        BehaviorEvent e = event(bad);
        e.properties.put("k\u0000" + bad, bad);
        SegmentUpdate u = SegmentUpdate.of(bad, "s", SegmentUpdate.ENTER, "p", OutputJsonTest.AT, OutputJsonTest.AT + 1);

        List<ProducerRecord<byte[], byte[]>> records = List.of(KafkaIO.alertRecord("t", a), KafkaIO.lateEventRecord("t", e), KafkaIO.segmentRecord("t", u));
        List<String> documents = List.of(OutputJson.text(OutputJson.alert(a)), OutputJson.text(OutputJson.event(e)),
                OutputJson.text(OutputJson.segment(u)), OutputJson.text(OutputJson.profileRecord(io.behaviorcep.output.ProfileRecord.erasure(bad, 1))));
        for (ProducerRecord<byte[], byte[]> r : records) {
            String value = new String(r.value(), StandardCharsets.UTF_8);
            String key = new String(r.key(), StandardCharsets.UTF_8);
            // PostgreSQL's jsonb refuses the escape \u0000, its text refuses the character; UTF-8 has no lone surrogates
            assertThat(value).doesNotContain("\\u0000").contains(cleaned);
            assertThat(clean(OutputJson.MAPPER.readTree(value).toString())).as(value).isTrue();
            assertThat(key).doesNotContain("\u0000", "?").contains(cleaned);
        }
        for (String d : documents) {
            assertThat(d).doesNotContain("\\u0000").contains(cleaned);
            assertThat(clean(d)).as(d).isTrue();
        }
        JsonNode late = OutputJson.MAPPER.readTree(records.get(1).value());
        assertThat(late.get("properties").get("k\ufffd" + cleaned).textValue()).isEqualTo(cleaned);
    }

    @Test
    void aLateEventTooLargeForKafkaIsReplacedByAMarkerWithItsOriginalSize() throws Exception {
        BehaviorEvent e = event("user-1");
        // what the parser makes of a 256 KiB record holding an array of ~130k elements
        for (int i = 0; i < 130_000; i++) e.properties.put("list." + i, "0");
        e.context.put("ip", "10.0.0.1");
        int full = OutputJson.bytes(OutputJson.event(e)).length;
        assertThat(full).isGreaterThan(DEFAULT_MAX_REQUEST_SIZE);

        ProducerRecord<byte[], byte[]> r = KafkaIO.lateEventRecord("late", e);
        assertThat(producerSize(r)).isLessThanOrEqualTo(DEFAULT_MAX_REQUEST_SIZE);
        assertThat(r.key().length + r.value().length).isLessThanOrEqualTo(OutputJson.MAX_RECORD_BYTES);
        JsonNode n = OutputJson.MAPPER.readTree(r.value());
        assertThat(n.get("messageId").textValue()).isEqualTo("m-1");
        assertThat(n.get("userId").textValue()).isEqualTo("user-1");
        assertThat(n.get("event").textValue()).isEqualTo("Product Viewed");
        assertThat(n.get("timestamp").textValue()).isEqualTo(OutputJson.iso(OutputJsonTest.AT));
        assertThat(n.get("properties").size()).isZero();
        assertThat(n.get("context").size()).isZero();
        assertThat(n.get("truncated").booleanValue()).isTrue();
        assertThat(n.get("original_size").intValue()).isEqualTo(full);

        // one that fits is whole and has no marker
        BehaviorEvent small = event("user-1");
        small.properties.put("list.0", "0");
        JsonNode whole = OutputJson.MAPPER.readTree(KafkaIO.lateEventRecord("late", small).value());
        assertThat(whole.has("truncated")).isFalse();
        assertThat(whole.get("properties").get("list").get("0").textValue()).isEqualTo("0");
    }

    @Test
    void anAlertTooLargeForKafkaKeepsItsIdsAndProfileAndSaysSo() throws Exception {
        Alert a = OutputJsonTest.alert();
        StringBuilder matched = new StringBuilder("{\"viewed\":[");
        String id = "m".repeat(60 * 1024);
        for (int i = 0; i < 20; i++) matched.append(i == 0 ? "" : ",").append("{\"message_id\":\"").append(id).append(i).append("\",\"timestamp\":\"2026-03-02T09:55:00Z\"}");
        a.matchedJson = matched.append("]}").toString();
        int full = OutputJson.bytes(OutputJson.alert(a)).length;

        ProducerRecord<byte[], byte[]> r = KafkaIO.alertRecord("alerts", a);
        assertThat(producerSize(r)).isLessThanOrEqualTo(DEFAULT_MAX_REQUEST_SIZE);
        JsonNode n = OutputJson.MAPPER.readTree(r.value());
        assertThat(n.get("alert_id").textValue()).isEqualTo(a.alertId);
        assertThat(n.get("user_id").textValue()).isEqualTo("user-1");
        assertThat(n.get("matched").size()).isZero();
        assertThat(n.get("payload").size()).isZero();
        assertThat(n.get("profile").get("events_7d").intValue()).isEqualTo(11);
        assertThat(n.get("truncated").booleanValue()).isTrue();
        assertThat(n.get("original_size").intValue()).isEqualTo(full);
        // PostgreSQL stores the same document as Kafka carries
        assertThat(OutputJson.MAPPER.readTree(OutputJson.alertDocument(a))).isEqualTo(n);
        assertThat(OutputJson.MAPPER.readTree(KafkaIO.alertRecord("alerts", OutputJsonTest.alert()).value()).has("truncated")).isFalse();
    }
}
