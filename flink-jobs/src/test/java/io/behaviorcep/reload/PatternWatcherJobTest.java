package io.behaviorcep.reload;

import io.behaviorcep.config.JobConfig;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.PatternChange;
import io.behaviorcep.pattern.PatternLoader;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The watcher as {@link PatternWatcherOperator#attach} wires it, in a real (local) Flink job with
 * checkpoints: the operator and its state serialise, a file saved while the job runs comes out as
 * a change and a pattern-events record, and the change's activation time lies after event time.
 */
class PatternWatcherJobTest {
    static final long T0 = Instant.parse("2026-03-02T10:00:00Z").toEpochMilli();

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aFileSavedWhileTheJobRunsBecomesAChangeAndARecord() throws Exception {
        Files.writeString(dir.resolve("cart.yaml"), PatternWatcherOperatorTest.pattern("cart", 1, true, "Product Viewed"));
        JobConfig config = JobConfig.of(Map.of("patterns.dir", dir.toString(), "patterns.watch", "true",
                "patterns.watch-interval", "200ms", "patterns.activation-delay", "1m"));

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        env.enableCheckpointing(300);
        DataStream<BehaviorEvent> timed = env.fromSequence(0, Long.MAX_VALUE)
                .map(i -> {
                    Thread.sleep(2);
                    BehaviorEvent e = new BehaviorEvent();
                    e.timestamp = T0 + i * 1000;
                    return e;
                }, TypeInformation.of(BehaviorEvent.class))
                .assignTimestampsAndWatermarks(WatermarkStrategy.<BehaviorEvent>forMonotonousTimestamps()
                        .withTimestampAssigner((e, ts) -> e.timestamp));
        SingleOutputStreamOperator<PatternChange> changes = PatternWatcherOperator.attach(timed, config, PatternLoader.load(dir).patterns());
        DataStream<String> both = changes.map(c -> "change " + c.kind + " " + c.patternId + " v" + c.version + " " + c.activateAt, Types.STRING)
                .union(changes.getSideOutput(PatternWatcherOperator.PATTERN_EVENTS).map(r -> "event " + r, Types.STRING));

        ObjectMapper json = new ObjectMapper();
        try (CloseableIterator<String> out = both.collectAsync()) {
            JobClient job = env.executeAsync("pattern watcher");
            try {
                Files.writeString(dir.resolve("burst.yaml"), PatternWatcherOperatorTest.pattern("burst", 1, true, "Product Viewed"));
                String change = null;
                JsonNode event = null;
                while (change == null || event == null) {
                    String s = out.next();
                    if (s.startsWith("change ")) change = s;
                    else event = json.readTree(s.substring("event ".length()));
                }
                assertThat(change).startsWith("change upsert burst v1 ");
                long activateAt = Long.parseLong(change.substring(change.lastIndexOf(' ') + 1));
                assertThat(activateAt).as("watermark + 1m, after event time started").isGreaterThan(T0 + 60_000);
                assertThat(event.get("kind").asText()).isEqualTo("accepted");
                assertThat(event.get("change").asText()).isEqualTo("added");
                assertThat(event.get("activate_at").asText()).isEqualTo(Instant.ofEpochMilli(activateAt).toString());
            } finally {
                job.cancel().get(30, TimeUnit.SECONDS);
            }
        }
    }
}
