package io.behaviorcep.privacy;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.sink.JdbcSettings;

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
 * late are not missed; re-applying a row changes nothing). How far it has read is checkpointed; a job
 * without state starts with the whole table. If PostgreSQL is unreachable it logs and tries again at the
 * next poll: the job is never failed by the list. Bounded (tests, backfills): one read, then done.
 *
 * <p>Its records carry no event time: {@link #watermarks()} is neutral.
 */
public final class SuppressionListSource implements Source<BehaviorEvent, SuppressionListSource.ListSplit, Boolean> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(SuppressionListSource.class);
    static final long OVERLAP_MILLIS = 5 * 60_000L;

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
        private final ArrayDeque<BehaviorEvent> ready = new ArrayDeque<>();
        private long readUpTo = Long.MIN_VALUE;
        private boolean hasSplit;
        private boolean noMoreSplits;
        private boolean readOnce;
        private long nextPollAt;
        private CompletableFuture<Void> available = new CompletableFuture<>();

        Reader(JdbcSettings jdbc, long refreshMillis, boolean bounded) {
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
            if (bounded && readOnce) return InputStatus.END_OF_INPUT;
            long now = System.currentTimeMillis();
            if (now < nextPollAt) {
                available = new CompletableFuture<>();
                CompletableFuture.runAsync(() -> available.complete(null),
                        CompletableFuture.delayedExecutor(nextPollAt - now, TimeUnit.MILLISECONDS));
                return InputStatus.NOTHING_AVAILABLE;
            }
            poll();
            nextPollAt = now + refreshMillis;
            return InputStatus.MORE_AVAILABLE;
        }

        private void poll() {
            long from = readUpTo == Long.MIN_VALUE ? Long.MIN_VALUE : readUpTo - OVERLAP_MILLIS;
            try (Connection c = jdbc.connect();
                 PreparedStatement ps = c.prepareStatement(from == Long.MIN_VALUE
                         ? "SELECT user_id, suppressed, updated_at FROM suppressed_users ORDER BY updated_at"
                         : "SELECT user_id, suppressed, updated_at FROM suppressed_users WHERE updated_at > ? ORDER BY updated_at")) {
                if (from != Long.MIN_VALUE) ps.setTimestamp(1, new Timestamp(from));
                ps.setFetchSize(1_000);
                c.setAutoCommit(false); // so the fetch size applies
                long newest = readUpTo;
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        long updated = rs.getTimestamp(3).getTime();
                        ready.add(PrivacyRules.suppressionListRecord(rs.getString(1), rs.getBoolean(2), updated));
                        newest = Math.max(newest, updated);
                    }
                }
                readUpTo = newest;
                readOnce = true;
            } catch (SQLException e) {
                LOG.warn("could not read suppressed_users (will try again in {} ms): {}", refreshMillis, e.getMessage());
                if (bounded) readOnce = true;
            }
        }

        @Override
        public List<ListSplit> snapshotState(long checkpointId) {
            // rows read but not yet emitted are read again after a restore: readUpTo moves only with emission
            long upTo = ready.isEmpty() ? readUpTo : Math.min(readUpTo, ready.peek().timestamp - 1);
            return hasSplit ? List.of(new ListSplit(upTo)) : List.of();
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
