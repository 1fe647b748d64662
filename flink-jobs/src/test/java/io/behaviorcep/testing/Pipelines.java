package io.behaviorcep.testing;

import io.behaviorcep.BehaviorCepPipeline;
import io.behaviorcep.PipelineIO;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.pattern.PatternDefinition;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.util.List;
import java.util.Map;

/** Runs the real pipeline to completion on the test MiniCluster. */
public final class Pipelines {
    private Pipelines() {}

    public static JobConfig testConfig() {
        return JobConfig.of(Map.of("kafka.bootstrap-servers", "unused:9092", "events.max-out-of-orderness", "1m",
                // bounded test inputs end with a final watermark; wall-clock advance would only add noise
                "events.idle-advance", "false"));
    }

    public static StreamExecutionEnvironment env(int parallelism) {
        Configuration conf = new Configuration();
        // any Kryo fallback is a bug: state and network must use Flink's own serializers
        conf.setString("pipeline.generic-types", "false");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(parallelism);
        return env;
    }

    public static void run(List<PatternDefinition> patterns, PipelineIO io) throws Exception {
        run(testConfig(), patterns, io);
    }

    public static void run(JobConfig config, List<PatternDefinition> patterns, PipelineIO io) throws Exception {
        StreamExecutionEnvironment env = env(2);
        BehaviorCepPipeline.build(env, config, patterns, io);
        env.execute("test");
    }
}
