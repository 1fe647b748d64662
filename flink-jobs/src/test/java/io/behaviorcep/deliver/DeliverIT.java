package io.behaviorcep.deliver;

import io.behaviorcep.deliver.ScriptedReceiver.Endpoint;
import io.behaviorcep.deliver.ScriptedReceiver.Reply;
import io.behaviorcep.testing.Await;
import io.behaviorcep.testing.IntegrationServices;
import io.behaviorcep.testing.TopicReader;

import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The deliver job on the real broker, database and a MiniCluster, against webhook receivers in this
 * JVM that fail in scripted ways: 500s, timeouts, 429 with Retry-After, connections dropped after the
 * body arrived, permanent 503s and 422s. The job is stopped with a savepoint while deliveries are in
 * flight, more alerts arrive while it is down, and it is started again from the savepoint.
 */
class DeliverIT {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String SECRET_ENV = "DELIVER_IT_SIGNING_SECRET";
    private static final String TOKEN_ENV = "DELIVER_IT_TOKEN";
    private static final byte[] SECRET = "whsec_deliver_it".getBytes(StandardCharsets.UTF_8);

    private static IntegrationServices services;
    private static ScriptedReceiver receiver;

    @BeforeAll
    static void start() throws Exception {
        services = IntegrationServices.start(2);
        // what a task manager reads from its environment; the MiniCluster shares this JVM
        System.setProperty(SECRET_ENV, new String(SECRET, StandardCharsets.UTF_8));
        System.setProperty(TOKEN_ENV, "token-123");
        receiver = new ScriptedReceiver(SECRET, "Bearer token-123");
    }

    @AfterAll
    static void stop() throws Exception {
        if (receiver != null) receiver.close();
        if (services != null) services.close();
    }

    /** The first arrival of each alert at "reliable" fails in one of five ways (or not at all); later ones succeed. */
    private static Reply reliableScript(String key, int arrival) {
        int mode = Math.floorMod(key.hashCode(), 6);
        if (arrival == 1) {
            return switch (mode) {
                case 0 -> Reply.OK;
                case 1, 5 -> Reply.SERVER_ERROR;
                case 2 -> Reply.PROCESS_THEN_HANG;
                case 3 -> Reply.TOO_MANY_REQUESTS;
                default -> Reply.PROCESS_THEN_DROP;
            };
        }
        return mode == 5 && arrival == 2 ? Reply.SERVER_ERROR : Reply.OK;
    }

