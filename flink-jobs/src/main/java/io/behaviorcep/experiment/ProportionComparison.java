package io.behaviorcep.experiment;

/**
 * A treated arm's conversion rate against its control's: the two-proportion z-test.
 *
 * <ul>
 *   <li><b>absolute lift</b> {@code p1 - p0}, with the Wald interval of the difference (unpooled
 *       standard error {@code sqrt(p1(1-p1)/n1 + p0(1-p0)/n0)}); the same interval as R's
 *       {@code prop.test(correct = FALSE)}.</li>
 *   <li><b>relative lift</b> {@code p1/p0 - 1}, with the delta-method interval on the log of the
 *       ratio (Katz): {@code se(log(p1/p0)) = sqrt(1/x1 - 1/n1 + 1/x0 - 1/n0)}, the interval
 *       {@code exp(log(p1/p0) ± z·se) - 1}. Not defined (NaN) while either arm has no conversion.</li>
 *   <li><b>p-value</b>: two-sided, of {@code z = (p1 - p0) / sqrt(p(1-p)(1/n1 + 1/n0))} with the pooled
 *       rate {@code p = (x0 + x1)/(n0 + n1)} (the standard error under "no difference"). When the pooled
 *       rate is 0 or 1 both arms are identical: z = 0, p = 1.</li>
 * </ul>
 * Normal approximations: trust them only with enough users and conversions (see
 * {@link ExperimentReport#MIN_EXPOSED} and {@link ExperimentReport#MIN_EXPECTED_CONVERSIONS}).
 *
 * @param absoluteLift     p1 - p0 (a difference of rates; 0.03 is 3 percentage points)
 * @param relativeLift     p1/p0 - 1, NaN when p0 = 0
 * @param relativeLiftLow  NaN when not defined (no conversion in an arm)
 */
public record ProportionComparison(
        long controlExposed, long controlConverted, long treatedExposed, long treatedConverted,
        double absoluteLift, double absoluteLiftLow, double absoluteLiftHigh,
        double relativeLift, double relativeLiftLow, double relativeLiftHigh,
        double z, double pValue) {

    /**
     * @throws IllegalArgumentException when an arm has no exposed user or more conversions than users
     */
    public static ProportionComparison of(long controlExposed, long controlConverted, long treatedExposed, long treatedConverted) {
        check(controlExposed, controlConverted, "control");
        check(treatedExposed, treatedConverted, "treated");
        double n0 = controlExposed;
        double n1 = treatedExposed;
        double x0 = controlConverted;
        double x1 = treatedConverted;
        double p0 = x0 / n0;
        double p1 = x1 / n1;
        double diff = p1 - p0;

        double se = Math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0);
        double absLow = diff - Distributions.Z_CRITICAL * se;
        double absHigh = diff + Distributions.Z_CRITICAL * se;

        double relative = p0 > 0 ? p1 / p0 - 1 : Double.NaN;
        double relLow = Double.NaN;
        double relHigh = Double.NaN;
        if (x0 > 0 && x1 > 0) {
            double logRatio = Math.log(p1 / p0);
            double seLog = Math.sqrt(1 / x1 - 1 / n1 + 1 / x0 - 1 / n0);
            relLow = Math.exp(logRatio - Distributions.Z_CRITICAL * seLog) - 1;
            relHigh = Math.exp(logRatio + Distributions.Z_CRITICAL * seLog) - 1;
        }

        double pooled = (x0 + x1) / (n0 + n1);
        double sePooled = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0));
        double z = sePooled > 0 ? diff / sePooled : 0;
        return new ProportionComparison(controlExposed, controlConverted, treatedExposed, treatedConverted,
                diff, absLow, absHigh, relative, relLow, relHigh, z, Distributions.twoSidedNormalP(z));
    }

    private static void check(long exposed, long converted, String arm) {
        if (exposed <= 0) throw new IllegalArgumentException("the " + arm + " arm has no exposed user");
        if (converted < 0 || converted > exposed) {
            throw new IllegalArgumentException("the " + arm + " arm has " + converted + " conversions among " + exposed + " users");
        }
    }
}
