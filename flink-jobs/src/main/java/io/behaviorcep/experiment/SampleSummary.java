package io.behaviorcep.experiment;

/**
 * Count, mean and (n-1) sample variance of one arm's per-user values, what Welch's test needs.
 * {@link Accumulator} adds values one at a time (Welford's update, stable for large counts).
 */
public record SampleSummary(long n, double mean, double variance) {

    public static SampleSummary of(double... values) {
        Accumulator a = new Accumulator();
        for (double v : values) a.add(v);
        return a.summary();
    }

    /** Running count, mean and sum of squared deviations; not thread-safe. */
    public static final class Accumulator {
        private long n;
        private double mean;
        private double m2;

        public void add(double value) {
            n++;
            double delta = value - mean;
            mean += delta / n;
            m2 += delta * (value - mean);
        }

        public long n() {
            return n;
        }

        /** Variance NaN with fewer than two values. */
        public SampleSummary summary() {
            return new SampleSummary(n, n == 0 ? Double.NaN : mean, n < 2 ? Double.NaN : Math.max(0, m2 / (n - 1)));
        }
    }
}
