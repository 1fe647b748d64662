package io.behaviorcep.sink;

import io.behaviorcep.config.JdbcSettings;
import io.behaviorcep.local.EmbeddedPostgresDb;
import io.behaviorcep.output.OutputJson;
import io.behaviorcep.output.ProfileRecord;
import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.segment.SegmentUpdate;
import io.behaviorcep.testing.IntegrationServices;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 15: a row PostgreSQL refuses for what it holds (SQLSTATE class 22, 23 or 54) is no outage.
 * Retrying it failed the task after 5 minutes, and again after every restore, with no checkpoint
 * completing meanwhile. The committer isolates it (the batch again row by row), writes it to
 * {@code sink_dead_letters}, and commits the rest. Against a real PostgreSQL, started once for the class.
 */
class PgCommitterPermanentErrorTest {
    private static EmbeddedPostgresDb postgres;

    @BeforeAll
    static void start() {
        postgres = EmbeddedPostgresDb.start();
    }

    @AfterAll
    static void stop() {
        if (postgres != null) postgres.close();
    }

    /** A fresh schema with the migrations applied, and a committer that would give up after 3 s of failures. */
    private static String newSchema() throws Exception {
        String schema = "perm_" + UUID.randomUUID().toString().substring(0, 8);
        try (Connection c = postgres.connect()) {
            SqlMigrations.apply(c, schema);
        }
        return schema;
    }

    private static PostgresSink.PgCommitter committer(String schema) {
        return new PostgresSink.PgCommitter(new JdbcSettings(postgres.jdbcUrl(schema), postgres.user(), null, ""), Duration.ofSeconds(3));
    }

    private static String alert(String id, String detectedAt, String payload) {
        var a = OutputJsonTest.alert();
        a.alertId = id;
        var n = OutputJson.alert(a);
        n.put("detected_at", detectedAt);
        n.set("payload", OutputJson.MAPPER.createObjectNode().put("x", "y"));
        // written by hand: what a committable from before OutputJson cleaned its text may hold
        return n.toString().replace("\"payload\":{\"x\":\"y\"}", "\"payload\":" + payload);
    }

    private static List<String> rows(String schema, String sql) throws Exception {
        return IntegrationServices.rows(postgres.jdbcUrl(schema), sql);
    }

    @Test
    void aRefusedAlertGoesToTheDeadLetterTableAndTheRestOfTheBatchCommits() throws Exception {
        String schema = newSchema();
        List<String> docs = List.of(
                alert("a1", "2026-03-02T10:15:00Z", "{\"x\":\"ok\"}"),
                alert("a2", "2026-03-02T10:15:00Z", "{\"x\":\"nul \\u0000 here\"}"),   // jsonb: 22P05
                alert("a3", "+300000-01-01T00:00:00Z", "{}"),                          // timestamptz: 22008
                "{\"not\":\"an alert\"}",                                              // no fields at all
                alert("a5", "2026-03-02T10:16:00Z", "{}"));
        PgCommitterOutageTest.Request request = new PgCommitterOutageTest.Request(new PostgresSink.Batch(PostgresSink.Kind.ALERTS, docs));
        try (PostgresSink.PgCommitter committer = committer(schema)) {
            long started = System.nanoTime();
            committer.commit(List.of(request));
            assertThat(Duration.ofNanos(System.nanoTime() - started)).as("no outage retries").isLessThan(Duration.ofSeconds(3));
            // applied again after a restore: the same rows, no second dead letter
            committer.commit(List.of(request));
        }
        assertThat(request.signals).isEmpty();
        assertThat(rows(schema, "SELECT alert_id FROM alerts ORDER BY alert_id")).containsExactly("a1", "a5");
        List<String> dead = rows(schema, "SELECT sink, row_key, user_id, sqlstate, document FROM sink_dead_letters ORDER BY row_key NULLS LAST");
        assertThat(dead).hasSize(3);
        assertThat(dead.get(0)).startsWith("alerts | a2 | user-1 | 22P05 | ").contains("nul \\u0000 here");
        assertThat(dead.get(1)).startsWith("alerts | a3 | user-1 | 22008 | ").contains("+300000-01-01");
        assertThat(dead.get(2)).isEqualTo("alerts | null | null | null | {\"not\":\"an alert\"}");
        assertThat(rows(schema, "SELECT count(*) FROM sink_dead_letters WHERE reason <> '' AND document_hash ~ '^[0-9a-f]{64}$'")).containsExactly("3");
    }

