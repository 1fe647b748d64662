package io.behaviorcep.experiment;

import org.apache.commons.math3.distribution.NormalDistribution;
import org.apache.commons.math3.distribution.TDistribution;

/** The normal and Student-t tails the comparisons need, from Commons Math (no random generator is built). */
final class Distributions {
    private static final NormalDistribution STANDARD_NORMAL = new NormalDistribution(null, 0, 1);

    private Distributions() {
    }

    /** The two-sided confidence level every interval of the report has. */
    static final double CONFIDENCE = 0.95;

    /** z with P(|Z| <= z) = {@link #CONFIDENCE}: 1.959963984540054. */
    static final double Z_CRITICAL = STANDARD_NORMAL.inverseCumulativeProbability(1 - (1 - CONFIDENCE) / 2);

    /** P(|Z| >= |z|) for a standard normal Z. */
    static double twoSidedNormalP(double z) {
        // the upper tail computed directly, so tiny p-values are not lost to 1 - 0.99999...
        return Math.min(1, 2 * STANDARD_NORMAL.cumulativeProbability(-Math.abs(z)));
    }

    /** P(|T| >= |t|) for Student's T with {@code df} degrees of freedom (df may be fractional). */
    static double twoSidedTP(double t, double df) {
        return Math.min(1, 2 * new TDistribution(null, df).cumulativeProbability(-Math.abs(t)));
    }

    /** t with P(|T| <= t) = {@link #CONFIDENCE} for Student's T with {@code df} degrees of freedom. */
    static double tCritical(double df) {
        return new TDistribution(null, df).inverseCumulativeProbability(1 - (1 - CONFIDENCE) / 2);
    }
}
