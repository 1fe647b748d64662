package io.behaviorcep.it;

import io.behaviorcep.BehaviorCepJob;
import io.behaviorcep.KafkaIO;
import io.behaviorcep.testing.Events;
import io.behaviorcep.testing.IntegrationServices;
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

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A generated population with a known true lift runs through the job on the real broker and database:
 * an experiment (treatment vs holdout) and a 10 % global holdout. The test assigns every user itself,
 * from the documented hash (HMAC-SHA256 keyed with the salt over experiment id and user id), decides
 * who converts (60 % of treatment users, 30 % of held-out ones, some of the others order too late), and
 * holds what {@code behavior.outcomes} and the {@code outcomes} table say against that, user by user.
 */
class ExperimentOutcomesIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int USERS = 400;
    private static final double GLOBAL_HOLDOUT = 0.1;
    private static final String PATTERN = """
            id: added-to-cart
            version: 3
            steps:
              - name: added
                event: Product Added
            actions:
              alert: {type: added}
            goal: {event: Order Completed, within: 2h, value: properties.revenue}
            experiment:
              id: it-exp
              salt: it-salt
              variants:
                - {name: treatment, weight: 1}
                - {name: hold, weight: 1, holdout: true}
            """;

    private static IntegrationServices services;

    /** What the test made of each user: arm, and when (after the add) and for how much they ordered. */
    record Expected(String arm, boolean holdout, long decidedAt, Long convertedAt, Double value) {}

    private static final Map<String, Expected> EXPECTED = new TreeMap<>();

    @BeforeAll
    static void start() throws Exception {
        services = IntegrationServices.start(2);
    }

    @AfterAll
    static void stop() throws Exception {
        if (services != null) services.close();
    }

    /** The arm as docs/pattern-language.md defines it, computed here without the job's code. */
    static double unit(String salt, String experiment, String user) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(("behavior-cep-experiment\n" + salt).getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        byte[] h = mac.doFinal((experiment + "\n" + user).getBytes(StandardCharsets.UTF_8));
        return (ByteBuffer.wrap(h, 0, 8).getLong() >>> 11) * 0x1.0p-53;
    }

    @Test
    void outcomesOnTheTopicAndInTheTableAreEachUsersArmAndConversion(@TempDir Path dir) throws Exception {
        Path patterns = Files.createDirectories(dir.resolve("patterns"));
        Files.writeString(patterns.resolve("added.yaml"), PATTERN);
        String eventsTopic = "exp-events-" + Long.toHexString(System.nanoTime());
        services.createTopic(eventsTopic, 2);

        Random random = new Random(17);
        Instant t0 = Events.T0;
        try (KafkaProducer<byte[], byte[]> producer = services.producer()) {
            List<ObjectNode> events = new ArrayList<>();
            for (int i = 0; i < USERS; i++) {
                String user = "exp-user-" + i;
                String arm = unit("global", "global_holdout", user) < GLOBAL_HOLDOUT ? "global_holdout"
                        : unit("it-salt", "it-exp", user) < 0.5 ? "treatment" : "hold";
                Instant added = t0.plusSeconds(10L * i);
                events.add(Events.added(user, added));
                boolean converts = random.nextDouble() < (arm.equals("treatment") ? 0.6 : 0.3);
                Long convertedAt = null;
                Double value = null;
                if (converts) {
                    Instant order = added.plus(Duration.ofMinutes(1 + random.nextInt(119)));
                    ObjectNode o = Events.ordered(user, order);
                    value = 10.0 + i % 7;
                    ((ObjectNode) o.get("properties")).put("revenue", value);
                    events.add(o);
                    convertedAt = order.toEpochMilli();
                } else if (random.nextInt(3) == 0) {
                    events.add(Events.ordered(user, added.plus(Duration.ofHours(2)).plusMillis(1))); // just too late
                }
                EXPECTED.put(user, new Expected(arm, !arm.equals("treatment"), added.toEpochMilli(), convertedAt, value));
            }
            events.sort(java.util.Comparator.comparing(e -> e.get("timestamp").asText()));
            Files.write(dir.resolve("events.jsonl"), events.stream().map(ObjectNode::toString).toList());
            for (ObjectNode e : events) {
                producer.send(new ProducerRecord<>(eventsTopic, e.get("userId").asText().getBytes(StandardCharsets.UTF_8), Events.bytes(e)));
            }
            producer.flush();
        }

        IntegrationServices.Run run = services.newRun("experiment", eventsTopic, Map.of(
                "patterns.dir", patterns.toAbsolutePath().toString(),
                "experiments.global-holdout", String.valueOf(GLOBAL_HOLDOUT),
                "checkpoint.interval", "500ms",
                "events.idle-advance", "false",
                "parallelism", "2"));
        StreamExecutionEnvironment env = services.env(2, new Configuration());
        BehaviorCepJob.prepare(env, run.config(), new KafkaIO(run.config(), true));
        env.execute("behavior-cep experiment outcomes");

        Map<String, JsonNode> outcomes = new TreeMap<>();
        List<JsonNode> alerts = new ArrayList<>();
        try (TopicReader out = new TopicReader(services.kafka.bootstrapServers(), run.config().outcomesTopic());
             TopicReader al = new TopicReader(services.kafka.bootstrapServers(), run.config().alertsTopic())) {
            for (var r : out.readToEnd(Duration.ofSeconds(30))) {
                JsonNode n = JSON.readTree(TopicReader.value(r));
                assertThat(TopicReader.key(r)).isEqualTo(n.get("user_id").asText());
                assertThat(outcomes.put(n.get("user_id").asText(), n)).as("one outcome per user").isNull();
            }
            for (var r : al.readToEnd(Duration.ofSeconds(30))) alerts.add(JSON.readTree(TopicReader.value(r)));
        }
        assertThat(outcomes).hasSize(USERS);
        Map<String, int[]> perArm = new TreeMap<>(); // exposed, converted
        for (Map.Entry<String, Expected> e : EXPECTED.entrySet()) {
            JsonNode o = outcomes.get(e.getKey());
            Expected x = e.getValue();
            assertThat(o).as(e.getKey()).isNotNull();
            assertThat(o.get("arm").asText()).as(e.getKey() + " arm").isEqualTo(x.arm());
            assertThat(o.get("holdout").asBoolean()).as(e.getKey() + " holdout").isEqualTo(x.holdout());
            assertThat(o.get("experiment_id").asText()).isEqualTo("it-exp");
            assertThat(Instant.parse(o.get("decided_at").asText()).toEpochMilli()).isEqualTo(x.decidedAt());
            assertThat(o.get("goal_event").asText()).isEqualTo("Order Completed");
            assertThat(o.get("goal_within_ms").asLong()).isEqualTo(Duration.ofHours(2).toMillis());
            assertThat(o.get("converted").asBoolean()).as(e.getKey() + " converted").isEqualTo(x.convertedAt() != null);
            if (x.convertedAt() != null) {
                assertThat(Instant.parse(o.get("converted_at").asText()).toEpochMilli()).isEqualTo(x.convertedAt());
                assertThat(o.get("value").asDouble()).isEqualTo(x.value());
                assertThat(o.get("time_to_convert_ms").asLong()).isEqualTo(x.convertedAt() - x.decidedAt());
            } else {
                assertThat(o.get("converted_at").isNull() && o.get("value").isNull() && o.get("time_to_convert_ms").isNull()).isTrue();
            }
            int[] c = perArm.computeIfAbsent(x.arm(), k -> new int[2]);
            c[0]++;
            if (x.convertedAt() != null) c[1]++;
        }
        // the alerts: treatment users only, each with its experiment and arm; the decision id is the alert id
        assertThat(alerts).hasSize(perArm.get("treatment")[0]);
        for (JsonNode a : alerts) {
            assertThat(a.get("experiment_id").asText()).isEqualTo("it-exp");
            assertThat(a.get("arm").asText()).isEqualTo("treatment");
            assertThat(outcomes.get(a.get("user_id").asText()).get("decision_id").asText()).isEqualTo(a.get("alert_id").asText());
        }
        // every arm is there in numbers, and the generated lift shows
        assertThat(perArm.keySet()).containsExactlyInAnyOrder("treatment", "hold", "global_holdout");
        assertThat(perArm.get("global_holdout")[0]).isBetween(20, 70);
        double treated = perArm.get("treatment")[1] / (double) perArm.get("treatment")[0];
        double held = perArm.get("hold")[1] / (double) perArm.get("hold")[0];
        System.out.printf("exposed/converted per arm: %s; conversion treatment %.3f, hold %.3f (true 0.6 vs 0.3)%n",
                perArm.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()[0] + "/" + e.getValue()[1]).toList(), treated, held);
        assertThat(treated - held).isBetween(0.15, 0.45);

        // replay of the same events gives the same outcomes: same decision ids, arms and conversions
        io.behaviorcep.replay.ReplayRunner.Options replay = new io.behaviorcep.replay.ReplayRunner.Options();
        replay.input = io.behaviorcep.replay.ReplayRunner.Input.of(io.behaviorcep.replay.EventFiles.of(dir.resolve("events.jsonl"),
                io.behaviorcep.replay.EventLogFormat.SEGMENT));
        replay.patterns = io.behaviorcep.pattern.PatternLoader.load(patterns).orThrow();
        replay.out = dir.resolve("replay");
        replay.config = run.config();
        replay.parallelism = 2;
        io.behaviorcep.replay.ReplayRunner.run(replay);
        Map<String, JsonNode> replayed = new TreeMap<>();
        for (String line : Files.readAllLines(dir.resolve("replay/outcomes.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            replayed.put(n.get("user_id").asText(), n);
        }
        // replay stops at the last event: outcomes decided later are still pending there
        long lastEvent = Files.readAllLines(dir.resolve("events.jsonl")).stream()
                .mapToLong(l -> Instant.parse(l.replaceAll(".*\"timestamp\":\"([^\"]+)\".*", "$1")).toEpochMilli()).max().orElseThrow();
        Map<String, JsonNode> decidedByTheLastEvent = new TreeMap<>();
        outcomes.forEach((user, o) -> {
            long decided = o.get("converted").asBoolean() ? Instant.parse(o.get("converted_at").asText()).toEpochMilli()
                    : Instant.parse(o.get("decided_at").asText()).toEpochMilli() + o.get("goal_within_ms").asLong();
            if (decided <= lastEvent) decidedByTheLastEvent.put(user, o);
        });
        assertThat(decidedByTheLastEvent.size()).isGreaterThan(USERS / 2);
        assertThat(replayed).as("replay's outcomes.jsonl against behavior.outcomes").isEqualTo(decidedByTheLastEvent);

        // the table holds the same outcomes
        List<String> rows = IntegrationServices.rows(run.jdbcUrl(),
                "SELECT user_id, decision_id, arm, holdout, converted, value, time_to_convert_ms FROM outcomes ORDER BY user_id");
        assertThat(rows).hasSize(USERS);
        for (String row : rows) {
            String[] c = row.split(" \\| ", -1);
            JsonNode o = outcomes.get(c[0]);
            assertThat(c[1]).isEqualTo(o.get("decision_id").asText());
            assertThat(c[2]).isEqualTo(o.get("arm").asText());
            assertThat(c[3]).isEqualTo(o.get("holdout").asBoolean() ? "t" : "f");
            assertThat(c[4]).isEqualTo(o.get("converted").asBoolean() ? "t" : "f");
            if (o.get("converted").asBoolean()) {
                assertThat(Double.parseDouble(c[5])).isEqualTo(o.get("value").asDouble());
                assertThat(Long.parseLong(c[6])).isEqualTo(o.get("time_to_convert_ms").asLong());
            }
        }

        // the report recovers the generated lift (treatment 0.6 against the holdout's 0.3) within its 95 %
        // interval: from the table, as `report` reads it, and from replay's outcomes.jsonl, as `replay --report` does
        io.behaviorcep.experiment.ExperimentReport fromTable;
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(run.jdbcUrl(), "postgres", "")) {
            fromTable = io.behaviorcep.experiment.OutcomesTable.report(c, io.behaviorcep.experiment.OutcomesTable.Filter.ALL);
        }
        io.behaviorcep.experiment.ExperimentReport.Arm treatedArm = fromTable
                .arm(new io.behaviorcep.experiment.ExperimentReport.ArmKey("added-to-cart", 3, "it-exp", "treatment")).orElseThrow();
        System.out.println(fromTable.text());
        assertThat(treatedArm.exposed()).isEqualTo(perArm.get("treatment")[0]);
        assertThat(treatedArm.converted()).isEqualTo(perArm.get("treatment")[1]);
        assertThat(treatedArm.control().arm()).isEqualTo("hold");
        assertThat(treatedArm.conversion().absoluteLiftLow()).as("lower end of the lift's interval").isLessThan(0.3);
        assertThat(treatedArm.conversion().absoluteLiftHigh()).as("upper end of the lift's interval").isGreaterThan(0.3);
        assertThat(treatedArm.conversion().pValue()).isLessThan(0.001);
        List<io.behaviorcep.experiment.OutcomeRow> replayedRows = new ArrayList<>();
        io.behaviorcep.experiment.OutcomeRow.readJsonLines(dir.resolve("replay/outcomes.jsonl"), replayedRows::add);
        io.behaviorcep.experiment.ExperimentReport fromReplay = io.behaviorcep.experiment.ExperimentReport.of(replayedRows);
        io.behaviorcep.experiment.ExperimentReport.Arm replayedArm = fromReplay
                .arm(new io.behaviorcep.experiment.ExperimentReport.ArmKey("added-to-cart", 3, "it-exp", "treatment")).orElseThrow();
        assertThat(replayedArm.conversion().absoluteLiftLow()).isLessThan(0.3);
        assertThat(replayedArm.conversion().absoluteLiftHigh()).isGreaterThan(0.3);
    }
}