    @Test
    void segmentsAndProfilesIsolateTheirRefusedRowsToo() throws Exception {
        String schema = newSchema();
        long at = OutputJsonTest.AT;
        String good = OutputJson.text(OutputJson.segment(SegmentUpdate.of("u1", "s", SegmentUpdate.ENTER, "p", at, at + 1)));
        String bad = OutputJson.text(OutputJson.segment(SegmentUpdate.of("u2", "s", SegmentUpdate.ENTER, "p", at, at + 1)))
                .replace("\"enter\"", "\"joined\"");                                 // CHECK (action IN ...): 23514
        ProfileSnapshot p = OutputJsonTest.profile();
        p.asOf = at;
        String profile = OutputJson.text(OutputJson.profileRecord(ProfileRecord.profile("u1", p)));
        String badProfile = profile.replace("\"as_of\":\"" + OutputJson.iso(at) + "\"", "\"as_of\":\"+300000-01-01T00:00:00Z\"")
                .replace("\"u1\"", "\"u3\"");                                       // timestamptz: 22008
        try (PostgresSink.PgCommitter committer = committer(schema)) {
            committer.commit(List.of(new PgCommitterOutageTest.Request(new PostgresSink.Batch(PostgresSink.Kind.SEGMENTS, List.of(bad, good))),
                    new PgCommitterOutageTest.Request(new PostgresSink.Batch(PostgresSink.Kind.PROFILES, List.of(badProfile, profile)))));
        }
        assertThat(rows(schema, "SELECT user_id, member FROM user_segments")).containsExactly("u1 | t");
        assertThat(rows(schema, "SELECT user_id FROM user_profiles")).containsExactly("u1");
        assertThat(rows(schema, "SELECT sink, user_id, sqlstate FROM sink_dead_letters ORDER BY sink"))
                .containsExactly("profiles | u3 | 22008", "segments | u2 | 23514");

        // an erasure removes the user's dead letters with the rest of their rows
        String erasure = OutputJson.text(OutputJson.profileRecord(ProfileRecord.erasure("u2", at + 10)));
        try (PostgresSink.PgCommitter committer = committer(schema)) {
            committer.commit(List.of(new PgCommitterOutageTest.Request(new PostgresSink.Batch(PostgresSink.Kind.PROFILES, List.of(erasure)))));
        }
        assertThat(rows(schema, "SELECT sink, user_id FROM sink_dead_letters")).containsExactly("profiles | u3");
    }

    @Test
    void cleanedTextIsNotRefused() throws Exception {
        // what OutputJson writes now: the NUL of an event reaches PostgreSQL as U+FFFD, and the row is written
        String schema = newSchema();
        var a = OutputJsonTest.alert();
        a.payloadJson = "{\"x\":\"nul \\u0000 and lone \\ud800\"}";
        a.userId = "user\u0000x";
        List<String> docs = new ArrayList<>(List.of(OutputJson.alertDocument(a)));
        try (PostgresSink.PgCommitter committer = committer(schema)) {
            committer.commit(List.of(new PgCommitterOutageTest.Request(new PostgresSink.Batch(PostgresSink.Kind.ALERTS, docs))));
        }
        assertThat(rows(schema, "SELECT user_id, document->'payload'->>'x' FROM alerts")).containsExactly("user\ufffdx | nul \ufffd and lone \ufffd");
        assertThat(rows(schema, "SELECT count(*) FROM sink_dead_letters")).containsExactly("0");
    }
}
