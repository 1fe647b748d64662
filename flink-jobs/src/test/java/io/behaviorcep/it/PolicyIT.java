package io.behaviorcep.it;

import io.behaviorcep.BehaviorCepJob;
import io.behaviorcep.KafkaIO;
import io.behaviorcep.testing.Await;
import io.behaviorcep.testing.IntegrationServices;
import io.behaviorcep.testing.Repo;
import io.behaviorcep.testing.TopicReader;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.behaviorcep.testing.Events.added;
import static io.behaviorcep.testing.Events.bytes;
import static io.behaviorcep.testing.Events.page;
import static io.behaviorcep.testing.Events.track;
import static io.behaviorcep.testing.Events.viewed;
import static io.behaviorcep.testing.IntegrationServices.keyOnPartition;
import static io.behaviorcep.testing.IntegrationServices.rows;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The shipped messaging policy (patterns/policy.yaml) in the production job, against a real broker and
 * database: of a checkout and a cart abandoned at the same instant only the checkout alert is published,
 * and the cart alert's decision reaches {@code behavior.alert-decisions} (read_committed) and
 * {@code alert_decisions} once each, with the same id; a checkpoint in between writes nothing twice.
 */
class PolicyIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PARTITIONS = 2;
    private static final Duration WAIT = Duration.ofSeconds(40);
    /** Yesterday 10:00 UTC: outside the shipped quiet hours (22:00-08:00) in the fallback zone, UTC. */
    private static final Instant BASE = Instant.now().minus(Duration.ofDays(1)).truncatedTo(ChronoUnit.DAYS).plus(Duration.ofHours(10));

    private static IntegrationServices services;
    private static IntegrationServices.Run run;
    private static String eventsTopic;
    private static JobClient job;
    private static KafkaProducer<byte[], byte[]> producer;

    @BeforeAll
    static void startJob() throws Exception {
        services = IntegrationServices.start(2);
        eventsTopic = "policy-events-" + Long.toHexString(System.nanoTime());
        services.createTopic(eventsTopic, PARTITIONS);
        run = services.newRun("policy", eventsTopic, Map.of(
                "checkpoint.interval", "1s",
                "events.max-out-of-orderness", "1m",
                "events.idle-advance", "false",
                "events.idle-timeout", "10m",
                "policy.file", Repo.patterns().resolve("policy.yaml").toAbsolutePath().toString(),
                "parallelism", "2"));
        StreamExecutionEnvironment env = services.env(2, new Configuration());
        BehaviorCepJob.prepare(env, run.config(), new KafkaIO(run.config()));
        job = env.executeAsync("behavior-cep policy");
        producer = services.producer();
        Await.until("all tasks of the job running", WAIT, () -> IntegrationServices.allRunning(services.graph(job.getJobID())));
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (job != null) job.cancel().get(30, TimeUnit.SECONDS);
        } finally {
            if (producer != null) producer.close();
            if (services != null) services.close();
        }
    }

    private static void send(ObjectNode event) throws Exception {
        String key = event.get("userId").asText();
        producer.send(new ProducerRecord<>(eventsTopic, IntegrationServices.partitionOf(key, PARTITIONS),
                key.getBytes(StandardCharsets.UTF_8), bytes(event))).get(10, TimeUnit.SECONDS);
    }

    private static JsonNode json(ConsumerRecord<byte[], byte[]> r) {
        try {
            return JSON.readTree(r.value());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void theHigherPriorityAlertIsPublishedAndTheOtherIsRecordedOnceInKafkaAndPostgres() throws Exception {
        String user = "policy-shopper";
        send(track(user, "Checkout Started", BASE));
        send(viewed(user, BASE.plus(Duration.ofMinutes(14))));
        send(added(user, BASE.plus(Duration.ofMinutes(15))));
        // both deadlines are BASE + 30m; move event time on every partition past it
        for (int p = 0; p < PARTITIONS; p++) send(page(keyOnPartition("policy-clock-p" + p, p, PARTITIONS), BASE.plus(Duration.ofMinutes(40))));

        try (TopicReader alerts = new TopicReader(services.kafka.bootstrapServers(), run.config().alertsTopic());
             TopicReader decisions = new TopicReader(services.kafka.bootstrapServers(), run.config().alertDecisionsTopic())) {
            ConsumerRecord<byte[], byte[]> decision = decisions.awaitOne("the cart alert's priority decision",
                    r -> user.equals(json(r).path("user_id").asText()), WAIT);
            JsonNode d = json(decision);
            assertThat(d.path("reason").asText()).isEqualTo("priority");
            assertThat(d.path("alert_type").asText()).isEqualTo("cart_abandoned");
            assertThat(d.path("channel").asText()).isEqualTo("default");
            assertThat(Instant.parse(d.path("decided_at").asText())).isEqualTo(BASE.plus(Duration.ofMinutes(30)));

            // the shopper's view and add also make a product-interest alert (another pattern, not competing here)
            ConsumerRecord<byte[], byte[]> alert = alerts.awaitOne("the checkout alert", r -> user.equals(json(r).path("user_id").asText())
                    && !"product_interest".equals(json(r).path("alert_type").asText()), WAIT);
            assertThat(json(alert).path("alert_type").asText()).isEqualTo("checkout_abandoned");
            assertThat(d.path("winner_alert_id").asText()).isEqualTo(json(alert).path("alert_id").asText());

            String decisionId = d.path("decision_id").asText();
            Await.until("the decision in alert_decisions", WAIT,
                    () -> !rows(run.jdbcUrl(), "SELECT reason FROM alert_decisions WHERE decision_id = ?", decisionId).isEmpty());
            assertThat(rows(run.jdbcUrl(), "SELECT reason, alert_type, winner_alert_id FROM alert_decisions WHERE user_id = ?", user))
                    .containsExactly("priority | cart_abandoned | " + json(alert).path("alert_id").asText());

            // a few checkpoints later: still one record and one row, and one abandonment alert of the user
            long checkpoints = services.graph(job.getJobID()).getCheckpointStatsSnapshot().getCounts().getNumberOfCompletedCheckpoints();
            Await.until("two more checkpoints", WAIT, () ->
                    services.graph(job.getJobID()).getCheckpointStatsSnapshot().getCounts().getNumberOfCompletedCheckpoints() >= checkpoints + 2);
            assertThat(decisions.readToEnd(Duration.ofSeconds(5)).stream().filter(r -> user.equals(json(r).path("user_id").asText()))).hasSize(1);
            assertThat(alerts.readToEnd(Duration.ofSeconds(5)).stream().filter(r -> user.equals(json(r).path("user_id").asText())
                    && !"product_interest".equals(json(r).path("alert_type").asText()))).hasSize(1);
            assertThat(rows(run.jdbcUrl(), "SELECT count(*) FROM alert_decisions WHERE user_id = ?", user)).containsExactly("1");
        }
    }
}
