package io.behaviorcep.sink;

import io.behaviorcep.action.Alert;
import io.behaviorcep.segment.SegmentUpdate;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.api.connector.sink2.Committer;
import org.apache.flink.api.connector.sink2.CommitterInitContext;
import org.apache.flink.api.connector.sink2.CommittingSinkWriter;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.SupportsCommitter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.util.function.SerializableFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Exactly-once effect in PostgreSQL without XA.
 *
 * <p>The writer only collects the documents of the current checkpoint; Flink stores them with the
 * checkpoint as committables, and the committer writes them after the checkpoint has completed
 * (the same moment Kafka transactions commit). After a failure, Flink hands the committer any
 * committables of completed checkpoints again, so it may apply a batch twice: every statement is
 * therefore idempotent (deterministic primary keys with ON CONFLICT DO NOTHING, and forward-only
 * upserts guarded by a version). Rows from a checkpoint that never completed are never written.
 * The README ("Exactly once in PostgreSQL") says why this was chosen over the JDBC connector's XA sink.
 */
public final class PostgresSink<T> implements Sink<T>, SupportsCommitter<PostgresSink.Batch> {
    private static final Logger LOG = LoggerFactory.getLogger(PostgresSink.class);

    /** What the documents of a batch are, and so which statements apply them. */
    public enum Kind { ALERTS, SEGMENTS }

    private final Kind kind;
    private final JdbcSettings jdbc;
    private final SerializableFunction<T, String> toDocument;

    private PostgresSink(Kind kind, JdbcSettings jdbc, SerializableFunction<T, String> toDocument) {
        this.kind = kind;
        this.jdbc = jdbc;
        this.toDocument = toDocument;
    }

    public static PostgresSink<Alert> alerts(JdbcSettings jdbc) {
        return new PostgresSink<>(Kind.ALERTS, jdbc, a -> OutputJson.alert(a).toString());
    }

    public static PostgresSink<SegmentUpdate> segments(JdbcSettings jdbc) {
        return new PostgresSink<>(Kind.SEGMENTS, jdbc, u -> OutputJson.segment(u).toString());
    }

    @Override
    public SinkWriter<T> createWriter(WriterInitContext context) {
        return new Writer<>(kind, toDocument);
    }

    @Override
    public Committer<Batch> createCommitter(CommitterInitContext context) {
        return new PgCommitter(jdbc);
    }

    @Override
    public SimpleVersionedSerializer<Batch> getCommittableSerializer() {
        return new BatchSerializer();
    }

    /** The documents of one checkpoint of one subtask. */
    public static final class Batch {
        public final Kind kind;
        public final List<String> documents;

        public Batch(Kind kind, List<String> documents) {
            this.kind = kind;
            this.documents = documents;
        }
    }

    static final class Writer<T> implements CommittingSinkWriter<T, Batch> {
        private final Kind kind;
        private final SerializableFunction<T, String> toDocument;
        private List<String> current = new ArrayList<>();

        Writer(Kind kind, SerializableFunction<T, String> toDocument) {
            this.kind = kind;
            this.toDocument = toDocument;
        }

        @Override
        public void write(T element, Context context) {
            current.add(toDocument.apply(element));
        }

        @Override
        public void flush(boolean endOfInput) {}

        @Override
        public Collection<Batch> prepareCommit() {
            if (current.isEmpty()) return List.of();
            Batch b = new Batch(kind, current);
            current = new ArrayList<>();
            return List.of(b);
        }

        @Override
        public void close() {}
    }

    static final class PgCommitter implements Committer<Batch> {
        private final JdbcSettings jdbc;
        private Connection connection;

        PgCommitter(JdbcSettings jdbc) {
            this.jdbc = jdbc;
        }

        @Override
        public void commit(Collection<CommitRequest<Batch>> requests) throws IOException {
            for (CommitRequest<Batch> r : requests) {
                try {
                    apply(r.getCommittable());
                } catch (SQLException e) {
                    closeQuietly();
                    // Kept by Flink and tried again; the Kafka output is not held back meanwhile.
                    LOG.warn("PostgreSQL commit of {} {} rows failed (attempt {}), will retry: {}",
                            r.getCommittable().documents.size(), r.getCommittable().kind, r.getNumberOfRetries() + 1, e.getMessage());
                    r.retryLater();
                }
            }
        }

        void apply(Batch batch) throws SQLException {
            if (connection == null || connection.isClosed()) {
                connection = jdbc.connect();
                connection.setAutoCommit(false);
            }
            try {
                if (batch.kind == Kind.ALERTS) applyAlerts(connection, batch.documents);
                else applySegments(connection, batch.documents);
                connection.commit();
            } catch (SQLException | RuntimeException e) {
                try {
                    connection.rollback();
                } catch (SQLException ignored) {
                    // the connection is gone; it is reopened on the next attempt
                }
                throw e instanceof SQLException s ? s : new SQLException(e);
            }
        }

