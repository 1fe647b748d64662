package io.behaviorcep.bench;

import io.behaviorcep.local.EmbeddedPostgresDb;
import io.behaviorcep.serve.ApiKeys;
import io.behaviorcep.serve.ServeConfig;
import io.behaviorcep.serve.ServeServer;
import io.behaviorcep.sink.SqlMigrations;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Latency of {@code serve}'s user lookup ({@code GET /v1/users/{id}}) over real HTTP against a
 * database of a million profiles (docs/benchmarks.md, "Serve: user lookups"). A benchmark, never a
 * test: it prints figures and checks only that every answer was a 200.
 *
 * <p>Embedded PostgreSQL, the shipped migrations, then {@code users} profiles (a realistic ~1.3 KB
 * profile document and ten recent events each), one alert per 5 users and two segment memberships
 * per 3 users, loaded with {@code generate_series} in the database. Then serve on a free port,
 * a warm-up, and closed-loop clients (java.net.http) asking for random users, at each concurrency.
 *
 * <pre>java -cp benchmark/target/behavior-cep-bench.jar io.behaviorcep.bench.ServeLatencyBench [users] [requests] [concurrency,...]</pre>
 */
public final class ServeLatencyBench {

    public static void main(String[] args) throws Exception {
        int users = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        int requests = args.length > 1 ? Integer.parseInt(args[1]) : 20_000;
        int[] concurrencies = args.length > 2 ? Arrays.stream(args[2].split(",")).mapToInt(Integer::parseInt).toArray() : new int[] {1, 4};
        String schema = "bench";
        try (EmbeddedPostgresDb pg = EmbeddedPostgresDb.start()) {
            String key;
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl(schema), pg.user(), pg.password())) {
                SqlMigrations.apply(c, schema);
                long t0 = System.nanoTime();
                load(c, users);
                System.out.printf("loaded %,d profiles, %,d alerts, %,d memberships in %.1f s%n", users, users / 5, users / 3 * 2,
                        (System.nanoTime() - t0) / 1e9);
                key = ApiKeys.create(c, "bench");
                try (Statement st = c.createStatement();
                     var rs = st.executeQuery("SELECT pg_size_pretty(pg_database_size(current_database()))")) {
                    rs.next();
                    System.out.println("database size " + rs.getString(1));
                }
            }
            ServeConfig config = ServeConfig.of(Map.of("jdbc.url", pg.jdbcUrl(schema), "jdbc.user", pg.user(),
                    "serve.bind-address", "127.0.0.1", "serve.port", "0", "serve.rate-limit", "1000000000",
                    "serve.rate-limit-burst", "1000000000"));
            try (ServeServer server = ServeServer.start(config)) {
                HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
                String base = "http://127.0.0.1:" + server.port() + "/v1/users/";
                run(http, base, key, users, Math.min(requests, 5_000), 4, "warm-up", new SplittableRandom(1));
                for (int c : concurrencies) run(http, base, key, users, requests, c, "measured", new SplittableRandom(c + 100));
            }
        }
    }

    /** Profiles, alerts and memberships with the tables' real shapes; fsync is off in the embedded server. */
    static void load(Connection c, int users) throws Exception {
        StringBuilder profile = new StringBuilder("{");
        String[] fields = {"first_seen", "last_seen", "events_24h", "events_7d", "sessions_24h", "sessions_7d", "sessions_lifetime",
                "orders_lifetime", "revenue_lifetime", "sessions_last_week", "sessions_weekly_avg_prior_4", "decay_weeks", "events_1h",
                "events_30d", "events_lifetime", "sessions_1h", "sessions_30d", "current_session_start", "current_session_duration_s",
                "last_session_duration_s", "avg_session_duration_s", "session_page_views", "session_product_views",
                "page_views_per_session", "product_views_per_session", "page_views_lifetime", "product_views_lifetime",
                "product_views_7d", "product_views_30d", "adds_lifetime", "adds_30d", "checkouts_lifetime", "checkouts_30d",
                "orders_30d", "revenue_30d", "active_days_7d", "active_days_30d", "days_since_first_seen", "days_since_last_seen"};
        for (int i = 0; i < fields.length; i++) {
            if (i > 0) profile.append(", ");
            profile.append('"').append(fields[i]).append("\": ")
                    .append(fields[i].endsWith("_seen") || fields[i].endsWith("_start") ? "\"2026-11-21T04:39:23.409Z\"" : "123.5");
        }
        profile.append('}');
        StringBuilder recent = new StringBuilder("[");
        for (int i = 0; i < 10; i++) {
            if (i > 0) recent.append(", ");
            recent.append("{\"event\": \"Product Viewed\", \"at\": \"2026-11-21T04:3").append(i).append(":00Z\"}");
        }
        recent.append(']');
        try (Statement st = c.createStatement()) {
            st.execute("SET synchronous_commit = off");
            st.execute("ALTER TABLE user_profiles SET (autovacuum_enabled = false)");
            // the per-row variation (a user's number in events_lifetime) keeps TOAST from sharing one document
            st.execute("INSERT INTO user_profiles (user_id, version, as_of, first_seen, last_seen, sessions_7d, sessions_30d, "
                    + "sessions_lifetime, orders_lifetime, revenue_30d, revenue_lifetime, profile, recent_events) "
                    + "SELECT 'user-' || lpad(i::text, 7, '0'), 1764000000000 + i, timestamptz '2026-11-21 04:00Z' + i * interval '1 ms', "
                    + "timestamptz '2026-10-01 00:00Z', timestamptz '2026-11-21 04:00Z', 3, 9, 12, 2, 84.0, 120.0, "
                    + "jsonb_set('" + profile + "'::jsonb, '{events_lifetime}', to_jsonb(i)), '" + recent + "'::jsonb "
                    + "FROM generate_series(1, " + users + ") AS i");
            st.execute("INSERT INTO alerts (alert_id, pattern_id, pattern_version, alert_type, severity, user_id, detected_at, document) "
                    + "SELECT md5(i::text), 'cart-abandonment', 1, 'cart_abandoned', 'medium', 'user-' || lpad(i::text, 7, '0'), "
                    + "timestamptz '2026-11-21 04:00Z' + i * interval '1 ms', "
                    + "'{\"payload\": {\"price\": 59.99, \"product_id\": \"prod-0377\", \"product_name\": \"Eco Chronograph\"}}'::jsonb "
                    + "FROM generate_series(1, " + users + ", 5) AS i");
            st.execute("INSERT INTO user_segments (user_id, segment, member, entered_at, expires_at, reason, version, updated_at) "
                    + "SELECT 'user-' || lpad(i::text, 7, '0'), s, true, timestamptz '2026-11-21 04:00Z', NULL, 'bench', 1, "
                    + "timestamptz '2026-11-21 04:00Z' FROM generate_series(1, " + users + ", 3) AS i, "
                    + "unnest(ARRAY['engaged', 'frequent_viewers']) AS s");
            st.execute("ANALYZE");
            st.execute("ALTER TABLE user_profiles RESET (autovacuum_enabled)");
        }
    }

    static void run(HttpClient http, String base, String key, int users, int requests, int concurrency, String label,
                    SplittableRandom seed) throws Exception {
        long[] latencies = new long[requests];
        ExecutorService pool = Executors.newFixedThreadPool(concurrency);
        List<Future<?>> done = new ArrayList<>();
        int perClient = requests / concurrency;
        long start = System.nanoTime();
        for (int t = 0; t < concurrency; t++) {
            int from = t * perClient;
            SplittableRandom random = seed.split();
            done.add(pool.submit(() -> {
                for (int i = from; i < from + perClient; i++) {
                    String id = String.format("user-%07d", 1 + random.nextInt(users));
                    HttpRequest r = HttpRequest.newBuilder(URI.create(base + id)).header("Authorization", "Bearer " + key).GET().build();
                    long t0 = System.nanoTime();
                    HttpResponse<byte[]> res = http.send(r, HttpResponse.BodyHandlers.ofByteArray());
                    latencies[i] = System.nanoTime() - t0;
                    if (res.statusCode() != 200) throw new IllegalStateException(id + ": HTTP " + res.statusCode());
                }
                return null;
            }));
        }
        for (Future<?> f : done) f.get();
        double seconds = (System.nanoTime() - start) / 1e9;
        pool.shutdown();
        long[] measured = Arrays.copyOf(latencies, perClient * concurrency);
        Arrays.sort(measured);
        System.out.printf("%-9s GET /v1/users/{id}  concurrency %d  %,d requests  p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms  %,.0f requests/s%n",
                label, concurrency, measured.length, ms(measured, 0.50), ms(measured, 0.90), ms(measured, 0.99),
                measured[measured.length - 1] / 1e6, measured.length / seconds);
    }

    private static double ms(long[] sorted, double q) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)] / 1e6;
    }
}
