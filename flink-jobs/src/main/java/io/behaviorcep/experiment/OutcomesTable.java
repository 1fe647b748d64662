package io.behaviorcep.experiment;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the {@code outcomes} table (sql/V7__outcomes.sql) into an {@link ExperimentReport}. PostgreSQL
 * sums each user's decisions (one row per arm and user comes back, read with a cursor), the report
 * keeps a few numbers per arm: the memory used does not grow with the table.
 */
public final class OutcomesTable {

    /** Which decisions count; a null field does not filter. {@code since} inclusive, {@code until} exclusive, on decided_at. */
    public record Filter(String patternId, String experimentId, Instant since, Instant until) {
        public static final Filter ALL = new Filter(null, null, null, null);

        /**
         * What a report built from the records that pass {@link #test} shows: with an experiment, only its
         * groups (the global holdout without experiment is read as its possible control, not shown alone).
         */
        public ExperimentReport narrow(ExperimentReport report) {
            return experimentId == null ? report : report.ofExperiment(experimentId);
        }

        /** The filter of {@link #report} for one record, e.g. of a file. */
        public boolean test(OutcomeRow r) {
            if (patternId != null && !patternId.equals(r.patternId())) return false;
            if (experimentId != null && !experimentId.equals(r.experimentId())
                    && !(r.experimentId() == null && r.arm().equals(ExperimentReport.GLOBAL_HOLDOUT))) {
                return false;
            }
            if (since != null && r.decidedAt().isBefore(since)) return false;
            return until == null || r.decidedAt().isBefore(until);
        }
    }

    private static final int FETCH_SIZE = 10_000;

    private OutcomesTable() {
    }

    /** Leaves {@code c}'s auto-commit as it was (a cursor needs a transaction, read-only here). */
    public static ExperimentReport report(Connection c, Filter filter) throws SQLException {
        List<Object> params = new ArrayList<>();
        StringBuilder where = new StringBuilder();
        if (filter.patternId() != null) {
            where.append(" AND pattern_id = ?");
            params.add(filter.patternId());
        }
        if (filter.experimentId() != null) {
            // the global holdout of a pattern without experiment is the fallback control of its experiments
            where.append(" AND (experiment_id = ? OR (experiment_id IS NULL AND arm = ?))");
            params.add(filter.experimentId());
            params.add(ExperimentReport.GLOBAL_HOLDOUT);
        }
        if (filter.since() != null) {
            where.append(" AND decided_at >= ?");
            params.add(Timestamp.from(filter.since()));
        }
        if (filter.until() != null) {
            where.append(" AND decided_at < ?");
            params.add(Timestamp.from(filter.until()));
        }
        String sql = "SELECT pattern_id, pattern_version, experiment_id, arm, bool_and(holdout), bool_or(converted),"
                + " COALESCE(SUM(value) FILTER (WHERE converted AND value IS NOT NULL AND value NOT IN ('NaN', 'Infinity', '-Infinity')), 0)"
                + " FROM outcomes WHERE TRUE" + where
                + " GROUP BY pattern_id, pattern_version, experiment_id, arm, user_id";
        boolean autoCommit = c.getAutoCommit();
        boolean readOnly = c.isReadOnly();
        ExperimentReport.Builder b = ExperimentReport.builder();
        try {
            c.setAutoCommit(false);
            c.setReadOnly(true);
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                ps.setFetchSize(FETCH_SIZE);
                for (int i = 0; i < params.size(); i++) ps.setObject(i + 1, params.get(i));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        ExperimentReport.ArmKey key = new ExperimentReport.ArmKey(rs.getString(1), rs.getInt(2), rs.getString(3), rs.getString(4));
                        b.addUser(key, rs.getBoolean(5), rs.getBoolean(6), rs.getDouble(7));
                    }
                }
            }
            c.rollback();
        } finally {
            c.setReadOnly(readOnly);
            c.setAutoCommit(autoCommit);
        }
        return filter.narrow(b.build());
    }
}
