package io.behaviorcep.ops;

import io.behaviorcep.BehaviorCepPipeline;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.pattern.expr.InjectedFaults;
import io.behaviorcep.testkit.InMemoryIO;
import io.behaviorcep.testing.Pipelines;
import io.behaviorcep.testing.Repo;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.testutils.InMemoryReporter;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

import static io.behaviorcep.testing.Events.added;
import static io.behaviorcep.testing.Events.bytes;
import static io.behaviorcep.testing.Events.min;
import static io.behaviorcep.testing.Events.ordered;
import static io.behaviorcep.testing.Events.page;
import static io.behaviorcep.testing.Events.viewed;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The job's metrics on a MiniCluster, exact on a small known input: per pattern (events evaluated,
 * matches, timeouts fired, condition errors, alerts emitted, capped, collapsed), job-wide (events in,
 * DLQ by reason, duplicates), and the gauges back at zero once the final watermark has expired all
 * state. Then every metric the Grafana dashboard queries must be among the Prometheus names of what
 * the job registered. {@code MetricsIT} reads the same metrics from a live job through the web UI.
 */
class MetricsTest {
    private static final InMemoryReporter REPORTER = InMemoryReporter.createWithRetainedMetrics();

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setConfiguration(REPORTER.addToConfiguration(productionLike()))
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    /** The state backend and its metrics as in k8s/flink-deployment.yaml: RocksDB's key estimates are the partial-match proxy. */
    private static Configuration productionLike() {
        Configuration conf = new Configuration();
        conf.setString("state.backend.type", "rocksdb");
        conf.setString("state.backend.rocksdb.metrics.estimate-num-keys", "true");
        return conf;
    }

    /** Its condition fails at run time on a long value ({@link InjectedFaults}: nothing in the language fails by itself). */
    private static final String REGEX_PATTERN = """
            id: odd-path
            version: 3
            steps:
              - name: visit
                type: page
                where:
                  - properties.path matches '(a|b)*c'
            actions:
              alert:
                type: odd_path
            """;

    private static JobID job;
    private static InMemoryIO io;

    /** Once per class; not in @BeforeAll: the extension makes its cluster the environment's only around each test. */
    @BeforeEach
    void runJobOnce(@TempDir Path dir) throws Exception {
        if (job != null) return;
        Files.writeString(dir.resolve("odd-path.yaml"), REGEX_PATTERN);
        List<PatternDefinition> patterns = new ArrayList<>();
        for (PatternDefinition d : PatternLoader.load(dir).orThrow()) patterns.add(InjectedFaults.failingWhen(d, "properties.path matches '(ab){1000}.*'"));
        patterns.add(Repo.pattern("cart-abandonment"));

        // in event-time order, so that no event falls behind the watermark whenever it is emitted
        List<byte[]> in = new ArrayList<>();
        ObjectNode longPath = page("u4", min(3)); // 60,000 characters: the injected condition error
        ((ObjectNode) longPath.get("properties")).put("path", "ab".repeat(30_000));
        ObjectNode abc = page("u4", min(4));      // odd-path matches
        ((ObjectNode) abc.get("properties")).put("path", "abc");
        ObjectNode add2 = added("u1", min(121));
        // u1 abandons twice within 24 h (the second alert is capped: max 1 per 24 h); u2 orders in time;
        // u3 views twice before one add: two matches of one anchor, one alert, one collapsed
        in.add(bytes(viewed("u1", min(0))));
        in.add(bytes(viewed("u2", min(0))));
        in.add(bytes(viewed("u3", min(0))));
        in.add(bytes(added("u1", min(1))));
        in.add(bytes(added("u2", min(1))));
        in.add(bytes(viewed("u3", min(1))));
        in.add(bytes(added("u3", min(2))));
        in.add(bytes(longPath));
        in.add(bytes(abc));
        in.add(bytes(ordered("u2", min(5))));
        in.add(bytes(page("u4", min(5))));        // odd-path: no match
        in.add(bytes("not json"));
        in.add(bytes("{\"type\":\"track\",\"event\":\"x\",\"userId\":\"u5\",\"timestamp\":\"2026-03-02T10:06:00Z\"}")); // no messageId
        in.add(bytes(viewed("u1", min(120))));
        in.add(bytes(add2));
        in.add(bytes(add2)); // a duplicate (same messageId): dropped before any pattern sees it

        io = new InMemoryIO(in);
        StreamExecutionEnvironment env = Pipelines.env(2);
        BehaviorCepPipeline.build(env, Pipelines.testConfig(), patterns, io);
        job = env.execute("metrics-test").getJobID();
    }

    @Test
    void perPatternCountersMatchWhatHappened() throws Exception {
        assertThat(io.alerts()).hasSize(3); // sanity: u1 once, u3 once, odd-path once

        assertThat(patternSum("cart-abandonment", "1", "eventsEvaluated")).isEqualTo(10); // views, adds, orders; duplicate dropped before
        assertThat(patternSum("cart-abandonment", "1", "matches")).isEqualTo(4);          // u1 twice, u3 twice
        assertThat(patternSum("cart-abandonment", "1", "timeoutsFired")).isEqualTo(4);    // every match waited for its 15 minutes
        assertThat(patternSum("cart-abandonment", "1", "alertsEmitted")).isEqualTo(2);
        assertThat(patternSum("cart-abandonment", "1", "alertsCapped")).isEqualTo(1);
        assertThat(patternSum("cart-abandonment", "1", "matchesCollapsed")).isEqualTo(1);
        assertThat(patternSum("cart-abandonment", "1", "conditionErrors")).isZero();

        assertThat(patternSum("odd-path", "3", "eventsEvaluated")).isEqualTo(3);
        assertThat(patternSum("odd-path", "3", "matches")).isEqualTo(1);
        assertThat(patternSum("odd-path", "3", "timeoutsFired")).isZero();
        assertThat(patternSum("odd-path", "3", "conditionErrors")).isEqualTo(1);
        assertThat(patternSum("odd-path", "3", "alertsEmitted")).isEqualTo(1);
    }