    @Test
    void everyAlertIsDeliveredOnceOrDeadLetteredThroughFailuresAndARestart(@TempDir Path tmp) throws Exception {
        long t0 = System.nanoTime();
        Endpoint reliable = receiver.endpoint("/reliable", DeliverIT::reliableScript, 2_500);
        Endpoint broken = receiver.endpoint("/broken", (k, n) -> Reply.UNAVAILABLE, 0);
        Endpoint picky = receiver.endpoint("/picky", (k, n) -> Reply.UNPROCESSABLE, 0);
        Path destinations = tmp.resolve("destinations.yaml");
        Files.writeString(destinations, """
                destinations:
                  - name: reliable
                    url: %s
                    headers:
                      Authorization: "Bearer ${%s}"
                    signing_secret_env: %s
                    timeout: 1s
                    rate_limit: 200
                    max_in_flight: 20
                    retry: {max_attempts: 6, max_total_time: 20s, initial_backoff: 100ms, max_backoff: 1s}
                  - name: broken
                    url: %s
                    alert_types: [checkout_abandoned]
                    headers: {Authorization: "Bearer ${%s}"}
                    signing_secret_env: %s
                    timeout: 5s
                    retry: {max_attempts: 3, max_total_time: 20s, initial_backoff: 50ms, max_backoff: 200ms}
                  - name: picky
                    url: %s
                    severities: [high]
                    headers: {Authorization: "Bearer ${%s}"}
                    signing_secret_env: %s
                """.formatted(receiver.url("/reliable"), TOKEN_ENV, SECRET_ENV, receiver.url("/broken"), TOKEN_ENV, SECRET_ENV,
                receiver.url("/picky"), TOKEN_ENV, SECRET_ENV));

        IntegrationServices.Run run = services.newRun("deliver", "unused-events", Map.of("checkpoint.interval", "1s"));
        String deliveriesTopic = "it-" + run.name() + ".deliveries";
        String dlqTopic = "it-" + run.name() + ".delivery-dlq";
        services.createTopic(deliveriesTopic, 2);
        services.createTopic(dlqTopic, 2);
        DeliverJob.Settings settings = new DeliverJob.Settings(destinations, deliveriesTopic, dlqTopic);
        String alertsTopic = run.config().alertsTopic();

        Map<String, byte[]> alerts = new LinkedHashMap<>(); // id -> bytes, every alert committed to the topic
        Map<String, String[]> typeAndSeverity = new HashMap<>();
        try (KafkaProducer<byte[], byte[]> producer = transactionalProducer(run.name())) {
            producer.initTransactions();
            // phase 1: alerts, one record that is no alert, and an aborted transaction that must never be delivered
            commit(producer, alertsTopic, newAlerts(0, 24, alerts, typeAndSeverity), List.of("not json at all".getBytes(StandardCharsets.UTF_8)));
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(alertsTopic, "aborted".getBytes(StandardCharsets.UTF_8),
                    alertJson("aborted-alert-id", "cart_abandoned", "high", "aborted-user")));
            producer.flush();
            producer.abortTransaction();

            JobClient job = start(run, settings, null);
            awaitRows(run, expectedPairs(alerts.keySet(), typeAndSeverity).size());
            System.out.printf("phase 1: %d alerts decided in %d ms%n", alerts.size(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));

            // phase 2: more alerts, and a stop with savepoint while their deliveries are in flight (hanging, retrying)
            commit(producer, alertsTopic, newAlerts(24, 12, alerts, typeAndSeverity), List.of());
            Await.until("deliveries of phase 2 to be under way", WAIT, () -> reliable.requests.get() > 24 + 12);
            String savepoint = job.stopWithSavepoint(false, tmp.resolve("savepoints").toUri().toString(), SavepointFormatType.CANONICAL)
                    .get(60, TimeUnit.SECONDS);
            Thread.sleep(500); // requests sent just before the stop may still be reaching the receiver
            int honouredAtStop = reliable.honoured.size();
            // phase 3: alerts written while the job is down
            commit(producer, alertsTopic, newAlerts(36, 12, alerts, typeAndSeverity), List.of());
            Thread.sleep(1_000);
            assertThat(reliable.honoured).as("nothing is delivered while the job is down").hasSize(honouredAtStop);

            job = start(run, settings, savepoint);
            Set<List<String>> expected = expectedPairs(alerts.keySet(), typeAndSeverity);
            awaitRows(run, expected.size());
            // the last outcomes' Kafka transaction commits with the next checkpoint
            try (TopicReader deliveries = new TopicReader(services.kafka.bootstrapServers(), deliveriesTopic)) {
                Set<String> expectedKeys = expected.stream().map(p -> p.get(0) + "|" + p.get(1)).collect(Collectors.toSet());
                Await.until("an outcome for every alert and destination", WAIT,
                        () -> deliveries.poll().stream().map(TopicReader::key).filter(expectedKeys::contains).collect(Collectors.toSet()),
                        keys -> keys.size() == expectedKeys.size());
                assertThat(deliveries.poll()).as("outcomes of aborted alerts").noneMatch(r -> TopicReader.key(r).startsWith("aborted"));
            }
            job.cancel().get(30, TimeUnit.SECONDS);
            System.out.printf("stopped at %d of %d honoured; all %d pairs decided after %d ms%n", honouredAtStop, alerts.size(),
                    expected.size(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));

            // ---- the receivers ----------------------------------------------------------------------
            for (Endpoint e : List.of(reliable, broken, picky)) assertThat(e.badRequests).as("unsigned or malformed requests").isEmpty();
            assertThat(reliable.honoured).as("each alert acted on exactly once by a receiver that honours Idempotency-Key")
                    .containsExactlyInAnyOrderElementsOf(alerts.keySet());
            assertThat(reliable.processedIgnoringKeys.get()).as("what a receiver ignoring the key would have acted on")
                    .isGreaterThanOrEqualTo(reliable.honoured.size());
            assertThat(reliable.duplicates.get()).as("timeouts and dropped connections after processing do cause repeats").isPositive();
            System.out.printf("reliable: %d requests, %d alerts honoured once, %d repeats absorbed by the idempotency key%n",
                    reliable.requests.get(), reliable.honoured.size(), reliable.duplicates.get());
            assertThat(broken.honoured).isEmpty();
            assertThat(picky.honoured).isEmpty();

            // ---- the deliveries table ---------------------------------------------------------------
            Map<List<String>, Map<String, Object>> rows = rows(run);
            assertThat(rows.keySet()).containsExactlyInAnyOrderElementsOf(expected);
            rows.forEach((pair, row) -> {
                switch (pair.get(1)) {
                    case "reliable" -> assertThat(row).as(pair.toString()).containsEntry("status", "delivered").containsEntry("http_status", 200);
                    case "broken" -> assertThat(row).as(pair.toString()).containsEntry("status", "dead_lettered")
                            .containsEntry("http_status", 503).containsEntry("attempts", 3);
                    case "picky" -> assertThat(row).as(pair.toString()).containsEntry("status", "failed")
                            .containsEntry("http_status", 422).containsEntry("attempts", 1);
                    default -> throw new AssertionError(pair);
                }
            });
            assertThat(rows.entrySet().stream().filter(e -> e.getKey().get(1).equals("reliable")).mapToInt(e -> (int) e.getValue().get("attempts")).max().orElse(0))
                    .as("retries happened").isGreaterThan(1);
            for (int i = 0; i < 24; i++) {
                String id = alertId(i);
                assertThat(broken.arrivals.getOrDefault(id, new java.util.concurrent.atomic.AtomicInteger()).get())
                        .as("503 is retried up to max_attempts, no further, for " + id)
                        .isEqualTo(typeAndSeverity.get(id)[0].equals("checkout_abandoned") ? 3 : 0);
            }

            // ---- the delivery DLQ: every alert not delivered, with its bytes, and the record that was no alert ----------
            try (TopicReader dlq = new TopicReader(services.kafka.bootstrapServers(), dlqTopic)) {
                long notDelivered = expected.stream().filter(p -> !p.get(1).equals("reliable")).count();
                List<ConsumerRecord<byte[], byte[]>> dead = dlq.await("dead letters", r -> true, (int) notDelivered + 1, WAIT);
                Set<List<String>> deadPairs = new HashSet<>();
                for (ConsumerRecord<byte[], byte[]> r : dead) {
                    String id = header(r, "delivery.alert-id");
                    String status = header(r, "delivery.status");
                    if (id.isEmpty()) {
                        assertThat(status).isEqualTo("invalid");
                        assertThat(new String(r.value(), StandardCharsets.UTF_8)).isEqualTo("not json at all");
                        continue;
                    }
                    assertThat(r.value()).as("original alert bytes").isEqualTo(alerts.get(id));
                    assertThat(status).isEqualTo(header(r, "delivery.destination").equals("broken") ? "dead_lettered" : "failed");
                    assertThat(header(r, "delivery.error")).isNotEmpty();
                    deadPairs.add(List.of(id, header(r, "delivery.destination")));
                }
                assertThat(deadPairs).containsExactlyInAnyOrderElementsOf(expected.stream().filter(p -> !p.get(1).equals("reliable")).toList());
                assertThat(dead.stream().filter(r -> header(r, "delivery.status").equals("invalid"))).hasSize(1);
            }
        }
    }

    @Test
    void aSlowDestinationHoldsUpOnlyItsOwnAlerts(@TempDir Path tmp) throws Exception {
        Endpoint slow = receiver.endpoint("/slow", (k, n) -> Reply.PROCESS_THEN_HANG, 4_000);
        Endpoint fast = receiver.endpoint("/fast", (k, n) -> Reply.OK, 0);
        Path destinations = tmp.resolve("destinations.yaml");
        Files.writeString(destinations, """
                destinations:
                  - name: slow
                    url: %s
                    headers: {Authorization: "Bearer ${%s}"}
                    signing_secret_env: %s
                    timeout: 10s
                    max_in_flight: 1
                  - name: fast
                    url: %s
                    headers: {Authorization: "Bearer ${%s}"}
                    signing_secret_env: %s
                    max_in_flight: 8
                """.formatted(receiver.url("/slow"), TOKEN_ENV, SECRET_ENV, receiver.url("/fast"), TOKEN_ENV, SECRET_ENV));
        IntegrationServices.Run run = services.newRun("deliverslow", "unused-events", Map.of("checkpoint.interval", "1s"));
        String deliveriesTopic = "it-" + run.name() + ".deliveries";
        String dlqTopic = "it-" + run.name() + ".delivery-dlq";
        services.createTopic(deliveriesTopic, 2);
        services.createTopic(dlqTopic, 2);
        Map<String, byte[]> alerts = new LinkedHashMap<>();
        try (KafkaProducer<byte[], byte[]> producer = transactionalProducer(run.name())) {
            producer.initTransactions();
            commit(producer, run.config().alertsTopic(), newAlerts(1000, 300, alerts, new HashMap<>()), List.of());
        }
        long t0 = System.nanoTime();
        JobClient job = start(run, new DeliverJob.Settings(destinations, deliveriesTopic, dlqTopic), null);
        try {
            Await.until("every alert at the fast receiver", WAIT, () -> fast.honoured.size() == alerts.size());
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
            System.out.printf("fast: %d alerts in %d s (job start included) while slow had %d requests%n", fast.honoured.size(), seconds,
                    slow.requests.get());
            // one request at a time, 4 s each: the slow receiver saw about seconds / 4 of them, and its backlog did not stop the fast one
            assertThat(slow.requests.get()).isLessThanOrEqualTo((int) (seconds / 4) + 2);
            assertThat(fast.badRequests).isEmpty();
        } finally {
            job.cancel().get(30, TimeUnit.SECONDS);
        }
    }

    private static JobClient start(IntegrationServices.Run run, DeliverJob.Settings settings, String savepoint) throws Exception {
        StreamExecutionEnvironment env = services.env(1, new org.apache.flink.configuration.Configuration());
        DeliverJob.prepare(env, run.config(), settings);
        StreamGraph graph = env.getStreamGraph();
        // false: every state of the savepoint must find its operator (stable uids deliver-<name>)
        graph.setSavepointRestoreSettings(savepoint == null ? SavepointRestoreSettings.none() : SavepointRestoreSettings.forPath(savepoint, false));
        graph.setJobName(DeliverJob.JOB_NAME);
        return env.executeAsync(graph);
    }

    private static Set<List<String>> expectedPairs(Set<String> ids, Map<String, String[]> typeAndSeverity) {
        Set<List<String>> pairs = new HashSet<>();
        for (String id : ids) {
            String[] ts = typeAndSeverity.get(id);
            pairs.add(List.of(id, "reliable"));
            if (ts[0].equals("checkout_abandoned")) pairs.add(List.of(id, "broken"));
            if (ts[1].equals("high")) pairs.add(List.of(id, "picky"));
        }
        return pairs;
    }

    private static String alertId(int i) {
        return UUID.nameUUIDFromBytes(("alert-" + i).getBytes(StandardCharsets.UTF_8)).toString().replace("-", "");
    }

    private static List<byte[]> newAlerts(int from, int count, Map<String, byte[]> all, Map<String, String[]> typeAndSeverity) {
        List<byte[]> out = new ArrayList<>();
        for (int i = from; i < from + count; i++) {
            String type = i % 3 == 0 ? "checkout_abandoned" : "cart_abandoned";
            String severity = i % 4 == 0 ? "high" : "medium";
            byte[] json = alertJson(alertId(i), type, severity, "user-" + i);
            all.put(alertId(i), json);
            typeAndSeverity.put(alertId(i), new String[] {type, severity});
            out.add(json);
        }
        return out;
    }

    /** An alert in the alerts topic's format (docs/contracts.md). */
    private static byte[] alertJson(String id, String type, String severity, String user) {
        return ("{\"alert_id\":\"" + id + "\",\"pattern_id\":\"cart-abandonment\",\"pattern_version\":1,\"alert_type\":\"" + type
                + "\",\"severity\":\"" + severity + "\",\"user_id\":\"" + user + "\",\"detected_at\":\"2026-11-21T04:54:37.359Z\","
                + "\"matched\":{},\"payload\":{\"price\":59.99},\"profile\":{}}").getBytes(StandardCharsets.UTF_8);
    }

    private static KafkaProducer<byte[], byte[]> transactionalProducer(String name) {
        return new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, services.kafka.bootstrapServers(),
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, "it-alerts-" + name,
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class));
    }

    private static void commit(KafkaProducer<byte[], byte[]> producer, String topic, List<byte[]> alerts, List<byte[]> others) throws Exception {
        producer.beginTransaction();
        for (byte[] a : alerts) producer.send(new ProducerRecord<>(topic, "user".getBytes(StandardCharsets.UTF_8), a)).get(30, TimeUnit.SECONDS);
        for (byte[] o : others) producer.send(new ProducerRecord<>(topic, null, o)).get(30, TimeUnit.SECONDS);
        producer.commitTransaction();
    }

    private static void awaitRows(IntegrationServices.Run run, int count) {
        Await.until(count + " rows in deliveries", WAIT, () -> rows(run).size(), n -> n >= count);
    }

    private static Map<List<String>, Map<String, Object>> rows(IntegrationServices.Run run) throws Exception {
        Map<List<String>, Map<String, Object>> out = new HashMap<>();
        try (Connection c = services.postgres.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT alert_id, destination, status, attempts, http_status, error FROM " + run.schema() + ".deliveries")) {
            while (rs.next()) {
                Map<String, Object> row = new HashMap<>();
                row.put("status", rs.getString("status"));
                row.put("attempts", rs.getInt("attempts"));
                row.put("http_status", rs.getInt("http_status"));
                row.put("error", rs.getString("error"));
                out.put(List.of(rs.getString("alert_id"), rs.getString("destination")), row);
            }
        }
        return out;
    }

    private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
        var h = r.headers().lastHeader(name);
        return h == null || h.value() == null ? "" : new String(h.value(), StandardCharsets.UTF_8);
    }
}
