package io.behaviorcep.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.behaviorcep.local.EmbeddedPostgresDb;
import io.behaviorcep.output.Pseudonymizer;
import io.behaviorcep.sink.SqlMigrations;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code serve} on a real PostgreSQL with the shipped migrations, called over HTTP: authentication,
 * rate limiting, errors, pagination, pseudonymised lookups, {@code as_of}, and the OpenAPI document
 * against the routes and the answers. Only PostgreSQL is started (no Kafka, no Flink): the rows are
 * inserted as the job's committers write them.
 */
class ServeApiIT {
    static final String SCHEMA = "serve_it";
    static final String PSEUDONYM_KEY_ENV = "SERVE_IT_PSEUDONYM_KEY";
    static final String PSEUDONYM_KEY = "serve-it-pseudonym-key";
    static final ObjectMapper JSON = new ObjectMapper();
    static final Instant T0 = Instant.parse("2026-11-21T04:00:00Z");

    static EmbeddedPostgresDb postgres;
    static ServeServer plain;
    static ServeServer limited;
    static ServeServer pseudonymised;
    static String key;
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        postgres = EmbeddedPostgresDb.start();
        try (Connection c = postgres.connect()) {
            SqlMigrations.apply(c, SCHEMA);
        }
        try (Connection c = DriverManagerIn.schema()) {
            key = ApiKeys.create(c, "it-main");
            insertData(c);
        }
        System.setProperty(PSEUDONYM_KEY_ENV, PSEUDONYM_KEY); // Pseudonymizer.key reads a system property too
        plain = ServeServer.start(config(Map.of("serve.recent-alerts", "3", "serve.page-max-limit", "50", "serve.page-default-limit", "20")));
        limited = ServeServer.start(config(Map.of("serve.rate-limit", "0.2", "serve.rate-limit-burst", "2")));
        pseudonymised = ServeServer.start(config(Map.of("privacy.pseudonymize", "true", "privacy.pseudonym-key-env", PSEUDONYM_KEY_ENV)));
    }

    @AfterAll
    static void stop() {
        for (ServeServer s : new ServeServer[] {plain, limited, pseudonymised}) {
            if (s != null) s.close();
        }
        if (postgres != null) postgres.close();
    }

    static ServeConfig config(Map<String, String> extra) {
        Map<String, String> m = new HashMap<>();
        m.put("jdbc.url", postgres.jdbcUrl(SCHEMA));
        m.put("jdbc.user", postgres.user());
        m.put("serve.bind-address", "127.0.0.1");
        m.put("serve.port", "0");
        m.putAll(extra);
        return ServeConfig.of(m);
    }

    /** Connections to the test schema, as the job's user (who may write). */
    static final class DriverManagerIn {
        static Connection schema() throws SQLException {
            return java.sql.DriverManager.getConnection(postgres.jdbcUrl(SCHEMA), postgres.user(), postgres.password());
        }
    }

    // --- the data ------------------------------------------------------------------------------

    static void insertData(Connection c) throws SQLException {
        profile(c, "alice", T0.plusSeconds(600), "[{\"event\": \"Product Added\", \"at\": \"2026-11-21T04:09:00Z\"}, "
                + "{\"event\": \"page\", \"at\": \"2026-11-21T04:05:00Z\"}]");
        membership(c, "alice", "cart_abandoners", true, T0.plusSeconds(900));
        membership(c, "alice", "engaged", false, T0.plusSeconds(1200)); // left: not listed, but its time counts for as_of
        for (int i = 0; i < 5; i++) {
            alert(c, "a" + i, "alice", "cart-abandonment", i < 2 ? 1 : 2, T0.plusSeconds(60L * i));
        }
        alert(c, "b0", "bob", "checkout-abandonment", 1, T0.plusSeconds(30));
        // a segment of 25 members and some who left, for pagination
        for (int i = 0; i < 25; i++) membership(c, String.format("m-%03d", i * 2), "big", true, T0.plusSeconds(i));
        for (int i = 0; i < 5; i++) membership(c, String.format("m-%03d", i * 2 + 1), "big", false, T0.plusSeconds(100 + i));
        // a pseudonymised job's row: the table holds the HMAC of the id
        profile(c, Pseudonymizer.pseudonym(PSEUDONYM_KEY.getBytes(StandardCharsets.UTF_8), "carol"), T0.plusSeconds(42), null);
    }

    static void profile(Connection c, String user, Instant asOf, String recentEvents) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("INSERT INTO user_profiles (user_id, version, as_of, first_seen, last_seen, "
                + "sessions_7d, sessions_30d, sessions_lifetime, orders_lifetime, revenue_30d, revenue_lifetime, profile, recent_events) "
                + "VALUES (?, ?, ?, ?, ?, 1, 1, 1, 0, 0, 0, ?::jsonb, ?::jsonb)")) {
            st.setString(1, user);
            st.setLong(2, asOf.toEpochMilli());
            st.setTimestamp(3, Timestamp.from(asOf));
            st.setTimestamp(4, Timestamp.from(T0));
            st.setTimestamp(5, Timestamp.from(asOf));
            st.setString(6, "{\"events_lifetime\": 7, \"sessions_7d\": 1}");
            st.setString(7, recentEvents);
            st.executeUpdate();
        }
    }

    static void membership(Connection c, String user, String segment, boolean member, Instant at) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("INSERT INTO user_segments (user_id, segment, member, entered_at, expires_at, "
                + "reason, version, updated_at) VALUES (?, ?, ?, ?, NULL, 'test', ?, ?)")) {
            st.setString(1, user);
            st.setString(2, segment);
            st.setBoolean(3, member);
            st.setTimestamp(4, Timestamp.from(at));
            st.setLong(5, at.toEpochMilli() * 2 + (member ? 1 : 0));
            st.setTimestamp(6, Timestamp.from(at));
            st.executeUpdate();
        }
    }

    static void alert(Connection c, String id, String user, String pattern, int version, Instant at) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("INSERT INTO alerts (alert_id, pattern_id, pattern_version, alert_type, severity, "
                + "user_id, detected_at, document) VALUES (?, ?, ?, 'cart_abandoned', 'medium', ?, ?, ?::jsonb)")) {
            st.setString(1, id);
            st.setString(2, pattern);
            st.setInt(3, version);
            st.setString(4, user);
            st.setTimestamp(5, Timestamp.from(at));
            st.setString(6, "{\"payload\": {\"price\": 59.99}}");
            st.executeUpdate();
        }
    }

    // --- HTTP ----------------------------------------------------------------------------------

    record Answer(int status, JsonNode body, HttpResponse<String> raw) {}

    static Answer get(ServeServer server, String path, String apiKey) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).GET();
        if (apiKey != null) r.header("Authorization", "Bearer " + apiKey);
        HttpResponse<String> res = HTTP.send(r.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(res.headers().firstValue("Content-Type")).as(path).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
        return new Answer(res.statusCode(), JSON.readTree(res.body()), res);
    }

    static void assertError(Answer a, int status, String code) {
        assertThat(a.status()).as(a.body().toString()).isEqualTo(status);
        assertThat(a.body().path("error").path("code").asText()).isEqualTo(code);
        assertThat(a.body().path("error").path("message").asText()).isNotEmpty();
    }

    // --- tests ---------------------------------------------------------------------------------

    @Test
    void withoutAValidKeyEveryApiRouteIs401AndHealthzNeedsNone() throws Exception {
        assertError(get(plain, "/v1/users/alice", null), 401, "unauthorized");
        assertError(get(plain, "/v1/users/alice", "bcs_not-a-key"), 401, "unauthorized");
        assertError(get(plain, "/v1/patterns", "bcs_not-a-key"), 401, "unauthorized");
        assertError(get(plain, "/v1/segments/big/members", null), 401, "unauthorized");

        Answer health = get(plain, "/healthz", null);
        assertThat(health.status()).isEqualTo(200);
        assertThat(health.body().path("status").asText()).isEqualTo("ok");
    }

    @Test
    void aRevokedKeyIsRefusedFromTheNextRequestOn() throws Exception {
        String k;
        try (Connection c = DriverManagerIn.schema()) {
            k = ApiKeys.create(c, "to-revoke");
        }
        assertThat(get(plain, "/v1/users/alice", k).status()).isEqualTo(200);
        try (Connection c = DriverManagerIn.schema()) {
            assertThat(ApiKeys.revoke(c, "to-revoke")).isTrue();
        }
        assertError(get(plain, "/v1/users/alice", k), 401, "unauthorized");
    }

    @Test
    void aKeyOverItsRateIs429WithRetryAfter() throws Exception {
        String k;
        try (Connection c = DriverManagerIn.schema()) {
            k = ApiKeys.create(c, "limited");
        }
        // burst 2, then 0.2 per second: the third request within a second is refused
        assertThat(get(limited, "/v1/patterns", k).status()).isEqualTo(200);
        assertThat(get(limited, "/v1/patterns", k).status()).isEqualTo(200);
        Answer refused = get(limited, "/v1/patterns", k);
        assertError(refused, 429, "rate_limited");
        long retryAfter = Long.parseLong(refused.raw().headers().firstValue("Retry-After").orElseThrow());
        assertThat(retryAfter).isBetween(1L, 5L);
        // the limit is per key: another key still gets through
        assertThat(get(limited, "/v1/patterns", key).status()).isEqualTo(200);
    }

    @Test
    void aUserIsTheirProfileRecentEventsCurrentSegmentsAndLastAlertsAsOfTheNewestOfThem() throws Exception {
        Answer a = get(plain, "/v1/users/alice", key);
        assertThat(a.status()).isEqualTo(200);
        JsonNode u = a.body();
        assertThat(u.path("user_id").asText()).isEqualTo("alice");
        assertThat(u.path("profile").path("events_lifetime").asInt()).isEqualTo(7);
        assertThat(u.path("recent_events")).hasSize(2);
        assertThat(u.path("recent_events").get(0).path("event").asText()).isEqualTo("Product Added");
        assertThat(u.path("segments")).hasSize(1);
        assertThat(u.path("segments").get(0).path("segment").asText()).isEqualTo("cart_abandoners");
        assertThat(u.path("segments").get(0).path("entered_at").asText()).isEqualTo(T0.plusSeconds(900).toString());
        // serve.recent-alerts = 3, newest first
        List<String> alertIds = new ArrayList<>();
        u.path("alerts").forEach(x -> alertIds.add(x.path("alert_id").asText()));
        assertThat(alertIds).containsExactly("a4", "a3", "a2");
        assertThat(u.path("alerts").get(0).path("payload").path("price").asDouble()).isEqualTo(59.99);
        // the segment left at +1200 s is the newest thing known of alice
        assertThat(u.path("as_of").asText()).isEqualTo(T0.plusSeconds(1200).toString());

        // a user known only by an alert is found; the profile is null and as_of is the alert's time
        JsonNode bob = get(plain, "/v1/users/bob", key).body();
        assertThat(bob.path("profile").isNull()).isTrue();
        assertThat(bob.path("as_of").asText()).isEqualTo(T0.plusSeconds(30).toString());
    }

    @Test
    void unknownUsersSegmentsAndRoutesAre404JsonWithStableCodes() throws Exception {
        assertError(get(plain, "/v1/users/nobody", key), 404, "user_not_found");
        assertError(get(plain, "/v1/users/" + URLEncoder.encode("名前 with space", StandardCharsets.UTF_8).replace("+", "%20"), key),
                404, "user_not_found");
        assertError(get(plain, "/v1/segments/no_such_segment/members", key), 404, "segment_not_found");
        assertError(get(plain, "/v1/nothing-here", key), 404, "not_found");
    }

    @Test
    void membersArePagedWithAStableCursorAndACount() throws Exception {
        List<String> seen = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            String path = "/v1/segments/big/members?limit=10" + (cursor == null ? "" : "&cursor=" + cursor);
            JsonNode page = get(plain, path, key).body();
            // the count is of now: 25, and 26 once a member joined after the first page
            assertThat(page.path("count").asLong()).isEqualTo(pages == 0 ? 25 : 26);
            assertThat(page.path("as_of").asText()).isEqualTo(T0.plusSeconds(104).toString());
            page.path("members").forEach(m -> seen.add(m.path("user_id").asText()));
            cursor = page.path("next_cursor").isNull() ? null : page.path("next_cursor").asText();
            if (pages == 0) {
                // a member joining before the cursor while paging shifts nothing after it
                try (Connection c = DriverManagerIn.schema()) {
                    membership(c, "m-000a", "big", true, T0.plusSeconds(104));
                }
            }
            pages++;
        } while (cursor != null && pages < 10);
        assertThat(pages).isEqualTo(3);
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 25; i++) expected.add(String.format("m-%03d", i * 2));
        assertThat(seen).containsExactlyElementsOf(expected);
        assertThat(new TreeSet<>(seen)).hasSize(25);

        try (Connection c = DriverManagerIn.schema(); var st = c.createStatement()) {
            st.executeUpdate("DELETE FROM user_segments WHERE user_id = 'm-000a'");
        }
        String bigCursor = new MemberCursor("big", "m-010").encode();
        assertError(get(plain, "/v1/segments/cart_abandoners/members?cursor=" + bigCursor, key), 400, "invalid_cursor");
        assertError(get(plain, "/v1/segments/big/members?cursor=%21%21", key), 400, "invalid_cursor");
        assertError(get(plain, "/v1/segments/big/members?limit=51", key), 400, "invalid_limit");
        assertError(get(plain, "/v1/segments/big/members?limit=0", key), 400, "invalid_limit");
        JsonNode rest = get(plain, "/v1/segments/big/members?limit=50&cursor=" + bigCursor, key).body();
        assertThat(rest.path("members").get(0).path("user_id").asText()).isEqualTo("m-012");
        assertThat(rest.path("next_cursor").isNull()).isTrue();
    }

    @Test
    void withPseudonymisationTheIdIsHashedWithTheJobsKeyBeforeTheLookup() throws Exception {
        String pseudonym = Pseudonymizer.pseudonym(PSEUDONYM_KEY.getBytes(StandardCharsets.UTF_8), "carol");
        Answer a = get(pseudonymised, "/v1/users/carol", key);
        assertThat(a.status()).isEqualTo(200);
        assertThat(a.body().path("user_id").asText()).isEqualTo(pseudonym);
        assertThat(a.body().path("as_of").asText()).isEqualTo(T0.plusSeconds(42).toString());
        // the plain id is not in the tables, and the pseudonym itself is not a raw id the server knows
        assertError(get(plain, "/v1/users/carol", key), 404, "user_not_found");
        assertError(get(pseudonymised, "/v1/users/" + pseudonym, key), 404, "user_not_found");
        assertError(get(pseudonymised, "/v1/users/alice", key), 404, "user_not_found");
    }

    @Test
    void patternsAreTheVersionsWithTheirAlertCounts() throws Exception {
        JsonNode p = get(plain, "/v1/patterns", key).body();
        assertThat(p.path("as_of").asText()).isEqualTo(T0.plusSeconds(240).toString());
        JsonNode cart = p.path("patterns").get(0);
        assertThat(cart.path("pattern_id").asText()).isEqualTo("cart-abandonment");
        assertThat(cart.path("latest_version").asInt()).isEqualTo(2);
        assertThat(cart.path("versions").get(0).path("alerts").asLong()).isEqualTo(2);
        assertThat(cart.path("versions").get(1).path("alerts").asLong()).isEqualTo(3);
        assertThat(p.path("patterns").get(1).path("pattern_id").asText()).isEqualTo("checkout-abandonment");
    }

    @Test
    void theServersConnectionsRefuseWrites() throws Exception {
        try (var pool = ServeServer.readOnlyPool(config(Map.of())); Connection c = pool.getConnection(); var st = c.createStatement()) {
            assertThat(c.isReadOnly()).isTrue();
            assertThatThrownBy(() -> st.executeUpdate("DELETE FROM alerts"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("read-only");
        }
    }

    @Test
    void theOpenApiDocumentListsExactlyTheRoutesAndDescribesEveryAnswer() throws Exception {
        Answer doc = get(plain, "/v1/openapi.json", null);
        assertThat(doc.status()).isEqualTo(200);
        JsonNode openApi = doc.body();

        List<String> documented = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> paths = openApi.path("paths").fields(); paths.hasNext(); ) {
            Map.Entry<String, JsonNode> p = paths.next();
            p.getValue().fieldNames().forEachRemaining(method -> documented.add(method.toUpperCase() + " " + p.getKey()));
        }
        assertThat(plain.routes()).containsExactlyInAnyOrderElementsOf(documented);

        OpenApiShapes shapes = new OpenApiShapes(openApi);
        Map<String, Answer> answers = Map.of(
                "/healthz 200", get(plain, "/healthz", null),
                "/v1/users/{id} 200", get(plain, "/v1/users/alice", key),
                "/v1/users/{id} 404", get(plain, "/v1/users/nobody", key),
                "/v1/users/{id} 401", get(plain, "/v1/users/alice", null),
                "/v1/segments/{name}/members 200", get(plain, "/v1/segments/big/members?limit=2", key),
                "/v1/segments/{name}/members 400", get(plain, "/v1/segments/big/members?limit=x", key),
                "/v1/segments/{name}/members 404", get(plain, "/v1/segments/none/members", key),
                "/v1/patterns 200", get(plain, "/v1/patterns", key),
                "/v1/openapi.json 200", doc);
        answers.forEach((what, answer) -> {
            String[] pathAndStatus = what.split(" ");
            int status = Integer.parseInt(pathAndStatus[1]);
            assertThat(answer.status()).as(what).isEqualTo(status);
            assertThat(shapes.problems(answer.body(), shapes.responseSchema(pathAndStatus[0], status))).as(what).isEmpty();
        });
        // and the check can fail: a user answer without as_of is not a User
        JsonNode broken = get(plain, "/v1/users/alice", key).body().deepCopy();
        ((com.fasterxml.jackson.databind.node.ObjectNode) broken).remove("as_of");
        assertThat(shapes.problems(broken, shapes.responseSchema("/v1/users/{id}", 200))).isNotEmpty();
    }
}
