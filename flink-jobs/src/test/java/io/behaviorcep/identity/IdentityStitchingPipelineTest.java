package io.behaviorcep.identity;

import io.behaviorcep.BehaviorCepPipeline;
import io.behaviorcep.output.Alert;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.testing.Repo;
import io.behaviorcep.testkit.InMemoryIO;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Identity stitching in the whole job (MiniCluster, the shipped cart-abandonment pattern): an anonymous
 * view, a login by {@code identify} or {@code alias}, a logged-in add and no order are one abandonment of
 * the user; without stitching they are two users and no abandonment.
 */
class IdentityStitchingPipelineTest {

    static byte[] json(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static List<Alert> run(String link, boolean stitching) throws Exception {
        PatternDefinition cart = PatternLoader.load(Repo.patterns().resolve("cart-abandonment.yaml")).orThrow().get(0);
        List<byte[]> records = List.of(
                json("{\"type\":\"track\",\"event\":\"Product Viewed\",\"anonymousId\":\"a1\",\"messageId\":\"m1\",\"timestamp\":\"2026-01-01T00:00:00Z\"}"),
                json(link),
                json("{\"type\":\"track\",\"event\":\"Product Added\",\"userId\":\"u1\",\"messageId\":\"m3\",\"timestamp\":\"2026-01-01T00:05:00Z\"}"));
        InMemoryIO io = new InMemoryIO(records);
        try {
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(new Configuration());
            env.setParallelism(2);
            Map<String, String> settings = new HashMap<>(Map.of("kafka.bootstrap-servers", "in-memory:0", "events.max-out-of-orderness", "1d",
                    "events.idle-advance", "false", "policy.file", "none", "identity.stitching", Boolean.toString(stitching)));
            BehaviorCepPipeline.build(env, JobConfig.of(settings), List.of(cart), io);
            env.execute("identity stitching");
            assertThat(io.deadLetters()).isEmpty();
            return io.alerts();
        } finally {
            io.clear();
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "identify|{\"type\":\"identify\",\"userId\":\"u1\",\"anonymousId\":\"a1\",\"messageId\":\"m2\",\"timestamp\":\"2026-01-01T00:02:00Z\"}",
            "alias|{\"type\":\"alias\",\"userId\":\"u1\",\"previousId\":\"a1\",\"messageId\":\"m2\",\"timestamp\":\"2026-01-01T00:02:00Z\"}"})
    void anAnonymousViewALoginAndALoggedInAddAreOneAbandonmentOfTheUser(String name, String link) throws Exception {
        List<Alert> stitched = run(link, true);
        assertThat(stitched).extracting(a -> a.userId + " " + a.alertType + " " + a.detectedAt)
                .containsExactly("u1 cart_abandoned " + (java.time.Instant.parse("2026-01-01T00:20:00Z").toEpochMilli()));
        assertThat(stitched.get(0).matchedJson).contains("\"m1\"", "\"m3\"");

        assertThat(run(link, false)).as("without stitching the view is another user's").isEmpty();
    }
}
