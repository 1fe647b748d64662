package io.behaviorcep.experiment;

import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.pattern.PatternProblem;
import io.behaviorcep.testing.Repo;
import io.behaviorcep.testkit.PatternTestKit;

import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The {@code experiment:} and {@code goal:} language: the example experiment's examples pass through the
 * real job, a wrong expectation of an outcome fails, and malformed blocks are located problems.
 */
class ExperimentPatternTest {
    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    static final String BASE = """
            id: p
            version: 1
            params:
              wait: 15m
            steps:
              - name: added
                event: Product Added
              - name: no_order
                absent: {event: Order Completed}
                for: ${params.wait}
            actions:
              alert: {type: cart_abandoned, payload: {product: "${added.properties.product_id}"}}
            """;

    static PatternDefinition experimentPattern() {
        PatternLoader.Result r = PatternLoader.load(Repo.patterns().resolve("experiments/cart-abandonment.yaml"));
        assertThat(r.problems()).isEmpty();
        return r.patterns().get(0);
    }

    @Test
    void theExampleExperimentsExamplesPass() throws Exception {
        PatternDefinition p = experimentPattern();
        assertThat(p.experiment().variants).extracting(v -> v.name).containsExactly("wait_15m", "wait_30m", "holdout");
        assertThat(p.examples.stream().filter(e -> !e.arms().isEmpty())).hasSizeGreaterThanOrEqualTo(2);
        List<PatternTestKit.Result> results = PatternTestKit.run(p);
        String failures = results.stream().filter(r -> !r.passed()).map(r -> "FAIL " + r.title() + "\n" + r.diff())
                .collect(Collectors.joining("\n"));
        assertThat(failures).as("failing examples").isEmpty();
        assertThat(results).hasSize(p.examples.size());
    }

    @Test
    void anArmThatSetsParametersIsItsOwnVersionOfThePattern() {
        PatternDefinition p = experimentPattern();
        PatternDefinition.Variant fast = p.experiment().variant("wait_15m");
        PatternDefinition.Variant slow = p.experiment().variant("wait_30m");
        assertThat(fast.pattern).isSameAs(p);
        assertThat(slow.pattern).isNotSameAs(p);
        assertThat(slow.pattern.id).isEqualTo(p.id);
        assertThat(slow.pattern.version).isEqualTo(p.version);
        assertThat(slow.pattern.trailingAbsence().absentFor).isEqualTo(Duration.ofMinutes(30));
        assertThat(p.trailingAbsence().absentFor).isEqualTo(Duration.ofMinutes(15));
        assertThat(slow.pattern.goal()).isSameAs(p.goal());
        assertThat(p.experiment().variant("holdout").holdout).isTrue();
    }

    @Test
    void aWrongOutcomeExpectationFailsWithADiff() throws Exception {
        String yaml = BASE + """
                goal: {event: Order Completed, within: 1h}
                experiment:
                  id: e
                  variants:
                    - {name: treat, weight: 1}
                    - {name: hold, weight: 1, holdout: true}
                examples:
                  - name: wrong on purpose (the holdout gets no alert, and the order comes too late to convert)
                    arms: {user: hold}
                    events:
                      - {at: 0m, event: Product Added}
                      - {at: 2h, event: Order Completed}
                    expect:
                      alerts: [{at: 15m}]
                      outcomes: [{at: 2h, arm: hold, converted: true}]
                """;
        PatternDefinition p = PatternLoader.loadString("wrong.yaml", yaml).orThrow().get(0);
        PatternTestKit.Result r = PatternTestKit.run(p).get(0);
        assertThat(r.passed()).isFalse();
        assertThat(r.diff()).contains("alerts:").contains("- missing:    at +15m");
        assertThat(r.diff()).contains("outcomes:").contains("+ unexpected: at +1h15m  user user  arm hold  converted false");
    }

    @Test
    void malformedExperimentsAndGoalsAreLocatedProblems() {
        assertProblem(BASE + """
                goal: {event: Order Completed, within: 1h}
                experiment:
                  id: e
                  variants:
                    - {name: a, weight: 0}
                    - {name: a, weight: 1}
                """, "wrong.yaml:17:25: a variant's weight must be a positive number, got '0'",
                "wrong.yaml:18:14: variant name 'a' is used twice");
        assertProblem(BASE + """
                goal: {event: Order Completed, within: 1h}
                experiment:
                  id: e
                  variants:
                    - {name: a, weight: 1, holdout: true}
                    - {name: b, weight: 1, holdout: true}
                """, "wrong.yaml:18:28: at most one variant is the holdout (the first is on line 17)");
        assertProblem(BASE + """
                goal: {event: Order Completed, within: 1h}
                experiment:
                  id: e
                  variants:
                    - {name: a, weight: 1, params: {wiat: 30m}}
                    - {name: b, weight: 1}
                """, "wrong.yaml:17:37: variant sets parameter 'wiat', which the pattern does not declare under 'params:', did you mean 'wait'?");
        assertProblem(BASE + """
                experiment:
                  id: e
                  variants:
                    - {name: a, weight: 1}
                    - {name: b, weight: 1}
                """, "wrong.yaml:14:3: an experiment needs the pattern's 'goal:'");
        assertProblem(BASE + """
                goal: {event: Order Completed, within: 1h}
                experiment:
                  id: e
                  variants:
                    - {name: a, weight: 1, params: {wait: soon}}
                    - {name: b, weight: 1}
                """, "wrong.yaml:17:7: with variant 'a''s params: ");
        assertProblem(BASE + """
                goal: {event: Order Completed, within: 1h}
                experiment:
                  id: e
                  variants:
                    - {name: a, weight: 1}
                    - {name: global_holdout, weight: 1}
                """, "wrong.yaml:18:14: variant name 'global_holdout' is reserved");
        assertProblem(BASE + """
                goal: {event: Order Completed, within: 0h, value: revenue}
                """, "wrong.yaml:13:40: duration '0h' must be positive",
                "wrong.yaml:13:51: a goal's 'value' is a field of the goal event");
        assertProblem(BASE + """
                goal: {event: Order Completed, within: 1h}
                examples:
                  - name: arms without an experiment
                    arms: {user: a}
                    events: [{at: 0m, event: Product Added}]
                    expect: nothing
                """, "wrong.yaml:16:11: 'arms' puts users in arms of the pattern's experiment, but this pattern has no 'experiment:'");
    }

    private static void assertProblem(String yaml, String... starts) {
        List<String> problems = PatternLoader.loadString("wrong.yaml", yaml).problems().stream().map(PatternProblem::toString).toList();
        for (String s : starts) assertThat(problems).as(String.join("\n", problems)).anySatisfy(p -> assertThat(p).startsWith(s));
    }
}
