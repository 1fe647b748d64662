package io.behaviorcep.deliver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;

/**
 * An alert read from the alerts topic: its bytes exactly as the main job wrote them (they are the
 * request body and what the DLQ keeps), the fields routing needs, and where it was read.
 *
 * @param alertId null when the record is not an alert (not JSON, or no {@code alert_id}): it cannot be
 *                delivered with an idempotency key and goes to the DLQ as {@link DeliveryOutcome.Status#INVALID}
 */
public record AlertToDeliver(String alertId, String alertType, String severity, byte[] key, byte[] value,
                             String topic, int partition, long offset) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static AlertToDeliver of(byte[] key, byte[] value, String topic, int partition, long offset) {
        String id = null, type = null, severity = null;
        if (value != null) {
            try {
                JsonNode n = JSON.readTree(value);
                if (n != null && n.path("alert_id").isTextual() && !n.path("alert_id").asText().isEmpty()) {
                    id = n.path("alert_id").asText();
                    type = n.path("alert_type").asText(null);
                    severity = n.path("severity").asText(null);
                }
            } catch (IOException e) {
                // not JSON: alertId stays null, the record is dead-lettered as invalid
            }
        }
        return new AlertToDeliver(id, type, severity, key, value, topic, partition, offset);
    }

    public boolean valid() {
        return alertId != null;
    }
}
