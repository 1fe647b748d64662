package io.behaviorcep.config;

import java.io.Serializable;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/**
 * Where PostgreSQL is. The password is read from an environment variable on the task managers at
 * connect time, so it never travels in the job graph; a literal password is accepted only for
 * the embedded local run.
 *
 * <p>{@code auditKeyEnv} names the environment variable (a JVM system property of that name is
 * accepted too, for local runs and tests) holding the key of the user hashes the sinks write
 * ({@code erasures.user_hash} and the guard of every insert against it): HMAC-SHA256, so a copy of the table cannot
 * be matched against a list of user ids. Read on the task managers, like the password.
 */
public record JdbcSettings(String url, String user, String passwordEnv, String literalPassword, String auditKeyEnv) implements Serializable {
    public static final String DEFAULT_PASSWORD_ENV = "BEHAVIOR_CEP_JDBC_PASSWORD";
    public static final String DEFAULT_AUDIT_KEY_ENV = "BEHAVIOR_CEP_AUDIT_KEY";

    public JdbcSettings(String url, String user, String passwordEnv, String literalPassword) {
        this(url, user, passwordEnv, literalPassword, DEFAULT_AUDIT_KEY_ENV);
    }

    /** The audit key; fails rather than let the sinks fall back to an unkeyed hash. */
    public byte[] auditKey() {
        String name = auditKeyEnv == null || auditKeyEnv.isBlank() ? DEFAULT_AUDIT_KEY_ENV : auditKeyEnv;
        String k = System.getenv(name);
        if (k == null || k.isEmpty()) k = System.getProperty(name);
        if (k == null || k.isEmpty()) {
            throw new IllegalStateException("the environment variable " + name + " (privacy.audit-key-env) holding the HMAC key of the "
                    + "user hashes in PostgreSQL is not set on this task manager");
        }
        return k.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    public Connection connect() throws SQLException {
        Properties p = new Properties();
        if (user != null) p.setProperty("user", user);
        String password = literalPassword;
        if (password == null && passwordEnv != null) password = System.getenv(passwordEnv);
        if (password != null) p.setProperty("password", password);
        p.setProperty("connectTimeout", "10");
        p.setProperty("socketTimeout", "60");
        p.setProperty("ApplicationName", "behavior-cep");
        return DriverManager.getConnection(url, p);
    }

    @Override
    public String toString() {
        return "JdbcSettings{url=" + url + ", user=" + user + ", passwordEnv=" + passwordEnv + ", auditKeyEnv=" + auditKeyEnv + "}";
    }
}
