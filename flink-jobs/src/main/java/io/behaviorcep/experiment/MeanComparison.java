package io.behaviorcep.experiment;

/**
 * A treated arm's mean (value per user) against its control's: Welch's unequal-variances t-test.
 * {@code difference = m1 - m0}, {@code se = sqrt(v1/n1 + v0/n0)}, {@code t = difference / se}, degrees
 * of freedom by Welch–Satterthwaite {@code se^4 / ((v1/n1)^2/(n1-1) + (v0/n0)^2/(n0-1))}, the interval
 * {@code difference ± t(df, 0.975)·se} and a two-sided p-value; what R's {@code t.test} does by default.
 *
 * <p>With fewer than two users in an arm nothing is defined (NaN). When both arms have no spread
 * (e.g. no conversion anywhere, so every value is 0) the interval is the difference itself and the
 * p-value is 1 for equal means, 0 otherwise; t and df are NaN.
 */
public record MeanComparison(SampleSummary control, SampleSummary treated,
                             double difference, double low, double high, double t, double df, double pValue) {

    public static MeanComparison of(SampleSummary control, SampleSummary treated) {
        double diff = treated.mean() - control.mean();
        if (control.n() < 2 || treated.n() < 2) {
            return new MeanComparison(control, treated, diff, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        }
        double a1 = treated.variance() / treated.n();
        double a0 = control.variance() / control.n();
        double se = Math.sqrt(a1 + a0);
        if (se == 0) {
            return new MeanComparison(control, treated, diff, diff, diff, Double.NaN, Double.NaN, diff == 0 ? 1 : 0);
        }
        double df = (a1 + a0) * (a1 + a0) / (a1 * a1 / (treated.n() - 1) + a0 * a0 / (control.n() - 1));
        double t = diff / se;
        double half = Distributions.tCritical(df) * se;
        return new MeanComparison(control, treated, diff, diff - half, diff + half, t, df, Distributions.twoSidedTP(t, df));
    }
}
