package io.behaviorcep.deliver;

import io.behaviorcep.deliver.DeliveryOutcome.Status;
import io.behaviorcep.output.OutputJson;
import io.behaviorcep.testing.Repo;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** The deliver job's Kafka records, held to docs/contracts.md. */
class DeliveryRecordsTest {
    private static final byte[] ALERT = "{\"alert_id\":\"a1\",\"alert_type\":\"cart_abandoned\",\"severity\":\"high\"}".getBytes(StandardCharsets.UTF_8);

    private static DeliveryOutcome outcome(Status status, int httpStatus, String error) {
        AlertToDeliver a = AlertToDeliver.of("user-1".getBytes(StandardCharsets.UTF_8), ALERT, "behavior.alerts", 3, 1841);
        return new DeliveryOutcome("a1", "crm", status, 3, 612, httpStatus, error, 1_764_903_600_000L, 1_764_903_600_612L, a);
    }

    private static String contracts() throws Exception {
        return Files.readString(Repo.root().resolve("docs/contracts.md"));
    }

    @Test
    void deliveryRecordHasTheDocumentedFieldsInOrderAndKey() throws Exception {
        ProducerRecord<byte[], byte[]> r = DeliveryRecords.deliveryRecord("behavior.deliveries", outcome(Status.DEAD_LETTERED, 503, "HTTP 503; 3 attempts made"));
        assertThat(new String(r.key(), StandardCharsets.UTF_8)).isEqualTo("a1|crm");
        JsonNode n = OutputJson.MAPPER.readTree(r.value());
        String doc = contracts();
        Matcher m = Pattern.compile("### `behavior.deliveries`.*?```json\\n(.*?)```", Pattern.DOTALL).matcher(doc);
        assertThat(m.find()).isTrue();
        JsonNode documented = OutputJson.MAPPER.readTree(m.group(1));
        assertThat(names(n)).isEqualTo(names(documented));
        assertThat(n.path("status").asText()).isEqualTo("dead_lettered");
        assertThat(n.path("http_status").asInt()).isEqualTo(503);
        assertThat(n.path("source_offset").asLong()).isEqualTo(1841);
        assertThat(DeliveryRecords.deliveryJson(outcome(Status.DELIVERED, 0, null)).path("http_status").isNull()).isTrue();
    }

    @Test
    void deadLetterKeepsTheAlertBytesAndCarriesTheDocumentedHeaders() throws Exception {
        ProducerRecord<byte[], byte[]> r = DeliveryRecords.deadLetterRecord("behavior.delivery-dlq", outcome(Status.FAILED, 422, "HTTP 422, not retried"));
        assertThat(r.value()).isEqualTo(ALERT);
        assertThat(new String(r.key(), StandardCharsets.UTF_8)).isEqualTo("user-1");
        List<String> headers = new ArrayList<>();
        for (Header h : r.headers()) headers.add(h.key());
        String doc = contracts();
        String section = doc.substring(doc.indexOf("### `behavior.delivery-dlq`"));
        for (String h : headers) assertThat(section).as(h + " documented").contains("`" + h + "`");
        assertThat(new String(r.headers().lastHeader("delivery.status").value(), StandardCharsets.UTF_8)).isEqualTo("failed");
        assertThat(new String(r.headers().lastHeader("delivery.http-status").value(), StandardCharsets.UTF_8)).isEqualTo("422");
    }

    @Test
    void theMigrationsTableHasTheTopicsFields() throws Exception {
        String sql = Files.readString(Repo.root().resolve("sql/V6__deliveries.sql"));
        for (String column : List.of("alert_id", "destination", "status", "attempts", "latency_ms", "http_status", "error", "alert_type",
                "severity", "first_attempt_at", "finished_at")) {
            assertThat(sql).contains("    " + column + " ");
        }
        assertThat(sql).contains("PRIMARY KEY (alert_id, destination)");
        assertThat(DeliveriesTableSink.UPSERT).contains("ON CONFLICT (alert_id, destination) DO UPDATE").contains("WHERE deliveries.status <> 'delivered'");
    }

    private static List<String> names(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }
}