        private void closeQuietly() {
            try {
                if (connection != null) connection.close();
            } catch (SQLException ignored) {
                // nothing to do
            }
            connection = null;
        }

        @Override
        public void close() {
            closeQuietly();
        }
    }

    static void applyAlerts(Connection c, List<String> documents) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO alerts (alert_id, pattern_id, pattern_version, alert_type, severity, user_id, detected_at, document) "
                        + "VALUES (?, ?, ?, ?, ?, ?, ?, ?::jsonb) ON CONFLICT (alert_id) DO NOTHING")) {
            for (String doc : documents) {
                JsonNode a = read(doc);
                ps.setString(1, a.get("alert_id").asText());
                ps.setString(2, a.get("pattern_id").asText());
                ps.setInt(3, a.get("pattern_version").asInt());
                ps.setString(4, a.get("alert_type").asText());
                ps.setString(5, a.get("severity").asText());
                ps.setString(6, a.get("user_id").asText());
                ps.setTimestamp(7, ts(a.get("detected_at")));
                ps.setString(8, doc);
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    static void applySegments(Connection c, List<String> documents) throws SQLException {
        try (PreparedStatement history = c.prepareStatement(
                "INSERT INTO segment_events (event_id, user_id, segment, action, reason, at, version, expires_at) "
                        + "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING");
             PreparedStatement current = c.prepareStatement(
                "INSERT INTO user_segments AS s (user_id, segment, member, entered_at, expires_at, reason, version, updated_at) "
                        + "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, segment) DO UPDATE SET "
                        + "member = EXCLUDED.member, "
                        + "entered_at = CASE WHEN EXCLUDED.member THEN EXCLUDED.entered_at ELSE s.entered_at END, "
                        + "expires_at = EXCLUDED.expires_at, reason = EXCLUDED.reason, "
                        + "version = EXCLUDED.version, updated_at = EXCLUDED.updated_at "
                        + "WHERE s.version < EXCLUDED.version")) {
            for (String doc : documents) {
                JsonNode u = read(doc);
                boolean enter = SegmentUpdate.ENTER.equals(u.get("action").asText());
                Timestamp at = ts(u.get("at"));
                Timestamp expires = u.get("expires_at").isNull() ? null : ts(u.get("expires_at"));
                history.setString(1, u.get("event_id").asText());
                history.setString(2, u.get("user_id").asText());
                history.setString(3, u.get("segment").asText());
                history.setString(4, u.get("action").asText());
                history.setString(5, u.get("reason").asText());
                history.setTimestamp(6, at);
                history.setLong(7, u.get("version").asLong());
                history.setTimestamp(8, expires);
                history.addBatch();

                current.setString(1, u.get("user_id").asText());
                current.setString(2, u.get("segment").asText());
                current.setBoolean(3, enter);
                current.setTimestamp(4, enter ? at : null);
                current.setTimestamp(5, expires);
                current.setString(6, u.get("reason").asText());
                current.setLong(7, u.get("version").asLong());
                current.setTimestamp(8, at);
                current.addBatch();
            }
            history.executeBatch();
            current.executeBatch();
        }
    }

    private static JsonNode read(String doc) {
        try {
            return OutputJson.MAPPER.readTree(doc);
        } catch (IOException e) {
            throw new IllegalStateException("committable is not JSON", e);
        }
    }

    private static Timestamp ts(JsonNode iso) {
        return Timestamp.from(Instant.parse(iso.asText()));
    }

    /** Version 1: kind, count, then each document as length-prefixed UTF-8. */
    static final class BatchSerializer implements SimpleVersionedSerializer<Batch> {
        @Override
        public int getVersion() {
            return 1;
        }

        @Override
        public byte[] serialize(Batch b) throws IOException {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (DataOutputStream out = new DataOutputStream(bytes)) {
                out.writeByte(b.kind.ordinal());
                out.writeInt(b.documents.size());
                for (String d : b.documents) {
                    byte[] s = d.getBytes(StandardCharsets.UTF_8);
                    out.writeInt(s.length);
                    out.write(s);
                }
            }
            return bytes.toByteArray();
        }

        @Override
        public Batch deserialize(int version, byte[] serialized) throws IOException {
            if (version != 1) throw new IOException("unknown PostgreSQL committable version " + version);
            try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(serialized))) {
                Kind kind = Kind.values()[in.readByte()];
                int n = in.readInt();
                List<String> docs = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    byte[] s = new byte[in.readInt()];
                    in.readFully(s);
                    docs.add(new String(s, StandardCharsets.UTF_8));
                }
                return new Batch(kind, docs);
            }
        }
    }
}
