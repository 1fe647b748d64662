package io.behaviorcep.testing;

import io.behaviorcep.event.RawRecord;

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

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * An unbounded source (parallelism 1) fed by the test while the job runs: {@link #send} hands records
 * over, {@link #end} finishes the input. Until then it holds, so a savepoint can be taken mid-stream.
 * Its state is one empty split, so a job restored from a savepoint of another job reading another
 * channel restores it without dropping anything. Local (same-JVM) Flink only.
 */
public final class HeldSource implements Source<RawRecord, HeldSource.Split, Integer> {
    private static final Object END = new Object();
    private static final Map<String, LinkedBlockingQueue<Object>> CHANNELS = new ConcurrentHashMap<>();

    private final String channel;

    public HeldSource(String channel) {
        this.channel = channel;
        CHANNELS.computeIfAbsent(channel, c -> new LinkedBlockingQueue<>());
    }

    public void send(List<byte[]> records) {
        for (byte[] r : records) CHANNELS.get(channel).add(new RawRecord(null, r, "held", 0, 0));
    }

    public void end() {
        CHANNELS.get(channel).add(END);
    }

    /** True once the reader has taken (and emitted) everything sent so far. */
    public boolean drained() {
        return CHANNELS.get(channel).isEmpty();
    }

    @Override
    public Boundedness getBoundedness() {
        return Boundedness.CONTINUOUS_UNBOUNDED;
    }

    @Override
    public SourceReader<RawRecord, Split> createReader(SourceReaderContext ctx) {
        return new Reader(channel);
    }

    @Override
    public SplitEnumerator<Split, Integer> createEnumerator(SplitEnumeratorContext<Split> ctx) {
        return new Enumerator(ctx, false);
    }

    @Override
    public SplitEnumerator<Split, Integer> restoreEnumerator(SplitEnumeratorContext<Split> ctx, Integer assigned) {
        return new Enumerator(ctx, assigned == 1);
    }

    @Override
    public SimpleVersionedSerializer<Split> getSplitSerializer() {
        return new SimpleVersionedSerializer<>() {
            public int getVersion() { return 1; }
            public byte[] serialize(Split s) { return s.id.getBytes(StandardCharsets.UTF_8); }
            public Split deserialize(int v, byte[] b) { return new Split(new String(b, StandardCharsets.UTF_8)); }
        };
    }

    @Override
    public SimpleVersionedSerializer<Integer> getEnumeratorCheckpointSerializer() {
        return new SimpleVersionedSerializer<>() {
            public int getVersion() { return 1; }
            public byte[] serialize(Integer i) { return new byte[] {(byte) (int) i}; }
            public Integer deserialize(int v, byte[] b) { return (int) b[0]; }
        };
    }

    public static final class Split implements SourceSplit {
        final String id;

        Split(String id) {
            this.id = id;
        }

        @Override
        public String splitId() {
            return id;
        }
    }

    private static final class Enumerator implements SplitEnumerator<Split, Integer> {
        private final SplitEnumeratorContext<Split> ctx;
        private boolean assigned;

        Enumerator(SplitEnumeratorContext<Split> ctx, boolean assigned) {
            this.ctx = ctx;
            this.assigned = assigned;
        }

        public void start() {}

        public void handleSplitRequest(int subtask, String host) {}

        public void addSplitsBack(List<Split> splits, int subtask) {
            assigned = false;
        }

        public void addReader(int subtask) {
            if (!assigned) {
                ctx.assignSplit(new Split("held"), subtask);
                assigned = true;
            }
        }

        public Integer snapshotState(long checkpointId) {
            return assigned ? 1 : 0;
        }

        public void close() {}
    }

    private static final class Reader implements SourceReader<RawRecord, Split> {
        private final LinkedBlockingQueue<Object> queue;
        private final List<Split> splits = new ArrayList<>();
        private long offset;

        Reader(String channel) {
            this.queue = CHANNELS.computeIfAbsent(channel, c -> new LinkedBlockingQueue<>());
        }

        public void start() {}

        public InputStatus pollNext(ReaderOutput<RawRecord> output) {
            if (splits.isEmpty()) return InputStatus.NOTHING_AVAILABLE;
            Object r = queue.peek();
            if (r == null) return InputStatus.NOTHING_AVAILABLE;
            if (r == END) return InputStatus.END_OF_INPUT;
            RawRecord rec = (RawRecord) r;
            rec.offset = offset++;
            output.collect(rec);
            queue.poll(); // only now: drained() means emitted
            return InputStatus.MORE_AVAILABLE;
        }

        public CompletableFuture<Void> isAvailable() {
            return CompletableFuture.runAsync(() -> {}, CompletableFuture.delayedExecutor(10, TimeUnit.MILLISECONDS));
        }

        public List<Split> snapshotState(long checkpointId) {
            return List.copyOf(splits);
        }

        public void addSplits(List<Split> s) {
            splits.addAll(s);
        }

        public void notifyNoMoreSplits() {}

        public void close() {}
    }
}
