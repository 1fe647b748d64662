package io.behaviorcep.ops;

import io.behaviorcep.BehaviorCepJob;
import io.behaviorcep.BehaviorCepPipeline;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.KafkaIO;
import io.behaviorcep.testing.Repo;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.JobVertex;
import org.apache.flink.runtime.jobgraph.tasks.TaskInvokable;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The keyed path is one chain (issue #16): after the one keyBy, the head, dedup, profile, engine and
 * actions run in one task, so records pass between them without being serialised, in every
 * configuration of the production graph.
 */
class KeyedPathChainTest {
    static final List<String> KEYED_PATH = List.of("Keyed path in", "Dedup & late routing", "User profile",
            BehaviorCepPipeline.ENGINE_NAME, "Alerts, caps & segments");

    static JobGraph jobGraph(boolean everything) {
        Map<String, String> all = new HashMap<>();
        all.put("kafka.bootstrap-servers", "localhost:9092");
        all.put("patterns.dir", Repo.patterns().toString());
        if (everything) {
            all.put("privacy.pseudonymize", "true");
            all.put("patterns.watch", "true");
            all.put("jdbc.url", "jdbc:postgresql://localhost:5432/behavior_cep");
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(new Configuration());
        env.setParallelism(2);
        BehaviorCepJob.prepare(env, JobConfig.of(all), new KafkaIO(JobConfig.of(all)));
        return env.getStreamGraph().getJobGraph();
    }

    @ParameterizedTest(name = "all settings on: {0}")
    @ValueSource(booleans = {false, true})
    void theKeyedOperatorsFormOneChainAfterOneShuffle(boolean everything) {
        JobGraph graph = jobGraph(everything);
        List<String> vertices = new ArrayList<>();
        JobVertex keyedPath = null;
        for (JobVertex v : graph.getVertices()) {
            vertices.add(v.getName());
            if (v.getName().contains(BehaviorCepPipeline.ENGINE_NAME)) keyedPath = v;
        }
        assertThat(keyedPath).as("a task runs the engine, among %s", vertices).isNotNull();
        String chain = keyedPath.getName();
        int at = -1;
        for (String operator : KEYED_PATH) {
            int next = chain.indexOf(operator);
            assertThat(next).as("'%s' in the engine's task, in order: %s", operator, chain).isGreaterThan(at);
            at = next;
        }
        // the keyed events (and the side inputs keyed with them) and the pattern changes: the head's two inputs
        Class<? extends TaskInvokable> task = keyedPath.getInvokableClass(getClass().getClassLoader());
        assertThat(task.getSimpleName()).isEqualTo("TwoInputStreamTask");
    }
}
