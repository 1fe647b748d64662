package io.behaviorcep.deliver;

import io.behaviorcep.output.OutputJson;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.nio.charset.StandardCharsets;

/** The Kafka records of the deliver job; docs/contracts.md documents them. */
public final class DeliveryRecords {
    private DeliveryRecords() {}

    /** {@code behavior.deliveries}: one JSON record per outcome, keyed {@code alert_id|destination}. */
    public static ProducerRecord<byte[], byte[]> deliveryRecord(String topic, DeliveryOutcome o) {
        return new ProducerRecord<>(topic, null, null, utf8((o.alertId() == null ? "" : o.alertId()) + "|" + o.destination()), OutputJson.bytes(deliveryJson(o)));
    }

    public static ObjectNode deliveryJson(DeliveryOutcome o) {
        ObjectNode n = OutputJson.MAPPER.createObjectNode();
        n.put("alert_id", o.alertId());
        n.put("destination", o.destination());
        n.put("status", o.status().wire());
        n.put("attempts", o.attempts());
        n.put("latency_ms", o.latencyMs());
        if (o.httpStatus() > 0) n.put("http_status", o.httpStatus());
        else n.putNull("http_status");
        n.put("error", o.error());
        n.put("alert_type", o.alert().alertType());
        n.put("severity", o.alert().severity());
        n.put("first_attempt_at", OutputJson.iso(o.firstAttemptAtMs()));
        n.put("finished_at", OutputJson.iso(o.finishedAtMs()));
        n.put("source_partition", o.alert().partition());
        n.put("source_offset", o.alert().offset());
        return n;
    }

    /**
     * {@code behavior.delivery-dlq}: the alert's original key and bytes, untouched, so it can be
     * re-published to the alerts topic or replayed by hand; why and where in headers.
     */
    public static ProducerRecord<byte[], byte[]> deadLetterRecord(String topic, DeliveryOutcome o) {
        AlertToDeliver a = o.alert();
        ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, null, null, a.key(), a.value() == null ? new byte[0] : a.value());
        header(r, "delivery.destination", o.destination());
        header(r, "delivery.status", o.status().wire());
        header(r, "delivery.attempts", Integer.toString(o.attempts()));
        header(r, "delivery.http-status", o.httpStatus() > 0 ? Integer.toString(o.httpStatus()) : "");
        header(r, "delivery.error", o.error() == null ? "" : o.error());
        header(r, "delivery.alert-id", o.alertId() == null ? "" : o.alertId());
        header(r, "delivery.source.topic", a.topic());
        header(r, "delivery.source.partition", Integer.toString(a.partition()));
        header(r, "delivery.source.offset", Long.toString(a.offset()));
        header(r, "delivery.at", OutputJson.iso(o.finishedAtMs()));
        return r;
    }

    private static void header(ProducerRecord<byte[], byte[]> r, String name, String value) {
        r.headers().add(name, utf8(value));
    }

    private static byte[] utf8(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }
}
