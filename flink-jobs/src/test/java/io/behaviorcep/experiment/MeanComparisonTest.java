package io.behaviorcep.experiment;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class MeanComparisonTest {

    /**
     * Reference: the example of R's {@code ?t.test}, {@code t.test(extra ~ group, data = sleep)} (Student's
     * sleep data, R's datasets package), which prints: {@code Welch Two Sample t-test; t = -1.8608,
     * df = 17.776, p-value = 0.07939; 95 percent confidence interval: -3.3654832 0.2054832; mean in group
     * 1 0.75, mean in group 2 2.33}. R subtracts group 2 from group 1; here the treated arm (group 2) minus
     * the control (group 1), so the signs flip.
     */
    @Test
    void matchesRsWelchTestOnTheSleepData() {
        SampleSummary group1 = SampleSummary.of(0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0);
        SampleSummary group2 = SampleSummary.of(1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4);
        MeanComparison c = MeanComparison.of(group1, group2);
        assertThat(group1.mean()).isCloseTo(0.75, within(1e-12));
        assertThat(group2.mean()).isCloseTo(2.33, within(1e-12));
        assertThat(c.difference()).isCloseTo(1.58, within(1e-12));
        assertThat(c.t()).isCloseTo(1.8608, within(5e-5));
        assertThat(c.df()).isCloseTo(17.776, within(5e-4));
        assertThat(c.pValue()).isCloseTo(0.07939, within(5e-6));
        assertThat(c.low()).isCloseTo(-0.2054832, within(1e-7));
        assertThat(c.high()).isCloseTo(3.3654832, within(1e-7));
    }

    /**
     * Reference: NIST/SEMATECH e-Handbook of Statistical Methods, section 1.3.5.3 (two-sample t-test,
     * AUTO83B.DAT, miles per gallon of US and Japanese cars): n = 249, mean 20.14458, sd 6.41470 against
     * n = 79, mean 30.48101, sd 6.10771; with unequal variances T = -12.94627 and 136.8750 degrees of freedom.
     */
    @Test
    void matchesNistsUnequalVarianceExampleFromSummaries() {
        SampleSummary us = new SampleSummary(249, 20.14458, 6.41470 * 6.41470);
        SampleSummary japan = new SampleSummary(79, 30.48101, 6.10771 * 6.10771);
        MeanComparison c = MeanComparison.of(japan, us);
        assertThat(c.t()).isCloseTo(-12.94627, within(5e-4));
        assertThat(c.df()).isCloseTo(136.8750, within(5e-3));
        assertThat(c.pValue()).isLessThan(1e-20);
        assertThat(c.high()).isNegative();
    }

    @Test
    void theAccumulatorAgreesWithTheTwoPassVarianceOnLargeOffsetValues() {
        SampleSummary.Accumulator a = new SampleSummary.Accumulator();
        double[] values = {1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16};
        for (double v : values) a.add(v);
        SampleSummary s = a.summary();
        assertThat(s.n()).isEqualTo(4);
        assertThat(s.mean()).isCloseTo(1e9 + 10, within(1e-6));
        // deviations -6, -3, 3, 6: (36 + 9 + 9 + 36) / 3
        assertThat(s.variance()).isCloseTo(30, within(1e-6));
    }

    @Test
    void equalArmsHaveNoDifferenceAndAnIntervalAroundZero() {
        SampleSummary a = SampleSummary.of(0, 0, 5, 10, 0, 20);
        MeanComparison c = MeanComparison.of(a, a);
        assertThat(c.difference()).isZero();
        assertThat(c.t()).isZero();
        assertThat(c.pValue()).isCloseTo(1, within(1e-12));
        assertThat(c.low()).isNegative();
        assertThat(c.high()).isCloseTo(-c.low(), within(1e-12));
    }

    @Test
    void armsWithoutSpreadGiveTheDifferenceItself() {
        MeanComparison none = MeanComparison.of(SampleSummary.of(0, 0, 0), SampleSummary.of(0, 0));
        assertThat(none.pValue()).isEqualTo(1);
        assertThat(none.low()).isZero();
        assertThat(none.high()).isZero();
        assertThat(none.df()).isNaN();
        MeanComparison apart = MeanComparison.of(SampleSummary.of(1, 1, 1), SampleSummary.of(3, 3));
        assertThat(apart.difference()).isEqualTo(2);
        assertThat(apart.pValue()).isZero();
    }

    @Test
    void aSingleUserInAnArmLeavesTheTestUndefined() {
        MeanComparison c = MeanComparison.of(SampleSummary.of(5), SampleSummary.of(1, 2, 3));
        assertThat(c.difference()).isEqualTo(-3);
        assertThat(c.pValue()).isNaN();
        assertThat(c.low()).isNaN();
        assertThat(c.df()).isNaN();
    }
}
