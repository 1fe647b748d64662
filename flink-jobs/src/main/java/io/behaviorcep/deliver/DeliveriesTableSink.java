package io.behaviorcep.deliver;

import io.behaviorcep.config.JdbcSettings;
import io.behaviorcep.output.OutputJson;

import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;

/**
 * Table {@code deliveries}, at least once: the writer collects outcomes and upserts them in one
 * transaction when Flink flushes it, which it does before every checkpoint barrier passes on, so a
 * completed checkpoint implies its rows are written. Rows of outcomes replayed after a restore hit
 * the primary key (alert_id, destination) and replace the row, never add one; a delivered row is
 * never downgraded. Exactly-once machinery (as {@code PostgresSink} has) would buy nothing here: the
 * receivers already see at-least-once requests.
 */
public final class DeliveriesTableSink implements Sink<DeliveryOutcome> {
    private static final Logger LOG = LoggerFactory.getLogger(DeliveriesTableSink.class);
    static final String UPSERT = """
            INSERT INTO deliveries (alert_id, destination, status, attempts, latency_ms, http_status, error, alert_type, severity,
                                    first_attempt_at, finished_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (alert_id, destination) DO UPDATE SET
                status = EXCLUDED.status, attempts = EXCLUDED.attempts, latency_ms = EXCLUDED.latency_ms,
                http_status = EXCLUDED.http_status, error = EXCLUDED.error, first_attempt_at = EXCLUDED.first_attempt_at,
                finished_at = EXCLUDED.finished_at
            WHERE deliveries.status <> 'delivered'""";
    /** Tries of one flush before the task fails (and the job restarts, writing the rows again after the restore). */
    static final int FLUSH_TRIES = 5;

    private final JdbcSettings jdbc;

    public DeliveriesTableSink(JdbcSettings jdbc) {
        this.jdbc = jdbc;
    }

    @Override
    public SinkWriter<DeliveryOutcome> createWriter(WriterInitContext context) {
        return new Writer(jdbc);
    }

    static final class Writer implements SinkWriter<DeliveryOutcome> {
        private final JdbcSettings jdbc;
        private final List<DeliveryOutcome> pending = new ArrayList<>();
        private Connection connection;

        Writer(JdbcSettings jdbc) {
            this.jdbc = jdbc;
        }

        @Override
        public void write(DeliveryOutcome o, Context context) {
            if (o.alertId() != null) pending.add(o); // an invalid record has no key: it is in the DLQ only
        }

        @Override
        public void flush(boolean endOfInput) throws java.io.IOException, InterruptedException {
            if (pending.isEmpty()) return;
            for (int attempt = 1; ; attempt++) {
                try {
                    upsert();
                    pending.clear();
                    return;
                } catch (SQLException e) {
                    closeQuietly();
                    if (attempt >= FLUSH_TRIES) throw new java.io.IOException("could not write " + pending.size() + " deliveries rows", e);
                    LOG.warn("writing {} deliveries rows failed (try {} of {}), trying again: {}", pending.size(), attempt, FLUSH_TRIES, e.toString());
                    Thread.sleep(500L << attempt);
                }
            }
        }

        private void upsert() throws SQLException {
            if (connection == null || connection.isClosed()) {
                connection = jdbc.connect();
                connection.setAutoCommit(false);
            }
            try (PreparedStatement ps = connection.prepareStatement(UPSERT)) {
                for (DeliveryOutcome o : pending) {
                    ps.setString(1, o.alertId());
                    ps.setString(2, o.destination());
                    ps.setString(3, o.status().wire());
                    ps.setInt(4, o.attempts());
                    ps.setLong(5, o.latencyMs());
                    if (o.httpStatus() > 0) ps.setInt(6, o.httpStatus());
                    else ps.setNull(6, Types.INTEGER);
                    ps.setString(7, o.error() == null ? null : OutputJson.clean(o.error()));
                    ps.setString(8, o.alert().alertType());
                    ps.setString(9, o.alert().severity());
                    ps.setTimestamp(10, new Timestamp(o.firstAttemptAtMs()));
                    ps.setTimestamp(11, new Timestamp(o.finishedAtMs()));
                    ps.addBatch();
                }
                ps.executeBatch();
                connection.commit();
            } catch (SQLException e) {
                try {
                    connection.rollback();
                } catch (SQLException ignored) {
                    // the connection is closed next anyway
                }
                throw e;
            }
        }

        private void closeQuietly() {
            try {
                if (connection != null) connection.close();
            } catch (SQLException ignored) {
                // already broken
            }
            connection = null;
        }

        @Override
        public void close() {
            closeQuietly();
        }
    }
}
