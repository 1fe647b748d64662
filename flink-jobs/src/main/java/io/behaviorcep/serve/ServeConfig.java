package io.behaviorcep.serve;

import io.behaviorcep.config.JobConfig;
import io.behaviorcep.pattern.Durations;
import io.behaviorcep.config.JdbcSettings;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Settings of {@code serve}, in the job's style: {@code --config FILE} (a properties file) and
 * {@code --key value} arguments on top. The job's own keys ({@link JobConfig#KEYS}) are accepted, so
 * one file can serve both; of those, serve reads {@code jdbc.*} and {@code privacy.pseudonymize} /
 * {@code privacy.pseudonym-key-env} (a pseudonymised job's tables are keyed by the pseudonym, so
 * lookups must hash the id with the same key). Unknown keys are refused.
 */
public final class ServeConfig {

    /** Keys of serve's own, with default and meaning (docs/operations.md lists them). */
    public static final Map<String, String[]> KEYS = new LinkedHashMap<>();

    static {
        key("serve.bind-address", "0.0.0.0", "address the HTTP server listens on");
        key("serve.port", "8090", "HTTP port (Flink's web UI has 8081)");
        key("serve.rate-limit", "50", "requests per second per API key (token bucket, per replica)");
        key("serve.rate-limit-burst", "100", "requests a key may make at once after a quiet spell (the bucket's size)");
        key("serve.recent-alerts", "20", "alerts in GET /v1/users/{id}, newest first");
        key("serve.page-default-limit", "100", "members per page of GET /v1/segments/{name}/members without ?limit");
        key("serve.page-max-limit", "1000", "largest ?limit accepted");
        key("serve.db-pool-size", "8", "PostgreSQL connections (read-only) held by the server");
        key("serve.patterns-cache", "10s", "GET /v1/patterns counts every alert; its answer is reused this long");
    }

    private static void key(String k, String def, String doc) {
        KEYS.put(k, new String[] {def, doc});
    }

    private final Map<String, String> values;

    private ServeConfig(Map<String, String> values) {
        this.values = values;
    }

    /** @throws IllegalArgumentException listing every unknown key and bad value */
    public static ServeConfig of(Map<String, String> given) {
        Map<String, String> v = new TreeMap<>();
        KEYS.forEach((k, d) -> v.put(k, d[0]));
        for (String k : List.of("jdbc.user", "jdbc.password-env", "privacy.pseudonymize", "privacy.pseudonym-key-env")) {
            v.put(k, JobConfig.KEYS.get(k)[0]);
        }
        List<String> errors = new ArrayList<>();
        given.forEach((k, val) -> {
            boolean known = KEYS.containsKey(k) || JobConfig.KEYS.containsKey(k) || k.startsWith("kafka.properties.");
            if (!known) errors.add("unknown setting '" + k + "'");
            v.put(k, val);
        });
        ServeConfig c = new ServeConfig(v);
        if (c.get("jdbc.url").isEmpty()) errors.add("jdbc.url is required");
        try {
            if (!(c.rateLimit() > 0)) errors.add("serve.rate-limit must be above 0");
            if (c.rateLimitBurst() < 1) errors.add("serve.rate-limit-burst must be at least 1");
            if (c.port() < 0 || c.port() > 65535) errors.add("serve.port must be 0..65535 (0: any free port)");
            if (c.recentAlerts() < 0) errors.add("serve.recent-alerts must not be negative");
            if (c.pageDefaultLimit() < 1 || c.pageDefaultLimit() > c.pageMaxLimit()) {
                errors.add("serve.page-default-limit must be 1..serve.page-max-limit");
            }
            if (c.dbPoolSize() < 1) errors.add("serve.db-pool-size must be at least 1");
            c.patternsCache();
        } catch (IllegalArgumentException e) {
            errors.add(e.getMessage());
        }
        if (!errors.isEmpty()) throw new IllegalArgumentException(String.join("\n", errors));
        return c;
    }

    /** {@code --config FILE} first, then every other {@code --key value} (or {@code --key=value}) on top. */
    public static ServeConfig fromArgs(List<String> args) throws IOException {
        return of(JobConfig.settingsFromArgs(args));
    }

    private String get(String k) {
        return values.getOrDefault(k, "");
    }

    private int intOf(String k) {
        try {
            return Integer.parseInt(get(k).strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(k + ": not a whole number: '" + get(k) + "'");
        }
    }

    private double doubleOf(String k) {
        try {
            return Double.parseDouble(get(k).strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(k + ": not a number: '" + get(k) + "'");
        }
    }

    public JdbcSettings jdbc() {
        String literal = get("jdbc.password");
        return new JdbcSettings(get("jdbc.url"), get("jdbc.user"), get("jdbc.password-env"), literal.isEmpty() ? null : literal);
    }

    public String bindAddress() {
        return get("serve.bind-address");
    }

    public int port() {
        return intOf("serve.port");
    }

    public double rateLimit() {
        return doubleOf("serve.rate-limit");
    }

    public double rateLimitBurst() {
        return doubleOf("serve.rate-limit-burst");
    }

    public int recentAlerts() {
        return intOf("serve.recent-alerts");
    }

    public int pageDefaultLimit() {
        return intOf("serve.page-default-limit");
    }

    public int pageMaxLimit() {
        return intOf("serve.page-max-limit");
    }

    public int dbPoolSize() {
        return intOf("serve.db-pool-size");
    }

    public Duration patternsCache() {
        try {
            return Durations.parse(get("serve.patterns-cache"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("serve.patterns-cache: " + e.getMessage());
        }
    }

    public boolean pseudonymize() {
        return Boolean.parseBoolean(get("privacy.pseudonymize").strip());
    }

    public String pseudonymKeyEnv() {
        return get("privacy.pseudonym-key-env");
    }
}
