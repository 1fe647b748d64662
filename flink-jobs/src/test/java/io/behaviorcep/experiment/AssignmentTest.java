package io.behaviorcep.experiment;

import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class AssignmentTest {
    static final int IDS = 100_000;

    /** A pattern whose experiment has the given arms (name: weight), the last one the holdout. */
    static PatternDefinition withArms(String experimentId, String salt, String... nameWeight) {
        StringBuilder variants = new StringBuilder();
        for (int i = 0; i < nameWeight.length; i++) {
            String[] nw = nameWeight[i].split(":");
            variants.append("    - {name: ").append(nw[0]).append(", weight: ").append(nw[1])
                    .append(i == nameWeight.length - 1 ? ", holdout: true" : "").append("}\n");
        }
        String yaml = """
                id: p
                version: 1
                steps:
                  - name: a
                    event: A
                actions:
                  alert: {type: t}
                goal: {event: Order Completed, within: 1h}
                experiment:
                  id: %s
                  salt: %s
                  variants:
                %s""".formatted(experimentId, salt, variants);
        return PatternLoader.loadString("p.yaml", yaml).orThrow().get(0);
    }

    @Test
    void theSameUserAlwaysLandsInTheSameArm() {
        PatternDefinition p = withArms("exp1", "s1", "a:1", "b:1", "hold:1");
        PatternDefinition again = withArms("exp1", "s1", "a:1", "b:1", "hold:1");
        for (int i = 0; i < 1000; i++) {
            String user = "user-" + i;
            String first = Assignment.variant(p.experiment(), user).name;
            assertThat(Assignment.variant(p.experiment(), user).name).isEqualTo(first);
            assertThat(Assignment.variant(again.experiment(), user).name).as("a new load of the same file").isEqualTo(first);
        }
    }

    @Test
    void aFixedUserHashesToAFixedNumber() {
        // pinned so that a change of the hash (which would reshuffle every running experiment) cannot pass
        // unnoticed; the value was computed outside Java: Python's hmac.new(b"behavior-cep-experiment\ns",
        // b"e\nu", sha256), the first 8 bytes big-endian, >> 11, times 2^-53
        double u = Assignment.unit("s", "e", "u");
        assertThat(u).isEqualTo(0.054775444565380416);
        assertThat(Assignment.unit("s2", "e", "u")).isNotEqualTo(u);
        assertThat(Assignment.unit("s", "e2", "u")).isNotEqualTo(u);
        assertThat(Assignment.unit("s", "e", "u2")).isNotEqualTo(u);
    }

    @Test
    void armsGetTheirWeightsWithinSamplingError() {
        PatternDefinition p = withArms("exp1", "salt", "wait_15m:45", "wait_30m:45", "holdout:10");
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < IDS; i++) counts.merge(Assignment.variant(p.experiment(), "u" + i).name, 1, Integer::sum);
        assertWithinFourSigma(counts.get("wait_15m"), 0.45);
        assertWithinFourSigma(counts.get("wait_30m"), 0.45);
        assertWithinFourSigma(counts.get("holdout"), 0.10);
    }

    @Test
    void theGlobalHoldoutTakesItsShare() {
        int in = 0;
        for (int i = 0; i < IDS; i++) if (Assignment.inGlobalHoldout(0.05, "global", "u" + i)) in++;
        assertWithinFourSigma(in, 0.05);
        for (int i = 0; i < 1000; i++) assertThat(Assignment.inGlobalHoldout(0, "global", "u" + i)).isFalse();
    }

    @Test
    void twoExperimentsAssignIndependently() {
        PatternDefinition a = withArms("exp-a", "same-salt", "x:1", "y:1");
        PatternDefinition b = withArms("exp-b", "same-salt", "x:1", "y:1");
        // a 2x2 table: each cell should hold a quarter if the arms are independent
        Map<String, Integer> cells = new HashMap<>();
        for (int i = 0; i < IDS; i++) {
            String user = "u" + i;
            cells.merge(Assignment.variant(a.experiment(), user).name + "/" + Assignment.variant(b.experiment(), user).name, 1, Integer::sum);
        }
        assertThat(cells).hasSize(4);
        double chiSquare = 0;
        for (int n : cells.values()) chiSquare += Math.pow(n - IDS / 4.0, 2) / (IDS / 4.0);
        // 3 degrees of freedom: P(chi2 > 16.27) = 0.001
        assertThat(chiSquare).isLessThan(16.27);
        // and the global holdout is independent of an experiment's arms
        int both = 0, held = 0;
        for (int i = 0; i < IDS; i++) {
            String user = "u" + i;
            if (Assignment.inGlobalHoldout(0.2, "global", user)) {
                held++;
                if (Assignment.variant(a.experiment(), user).name.equals("x")) both++;
            }
        }
        assertWithinFourSigma(both, held, 0.5);
    }

    private static void assertWithinFourSigma(int count, double share) {
        assertWithinFourSigma(count, IDS, share);
    }

    private static void assertWithinFourSigma(int count, int n, double share) {
        double sigma = Math.sqrt(n * share * (1 - share));
        assertThat((double) count).isBetween(n * share - 4 * sigma, n * share + 4 * sigma);
    }
}
