package io.behaviorcep.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import javax.sql.DataSource;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * What the read API answers, from PostgreSQL, as JSON documents (the shapes of
 * {@code openapi.json}, next to this class). No HTTP here: {@link ServeServer} only routes to these
 * methods. Every answer carries {@code as_of}, the event time the data reflects.
 *
 * <p>User ids are taken as the tables hold them: with {@code privacy.pseudonymize} the caller
 * ({@link ServeServer}) hashes the id first.
 */
public final class ServeQueries {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final DataSource db;
    private final int recentAlerts;
    private final long patternsCacheNanos;
    private final LongSupplier nanoClock;
    private volatile ObjectNode patternsCached;
    private volatile long patternsCachedAt;

    public ServeQueries(DataSource db, int recentAlerts, long patternsCacheNanos) {
        this(db, recentAlerts, patternsCacheNanos, System::nanoTime);
    }

    ServeQueries(DataSource db, int recentAlerts, long patternsCacheNanos, LongSupplier nanoClock) {
        this.db = db;
        this.recentAlerts = recentAlerts;
        this.patternsCacheNanos = patternsCacheNanos;
        this.nanoClock = nanoClock;
    }

    /** A connection of the pool; the pool opens them read-only. */
    Connection connect() throws SQLException {
        return db.getConnection();
    }

