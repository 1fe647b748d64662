package io.behaviorcep.replay;

import io.behaviorcep.event.RawRecord;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichFlatMapFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.Collector;

import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * Recorded events in files, as a bounded Flink input: one file or a folder (searched recursively)
 * of {@code .jsonl} / {@code .ndjson} (Segment JSON lines) or {@code .csv} (the known shop logs),
 * each also gzipped. Uncompressed files are cut into byte ranges so that even one big file is read
 * in parallel; a gzipped file is one range.
 *
 * <p>Order in the files does not matter to the result (the job orders each user's events by event
 * time), so ranges are read in any order by any subtask. Works on a local Flink (the replay's own
 * MiniCluster): task managers must see the same paths.
 */
public final class EventFiles implements Serializable {
    private static final long MIN_CHUNK = 1L << 20;
    private static final long MAX_CHUNK = 64L << 20;
    /** Longer lines are cut here (the parser refuses anything above events.max-bytes anyway). */
    private static final int MAX_LINE = 16 << 20;

    /** A byte range of one file; a line belongs to the range its first byte is in. */
    public record Chunk(String path, int fileIndex, long start, long end, boolean gzip) implements Serializable {}

    private final List<Path> files;
    private final EventLogFormat format;

    private EventFiles(List<Path> files, EventLogFormat format) {
        this.files = files;
        this.format = format;
    }

    /** @throws IllegalArgumentException when the path does not exist or holds no event files */
    public static EventFiles of(Path fileOrDir, EventLogFormat format) {
        if (!Files.exists(fileOrDir)) throw new IllegalArgumentException("no such file or folder: " + fileOrDir);
        List<Path> files = new ArrayList<>();
        if (Files.isDirectory(fileOrDir)) {
            try (Stream<Path> s = Files.walk(fileOrDir)) {
                s.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().startsWith("."))
                        .filter(p -> accepts(p, format)).sorted().forEach(files::add);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (files.isEmpty()) {
                throw new IllegalArgumentException("no " + (format == EventLogFormat.SEGMENT ? ".jsonl/.ndjson" : ".csv")
                        + " files (optionally .gz) in " + fileOrDir);
            }
        } else {
            files.add(fileOrDir);
        }
        return new EventFiles(List.copyOf(files), format);
    }

    static boolean accepts(Path p, EventLogFormat format) {
        String n = p.getFileName().toString();
        if (n.endsWith(".gz")) n = n.substring(0, n.length() - 3);
        return format == EventLogFormat.SEGMENT ? n.endsWith(".jsonl") || n.endsWith(".ndjson") : n.endsWith(".csv");
    }

    public List<Path> files() {
        return files;
    }

    public EventLogFormat format() {
        return format;
    }

