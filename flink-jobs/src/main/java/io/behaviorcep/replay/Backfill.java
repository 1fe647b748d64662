package io.behaviorcep.replay;

import io.behaviorcep.output.Alert;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.segment.SegmentUpdate;
import io.behaviorcep.KafkaIO;

import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

/**
 * {@code replay --to-sinks}: writes a replay's decided alerts and segment updates to the real
 * outputs, through the production sinks ({@link KafkaIO}: the Kafka topics, and PostgreSQL when
 * {@code jdbc.url} is set). A second small bounded job reads {@code alerts.jsonl} and
 * {@code segments.jsonl} back, so only what the replay decided (nothing pending) is written.
 *
 * <p>Idempotent with the streaming job: alert ids and segment event ids are deterministic (the
 * same events give the same ids in the live job, in a replay, and in a second replay), PostgreSQL
 * ignores rows it already has ({@code ON CONFLICT DO NOTHING}) and moves {@code user_segments} only
 * forward by version. Kafka topics are append-only: a repeated backfill appends the same records
 * with the same ids again, which consumers deduplicate on {@code alert_id} / {@code event_id}
 * (and compaction does for {@code behavior.segments}).
 *
 * <p>The Kafka transactions use their own transactional-id prefix ({@code <prefix>-replay-<random>}),
 * so a backfill never fences the producers of the running job.
 */
public final class Backfill {
    public record Written(long alerts, long segmentUpdates) {}

    private Backfill() {}

    public static Written write(JobConfig config, Path out, int parallelism) throws Exception {
        if (config.bootstrapServers().isBlank()) {
            throw new IllegalArgumentException("--to-sinks needs kafka.bootstrap-servers (and jdbc.url for PostgreSQL)");
        }
        Path alertsFile = out.resolve("alerts.jsonl");
        Path segmentsFile = out.resolve("segments.jsonl");
        long alerts = lines(alertsFile);
        long segments = lines(segmentsFile);
        if (alerts == 0 && segments == 0) return new Written(0, 0);

        String runId = UUID.randomUUID().toString();
        JobConfig c = config.with("kafka.transactional-id-prefix", config.transactionalIdPrefix() + "-replay-" + runId.substring(0, 8));
        Configuration conf = new Configuration();
        conf.set(ExecutionOptions.RUNTIME_MODE, RuntimeExecutionMode.BATCH);
        conf.setString("pipeline.generic-types", "false");
        conf.setString("restart-strategy.type", "none");
        ReplayRunner.localClusterSettings(conf);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(parallelism);
        KafkaIO io = new KafkaIO(c);
        try {
            DataStream<Alert> a = EventFiles.of(alertsFile, EventLogFormat.SEGMENT).stream(env, runId, "backfill-alerts", "decided alerts")
                    .map(r -> ReplayDocs.alert(ReplayDocs.read(new String(r.value, StandardCharsets.UTF_8))), TypeInformation.of(Alert.class))
                    .uid("backfill-alerts-docs").name("Alert documents");
            io.alerts(a);
            DataStream<SegmentUpdate> s = EventFiles.of(segmentsFile, EventLogFormat.SEGMENT).stream(env, runId, "backfill-segments", "decided segment updates")
                    .map(r -> ReplayDocs.segment(ReplayDocs.read(new String(r.value, StandardCharsets.UTF_8))), TypeInformation.of(SegmentUpdate.class))
                    .uid("backfill-segments-docs").name("Segment update documents");
            io.segmentUpdates(s);
            env.execute("behavior-cep replay backfill");
        } finally {
            ReplayProgress.release(runId);
        }
        return new Written(alerts, segments);
    }

    private static long lines(Path f) throws java.io.IOException {
        if (!Files.exists(f)) throw new IllegalArgumentException(f + " is missing: run the replay first");
        try (var l = Files.lines(f)) {
            return l.filter(s -> !s.isBlank()).count();
        }
    }
}
