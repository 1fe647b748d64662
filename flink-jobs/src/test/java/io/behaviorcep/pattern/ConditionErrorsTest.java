package io.behaviorcep.pattern;

import io.behaviorcep.BehaviorCepPipeline;
import io.behaviorcep.pattern.expr.InjectedFaults;
import io.behaviorcep.testing.Pipelines;
import io.behaviorcep.testing.Repo;
import io.behaviorcep.testkit.InMemoryIO;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.testutils.InMemoryReporter;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import static io.behaviorcep.testing.Events.added;
import static io.behaviorcep.testing.Events.bytes;
import static io.behaviorcep.testing.Events.min;
import static io.behaviorcep.testing.Events.viewed;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A pattern whose condition fails at run time on some events, beside a normal pattern, through the
 * real pipeline on a MiniCluster with checkpoints and a restart strategy (so a failure would show as a
 * restart, not only as a failed job): the job must finish without a single restart, every alert of
 * the normal pattern must be there, the failing pattern must still match the events its condition
 * can judge, and the failures must be counted in {@code conditionErrors} of that pattern and version only.
 *
 * <p>Nothing in the condition language fails at run time any more: it has no arithmetic, a missing
 * field makes a comparison false by definition, and regexes run on RE2/J (java.util.regex recursed per
 * character for {@code (a|b)*}, and a 30,000-character value overflowed the stack). So the failure is
 * injected ({@link InjectedFaults}): the conditions throw on the poisoned notes. {@code Expr.test}
 * catches that, counts it and takes the condition as false. ({@code MetricsTest} checks one such error
 * among all the metrics; this test checks the job's behaviour with many of them.)
 */
class ConditionErrorsTest {
    private static final InMemoryReporter REPORTER = InMemoryReporter.createWithRetainedMetrics();

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setConfiguration(REPORTER.addToConfiguration(new Configuration()))
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    private static final String FRAGILE = """
            id: fragile-notes
            version: 7
            steps:
              - name: viewed
                event: Product Viewed
                where:
                  - properties.note matches '(a|b)*'
              - name: added
                event: Product Added
                within: 30m
                where:
                  - properties.note matches '(a|b)*'
            actions:
              alert:
                type: noted_view_then_add
            """;

    private static final int USERS = 40;
    /** Users 1..POISONED view with a poisoned note (the conditions throw on it); the rest with a short one. */
    private static final int POISONED_VIEWS = 12;
    /** Users POISONED_VIEWS+1 .. POISONED_VIEWS+POISONED_ADDS view fine and add with the poisoned note. */
    private static final int POISONED_ADDS = 8;

    @Test
    void aConditionThatThrowsIsCountedPerPatternAndNeitherFailsTheJobNorStopsTheOtherPatterns() throws Exception {
        List<PatternDefinition> patterns = new ArrayList<>();
        for (PatternDefinition d : PatternLoader.loadString("fragile-notes.yaml", FRAGILE).orThrow()) {
            patterns.add(InjectedFaults.failingWhen(d, "properties.note matches 'a{1000}.*'"));
        }
        patterns.add(Repo.pattern("cart-abandonment"));
        String poison = "a".repeat(30_000);

        // in event-time order: each user views, adds one minute later, and goes quiet (a cart abandonment each)
        List<byte[]> in = new ArrayList<>();
        Set<String> users = new TreeSet<>();
        Set<String> judgeable = new TreeSet<>();
        for (int u = 1; u <= USERS; u++) {
            String user = "user-" + u;
            users.add(user);
            Instant t = min(2L * u);
            ObjectNode view = viewed(user, t);
            ObjectNode add = added(user, t.plus(Duration.ofMinutes(1)));
            boolean poisonedView = u <= POISONED_VIEWS;
            boolean poisonedAdd = !poisonedView && u <= POISONED_VIEWS + POISONED_ADDS;
            ((ObjectNode) view.get("properties")).put("note", poisonedView ? poison : "abab");
            ((ObjectNode) add.get("properties")).put("note", poisonedAdd ? poison : "ba");
            if (!poisonedView && !poisonedAdd) judgeable.add(user);
            in.add(bytes(view));
            in.add(bytes(add));
        }

        InMemoryIO io = new InMemoryIO(in);
        Configuration conf = new Configuration();
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(100));
        StreamExecutionEnvironment env = Pipelines.env(2);
        env.configure(conf);
        BehaviorCepPipeline.configureCheckpointing(env, Duration.ofMillis(200));
        BehaviorCepPipeline.build(env, Pipelines.testConfig(), patterns, io);
        JobExecutionResult result = env.execute("condition-errors");
        String job = result.getJobID().toString();

        Map<String, Set<String>> alertedUsers = io.alerts().stream()
                .collect(Collectors.groupingBy(a -> a.patternId, Collectors.mapping(a -> a.userId, Collectors.toCollection(TreeSet::new))));
        long fragileErrors = sum(job, "conditionErrors", v -> "fragile-notes".equals(v.get("<pattern>")) && "7".equals(v.get("<version>")));
        long cartErrors = sum(job, "conditionErrors", v -> "cart-abandonment".equals(v.get("<pattern>")));
        long restarts = gauge(job, "numRestarts");
        System.out.printf("condition errors: %d users (%d poisoned views, %d poisoned adds), conditionErrors{pattern=fragile-notes,version=7} %d, "
                        + "{pattern=cart-abandonment} %d; alerts cart-abandonment %d, fragile-notes %d (expected %d); numRestarts %d%n",
                USERS, POISONED_VIEWS, POISONED_ADDS, fragileErrors, cartErrors,
                alertedUsers.getOrDefault("cart-abandonment", Set.of()).size(), alertedUsers.getOrDefault("fragile-notes", Set.of()).size(),
                judgeable.size(), restarts);

        assertThat(restarts).as("numRestarts of the job").isZero();
        assertThat(alertedUsers.get("cart-abandonment")).as("the normal pattern's alerts: every user").isEqualTo(users);
        assertThat(alertedUsers.get("fragile-notes")).as("the failing pattern still matches where its conditions can judge").isEqualTo(judgeable);
        // every evaluation on a poisoned note failed and was counted against the pattern and version that failed.
        // The metric counts evaluations, not events: Flink CEP evaluates a later step's condition twice per
        // event (its take edge and, for followed_by, its ignore edge), the first step's once; so 12 + 2 x 8 = 28
        // with Flink CEP, and at least one per poisoned event with any engine.
        assertThat(fragileErrors).as("conditionErrors of fragile-notes v7")
                .isBetween((long) POISONED_VIEWS + POISONED_ADDS, (long) POISONED_VIEWS + 2L * POISONED_ADDS);
        assertThat(cartErrors).as("conditionErrors of cart-abandonment").isZero();
        assertThat(io.alerts().stream().map(a -> a.patternId).distinct()).containsExactlyInAnyOrder("cart-abandonment", "fragile-notes");
    }

    private static long sum(String job, String name, Predicate<Map<String, String>> variables) {
        long total = 0;
        int found = 0;
        for (Map.Entry<MetricGroup, Map<String, Metric>> e : REPORTER.getMetricsByGroup().entrySet()) {
            Map<String, String> v = e.getKey().getAllVariables();
            if (!job.equals(v.get("<job_id>")) || !variables.test(v)) continue;
            if (e.getValue().get(name) instanceof Counter c) {
                total += c.getCount();
                found++;
            }
        }
        assertThat(found).as("counters named " + name).isPositive();
        return total;
    }

    private static long gauge(String job, String name) {
        for (Map.Entry<MetricGroup, Map<String, Metric>> e : REPORTER.getMetricsByGroup().entrySet()) {
            Map<String, String> v = e.getKey().getAllVariables();
            if (job.equals(v.get("<job_id>")) && e.getValue().get(name) instanceof Gauge<?> g) return ((Number) g.getValue()).longValue();
        }
        throw new AssertionError("no gauge " + name + " for job " + job);
    }
}
