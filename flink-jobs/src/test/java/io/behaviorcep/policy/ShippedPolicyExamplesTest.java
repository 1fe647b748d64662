package io.behaviorcep.policy;

import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.testkit.PatternTestKit;
import io.behaviorcep.testing.Repo;

import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** `test patterns/` for the shipped messaging policy: its examples run through the real job and pass. */
class ShippedPolicyExamplesTest {
    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    @Test
    void theShippedPolicyHasTheSeedDefaultsAndItsExamplesPass() throws Exception {
        PolicyDefinition policy = PolicyFile.read(Repo.patterns().resolve("policy.yaml")).orThrow();
        PolicyDefinition.Channel channel = policy.channels.get(policy.defaultChannel);
        assertThat(channel.cap()).isEqualTo(new PolicyDefinition.Cap(2, 24 * 3_600_000L));
        assertThat(channel.quietHours().action()).isEqualTo(PolicyDefinition.QuietAction.DELAY);
        assertThat(policy.priorities).containsExactly("checkout_abandoned", "cart_abandoned", "repeat_view_no_purchase");
        assertThat(policy.examples).hasSizeGreaterThanOrEqualTo(5);

        List<PatternTestKit.PolicyResult> results = PatternTestKit.run(policy, Repo.shippedPatterns());
        String failures = results.stream().filter(r -> !r.passed()).map(r -> "FAIL " + r.title() + "\n" + r.diff())
                .collect(Collectors.joining("\n"));
        assertThat(failures).as("failing policy examples").isEmpty();
        assertThat(results).hasSize(policy.examples.size());
    }

    @Test
    void theKitReportsAWrongPolicyExpectationAsAFailureWithADiff(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path file = dir.resolve("policy.yaml");
        Files.writeString(file, """
                kind: policy
                channels:
                  - name: default
                    cap: {max: 1, per: 1d}
                examples:
                  - name: wrong on purpose
                    patterns: [checkout-abandonment]
                    events:
                      - {at: 0m, event: Checkout Started}
                    until: 1h
                    expect:
                      decisions: [{at: 30m, reason: global_cap}]
                """);
        PolicyDefinition policy = PolicyFile.read(file).orThrow();
        PatternTestKit.PolicyResult r = PatternTestKit.run(policy, Repo.shippedPatterns()).get(0);
        assertThat(r.passed()).isFalse();
        assertThat(r.title()).isEqualTo(file + ":6 policy: \"wrong on purpose\"");
        assertThat(r.diff()).contains("- missing:    at +30m  user user  reason global_cap");
    }
}
