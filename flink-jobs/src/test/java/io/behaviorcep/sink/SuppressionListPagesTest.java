package io.behaviorcep.sink;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.local.EmbeddedPostgresDb;
import io.behaviorcep.config.JdbcSettings;
import io.behaviorcep.privacy.PrivacyRules;

import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.core.io.InputStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 15: the reader of {@code suppressed_users} held every row changed since its last poll at once
 * (a first start on a list of millions). It reads pages in (updated_at, user_id) keyset order, the
 * next only once the last is emitted; rows sharing one updated_at are split between pages exactly, and
 * the checkpointed position never passes a row not yet emitted. Against a real PostgreSQL.
 */
class SuppressionListPagesTest {
    private static EmbeddedPostgresDb postgres;

    @BeforeAll
    static void start() {
        postgres = EmbeddedPostgresDb.start();
    }

    @AfterAll
    static void stop() {
        if (postgres != null) postgres.close();
    }

    /**
     * A schema whose list has {@code rows} users: half with distinct times (several per millisecond),
     * half (a bulk update) sharing one updated_at to the microsecond, which the touch trigger would
     * not give, so it is off.
     */
    private static JdbcSettings list(int rows) throws Exception {
        String schema = "pages_" + UUID.randomUUID().toString().substring(0, 8);
        try (Connection c = postgres.connect()) {
            SqlMigrations.apply(c, schema);
        }
        JdbcSettings jdbc = new JdbcSettings(postgres.jdbcUrl(schema), postgres.user(), null, postgres.password());
        try (Connection c = jdbc.connect(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE suppressed_users DISABLE TRIGGER suppressed_users_touch");
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO suppressed_users (user_id, suppressed, updated_at) VALUES (?, ?, "
                    + "CASE WHEN ? THEN TIMESTAMPTZ '2026-03-02 10:00:00.123456+00' ELSE TIMESTAMPTZ '2026-03-02 09:00:00+00' + ? * INTERVAL '1 microsecond' END)")) {
                for (int i = 0; i < rows; i++) {
                    ps.setString(1, "user-" + i);
                    ps.setBoolean(2, i % 7 != 0);
                    ps.setBoolean(3, i % 2 == 0);
                    ps.setInt(4, i * 300);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
        }
        return jdbc;
    }

    static final class Collected implements ReaderOutput<BehaviorEvent> {
        final List<BehaviorEvent> records = new ArrayList<>();

        @Override
        public void collect(BehaviorEvent record) {
            records.add(record);
        }

        @Override
        public void collect(BehaviorEvent record, long timestamp) {
            records.add(record);
        }

        @Override
        public void emitWatermark(Watermark watermark) {}

        @Override
        public void markIdle() {}

        @Override
        public void markActive() {}

        @Override
        public SourceOutput<BehaviorEvent> createOutputForSplit(String splitId) {
            return this;
        }

        @Override
        public void releaseOutputForSplit(String splitId) {}
    }

    /** Polls until the bounded reader ends or has emitted {@code maxRecords}; the most rows it held at once. */
    private static int drain(SuppressionListSource.Reader reader, Collected out, int maxRecords) {
        int held = 0;
        while (out.records.size() < maxRecords && reader.pollNext(out) != InputStatus.END_OF_INPUT) held = Math.max(held, reader.held());
        return held;
    }

    private static SuppressionListSource.Reader reader(JdbcSettings jdbc, long from) {
        SuppressionListSource.Reader r = new SuppressionListSource.Reader(jdbc, Duration.ofMinutes(1).toMillis(), true, 100);
        r.addSplits(List.of(new SuppressionListSource.ListSplit(from)));
        r.notifyNoMoreSplits();
        return r;
    }

    @Test
    void aLongListIsReadAPageAtATimeWithEveryRowOnce() throws Exception {
        JdbcSettings jdbc = list(2_500);
        SuppressionListSource.Reader reader = reader(jdbc, Long.MIN_VALUE);
        Collected out = new Collected();
        int held = drain(reader, out, Integer.MAX_VALUE);

        assertThat(held).isEqualTo(100);
        assertThat(reader.pages).isEqualTo(26); // 25 full pages, and the empty one that ends the poll
        List<String> users = out.records.stream().map(e -> e.userId).toList();
        assertThat(users).hasSize(2_500).doesNotHaveDuplicates();
        assertThat(out.records).filteredOn(e -> e.userId.equals("user-7")).singleElement()
                .satisfies(e -> assertThat(e.property(PrivacyRules.SUPPRESSED_PROPERTY)).isEqualTo("false"));
        // in (updated_at, user_id) order: the 1,250 rows of the bulk update come last, by user id
        assertThat(users.subList(1_250, 2_500)).isSorted().allMatch(u -> Integer.parseInt(u.substring(5)) % 2 == 0);
    }

    @Test
    void theCheckpointedPositionNeverPassesARowNotYetEmitted() throws Exception {
        JdbcSettings jdbc = list(2_500);
        for (int stopAt : new int[] {50, 100, 1_250, 1_300, 1_350, 2_499}) {
            SuppressionListSource.Reader reader = reader(jdbc, Long.MIN_VALUE);
            Collected before = new Collected();
            drain(reader, before, stopAt);
            assertThat(before.records).hasSize(stopAt);
            long position = reader.snapshotState(1).get(0).readUpTo;

            // the position is before every row not yet emitted (the overlap re-read would hide a small miss)
            Collected whole = new Collected();
            drain(reader(jdbc, Long.MIN_VALUE), whole, Integer.MAX_VALUE);
            Set<String> emitted = new HashSet<>();
            before.records.forEach(e -> emitted.add(e.userId));
            long firstPending = whole.records.stream().filter(e -> !emitted.contains(e.userId)).mapToLong(e -> e.timestamp).min().orElseThrow();
            assertThat(position).as("position after %d", stopAt).isLessThan(firstPending);

            // and a restore from it emits every row the first reader had not: none is lost
            Collected after = new Collected();
            drain(reader(jdbc, position), after, Integer.MAX_VALUE);
            Set<String> all = new HashSet<>();
            before.records.forEach(e -> all.add(e.userId));
            after.records.forEach(e -> all.add(e.userId));
            assertThat(all).as("rows seen with a restore after %d", stopAt).hasSize(2_500);
        }
    }
}
