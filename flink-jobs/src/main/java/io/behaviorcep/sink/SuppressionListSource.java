package io.behaviorcep.sink;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.config.JdbcSettings;
import io.behaviorcep.privacy.PrivacyRules;

import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SourceSplit;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.core.io.InputStatus;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The suppression list ({@code suppressed_users} in PostgreSQL) as a stream of its changes.
 *
 * <p>Why a stream rather than a list loaded into each task: a listed user must also <em>leave</em>
 * their segments when they send nothing more, and that needs their keyed state. So each changed row
 * becomes a record keyed by the user ({@link PrivacyRules#suppressionListRecord}) that joins the
 * events before they are keyed and reaches that user's profile operator, which applies it at once.
 * No broadcast state, no scan over all users, and the list may be as long as it likes.
 *
 * <p>One reader polls every {@code refresh} for rows changed since the last poll (by
 * {@code updated_at}, re-reading the last {@link #OVERLAP_MILLIS} so rows of transactions committed
 * late are not missed; re-applying a row changes nothing). A poll reads {@link #PAGE_ROWS} rows at a
 * time (keyset pages on (updated_at, user_id)) and the next page only once the last is emitted, so a
 * first start on a list of millions, or a bulk update, holds one page in memory. How far it has read is checkpointed; a job
 * without state starts with the whole table. If PostgreSQL is unreachable it logs and tries again at the
 * next poll: the job is never failed by the list. Bounded (tests, backfills): one read, then done.
 *
 * <p>Its records carry no event time: {@link #watermarks()} is neutral.
 */
public final class SuppressionListSource implements Source<BehaviorEvent, SuppressionListSource.ListSplit, Boolean> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(SuppressionListSource.class);
    static final long OVERLAP_MILLIS = 5 * 60_000L;
    /** Rows read per query: the reader holds at most this many rows, however many changed at once. */
    static final int PAGE_ROWS = 1_000;

    private final JdbcSettings jdbc;
    private final long refreshMillis;
    private final boolean bounded;

    public SuppressionListSource(JdbcSettings jdbc, java.time.Duration refresh, boolean bounded) {
        this.jdbc = jdbc;
        this.refreshMillis = refresh.toMillis();
        this.bounded = bounded;
    }

    /**
     * No event time at all: the source says it is idle and never emits a watermark, so in the union
     * with the events it neither holds event time back nor pushes it forward, whether the events
     * flow, pause or have not started. (A watermark at the end of time would become the job's event
     * time as soon as the events went quiet, and make every later event late.)
     */
    public static WatermarkStrategy<BehaviorEvent> watermarks() {
        return WatermarkStrategy.forGenerator(ctx -> new WatermarkGenerator<>() {
            @Override
            public void onEvent(BehaviorEvent event, long eventTimestamp, WatermarkOutput output) {
                output.markIdle();
            }

            @Override
            public void onPeriodicEmit(WatermarkOutput output) {
                output.markIdle();
            }
        });
    }

    @Override
    public Boundedness getBoundedness() {
        return bounded ? Boundedness.BOUNDED : Boundedness.CONTINUOUS_UNBOUNDED;
    }

    @Override
    public SplitEnumerator<ListSplit, Boolean> createEnumerator(SplitEnumeratorContext<ListSplit> ctx) {
        return new Enumerator(ctx, false);
    }

    @Override
    public SplitEnumerator<ListSplit, Boolean> restoreEnumerator(SplitEnumeratorContext<ListSplit> ctx, Boolean assigned) {
        return new Enumerator(ctx, assigned);
    }

    @Override
    public SimpleVersionedSerializer<ListSplit> getSplitSerializer() {
        return new SplitSerializer();
    }

    @Override
    public SimpleVersionedSerializer<Boolean> getEnumeratorCheckpointSerializer() {
        return new SimpleVersionedSerializer<>() {
            @Override
            public int getVersion() {
                return 1;
            }

            @Override
            public byte[] serialize(Boolean b) {
                return new byte[] {(byte) (Boolean.TRUE.equals(b) ? 1 : 0)};
            }

            @Override
            public Boolean deserialize(int version, byte[] bytes) {
                return bytes.length > 0 && bytes[0] == 1;
            }
        };
    }

    @Override
    public SourceReader<BehaviorEvent, ListSplit> createReader(SourceReaderContext ctx) {
        return new Reader(jdbc, refreshMillis, bounded);
    }

    /** The one split: how far (updated_at, epoch ms) the table has been read. */
    public static final class ListSplit implements SourceSplit {
        final long readUpTo;

        ListSplit(long readUpTo) {
            this.readUpTo = readUpTo;
        }

        @Override
        public String splitId() {
            return "suppressed_users";
        }
    }

    static final class SplitSerializer implements SimpleVersionedSerializer<ListSplit> {
        @Override
        public int getVersion() {
            return 1;
        }

        @Override
        public byte[] serialize(ListSplit split) throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            try (DataOutputStream out = new DataOutputStream(b)) {
                out.writeLong(split.readUpTo);
            }
            return b.toByteArray();
        }

        @Override
        public ListSplit deserialize(int version, byte[] bytes) throws IOException {
            try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
                return new ListSplit(in.readLong());
            }
        }
    }

    /** Hands the single split to the first reader once; it comes back to the enumerator only on failover. */
    static final class Enumerator implements SplitEnumerator<ListSplit, Boolean> {
        private final SplitEnumeratorContext<ListSplit> ctx;
        private boolean assigned;
        private ListSplit returned;

        Enumerator(SplitEnumeratorContext<ListSplit> ctx, boolean assigned) {
            this.ctx = ctx;
            this.assigned = assigned;
        }

        @Override
        public void start() {}

        @Override
        public void handleSplitRequest(int subtaskId, String requesterHostname) {}

        @Override
        public void addSplitsBack(List<ListSplit> splits, int subtaskId) {
            if (!splits.isEmpty()) returned = splits.get(0);
            assigned = false;
        }

        @Override
        public void addReader(int subtaskId) {
            if (!assigned) {
                ctx.assignSplit(returned != null ? returned : new ListSplit(Long.MIN_VALUE), subtaskId);
                assigned = true;
                returned = null;
            }
            ctx.signalNoMoreSplits(subtaskId);
        }

        @Override
        public Boolean snapshotState(long checkpointId) {
            return assigned;
        }

        @Override
        public void close() {}
    }

    static final class Reader implements SourceReader<BehaviorEvent, ListSplit> {
        private final JdbcSettings jdbc;
        private final long refreshMillis;
        private final boolean bounded;
        private final int pageRows;
        /** One page at most: the rows of the page being emitted. */
        private final ArrayDeque<BehaviorEvent> ready = new ArrayDeque<>();
        private long readUpTo = Long.MIN_VALUE;
        /** A poll with pages still to read. */
        private boolean polling;
        /** The last row read, (updated_at, user_id); the poll's lower bound while cursorUser is null; null: from the start. */
        private Timestamp cursorAt;
        private String cursorUser;
        long pages;
        private boolean hasSplit;
        private boolean noMoreSplits;
        private boolean readOnce;
        private long nextPollAt;
        private CompletableFuture<Void> available = new CompletableFuture<>();

        Reader(JdbcSettings jdbc, long refreshMillis, boolean bounded) {
            this(jdbc, refreshMillis, bounded, PAGE_ROWS);
        }

        Reader(JdbcSettings jdbc, long refreshMillis, boolean bounded, int pageRows) {
            this.pageRows = pageRows;
            this.jdbc = jdbc;
            this.refreshMillis = refreshMillis;
            this.bounded = bounded;
        }

        @Override
        public void start() {}

        @Override
        public InputStatus pollNext(ReaderOutput<BehaviorEvent> output) {
            if (!ready.isEmpty()) {
                BehaviorEvent e = ready.poll();
                output.collect(e, e.timestamp);
                return InputStatus.MORE_AVAILABLE;
            }
            if (!hasSplit) {
                if (noMoreSplits) return InputStatus.END_OF_INPUT;
                if (available.isDone()) available = new CompletableFuture<>();
                return InputStatus.NOTHING_AVAILABLE;
            }
            if (polling) {
                readPage();
                return InputStatus.MORE_AVAILABLE;
            }
            if (bounded && readOnce) return InputStatus.END_OF_INPUT;
            long now = System.currentTimeMillis();
            if (now < nextPollAt) {
                available = new CompletableFuture<>();
                CompletableFuture.runAsync(() -> available.complete(null),
                        CompletableFuture.delayedExecutor(nextPollAt - now, TimeUnit.MILLISECONDS));
                return InputStatus.NOTHING_AVAILABLE;
            }
            nextPollAt = now + refreshMillis;
            startPoll();
            return InputStatus.MORE_AVAILABLE;
        }

        /** Starts a poll: rows changed after {@code readUpTo} less the overlap (all rows the first time), read page by page. */
        private void startPoll() {
            cursorAt = readUpTo == Long.MIN_VALUE ? null : new Timestamp(readUpTo - OVERLAP_MILLIS);
            cursorUser = null;
            polling = true;
            readPage();
        }

        /**
         * The next page of the poll: at most {@code pageRows} rows after the cursor, in (updated_at,
         * user_id) order, so rows sharing one updated_at (a bulk update) are split between pages
         * without skipping or repeating any. A short page ends the poll.
         */
        private void readPage() {
            String sql = "SELECT user_id, suppressed, updated_at FROM suppressed_users"
                    + (cursorAt == null ? "" : cursorUser == null ? " WHERE updated_at > ?" : " WHERE (updated_at, user_id) > (?, ?)")
                    + " ORDER BY updated_at, user_id LIMIT ?";
            try (Connection c = jdbc.connect(); PreparedStatement ps = c.prepareStatement(sql)) {
                int i = 1;
                if (cursorAt != null) ps.setTimestamp(i++, cursorAt);
                if (cursorAt != null && cursorUser != null) ps.setString(i++, cursorUser);
                ps.setInt(i, pageRows);
                int rows = 0;
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        Timestamp updatedAt = rs.getTimestamp(3);
                        String user = rs.getString(1);
                        long updated = updatedAt.getTime();
                        ready.add(PrivacyRules.suppressionListRecord(user, rs.getBoolean(2), updated));
                        readUpTo = Math.max(readUpTo, updated);
                        // the cursor keeps PostgreSQL's microseconds: milliseconds would repeat or skip rows
                        cursorAt = updatedAt;
                        cursorUser = user;
                        rows++;
                    }
                }
                pages++;
                if (rows < pageRows) {
                    polling = false;
                    readOnce = true;
                }
            } catch (SQLException e) {
                LOG.warn("could not read suppressed_users (will try again in {} ms): {}", refreshMillis, e.getMessage());
                polling = false;
                if (bounded) readOnce = true;
            }
        }

        @Override
        public List<ListSplit> snapshotState(long checkpointId) {
            return hasSplit ? List.of(new ListSplit(position())) : List.of();
        }

        /**
         * Every row with updated_at at or before this (epoch ms) has been emitted: rows read but not
         * yet emitted, and those of the poll's next pages, are read again after a restore.
         */
        long position() {
            long upTo = readUpTo;
            if (!ready.isEmpty()) upTo = Math.min(upTo, ready.peek().timestamp - 1);
            else if (polling && cursorAt != null) upTo = Math.min(upTo, cursorAt.getTime() - 1);
            return upTo;
        }

        /** Rows read and not yet emitted: never more than a page. */
        int held() {
            return ready.size();
        }

        @Override
        public CompletableFuture<Void> isAvailable() {
            return available;
        }

        @Override
        public void addSplits(List<ListSplit> splits) {
            if (splits.isEmpty()) return;
            hasSplit = true;
            readUpTo = splits.get(0).readUpTo;
            available.complete(null);
        }

        @Override
        public void notifyNoMoreSplits() {
            noMoreSplits = true;
            available.complete(null);
        }

        @Override
        public void close() {}
    }
}
