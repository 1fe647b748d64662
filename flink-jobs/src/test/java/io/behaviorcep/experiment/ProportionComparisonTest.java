package io.behaviorcep.experiment;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class ProportionComparisonTest {

    /**
     * Reference: R's {@code prop.test} without continuity correction on 94/214 against 39/128, as printed
     * in "Two-sample test for independent proportions - using R" (influentialpoints.com/notes/n9rmf3.htm):
     * {@code X-squared = 6.1026, df = 1, p-value = 0.01350; 95 percent confidence interval: 0.03074072
     * 0.23838896; prop 1 0.4392523, prop 2 0.3046875}. R's X-squared of two groups is the square of the
     * pooled z.
     */
    @Test
    void matchesRsPropTestWithoutContinuityCorrection() {
        ProportionComparison c = ProportionComparison.of(128, 39, 214, 94);
        assertThat(c.absoluteLift()).isCloseTo(0.4392523 - 0.3046875, within(1e-7));
        assertThat(c.z() * c.z()).isCloseTo(6.1026, within(5e-5));
        assertThat(c.z()).isPositive();
        assertThat(c.pValue()).isCloseTo(0.01350, within(5e-6));
        assertThat(c.absoluteLiftLow()).isCloseTo(0.03074072, within(1e-8));
        assertThat(c.absoluteLiftHigh()).isCloseTo(0.23838896, within(1e-8));
    }

    /**
     * Reference: OpenIntro Statistics (4th ed., section 6.2.3), the mammogram trial: 500 deaths of 44,925
     * in the mammogram group against 505 of 44,910 in the control group; the book's pooled test gives
     * Z ≈ -0.17 and a p-value ≈ 0.87 (rounded in the book, hence the tolerance).
     */
    @Test
    void matchesTheOpenIntroMammogramExample() {
        ProportionComparison c = ProportionComparison.of(44_910, 505, 44_925, 500);
        assertThat(c.z()).isCloseTo(-0.17, within(0.01));
        assertThat(c.pValue()).isCloseTo(0.87, within(0.01));
    }

    @Test
    void theRelativeLiftIsTheRatioOfRatesMinusOneWithALogScaleInterval() {
        ProportionComparison c = ProportionComparison.of(10_000, 1_000, 10_000, 1_300);
        assertThat(c.relativeLift()).isCloseTo(0.3, within(1e-12));
        assertThat(c.relativeLiftLow()).isBetween(0.19, 0.3);
        assertThat(c.relativeLiftHigh()).isBetween(0.3, 0.42);
        // on the log scale the interval is symmetric around log(1.3)
        double below = Math.log(1.3) - Math.log(1 + c.relativeLiftLow());
        double above = Math.log(1 + c.relativeLiftHigh()) - Math.log(1.3);
        assertThat(below).isCloseTo(above, within(1e-12));
        assertThat(c.pValue()).isLessThan(1e-6);
    }

    /**
     * The intervals are 95 % intervals: over many simulated experiments (fixed seed) with a true rate of
     * 10 % against 13 %, about 95 % of them contain the true absolute (0.03) and relative (0.3) lift.
     */
    @Test
    void bothIntervalsCoverTheTrueLiftAboutNinetyFivePercentOfTheTime() {
        SplittableRandom random = new SplittableRandom(17);
        int runs = 2_000;
        int n = 2_000;
        int absCovered = 0;
        int relCovered = 0;
        for (int r = 0; r < runs; r++) {
            ProportionComparison c = ProportionComparison.of(n, binomial(random, n, 0.10), n, binomial(random, n, 0.13));
            if (c.absoluteLiftLow() <= 0.03 && 0.03 <= c.absoluteLiftHigh()) absCovered++;
            if (c.relativeLiftLow() <= 0.3 && 0.3 <= c.relativeLiftHigh()) relCovered++;
        }
        // the standard deviation of a coverage estimated from 2,000 runs is about 0.005
        assertThat(absCovered / (double) runs).isBetween(0.935, 0.965);
        assertThat(relCovered / (double) runs).isBetween(0.935, 0.965);
    }

    @Test
    void withoutADifferenceTheLiftsIntervalsHoldZeroAndThePValueIsOne() {
        ProportionComparison c = ProportionComparison.of(1_000, 100, 1_000, 100);
        assertThat(c.absoluteLift()).isZero();
        assertThat(c.z()).isZero();
        assertThat(c.pValue()).isCloseTo(1, within(1e-12));
        assertThat(c.absoluteLiftLow()).isNegative();
        assertThat(c.absoluteLiftHigh()).isCloseTo(-c.absoluteLiftLow(), within(1e-15));
        assertThat(c.relativeLift()).isZero();
        assertThat(c.relativeLiftLow()).isNegative();
        assertThat(c.relativeLiftHigh()).isPositive();
    }

    @Test
    void noConversionAnywhereIsNoEvidenceAndNoRelativeLift() {
        ProportionComparison c = ProportionComparison.of(500, 0, 400, 0);
        assertThat(c.absoluteLift()).isZero();
        assertThat(c.pValue()).isEqualTo(1);
        assertThat(c.absoluteLiftLow()).isZero();
        assertThat(c.absoluteLiftHigh()).isZero();
        assertThat(c.relativeLift()).isNaN();
        assertThat(c.relativeLiftLow()).isNaN();
        assertThat(c.relativeLiftHigh()).isNaN();
    }

    @Test
    void conversionsOnlyInTheTreatedArmLeaveTheRelativeLiftUndefined() {
        ProportionComparison c = ProportionComparison.of(200, 0, 200, 12);
        assertThat(c.absoluteLift()).isCloseTo(0.06, within(1e-12));
        assertThat(c.relativeLift()).isNaN();
        assertThat(c.relativeLiftLow()).isNaN();
        assertThat(c.pValue()).isLessThan(0.001);
    }

    @Test
    void everyoneConvertingEverywhereIsNoEvidence() {
        ProportionComparison c = ProportionComparison.of(30, 30, 20, 20);
        assertThat(c.pValue()).isEqualTo(1);
        assertThat(c.relativeLift()).isZero();
    }

    @Test
    void tinySamplesGiveWideButFiniteIntervals() {
        ProportionComparison c = ProportionComparison.of(3, 1, 2, 1);
        assertThat(c.absoluteLift()).isCloseTo(0.5 - 1 / 3.0, within(1e-12));
        assertThat(c.absoluteLiftHigh() - c.absoluteLiftLow()).isGreaterThan(1);
        assertThat(c.pValue()).isBetween(0.5, 1.0);
    }

    @Test
    void anArmWithoutUsersOrWithMoreConversionsThanUsersIsRefused() {
        assertThatThrownBy(() -> ProportionComparison.of(0, 0, 10, 1)).hasMessageContaining("control arm has no exposed user");
        assertThatThrownBy(() -> ProportionComparison.of(10, 1, 10, 11)).hasMessageContaining("11 conversions among 10");
    }

    private static int binomial(SplittableRandom random, int n, double p) {
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (random.nextDouble() < p) k++;
        }
        return k;
    }
}