    @Test
    void jobWideCountersMatchWhatWasSent() {
        assertThat(sum("eventsIn", v -> true)).isEqualTo(16);
        assertThat(sum("NOT_JSON", v -> true)).isEqualTo(1);       // dlq.NOT_JSON
        assertThat(sum("MISSING_FIELD", v -> true)).isEqualTo(1);  // no messageId
        assertThat(sum("deadLetters", v -> "NOT_JSON".equals(v.get("<reason>")))).isEqualTo(1);
        assertThat(sum("deadLetters", v -> "MISSING_FIELD".equals(v.get("<reason>")))).isEqualTo(1);
        assertThat(sum("deadLetters", v -> true)).isEqualTo(2);
        assertThat(sum("duplicatesDropped", v -> true)).isEqualTo(1);
        assertThat(sum("alertsEmitted", v -> !v.containsKey("<pattern>"))).isEqualTo(3);
        assertThat(sum("segmentEnters", v -> true)).isEqualTo(2);   // u1, u3 into cart_abandoners
    }

    @Test
    void gaugesCountUpAndBackDown() {
        // the bounded input ends with the final watermark: every profile is cleared and every
        // membership expires, so what was counted up must have been counted down again
        assertThat(sum("segmentExits", v -> true)).isEqualTo(2);
        assertThat(gauges("members", v -> "cart_abandoners".equals(v.get("<segment>")))).isNotEmpty().allMatch(n -> n == 0);
        assertThat(gauges("profilesHeld", v -> true)).hasSize(2).allMatch(n -> n == 0);
    }

    @Test
    void everyMetricTheDashboardQueriesIsRegistered() throws Exception {
        Set<String> registered = new TreeSet<>();
        REPORTER.getMetricsByGroup().forEach((group, metrics) -> metrics.keySet().forEach(name -> registered.add(PrometheusNames.of(group, name))));
        Set<String> queried = new TreeSet<>(PrometheusNames.queriedByDashboard());
        assertThat(queried).hasSizeGreaterThan(20);
        // registered by the Kafka source, which this in-memory run does not have: MetricsIT checks them on a live job
        assertThat(queried).containsAll(PrometheusNames.KAFKA_SOURCE_ONLY);
        queried.removeAll(PrometheusNames.KAFKA_SOURCE_ONLY);
        assertThat(registered).as("Prometheus names of the metrics the job registered").containsAll(queried);
    }

    @Test
    void everyMetricAndOperatorTheAlertingRulesAndDashboardSelectExists() throws Exception {
        Set<String> registered = new TreeSet<>();
        Set<String> operators = new TreeSet<>();
        REPORTER.getMetricsByGroup().forEach((group, metrics) -> {
            metrics.keySet().forEach(name -> registered.add(PrometheusNames.of(group, name)));
            String op = group.getAllVariables().get("<operator_name>");
            if (op != null) operators.add(op);
        });
        Set<String> inRules = PrometheusNames.queriedByRules();
        assertThat(inRules).contains("flink_taskmanager_job_task_operator_lateEvents", "flink_taskmanager_job_task_operator_eventsIn");
        assertThat(registered).as("metrics the alerting rules use").containsAll(inRules);
        Set<String> selected = PrometheusNames.operatorNamesQueried();
        assertThat(selected).isNotEmpty();
        assertThat(operators).as("operator names the dashboard and rules select on").containsAll(selected);
    }

    private static long patternSum(String pattern, String version, String name) {
        return sum(name, v -> pattern.equals(v.get("<pattern>")) && version.equals(v.get("<version>")));
    }

    private static long sum(String name, Predicate<Map<String, String>> variables) {
        long total = 0;
        for (Map.Entry<MetricGroup, Map<String, Metric>> e : REPORTER.getMetricsByGroup().entrySet()) {
            Map<String, String> v = e.getKey().getAllVariables();
            if (!job.toString().equals(v.get("<job_id>")) || !variables.test(v)) continue;
            Metric m = e.getValue().get(name);
            if (m instanceof Counter c) total += c.getCount();
        }
        return total;
    }

    private static List<Long> gauges(String name, Predicate<Map<String, String>> variables) {
        List<Long> out = new ArrayList<>();
        for (Map.Entry<MetricGroup, Map<String, Metric>> e : REPORTER.getMetricsByGroup().entrySet()) {
            Map<String, String> v = e.getKey().getAllVariables();
            if (!job.toString().equals(v.get("<job_id>")) || !variables.test(v)) continue;
            if (e.getValue().get(name) instanceof Gauge<?> g) out.add(((Number) g.getValue()).longValue());
        }
        return out;
    }
}
