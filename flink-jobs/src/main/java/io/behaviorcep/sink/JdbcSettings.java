package io.behaviorcep.sink;

import java.io.Serializable;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/**
 * Where PostgreSQL is. The password is read from an environment variable on the task managers at
 * connect time, so it never travels in the job graph; a literal password is accepted only for
 * the embedded local run.
 */
public record JdbcSettings(String url, String user, String passwordEnv, String literalPassword) implements Serializable {
    public static final String DEFAULT_PASSWORD_ENV = "BEHAVIOR_CEP_JDBC_PASSWORD";

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
        return "JdbcSettings{url=" + url + ", user=" + user + ", passwordEnv=" + passwordEnv + "}";
    }
}
