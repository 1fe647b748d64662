package io.behaviorcep.it;

import io.behaviorcep.BehaviorCepJob;
import io.behaviorcep.KafkaIO;
import io.behaviorcep.testing.Events;
import io.behaviorcep.testing.IntegrationServices;
import io.behaviorcep.testing.Repo;
import io.behaviorcep.testing.TopicReader;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The pattern files of patterns/language/ (a step group, an absence at the start) run in the job on
 * the real broker and database: the alerts on {@code behavior.alerts} and in the {@code alerts} table
 * are the ones their semantics give, with the events each step bound.
 */
class LanguageFeaturesIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static IntegrationServices services;

    @BeforeAll
    static void start() throws Exception {
        services = IntegrationServices.start(2);
    }

    @AfterAll
    static void stop() throws Exception {
        if (services != null) services.close();
    }

    private static ObjectNode product(ObjectNode e, String product) {
        ((ObjectNode) e.get("properties")).put("product_id", product);
        return e;
    }

    @Test
    void aGroupAndALeadingAbsenceAlertOnTheTopicAndInTheTable(@TempDir Path dir) throws Exception {
        Path patterns = Files.createDirectories(dir.resolve("patterns"));
        for (String f : List.of("repeat-add-no-order.yaml", "cold-checkout.yaml")) {
            Files.copy(Repo.patterns().resolve("language").resolve(f), patterns.resolve(f));
        }
        String topic = "lang-events-" + Long.toHexString(System.nanoTime());
        services.createTopic(topic, 2);
        Instant t0 = Events.T0;
        List<ObjectNode> events = new ArrayList<>();
        // two rounds of view then add, no order: one alert an hour after the second add
        ObjectNode v1 = product(Events.viewed("rounds", t0), "p1");
        ObjectNode a1 = product(Events.added("rounds", t0.plus(Duration.ofMinutes(10))), "p1");
        ObjectNode v2 = product(Events.viewed("rounds", t0.plus(Duration.ofHours(5))), "p2");
        ObjectNode a2 = product(Events.added("rounds", t0.plus(Duration.ofMinutes(320))), "p2");
        events.addAll(List.of(v1, a1, v2, a2));
        // the same, but the order comes within the hour: nothing
        events.add(product(Events.viewed("rounds-ordered", t0), "p1"));
        events.add(product(Events.added("rounds-ordered", t0.plus(Duration.ofMinutes(10))), "p1"));
        events.add(product(Events.viewed("rounds-ordered", t0.plus(Duration.ofHours(1))), "p1"));
        events.add(product(Events.added("rounds-ordered", t0.plus(Duration.ofMinutes(70))), "p1"));
        events.add(Events.ordered("rounds-ordered", t0.plus(Duration.ofMinutes(130))));
        // a checkout with no view in the 30 minutes before: an alert at the checkout
        ObjectNode cold = Events.track("cold", "Checkout Started", t0.plus(Duration.ofMinutes(31)));
        events.add(Events.viewed("cold", t0));
        events.add(cold);
        // a view exactly 30 minutes before still counts; so does one in the same millisecond, sent first
        events.add(Events.viewed("warm", t0));
        events.add(Events.track("warm", "Checkout Started", t0.plus(Duration.ofMinutes(30))));
        events.add(Events.viewed("same-ms", t0.plus(Duration.ofMinutes(5))));
        events.add(Events.track("same-ms", "Checkout Started", t0.plus(Duration.ofMinutes(5))));
        try (KafkaProducer<byte[], byte[]> producer = services.producer()) {
            for (ObjectNode e : events) {
                producer.send(new ProducerRecord<>(topic, e.get("userId").asText().getBytes(StandardCharsets.UTF_8), Events.bytes(e)));
            }
            producer.flush();
        }

        IntegrationServices.Run run = services.newRun("language", topic, Map.of(
                "patterns.dir", patterns.toAbsolutePath().toString(),
                "checkpoint.interval", "500ms",
                "events.idle-advance", "false",
                "parallelism", "2"));
        StreamExecutionEnvironment env = services.env(2, new Configuration());
        BehaviorCepJob.prepare(env, run.config(), new KafkaIO(run.config(), true));
        env.execute("behavior-cep language features");

        Map<String, JsonNode> alerts = new TreeMap<>();
        try (TopicReader al = new TopicReader(services.kafka.bootstrapServers(), run.config().alertsTopic())) {
            for (var r : al.readToEnd(Duration.ofSeconds(30))) {
                JsonNode a = JSON.readTree(TopicReader.value(r));
                assertThat(alerts.put(a.get("user_id").asText(), a)).as("one alert per user").isNull();
            }
        }
        assertThat(alerts).containsOnlyKeys("rounds", "cold");
        JsonNode rounds = alerts.get("rounds");
        assertThat(rounds.get("alert_type").asText()).isEqualTo("repeat_add_no_order");
        assertThat(Instant.parse(rounds.get("detected_at").asText())).isEqualTo(t0.plus(Duration.ofMinutes(380)));
        assertThat(ids(rounds.get("matched").get("viewed"))).containsExactly(id(v1), id(v2));
        assertThat(ids(rounds.get("matched").get("added"))).containsExactly(id(a1), id(a2));
        assertThat(rounds.get("payload").get("last_product_id").asText()).isEqualTo("p2");
        JsonNode coldAlert = alerts.get("cold");
        assertThat(coldAlert.get("alert_type").asText()).isEqualTo("cold_checkout");
        assertThat(Instant.parse(coldAlert.get("detected_at").asText())).isEqualTo(t0.plus(Duration.ofMinutes(31)));
        assertThat(ids(coldAlert.get("matched").get("checkout"))).containsExactly(id(cold));

        List<String> rows = IntegrationServices.rows(run.jdbcUrl(), "SELECT user_id, alert_type, alert_id FROM alerts ORDER BY user_id");
        assertThat(rows).containsExactly("cold | cold_checkout | " + coldAlert.get("alert_id").asText(),
                "rounds | repeat_add_no_order | " + rounds.get("alert_id").asText());
    }

    private static String id(ObjectNode e) {
        return e.get("messageId").asText();
    }

    private static List<String> ids(JsonNode bound) {
        List<String> out = new ArrayList<>();
        bound.forEach(b -> out.add(b.get("message_id").asText()));
        return out;
    }
}
