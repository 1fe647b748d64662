package io.behaviorcep;

import io.behaviorcep.config.JobConfig;
import io.behaviorcep.pattern.InvalidPatternsException;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;

import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * The entry class for {@code flink run} and the Flink Kubernetes Operator:
 * {@code flink run -c io.behaviorcep.BehaviorCepJob behavior-cep.jar --kafka.bootstrap-servers ... --patterns.dir ...}.
 * Settings are {@code --key value} pairs or {@code --config file.properties}; see {@link JobConfig#KEYS}.
 */
public final class BehaviorCepJob {
    private static final Logger LOG = LoggerFactory.getLogger(BehaviorCepJob.class);
    public static final String JOB_NAME = "behavior-cep";

    private BehaviorCepJob() {}

    public static void main(String[] args) throws Exception {
        JobConfig config = JobConfig.fromArgs(args);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        prepare(env, config, new KafkaIO(config));
        env.execute(JOB_NAME);
    }

    /** Loads and checks the patterns (refusing to start on any problem), then builds the graph. */
    public static List<PatternDefinition> prepare(StreamExecutionEnvironment env, JobConfig config, PipelineIO io) {
        if (config.bootstrapServers().isBlank()) {
            throw new IllegalArgumentException("kafka.bootstrap-servers is required");
        }
        PatternLoader.Result loaded = PatternLoader.load(config.patternsPath());
        if (!loaded.ok()) {
            InvalidPatternsException e = new InvalidPatternsException(loaded.problems());
            LOG.error("refusing to start: {}", e.getMessage());
            throw e;
        }
        if (loaded.patterns().isEmpty() && loaded.segments().isEmpty()) {
            throw new IllegalArgumentException("no pattern files found in " + config.patternsPath().toAbsolutePath());
        }
        List<PatternDefinition> patterns = loaded.patterns();
        patterns.forEach(p -> LOG.info("pattern {} ({}){}", p.label(), p.source, p.enabled ? "" : " is disabled"));
        loaded.segments().forEach(s -> LOG.info("threshold segment {} ({}){}", s.id, s.source, s.enabled ? "" : " is disabled"));
        if (config.parallelism() != null) env.setParallelism(config.parallelism());
        BehaviorCepPipeline.configureCheckpointing(env, config);
        loaded.traits().forEach(t -> LOG.info("trait {} = {} ({})", t.id, t.spec(), t.source));
        BehaviorCepPipeline.build(env, config, patterns, loaded.segments(), loaded.traits(), io);
        return patterns;
    }
}
