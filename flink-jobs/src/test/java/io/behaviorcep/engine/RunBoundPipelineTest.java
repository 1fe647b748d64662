package io.behaviorcep.engine;

import io.behaviorcep.BehaviorCepPipeline;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.testing.Pipelines;
import io.behaviorcep.testing.Repo;
import io.behaviorcep.testkit.InMemoryIO;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.testutils.InMemoryReporter;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static io.behaviorcep.testing.Events.added;
import static io.behaviorcep.testing.Events.bytes;
import static io.behaviorcep.testing.Events.min;
import static io.behaviorcep.testing.Events.viewed;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The 1,500 + 1,500 user of {@link RunBoundTest} through the whole job (parse, dedup, profile,
 * engine, caps) on a MiniCluster, beside ordinary shoppers: the job finishes, every ordinary
 * shopper's cart abandonment is alerted, and the runs the heavy user lost are counted in
 * {@code partialMatchesOverflowed} of cart-abandonment. Without the bound this job was still
 * deciding after 5 minutes; the timeout only keeps a regression from hanging the build.
 */
class RunBoundPipelineTest {
    private static final InMemoryReporter REPORTER = InMemoryReporter.createWithRetainedMetrics();

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setConfiguration(REPORTER.addToConfiguration(new Configuration()))
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void aUserWith1500ViewsThen1500AddsDoesNotStallTheJob() throws Exception {
        List<PatternDefinition> patterns = List.of(Repo.pattern("cart-abandonment"));
        List<byte[]> in = new ArrayList<>();
        Set<String> ordinary = new TreeSet<>();
        // in event-time order: ordinary shoppers view and add in the first minutes and go quiet
        for (int u = 1; u <= 10; u++) {
            ordinary.add("user-" + u);
            in.add(bytes(viewed("user-" + u, min(u))));
        }
        Instant t0 = min(12);
        for (int i = 0; i < 1500; i++) in.add(bytes(viewed("heavy", t0.plusMillis(i * 500L))));
        for (int u = 1; u <= 10; u++) in.add(bytes(added("user-" + u, t0.plusMillis(750_000L + u))));
        for (int i = 0; i < 1500; i++) in.add(bytes(added("heavy", t0.plusMillis(750_000L + 100 + i * 500L))));

        InMemoryIO io = new InMemoryIO(in);
        StreamExecutionEnvironment env = Pipelines.env(2);
        BehaviorCepPipeline.build(env, Pipelines.testConfig(), patterns, io);
        long t = System.nanoTime();
        String job = env.execute("run-bound").getJobID().toString();
        System.out.printf("1,500 + 1,500 through the job: %d ms%n", (System.nanoTime() - t) / 1_000_000);

        Map<String, Set<String>> alerted = io.alerts().stream().collect(Collectors.groupingBy(a -> a.patternId,
                Collectors.mapping(a -> a.userId, Collectors.toCollection(TreeSet::new))));
        assertThat(alerted.get("cart-abandonment")).as("every ordinary shopper, and the heavy one")
                .containsAll(ordinary).contains("heavy");
        long overflowed = 0;
        int found = 0;
        for (Map.Entry<MetricGroup, Map<String, Metric>> e : REPORTER.getMetricsByGroup().entrySet()) {
            Map<String, String> v = e.getKey().getAllVariables();
            if (!job.equals(v.get("<job_id>")) || !"cart-abandonment".equals(v.get("<pattern>"))) continue;
            if (e.getValue().get(PatternEngineFunction.PARTIAL_MATCHES_OVERFLOWED) instanceof Counter c) {
                overflowed += c.getCount();
                found++;
            }
        }
        assertThat(found).as("partialMatchesOverflowed counters").isPositive();
        assertThat(overflowed).as("runs of the heavy user dropped, oldest first").isPositive();
    }
}
