package io.behaviorcep.pattern;

import io.behaviorcep.testkit.PatternTestKit;
import io.behaviorcep.testing.Repo;

import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.List;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** `test patterns/` as part of the build: every shipped pattern carries examples for its edges, and they pass. */
class ShippedPatternExamplesTest {
    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    @Test
    void everyShippedPatternHasExamplesAndTheyPass() throws Exception {
        List<PatternDefinition> shipped = Repo.shippedPatterns();
        assertThat(shipped).extracting(p -> p.id).contains("cart-abandonment", "checkout-abandonment", "high-intent-burst",
                "repeat-view-no-purchase", "dormancy-14d", "engagement-decay", "cart-abandonment-high-value");
        for (PatternDefinition p : shipped) {
            assertThat(p.examples).as("examples of " + p.id).hasSizeGreaterThanOrEqualTo(3);
        }
        // with the folder's computed traits, which some patterns read (profile.traits.cart_value)
        List<PatternTestKit.Result> results = PatternTestKit.run(shipped, PatternLoader.load(Repo.patterns()).traits());
        String failures = results.stream().filter(r -> !r.passed()).map(r -> "FAIL " + r.title() + "\n" + r.diff())
                .collect(Collectors.joining("\n"));
        System.out.println(results.size() + " examples run, " + results.stream().filter(PatternTestKit.Result::passed).count() + " passed");
        assertThat(failures).as("failing examples").isEmpty();
        assertThat(results).hasSizeGreaterThanOrEqualTo(25);
    }

    /**
     * patterns/language/: pattern files that show language features (step groups, a leading absence)
     * outside the job's folder, so that the shipped set the job runs stays as it is.
     */
    @Test
    void theLanguageFeaturePatternsHaveExamplesAndTheyPass() throws Exception {
        PatternLoader.Result loaded = PatternLoader.load(Repo.patterns().resolve("language"));
        assertThat(loaded.problems()).isEmpty();
        assertThat(loaded.patterns()).extracting(p -> p.id).contains("repeat-add-no-order", "cold-checkout");
        for (PatternDefinition p : loaded.patterns()) {
            assertThat(p.examples).as("examples of " + p.id).hasSizeGreaterThanOrEqualTo(3);
        }
        List<PatternTestKit.Result> results = PatternTestKit.run(loaded.patterns(), loaded.traits());
        String failures = results.stream().filter(r -> !r.passed()).map(r -> "FAIL " + r.title() + "\n" + r.diff())
                .collect(Collectors.joining("\n"));
        System.out.println(results.size() + " language examples run, " + results.stream().filter(PatternTestKit.Result::passed).count() + " passed");
        assertThat(failures).as("failing examples").isEmpty();
    }

    @Test
    void theShippedThresholdSegmentsHaveExamplesAndTheyPass() throws Exception {
        PatternLoader.Result loaded = PatternLoader.load(Repo.patterns());
        assertThat(loaded.problems()).isEmpty();
        assertThat(loaded.segments()).extracting(s -> s.id).contains("engaged", "new", "churned", "frequent_viewers",
                "casual_browsers", "high_value");
        List<PatternTestKit.Result> results = new java.util.ArrayList<>();
        for (io.behaviorcep.pattern.ThresholdSegmentFile f : loaded.segmentFiles()) results.addAll(PatternTestKit.run(f));
        String failures = results.stream().filter(r -> !r.passed()).map(r -> "FAIL " + r.title() + "\n" + r.diff())
                .collect(Collectors.joining("\n"));
        System.out.println(results.size() + " segment examples run, " + results.stream().filter(PatternTestKit.Result::passed).count() + " passed");
        assertThat(failures).as("failing examples").isEmpty();
        assertThat(results).hasSizeGreaterThanOrEqualTo(9);
    }