    /**
     * {@code GET /v1/users/{id}}: profile, recent events, current segments, the last alerts.
     * {@code as_of} is the newest of the profile's time, the latest segment change and the newest
     * alert: the event time up to which the answer is complete.
     *
     * @throws ApiError 404 {@code user_not_found} if no table knows the user
     */
    public ObjectNode user(String userId) throws SQLException {
        ObjectNode out = JSON.createObjectNode();
        out.put("user_id", userId);
        Instant asOf = null;
        try (Connection c = connect()) {
            boolean known = false;
            try (PreparedStatement st = c.prepareStatement(
                    "SELECT as_of, profile::text, recent_events::text FROM user_profiles WHERE user_id = ?")) {
                st.setString(1, userId);
                try (ResultSet rs = st.executeQuery()) {
                    if (rs.next()) {
                        known = true;
                        asOf = rs.getTimestamp(1).toInstant();
                        out.set("profile", parse(rs.getString(2)));
                        String recent = rs.getString(3);
                        out.set("recent_events", recent == null ? JSON.createArrayNode() : parse(recent));
                    } else {
                        out.putNull("profile");
                        out.set("recent_events", JSON.createArrayNode());
                    }
                }
            }
            ArrayNode segments = out.putArray("segments");
            try (PreparedStatement st = c.prepareStatement(
                    "SELECT segment, member, entered_at, expires_at, reason, updated_at FROM user_segments WHERE user_id = ? ORDER BY segment")) {
                st.setString(1, userId);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        known = true;
                        asOf = later(asOf, rs.getTimestamp(6));
                        if (!rs.getBoolean(2)) continue; // a segment left: only its time counts
                        ObjectNode s = segments.addObject();
                        s.put("segment", rs.getString(1));
                        putInstant(s, "entered_at", rs.getTimestamp(3));
                        putInstant(s, "expires_at", rs.getTimestamp(4));
                        s.put("reason", rs.getString(5));
                    }
                }
            }
            ArrayNode alerts = out.putArray("alerts");
            if (recentAlerts > 0) {
                try (PreparedStatement st = c.prepareStatement(
                        "SELECT alert_id, pattern_id, pattern_version, alert_type, severity, detected_at, document->'payload' "
                                + "FROM alerts WHERE user_id = ? ORDER BY detected_at DESC, alert_id LIMIT ?")) {
                    st.setString(1, userId);
                    st.setInt(2, recentAlerts);
                    try (ResultSet rs = st.executeQuery()) {
                        while (rs.next()) {
                            known = true;
                            ObjectNode a = alerts.addObject();
                            a.put("alert_id", rs.getString(1));
                            a.put("pattern_id", rs.getString(2));
                            a.put("pattern_version", rs.getInt(3));
                            a.put("alert_type", rs.getString(4));
                            a.put("severity", rs.getString(5));
                            Timestamp detected = rs.getTimestamp(6);
                            putInstant(a, "detected_at", detected);
                            asOf = later(asOf, detected);
                            String payload = rs.getString(7);
                            a.set("payload", payload == null ? JSON.nullNode() : parse(payload));
                        }
                    }
                }
            }
            if (!known) throw ApiError.notFound("user_not_found", "no profile, segment or alert for this user");
        }
        out.put("as_of", asOf.toString());
        return out;
    }

    /**
     * {@code GET /v1/segments/{name}/members}: members in {@code user_id} order after the cursor,
     * {@code count} (all current members) and {@code next_cursor} (null on the last page).
     * {@code as_of} is the segment's latest change.
     *
     * @throws ApiError 404 {@code segment_not_found} if no user was ever in the segment
     */
    public ObjectNode segmentMembers(String segment, Optional<MemberCursor> after, int limit) throws SQLException {
        ObjectNode out = JSON.createObjectNode();
        out.put("segment", segment);
        try (Connection c = connect()) {
            Timestamp asOf;
            long count;
            try (PreparedStatement st = c.prepareStatement(
                    // two index reads (sql/V5): the latest change, and the current members alone
                    "SELECT (SELECT max(updated_at) FROM user_segments WHERE segment = ?), "
                            + "(SELECT count(*) FROM user_segments WHERE segment = ? AND member)")) {
                st.setString(1, segment);
                st.setString(2, segment);
                try (ResultSet rs = st.executeQuery()) {
                    rs.next();
                    asOf = rs.getTimestamp(1);
                    count = rs.getLong(2);
                }
            }
            if (asOf == null) throw ApiError.notFound("segment_not_found", "no user was ever in segment '" + segment + "'");
            out.put("as_of", asOf.toInstant().toString());
            out.put("count", count);
            ArrayNode members = out.putArray("members");
            String last = null;
            int n = 0;
            // one row more than asked tells whether a next page exists
            try (PreparedStatement st = c.prepareStatement(
                    "SELECT user_id, entered_at, expires_at FROM user_segments WHERE segment = ? AND member AND user_id > ? "
                            + "ORDER BY user_id LIMIT ?")) {
                st.setString(1, segment);
                st.setString(2, after.map(MemberCursor::afterUserId).orElse(""));
                st.setInt(3, limit + 1);
                try (ResultSet rs = st.executeQuery()) {
                    while (rs.next()) {
                        if (++n > limit) break;
                        ObjectNode m = members.addObject();
                        last = rs.getString(1);
                        m.put("user_id", last);
                        putInstant(m, "entered_at", rs.getTimestamp(2));
                        putInstant(m, "expires_at", rs.getTimestamp(3));
                    }
                }
            }
            if (n > limit) out.put("next_cursor", new MemberCursor(segment, last).encode());
            else out.putNull("next_cursor");
        }
        return out;
    }

    /**
     * {@code GET /v1/patterns}: every pattern version that raised an alert, with its alert count and
     * first and last alert; {@code latest_version} is the highest version seen. Counting reads every
     * alert, so the answer is reused for {@code serve.patterns-cache}.
     */
    public ObjectNode patterns() throws SQLException {
        ObjectNode cached = patternsCached;
        long now = nanoClock.getAsLong();
        if (cached != null && now - patternsCachedAt < patternsCacheNanos) return cached;
        ObjectNode out = JSON.createObjectNode();
        Instant asOf = null;
        ArrayNode patterns = out.putArray("patterns");
        try (Connection c = connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pattern_id, pattern_version, count(*), min(detected_at), max(detected_at) "
                     + "FROM alerts GROUP BY pattern_id, pattern_version ORDER BY pattern_id, pattern_version")) {
            ObjectNode current = null;
            while (rs.next()) {
                String id = rs.getString(1);
                if (current == null || !current.get("pattern_id").asText().equals(id)) {
                    current = patterns.addObject();
                    current.put("pattern_id", id);
                    current.putArray("versions");
                }
                ObjectNode v = ((ArrayNode) current.get("versions")).addObject();
                v.put("version", rs.getInt(2));
                v.put("alerts", rs.getLong(3));
                putInstant(v, "first_alert_at", rs.getTimestamp(4));
                putInstant(v, "last_alert_at", rs.getTimestamp(5));
                current.put("latest_version", rs.getInt(2)); // ordered by version: the last one wins
                asOf = later(asOf, rs.getTimestamp(5));
            }
        }
        if (asOf == null) out.putNull("as_of");
        else out.put("as_of", asOf.toString());
        patternsCached = out;
        patternsCachedAt = now;
        return out;
    }

    /** {@code GET /healthz}: whether a pooled connection answers. */
    public boolean healthy() {
        try (Connection c = connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
            return rs.next();
        } catch (SQLException e) {
            return false;
        }
    }

    private static Instant later(Instant a, Timestamp b) {
        if (b == null) return a;
        Instant i = b.toInstant();
        return a == null || i.isAfter(a) ? i : a;
    }

    private static void putInstant(ObjectNode n, String field, Timestamp t) {
        if (t == null) n.putNull(field);
        else n.put(field, t.toInstant().toString());
    }

    private static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalStateException("PostgreSQL returned a jsonb value that is not JSON", e);
        }
    }
}
