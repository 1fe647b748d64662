package io.behaviorcep.sink;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.local.EmbeddedPostgresDb;
import io.behaviorcep.output.OutputJson;
import io.behaviorcep.output.ProfileRecord;
import io.behaviorcep.profile.ProfileState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The profiles committer writes the latest events to user_profiles.recent_events (sql/V5); documents of older jobs leave it NULL. */
class RecentEventsColumnTest {
    private static EmbeddedPostgresDb postgres;

    @BeforeAll
    static void start() throws Exception {
        postgres = EmbeddedPostgresDb.start();
        try (Connection c = postgres.connect()) {
            SqlMigrations.apply(c, "recent");
        }
    }

    @AfterAll
    static void stop() {
        if (postgres != null) postgres.close();
    }

    static BehaviorEvent event(long ts, String type, String name) {
        BehaviorEvent e = new BehaviorEvent();
        e.type = type;
        e.event = name;
        e.messageId = "m" + ts;
        e.userKey = "u";
        e.timestamp = ts;
        return e;
    }

    @Test
    void theLatestEventsLandInTheirColumnAndAnOlderJobsDocumentLeavesItNull() throws Exception {
        long t0 = Instant.parse("2026-11-21T04:00:00Z").toEpochMilli();
        ProfileState s = new ProfileState();
        s.add(event(t0, "page", "Home"));
        s.add(event(t0 + 60_000, "track", "Product Added"));
        String withEvents = OutputJson.text(OutputJson.profileRecord(ProfileRecord.profile("with", s.snapshot()).withRecentEvents(s.recentEventNames, s.recentEventTimes)));
        String olderJob = OutputJson.text(OutputJson.profileRecord(ProfileRecord.profile("older", s.snapshot())));
        assertThat(olderJob).doesNotContain("recent_events");

        try (Connection c = DriverManager.getConnection(postgres.jdbcUrl("recent"), postgres.user(), postgres.password())) {
            c.setAutoCommit(false);
            PostgresSink.applyProfiles(c, List.of(withEvents, olderJob), new PostgresSink.UserHash("k".getBytes(StandardCharsets.UTF_8)));
            c.commit();
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT user_id, recent_events->0->>'event', recent_events->1->>'at', "
                         + "jsonb_array_length(recent_events) FROM user_profiles ORDER BY user_id")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("older");
                assertThat(rs.getString(2)).isNull();
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("with");
                assertThat(rs.getString(2)).isEqualTo("Product Added");
                assertThat(rs.getString(3)).isEqualTo("2026-11-21T04:00:00Z");
                assertThat(rs.getInt(4)).isEqualTo(2);
            }
        }
    }
}
