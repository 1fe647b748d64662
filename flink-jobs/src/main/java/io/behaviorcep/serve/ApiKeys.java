package io.behaviorcep.serve;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * API keys of the read API, in table {@code serve_api_keys} (sql/V5). A key is {@code bcs_} and 32
 * random bytes in base64url; only the hex SHA-256 of the key is stored. A request's key is found by
 * its hash: no secret is compared in Java, so response times tell nothing about how much of a guess
 * was right.
 */
public final class ApiKeys {
    /** Marks the string as a behavior-cep serve key, for secret scanners and people. */
    public static final String PREFIX = "bcs_";
    private static final int KEY_BYTES = 32;
    private static final int SHOWN_PREFIX = PREFIX.length() + 6;
    private static final SecureRandom RANDOM = new SecureRandom();

    /** A key as listed: never the key itself. */
    public record KeyInfo(String name, String keyPrefix, Instant createdAt, Instant revokedAt) {
        public boolean revoked() {
            return revokedAt != null;
        }
    }

    private ApiKeys() {
    }

    /** A fresh key: {@code bcs_} and 32 bytes of {@link SecureRandom}, base64url without padding. */
    public static String generate() {
        byte[] b = new byte[KEY_BYTES];
        RANDOM.nextBytes(b);
        return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /** What is stored for {@code key}: lower-case hex SHA-256 of its UTF-8 bytes. */
    public static String hash(String key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The key of an {@code Authorization: Bearer <key>} header; empty if the header is missing or of
     * another scheme.
     */
    public static Optional<String> bearer(String authorizationHeader) {
        if (authorizationHeader == null) return Optional.empty();
        String h = authorizationHeader.strip();
        if (h.length() < 7 || !h.regionMatches(true, 0, "Bearer ", 0, 7)) return Optional.empty();
        String key = h.substring(7).strip();
        return key.isEmpty() ? Optional.empty() : Optional.of(key);
    }

    /**
     * Stores a new key named {@code name} and returns it: the only time the key exists outside the
     * caller's hands.
     *
     * @throws IllegalArgumentException if a key of that name exists (revoked ones too: names are kept)
     */
    public static String create(Connection c, String name) throws SQLException {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("a key needs a name");
        String key = generate();
        try (PreparedStatement st = c.prepareStatement(
                "INSERT INTO serve_api_keys (name, key_hash, key_prefix) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING")) {
            st.setString(1, name);
            st.setString(2, hash(key));
            st.setString(3, key.substring(0, SHOWN_PREFIX));
            if (st.executeUpdate() == 0) {
                throw new IllegalArgumentException("a key named '" + name + "' exists already (revoked keys keep their name)");
            }
        }
        return key;
    }

    /** @return whether a key of that name was active and is now revoked */
    public static boolean revoke(Connection c, String name) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(
                "UPDATE serve_api_keys SET revoked_at = now() WHERE name = ? AND revoked_at IS NULL")) {
            st.setString(1, name);
            return st.executeUpdate() == 1;
        }
    }

    public static List<KeyInfo> list(Connection c) throws SQLException {
        List<KeyInfo> keys = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement(
                "SELECT name, key_prefix, created_at, revoked_at FROM serve_api_keys ORDER BY created_at, name");
             ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                keys.add(new KeyInfo(rs.getString(1), rs.getString(2), instant(rs.getTimestamp(3)), instant(rs.getTimestamp(4))));
            }
        }
        return keys;
    }

    /** The name of the active key {@code key}; empty if it is unknown or revoked. */
    public static Optional<String> activeKeyName(Connection c, String key) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(
                "SELECT name FROM serve_api_keys WHERE key_hash = ? AND revoked_at IS NULL")) {
            st.setString(1, hash(key));
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
            }
        }
    }

    private static Instant instant(Timestamp t) {
        return t == null ? null : t.toInstant();
    }
}