    /** Bytes on disk (compressed for .gz): the measure of progress. */
    public long totalBytes() {
        long total = 0;
        for (Path f : files) {
            try {
                total += Files.size(f);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return total;
    }

    /** Ranges of about an eighth of a subtask's share each, between 1 and 64 MiB, so work spreads evenly. */
    public List<Chunk> chunks(int parallelism) {
        return chunksOf(Math.max(MIN_CHUNK, Math.min(MAX_CHUNK, totalBytes() / Math.max(1, parallelism * 8L))));
    }

    List<Chunk> chunksOf(long chunk) {
        List<Chunk> out = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            Path f = files.get(i);
            String path = f.toAbsolutePath().toString();
            long size;
            try {
                size = Files.size(f);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (path.endsWith(".gz")) {
                out.add(new Chunk(path, i, 0, Long.MAX_VALUE, true));
                continue;
            }
            for (long start = 0; start < Math.max(size, 1); start += chunk) out.add(new Chunk(path, i, start, start + chunk, false));
        }
        return out;
    }

    /** The records of all files; {@code runId} names the progress counters of this run. */
    public DataStream<RawRecord> stream(StreamExecutionEnvironment env, String runId) {
        return stream(env, runId, "replay-files", "event files");
    }

    /** As {@link #stream(StreamExecutionEnvironment, String)}, with its own uids (several inputs in one job). */
    public DataStream<RawRecord> stream(StreamExecutionEnvironment env, String runId, String uid, String what) {
        List<Chunk> chunks = chunks(env.getParallelism());
        return env.fromSequence(0, chunks.size() - 1).uid(uid + "-ranges").name("Ranges of " + what)
                .flatMap(new ChunkReader(chunks, format, runId), TypeInformation.of(RawRecord.class))
                .uid(uid + "-reader").name("Read " + what);
    }

    /** Reads the ranges it is given by number; each line becomes a record (topic = file, offset = byte offset). */
    static final class ChunkReader extends RichFlatMapFunction<Long, RawRecord> {
        private final List<Chunk> chunks;
        private final EventLogFormat format;
        private final String runId;
        private transient ReplayProgress.Counters counters;

        ChunkReader(List<Chunk> chunks, EventLogFormat format, String runId) {
            this.chunks = chunks;
            this.format = format;
            this.runId = runId;
        }

        @Override
        public void open(OpenContext ctx) {
            counters = ReplayProgress.counters(runId);
        }

        @Override
        public void flatMap(Long index, Collector<RawRecord> out) throws IOException {
            read(chunks.get(index.intValue()), format, counters, out::collect);
        }
    }

    interface Sink {
        void accept(RawRecord r);
    }

    static void read(Chunk c, EventLogFormat format, ReplayProgress.Counters counters, Sink out) throws IOException {
        try (FileChannel ch = FileChannel.open(Path.of(c.path()), StandardOpenOption.READ)) {
            long pos = c.start();
            CountingStream counted;
            InputStream in;
            if (c.gzip()) {
                counted = new CountingStream(new BufferedInputStream(Channels.newInputStream(ch), 1 << 16));
                in = new BufferedInputStream(new GZIPInputStream(counted, 1 << 16), 1 << 16);
            } else {
                counted = null;
                if (pos > 0) pos--; // the byte before the range says whether it starts on a line
                ch.position(pos);
                in = new BufferedInputStream(Channels.newInputStream(ch), 1 << 16);
                if (c.start() > 0) {
                    int b;
                    while ((b = in.read()) != -1) {
                        pos++;
                        if (b == '\n') break;
                    }
                    if (b == -1) return;
                }
            }
            Lines lines = new Lines(in, pos);
            long countedBefore = 0;
            byte[] line;
            while (lines.position() < c.end() && (line = lines.next()) != null) {
                long at = lines.lineStart();
                byte[] record = format.toRecord(line);
                if (record != null) out.accept(new RawRecord(null, record, c.path(), c.fileIndex(), at));
                if (counters != null) {
                    if (record != null) counters.records.incrementAndGet();
                    if (counted != null) {
                        long now = counted.count;
                        counters.bytes.addAndGet(now - countedBefore);
                        countedBefore = now;
                    } else {
                        counters.bytes.addAndGet(lines.position() - at);
                    }
                }
            }
            if (counters != null && counted != null) counters.bytes.addAndGet(Math.max(0, ch.size() - countedBefore));
        }
    }

    /** Splits a byte stream on '\n' (dropping a '\r' before it) and keeps track of byte positions. */
    static final class Lines {
        private final InputStream in;
        private long position;
        private long lineStart;
        private byte[] buf = new byte[1024];

        Lines(InputStream in, long position) {
            this.in = in;
            this.position = position;
        }

        /** Where the next line starts. */
        long position() {
            return position;
        }

        /** Where the line last returned started. */
        long lineStart() {
            return lineStart;
        }

        byte[] next() throws IOException {
            lineStart = position;
            int n = 0;
            int b;
            boolean any = false;
            while ((b = in.read()) != -1) {
                any = true;
                position++;
                if (b == '\n') break;
                if (n < MAX_LINE) {
                    if (n == buf.length) buf = Arrays.copyOf(buf, Math.min(MAX_LINE, buf.length * 2));
                    buf[n++] = (byte) b;
                }
            }
            if (!any) return null;
            if (n > 0 && buf[n - 1] == '\r') n--;
            return Arrays.copyOf(buf, n);
        }
    }

    static final class CountingStream extends FilterInputStream {
        volatile long count;

        CountingStream(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) count++;
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) count += n;
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long s = super.skip(n);
            count += s;
            return s;
        }
    }
}
