package io.behaviorcep.sink;

import io.behaviorcep.output.Alert;
import io.behaviorcep.config.JdbcSettings;
import io.behaviorcep.output.AlertDecisionJson;
import io.behaviorcep.output.OutputJson;
import io.behaviorcep.output.ProfileRecord;
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
 *
 * <p>Erasures ({@link Kind#PROFILES}) delete a user's rows up to the erasure's event time and record
 * it in {@code erasures}; every insert checks that table ({@link #NOT_ERASED}), so erasure and the
 * other sinks' rows commute: whichever committer runs first, nothing from before the erasure remains.
 */
public final class PostgresSink<T> implements Sink<T>, SupportsCommitter<PostgresSink.Batch> {
    private static final Logger LOG = LoggerFactory.getLogger(PostgresSink.class);

    /** What the documents of a batch are, and so which statements apply them. */
    public enum Kind { ALERTS, SEGMENTS, PROFILES, ALERT_DECISIONS, OUTCOMES }

    private final Kind kind;
    private final JdbcSettings jdbc;
    private final SerializableFunction<T, String> toDocument;

    private PostgresSink(Kind kind, JdbcSettings jdbc, SerializableFunction<T, String> toDocument) {
        this.kind = kind;
        this.jdbc = jdbc;
        this.toDocument = toDocument;
    }

    public static PostgresSink<Alert> alerts(JdbcSettings jdbc) {
        return new PostgresSink<>(Kind.ALERTS, jdbc, OutputJson::alertDocument);
    }

    /** Outcomes ({@code outcomes}): one row per decision id, written once. */
    public static PostgresSink<io.behaviorcep.experiment.Outcome> outcomes(JdbcSettings jdbc) {
        return new PostgresSink<>(Kind.OUTCOMES, jdbc, o -> OutputJson.text(OutputJson.outcome(o)));
    }

    public static PostgresSink<SegmentUpdate> segments(JdbcSettings jdbc) {
        return new PostgresSink<>(Kind.SEGMENTS, jdbc, u -> OutputJson.text(OutputJson.segment(u)));
    }

    /** The messaging policy's decisions ({@code alert_decisions}, migration V8). */
    public static PostgresSink<io.behaviorcep.policy.AlertDecision> alertDecisions(JdbcSettings jdbc) {
        return new PostgresSink<>(Kind.ALERT_DECISIONS, jdbc, AlertDecisionJson::text);
    }

    /** Latest profiles ({@code user_profiles}) and erasures (deletes, and a row in {@code erasures}). */
    public static PostgresSink<ProfileRecord> profiles(JdbcSettings jdbc) {
        return new PostgresSink<>(Kind.PROFILES, jdbc, r -> OutputJson.text(OutputJson.profileRecord(r)));
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

    /**
     * How long a committer keeps retrying one batch while PostgreSQL is unreachable before it gives up
     * and fails the task (the restart strategy takes over; the batch is applied on restore).
     */
    static final java.time.Duration MAX_OUTAGE = java.time.Duration.ofMinutes(5);

    /**
     * Applies the batches of completed checkpoints. While PostgreSQL is unreachable it retries each
     * batch with backoff (50 ms doubling to 2 s), for up to {@link #MAX_OUTAGE}, holding the task
     * meanwhile: the job is backpressured and no further checkpoint completes, so nothing is lost or
     * reordered and nothing restarts; when the database is back, everything flows on.
     *
     * <p>Not {@link CommitRequest#retryLater()}: Flink 2.2.1 retries such a request at once, in a
     * loop, {@code sink.committer.retries} (10) times within milliseconds, then fails the task with
     * "Failed to commit ... after 10 retries", and fails it again on every restore while the database
     * is down: with a bounded restart strategy an outage of a few seconds failed the job
     * ({@code ExactlyOnceIT}, database outage).
     */
    static final class PgCommitter implements Committer<Batch> {
        private final JdbcSettings jdbc;
        private final long maxOutageMillis;
        /** Keyed with the audit key, read here: a committer without the key fails to start instead of writing unkeyed hashes. */
        private final UserHash hash;
        private Connection connection;

        PgCommitter(JdbcSettings jdbc) {
            this(jdbc, MAX_OUTAGE);
        }

        PgCommitter(JdbcSettings jdbc, java.time.Duration maxOutage) {
            this.jdbc = jdbc;
            this.maxOutageMillis = maxOutage.toMillis();
            this.hash = new UserHash(jdbc.auditKey());
        }

        @Override
        public void commit(Collection<CommitRequest<Batch>> requests) throws IOException, InterruptedException {
            for (CommitRequest<Batch> r : requests) {
                long started = System.nanoTime();
                long backoff = 50;
                for (int attempt = 1; ; attempt++) {
                    try {
                        apply(r.getCommittable());
                        if (attempt > 1) {
                            LOG.info("PostgreSQL commit of {} {} rows succeeded at attempt {}", r.getCommittable().documents.size(), r.getCommittable().kind, attempt);
                        }
                        break;
                    } catch (SQLException e) {
                        closeQuietly();
                        long waited = java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
                        if (waited >= maxOutageMillis) {
                            throw new IOException("PostgreSQL commit of " + r.getCommittable().documents.size() + " " + r.getCommittable().kind
                                    + " rows failed for " + waited + " ms (" + attempt + " attempts): " + e.getMessage(), e);
                        }
                        LOG.warn("PostgreSQL commit of {} {} rows failed (attempt {}), retrying in {} ms: {}",
                                r.getCommittable().documents.size(), r.getCommittable().kind, attempt, backoff, e.getMessage());
                        Thread.sleep(backoff);
                        backoff = Math.min(backoff * 2, 2_000);
                    }
                }
            }
        }

        void apply(Batch batch) throws SQLException {
            if (connection == null || connection.isClosed()) {
                connection = jdbc.connect();
                connection.setAutoCommit(false);
            }
            try {
                lockAgainstErasures(connection, batch.kind);
                applyDocuments(connection, batch.kind, batch.documents, hash);
                connection.commit();
                return;
            } catch (SQLException | RuntimeException e) {
                rollbackQuietly();
                if (!isPermanent(e)) throw e instanceof SQLException s ? s : new SQLException(e);
                LOG.warn("PostgreSQL refused a row of a batch of {} {} rows ({}): applying it row by row", batch.documents.size(), batch.kind,
                        describe(e));
            }
            applyRowByRow(batch);
        }

        /**
         * The batch again in one transaction, each row behind a savepoint: a row refused for what it
         * holds goes to {@code sink_dead_letters} in its place, the others are written. A transient error
         * throws, and the whole batch is retried (every statement is idempotent).
         */
        private void applyRowByRow(Batch batch) throws SQLException {
            int refused = 0;
            try {
                lockAgainstErasures(connection, batch.kind);
                for (String doc : batch.documents) {
                    java.sql.Savepoint row = connection.setSavepoint();
                    try {
                        applyDocuments(connection, batch.kind, List.of(doc), hash);
                        connection.releaseSavepoint(row);
                    } catch (SQLException | RuntimeException e) {
                        if (!isPermanent(e)) throw e;
                        connection.rollback(row);
                        deadLetter(connection, batch.kind, doc, e, hash);
                        refused++;
                    }
                }
                connection.commit();
            } catch (SQLException | RuntimeException e) {
                rollbackQuietly();
                throw e instanceof SQLException s ? s : new SQLException(e);
            }
            LOG.warn("PostgreSQL refused {} of {} {} rows: written to sink_dead_letters, the others committed", refused,
                    batch.documents.size(), batch.kind);
        }

        private void rollbackQuietly() {
            try {
                connection.rollback();
            } catch (SQLException ignored) {
                // the connection is gone; it is reopened on the next attempt
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

    static void applyDocuments(Connection c, Kind kind, List<String> documents, UserHash hash) throws SQLException {
        switch (kind) {
            case ALERTS -> applyAlerts(c, documents, hash);
            case OUTCOMES -> applyOutcomes(c, documents, hash);
            case SEGMENTS -> applySegments(c, documents, hash);
            case PROFILES -> applyProfiles(c, documents, hash);
            case ALERT_DECISIONS -> applyAlertDecisions(c, documents, hash);
        }
    }

    /**
     * Whether a failure is the row's own, so that retrying it can never succeed: a data exception (22:
     * out of range, a {@code \u0000} in jsonb, bad encoding), an integrity violation (23), a program limit
     * (54: an index row too large), or a document the statements cannot read (a RuntimeException).
     * Anything else (connection, 08; serialization, 40; resources, 53; shutdown, 57; a missing table,
     * 42, until the migrations are applied) is transient: the batch is retried while it lasts.
     */
    static boolean isPermanent(Throwable e) {
        if (!(e instanceof SQLException)) return e instanceof RuntimeException;
        if (e.getCause() instanceof RuntimeException && !(e.getCause() instanceof SQLException)) return true;
        String state = sqlState(e);
        return state != null && (state.startsWith("22") || state.startsWith("23") || state.startsWith("54"));
    }

    /** The first SQLSTATE along the exception, its next exceptions (of a batch) and causes. */
    static String sqlState(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s) {
                for (SQLException n = s; n != null; n = n.getNextException()) {
                    if (n.getSQLState() != null) return n.getSQLState();
                }
            }
            if (t.getCause() == t) break;
        }
        return null;
    }

    private static String describe(Throwable e) {
        String state = sqlState(e);
        Throwable root = e;
        if (e instanceof java.sql.BatchUpdateException b && b.getNextException() != null) root = b.getNextException();
        else if (e instanceof SQLException && e.getCause() != null && !(e.getCause() instanceof SQLException)) root = e.getCause();
        String message = String.valueOf(root.getMessage());
        return (state == null ? root.getClass().getSimpleName() : "SQLSTATE " + state) + ": " + message;
    }

    /** {@code sink_dead_letters.sink} per kind of batch. */
    static String sinkName(Kind kind) {
        return switch (kind) {
            case ALERTS -> "alerts";
            case OUTCOMES -> "outcomes";
            case SEGMENTS -> "segments";
            case PROFILES -> "profiles";
            case ALERT_DECISIONS -> "alert_decisions";
        };
    }

    /** Latest event time {@code sink_dead_letters.event_at} takes (PostgreSQL's timestamptz ends in 294276). */
    private static final Instant LAST_EVENT_AT = Instant.parse("9999-12-31T23:59:59Z");

    /**
     * Writes a refused row to {@code sink_dead_letters}, skipped like every insert if the user was erased
     * after it (erasure deletes the user's dead letters). Made so PostgreSQL cannot refuse it in turn:
     * text cleaned of NUL and lone surrogates, the event time only when it is in range, the user id
     * in no index; should it be refused all the same, a row without the document, user and time.
     */
    static void deadLetter(Connection c, Kind kind, String doc, Throwable error, UserHash userHash) throws SQLException {
        String rowKey = null;
        String user = null;
        Timestamp eventAt = null;
        try {
            JsonNode n = read(doc);
            rowKey = text(n, switch (kind) {
                case ALERTS -> "alert_id";
                case OUTCOMES -> "decision_id";
                case SEGMENTS -> "event_id";
                case PROFILES -> "user_id";
                case ALERT_DECISIONS -> "decision_id";
            });
            user = text(n, "user_id");
            String at = text(n, switch (kind) {
                case ALERTS -> "detected_at";
                case OUTCOMES -> "decided_at";
                case SEGMENTS -> "at";
                case PROFILES -> ProfileRecord.ERASURE.equals(text(n, "kind")) ? "erased_at" : "as_of";
                case ALERT_DECISIONS -> "decided_at";
            });
            Instant t = at == null ? null : Instant.parse(at);
            if (t != null && !t.isAfter(LAST_EVENT_AT) && !t.isBefore(Instant.EPOCH)) eventAt = Timestamp.from(t);
        } catch (RuntimeException unreadable) {
            // what could be read is kept; the document itself says the rest
        }
        String reason = OutputJson.clean(describe(error));
        String hash = documentHash(doc);
        java.sql.Savepoint before = c.setSavepoint();
        try {
            insertDeadLetter(c, kind, hash, rowKey, user, eventAt, sqlState(error), reason, OutputJson.clean(doc), userHash);
            c.releaseSavepoint(before);
        } catch (SQLException e) {
            if (!isPermanent(e)) throw e;
            c.rollback(before);
            insertDeadLetter(c, kind, hash, null, null, null, sqlState(error),
                    reason + " (and the dead letter was refused: " + OutputJson.clean(describe(e)) + ")", null, userHash);
        }
    }

    private static void insertDeadLetter(Connection c, Kind kind, String hash, String rowKey, String user, Timestamp eventAt,
                                         String sqlState, String reason, String doc, UserHash userHash) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO sink_dead_letters (sink, document_hash, row_key, user_id, event_at, sqlstate, reason, document) "
                        + "SELECT ?, ?, ?, ?, ?::timestamptz, ?, ?, ? WHERE " + NOT_ERASED + " ON CONFLICT (sink, document_hash) DO NOTHING")) {
            ps.setString(1, sinkName(kind));
            ps.setString(2, hash);
            ps.setString(3, rowKey == null ? null : OutputJson.clean(rowKey));
            ps.setString(4, user == null ? null : OutputJson.clean(user));
            ps.setTimestamp(5, eventAt);
            ps.setString(6, sqlState);
            ps.setString(7, reason);
            ps.setString(8, doc);
            // an unknown user or time matches no erasure: the row is kept
            ps.setString(9, user == null ? null : userHash.of(OutputJson.clean(user)));
            ps.setTimestamp(10, eventAt);
            ps.executeUpdate();
        }
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n == null ? null : n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    /** Advisory lock id shared by every behavior-cep committer. */
    static final long ERASURE_LOCK = 0x6265_6863_6570L;

    /**
     * The {@link #NOT_ERASED} guard only sees erasures that committed before the insert's statement
     * started; an erasure committing concurrently would miss the rows being inserted and both would
     * stand. So inserts hold this lock shared (they do not wait for each other) and the batches that
     * erase hold it exclusively: an erasure and an insert never overlap.
     */
    static void lockAgainstErasures(Connection c, Kind kind) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(kind == Kind.PROFILES
                ? "SELECT pg_advisory_xact_lock(?)" : "SELECT pg_advisory_xact_lock_shared(?)")) {
            ps.setLong(1, ERASURE_LOCK);
            ps.execute();
        }
    }

    static void applyAlerts(Connection c, List<String> documents, UserHash userHash) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO alerts (alert_id, pattern_id, pattern_version, alert_type, severity, user_id, detected_at, document) "
                        + "SELECT ?, ?, ?::integer, ?, ?, ?, ?::timestamptz, ?::jsonb WHERE " + NOT_ERASED + " ON CONFLICT (alert_id) DO NOTHING")) {
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
                ps.setString(9, userHash.of(a.get("user_id").asText()));
                ps.setTimestamp(10, ts(a.get("detected_at")));
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    static void applyAlertDecisions(Connection c, List<String> documents, UserHash userHash) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO alert_decisions (decision_id, alert_id, pattern_id, pattern_version, alert_type, user_id, channel, reason, "
                        + "detected_at, decided_at, release_at, winner_alert_id, document) "
                        + "SELECT ?, ?, ?, ?::integer, ?, ?, ?, ?, ?::timestamptz, ?::timestamptz, ?::timestamptz, ?, ?::jsonb WHERE " + NOT_ERASED
                        + " ON CONFLICT (decision_id) DO NOTHING")) {
            for (String doc : documents) {
                JsonNode d = read(doc);
                ps.setString(1, d.get("decision_id").asText());
                ps.setString(2, d.get("alert_id").asText());
                ps.setString(3, d.get("pattern_id").asText());
                ps.setInt(4, d.get("pattern_version").asInt());
                ps.setString(5, d.get("alert_type").asText());
                ps.setString(6, d.get("user_id").asText());
                ps.setString(7, d.get("channel").asText());
                ps.setString(8, d.get("reason").asText());
                ps.setTimestamp(9, ts(d.get("detected_at")));
                ps.setTimestamp(10, ts(d.get("decided_at")));
                ps.setTimestamp(11, d.get("release_at").isNull() ? null : ts(d.get("release_at")));
                ps.setString(12, d.get("winner_alert_id").isNull() ? null : d.get("winner_alert_id").asText());
                ps.setString(13, doc);
                ps.setString(14, userHash.of(d.get("user_id").asText()));
                ps.setTimestamp(15, ts(d.get("decided_at")));
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    static void applyOutcomes(Connection c, List<String> documents, UserHash userHash) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO outcomes (decision_id, user_id, pattern_id, pattern_version, experiment_id, arm, holdout, decided_at, "
                        + "goal_event, goal_within_ms, converted, converted_at, value, time_to_convert_ms) "
                        + "SELECT ?, ?, ?, ?::integer, ?, ?, ?::boolean, ?::timestamptz, ?, ?::bigint, ?::boolean, ?::timestamptz, "
                        + "?::double precision, ?::bigint WHERE " + NOT_ERASED + " ON CONFLICT (decision_id) DO NOTHING")) {
            for (String doc : documents) {
                JsonNode o = read(doc);
                Timestamp decidedAt = ts(o.get("decided_at"));
                ps.setString(1, o.get("decision_id").asText());
                ps.setString(2, o.get("user_id").asText());
                ps.setString(3, o.get("pattern_id").asText());
                ps.setInt(4, o.get("pattern_version").asInt());
                ps.setString(5, o.get("experiment_id").isNull() ? null : o.get("experiment_id").asText());
                ps.setString(6, o.get("arm").asText());
                ps.setBoolean(7, o.get("holdout").asBoolean());
                ps.setTimestamp(8, decidedAt);
                ps.setString(9, o.get("goal_event").asText());
                ps.setLong(10, o.get("goal_within_ms").asLong());
                ps.setBoolean(11, o.get("converted").asBoolean());
                ps.setTimestamp(12, o.get("converted_at").isNull() ? null : ts(o.get("converted_at")));
                if (o.get("value").isNull()) ps.setNull(13, java.sql.Types.DOUBLE);
                else ps.setDouble(13, o.get("value").asDouble());
                if (o.get("time_to_convert_ms").isNull()) ps.setNull(14, java.sql.Types.BIGINT);
                else ps.setLong(14, o.get("time_to_convert_ms").asLong());
                ps.setString(15, userHash.of(o.get("user_id").asText()));
                ps.setTimestamp(16, decidedAt);
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    static void applySegments(Connection c, List<String> documents, UserHash userHash) throws SQLException {
        try (PreparedStatement history = c.prepareStatement(
                "INSERT INTO segment_events (event_id, user_id, segment, action, reason, at, version, expires_at) "
                        + "SELECT ?, ?, ?, ?, ?, ?::timestamptz, ?::bigint, ?::timestamptz WHERE " + NOT_ERASED + " ON CONFLICT (event_id) DO NOTHING");
             PreparedStatement current = c.prepareStatement(
                "INSERT INTO user_segments AS s (user_id, segment, member, entered_at, expires_at, reason, version, updated_at) "
                        + "SELECT ?, ?, ?::boolean, ?::timestamptz, ?::timestamptz, ?, ?::bigint, ?::timestamptz WHERE " + NOT_ERASED
                        + " ON CONFLICT (user_id, segment) DO UPDATE SET "
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
                String hash = userHash.of(u.get("user_id").asText());
                history.setString(9, hash);
                history.setTimestamp(10, at);
                history.addBatch();

                current.setString(1, u.get("user_id").asText());
                current.setString(2, u.get("segment").asText());
                current.setBoolean(3, enter);
                current.setTimestamp(4, enter ? at : null);
                current.setTimestamp(5, expires);
                current.setString(6, u.get("reason").asText());
                current.setLong(7, u.get("version").asLong());
                current.setTimestamp(8, at);
                current.setString(9, hash);
                current.setTimestamp(10, at);
                current.addBatch();
            }
            history.executeBatch();
            current.executeBatch();
        }
    }

    /**
     * The guard of every insert: nothing of a user at or before one of their erasures is written (the
     * erasure deleted it, or will, whichever committer runs first). Parameters: user hash, event time.
     */
    static final String NOT_ERASED = "NOT EXISTS (SELECT 1 FROM erasures e WHERE e.user_hash = ? AND e.erased_at >= ?::timestamptz)";

    /**
     * What {@code erasures} (and the {@link #NOT_ERASED} guard) record instead of the user id as
     * written: hex HMAC-SHA256 under the audit key ({@code privacy.audit-key-env}). Keyed, so a copy of
     * the table cannot be matched against a list of ids; whoever holds the key can look a user up.
     */
    public static String userHash(byte[] auditKey, String userId) {
        return new UserHash(auditKey).of(userId);
    }

    /** Keyed hashes of user ids; one per committer (a Mac is not thread-safe). */
    static final class UserHash {
        private final javax.crypto.Mac mac;

        UserHash(byte[] key) {
            try {
                mac = javax.crypto.Mac.getInstance("HmacSHA256");
                mac.init(new javax.crypto.spec.SecretKeySpec(key, "HmacSHA256"));
            } catch (java.security.GeneralSecurityException e) {
                throw new IllegalStateException(e);
            }
        }

        String of(String userId) {
            return java.util.HexFormat.of().formatHex(mac.doFinal(userId.getBytes(StandardCharsets.UTF_8)));
        }
    }

    /** Hex SHA-256 of a refused document: the key of its row in {@code sink_dead_letters}, not a user hash. */
    static String documentHash(String doc) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(doc.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static void applyProfiles(Connection c, List<String> documents, UserHash userHash) throws SQLException {
        try (PreparedStatement upsert = c.prepareStatement(
                "INSERT INTO user_profiles AS p (user_id, version, as_of, first_seen, last_seen, sessions_7d, sessions_30d, "
                        + "sessions_lifetime, orders_lifetime, revenue_30d, revenue_lifetime, profile, recent_events, updated_at) "
                        + "SELECT ?, ?::bigint, ?::timestamptz, ?::timestamptz, ?::timestamptz, ?::integer, ?::integer, ?::bigint, ?::bigint, "
                        + "?::double precision, ?::double precision, ?::jsonb, ?::jsonb, now() WHERE " + NOT_ERASED + " "
                        + "ON CONFLICT (user_id) DO UPDATE SET version = EXCLUDED.version, as_of = EXCLUDED.as_of, "
                        + "first_seen = EXCLUDED.first_seen, last_seen = EXCLUDED.last_seen, sessions_7d = EXCLUDED.sessions_7d, "
                        + "sessions_30d = EXCLUDED.sessions_30d, sessions_lifetime = EXCLUDED.sessions_lifetime, "
                        + "orders_lifetime = EXCLUDED.orders_lifetime, revenue_30d = EXCLUDED.revenue_30d, "
                        + "revenue_lifetime = EXCLUDED.revenue_lifetime, profile = EXCLUDED.profile, "
                        + "recent_events = EXCLUDED.recent_events, updated_at = now() "
                        + "WHERE p.version < EXCLUDED.version");
             PreparedStatement erasure = c.prepareStatement(
                "INSERT INTO erasures (user_hash, erased_at) VALUES (?, ?) ON CONFLICT DO NOTHING");
             PreparedStatement deleteAlerts = c.prepareStatement("DELETE FROM alerts WHERE user_id = ? AND detected_at <= ?");
             PreparedStatement deleteOutcomes = c.prepareStatement("DELETE FROM outcomes WHERE user_id = ? AND decided_at <= ?");
             PreparedStatement deleteHistory = c.prepareStatement("DELETE FROM segment_events WHERE user_id = ? AND at <= ?");
             PreparedStatement deleteDecisions = c.prepareStatement("DELETE FROM alert_decisions WHERE user_id = ? AND decided_at <= ?");
             PreparedStatement deleteMembership = c.prepareStatement("DELETE FROM user_segments WHERE user_id = ? AND updated_at <= ?");
             PreparedStatement deleteProfile = c.prepareStatement("DELETE FROM user_profiles WHERE user_id = ? AND as_of <= ?");
             // dead letters whose time is unknown go too: they may hold anything of the user's
             PreparedStatement deleteDeadLetters = c.prepareStatement(
                "DELETE FROM sink_dead_letters WHERE user_id = ? AND (event_at IS NULL OR event_at <= ?)")) {
            // one statement at a time, in order: a profile and an erasure of one user may share a batch
            for (String doc : documents) {
                JsonNode r = read(doc);
                String user = r.get("user_id").asText();
                if (ProfileRecord.ERASURE.equals(r.get("kind").asText())) {
                    Timestamp at = ts(r.get("erased_at"));
                    erasure.setString(1, userHash.of(user));
                    erasure.setTimestamp(2, at);
                    erasure.executeUpdate();
                    for (PreparedStatement d : List.of(deleteAlerts, deleteOutcomes, deleteHistory, deleteDecisions, deleteMembership, deleteProfile, deleteDeadLetters)) {
                        d.setString(1, user);
                        d.setTimestamp(2, at);
                        d.executeUpdate();
                    }
                } else {
                    JsonNode p = r.get("profile");
                    Timestamp asOf = ts(r.get("as_of"));
                    upsert.setString(1, user);
                    upsert.setLong(2, r.get("version").asLong());
                    upsert.setTimestamp(3, asOf);
                    upsert.setTimestamp(4, ts(p.get("first_seen")));
                    upsert.setTimestamp(5, ts(p.get("last_seen")));
                    upsert.setInt(6, p.get("sessions_7d").asInt());
                    upsert.setInt(7, p.get("sessions_30d").asInt());
                    upsert.setLong(8, p.get("sessions_lifetime").asLong());
                    upsert.setLong(9, p.get("orders_lifetime").asLong());
                    upsert.setDouble(10, p.get("revenue_30d").asDouble());
                    upsert.setDouble(11, p.get("revenue_lifetime").asDouble());
                    upsert.setString(12, p.toString());
                    // recent_events (sql/V5): absent in documents of jobs before it, then NULL
                    JsonNode recent = r.get("recent_events");
                    upsert.setString(13, recent == null || recent.isNull() ? null : recent.toString());
                    upsert.setString(14, userHash.of(user));
                    upsert.setTimestamp(15, asOf);
                    upsert.executeUpdate();
                }
            }
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