    @Test
    void theShippedTraitsHaveExamplesAndTheyPass() throws Exception {
        PatternLoader.Result loaded = PatternLoader.load(Repo.patterns());
        assertThat(loaded.problems()).isEmpty();
        assertThat(loaded.traitsFiles()).isNotEmpty();
        List<PatternTestKit.Result> results = new java.util.ArrayList<>();
        for (TraitsFile f : loaded.traitsFiles()) {
            assertThat(f.examples).as("examples of " + f.source).hasSizeGreaterThanOrEqualTo(3);
            results.addAll(PatternTestKit.run(f, loaded.traits()));
        }
        String failures = results.stream().filter(r -> !r.passed()).map(r -> "FAIL " + r.title() + "\n" + r.diff())
                .collect(Collectors.joining("\n"));
        System.out.println(results.size() + " trait examples run, " + results.stream().filter(PatternTestKit.Result::passed).count() + " passed");
        assertThat(failures).as("failing examples").isEmpty();
        assertThat(results).hasSizeGreaterThanOrEqualTo(4);
    }

    @Test
    void theKitReportsAWrongTraitExpectationAsAFailureWithADiff() throws Exception {
        String yaml = """
                kind: traits
                traits:
                  - {id: adds, function: count, event: Product Added, window: 1h}
                  - {id: last_price, function: last, event: Product Added, property: properties.price, window: 1h}
                examples:
                  - name: wrong on purpose
                    events:
                      - {at: 0m, event: Product Added, properties: {price: 5}}
                      - {at: 10m, event: Product Added, properties: {price: 6}}
                      - {at: 30m, type: page, name: Home}
                    expect:
                      traits:
                        - {at: 10m, adds: 3, last_price: 6}
                        - {at: 20m, adds: 2}
                        - {at: 30m, adds: 2, last_price: missing}
                """;
        PatternLoader.Result loaded = PatternLoader.loadString("self-check-traits.yaml", yaml);
        assertThat(loaded.problems()).isEmpty();
        PatternTestKit.Result r = PatternTestKit.run(loaded.traitsFiles().get(0), loaded.traits()).get(0);
        assertThat(r.passed()).isFalse();
        assertThat(r.title()).isEqualTo("self-check-traits.yaml:6 traits: \"wrong on purpose\"");
        assertThat(r.diff()).contains("at +10m  user user  adds: expected 3, was 2")
                .contains("no event of user user at +20m")
                .contains("at +30m  user user  last_price: expected null, was 6")
                .doesNotContain("last_price: expected 6");
    }

    @Test
    void theKitReportsAWrongSegmentExpectationAsAFailureWithADiff() throws Exception {
        String yaml = """
                kind: segments
                segments:
                  - {id: new, when: profile.days_since_first_seen < 7}
                examples:
                  - name: wrong on purpose
                    events:
                      - {at: 0m, type: page, name: Home}
                    until: 10d
                    expect:
                      segments: [{enter: new, at: 0m}, {exit: new, at: 6d}]
                """;
        io.behaviorcep.pattern.ThresholdSegmentFile f = PatternLoader.loadString("self-check-segments.yaml", yaml).segmentFiles().get(0);
        PatternTestKit.Result r = PatternTestKit.run(f).get(0);
        assertThat(r.passed()).isFalse();
        assertThat(r.title()).isEqualTo("self-check-segments.yaml:5 segments: \"wrong on purpose\"");
        assertThat(r.diff()).contains("- missing:    at +6d  user user  exit new").contains("+ unexpected: at +7d  user user  exit new  reason new");
    }

    @Test
    void theKitReportsAWrongExpectationAsAFailureWithADiff() throws Exception {
        String yaml = """
                id: kit-self-check
                version: 1
                steps:
                  - name: checkout
                    event: Checkout Started
                  - name: no_order
                    absent: {event: Order Completed}
                    for: 30m
                actions:
                  alert: {type: x}
                examples:
                  - name: wrong on purpose
                    events:
                      - {at: 0m, event: Checkout Started}
                    until: 1h
                    expect:
                      alerts: [{at: 29m}]
                """;
        PatternDefinition p = PatternLoader.loadString("self-check.yaml", yaml).orThrow().get(0);
        PatternTestKit.Result r = PatternTestKit.run(p).get(0);
        assertThat(r.passed()).isFalse();
        assertThat(r.diff()).contains("- missing:    at +29m").contains("+ unexpected: at +30m");
    }
}
