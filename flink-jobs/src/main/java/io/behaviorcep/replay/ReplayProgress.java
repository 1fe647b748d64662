package io.behaviorcep.replay;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * How far a replay has read: a bar redrawn in place on a terminal, plain lines otherwise (CI logs,
 * pipes). Readers of the local job count into {@link Counters} shared through a static map keyed by
 * the run's id (replay runs on its own MiniCluster, in this JVM); the reporter thread samples them.
 *
 * <p>The fraction done is measured in bytes of input for files and records for a Kafka range; the
 * estimate of the time left extrapolates the rate so far. Reading is most of a replay's work; what
 * remains after the last byte (the final decisions at the end of input) is shown as "deciding".
 */
public final class ReplayProgress implements AutoCloseable {
    private static final Map<String, Counters> COUNTERS = new ConcurrentHashMap<>();

    /** What the readers of one run have done so far. */
    public static final class Counters {
        public final AtomicLong records = new AtomicLong();
        public final AtomicLong bytes = new AtomicLong();
    }

    public static Counters counters(String runId) {
        return COUNTERS.computeIfAbsent(runId, k -> new Counters());
    }

    static void release(String runId) {
        COUNTERS.remove(runId);
    }

    /** What the fraction is measured in: bytes of files, or records of a Kafka range. */
    public enum Unit { BYTES, RECORDS }

    private final Counters counters;
    private final long total;
    private final Unit unit;
    private final PrintStream out;
    private final boolean terminal;
    private final long intervalMillis;
    private final LongSupplier clock;
    private final long started;
    private final String label;
    private Thread thread;
    private volatile boolean running;
    private int lastWidth;
    private long readingMillis = -1;
    private volatile boolean finished;

    ReplayProgress(String label, Counters counters, long total, Unit unit, PrintStream out, boolean terminal, long intervalMillis, LongSupplier clock) {
        this.label = label;
        this.counters = counters;
        this.total = total;
        this.unit = unit;
        this.out = out;
        this.terminal = terminal;
        this.intervalMillis = intervalMillis;
        this.clock = clock;
        this.started = clock.getAsLong();
    }

    /** A terminal gets a bar every 200 ms, anything else a line every 5 s. */
    public static ReplayProgress start(String label, Counters counters, long total, Unit unit, PrintStream out, boolean terminal) {
        ReplayProgress p = new ReplayProgress(label, counters, total, unit, out, terminal, terminal ? 200 : 5_000, System::currentTimeMillis);
        if (out != null) {
            p.running = true;
            p.thread = new Thread(p::loop, "replay-progress");
            p.thread.setDaemon(true);
            p.thread.start();
        }
        return p;
    }

    private void loop() {
        while (running) {
            try {
                Thread.sleep(intervalMillis);
            } catch (InterruptedException e) {
                return;
            }
            if (running) print();
        }
    }

    synchronized void print() {
        long elapsed = clock.getAsLong() - started;
        long done = done();
        if (readingMillis < 0 && total > 0 && done >= total) readingMillis = elapsed;
        String s = render(elapsed, counters.records.get(), done, readingMillis, finished);
        if (terminal) {
            int pad = Math.max(0, lastWidth - s.length());
            out.print("\r" + s + " ".repeat(pad));
            lastWidth = s.length();
        } else {
            out.println(s);
        }
        out.flush();
    }

    private long done() {
        return unit == Unit.BYTES ? counters.bytes.get() : counters.records.get();
    }

    /**
     * One progress line (bar or plain).
     *
     * @param readingMillis how long reading took, once all input is read (-1 before): the rate
     *     shown is the reading rate, and the time since is shown as deciding
     * @param finished the job is done: the last line says how long it all took
     */
    String render(long elapsedMillis, long events, long done, long readingMillis, boolean finished) {
        double rate = events / (Math.max(readingMillis >= 0 ? readingMillis : elapsedMillis, 1) / 1000.0);
        double fraction = total <= 0 ? -1 : Math.min(1.0, (double) done / total);
        String left;
        if (finished) left = "done in " + duration(elapsedMillis);
        else if (readingMillis >= 0) left = "deciding " + duration(elapsedMillis - readingMillis);
        else if (fraction <= 0) left = "ETA --";
        else left = "ETA " + duration((long) (elapsedMillis * (1 - fraction) / fraction));
        String percent = fraction < 0 ? "?" : Math.round(fraction * 100) + "%";
        if (terminal) {
            int width = 30;
            int filled = fraction < 0 ? 0 : (int) Math.round(fraction * width);
            return String.format(Locale.ROOT, "%s [%s%s] %4s  %,d events  %,.0f events/s  %s", label,
                    "#".repeat(filled), ".".repeat(width - filled), percent, events, rate, left);
        }
        return String.format(Locale.ROOT, "%s: %,d events read (%s), %,.0f events/s, %s", label, events, percent, rate, left);
    }

    static String duration(long millis) {
        long s = Math.max(0, (millis + 999) / 1000);
        if (s < 60) return s + "s";
        if (s < 3600) return (s / 60) + "m" + String.format(Locale.ROOT, "%02d", s % 60) + "s";
        if (s < 86400) return (s / 3600) + "h" + String.format(Locale.ROOT, "%02d", (s % 3600) / 60) + "m";
        return (s / 86400) + "d" + String.format(Locale.ROOT, "%02d", (s % 86400) / 3600) + "h";
    }

    /** Stops the reporter with one last report (a terminal bar: a last redraw and a line break). */
    @Override
    public void close() {
        if (thread == null) return;
        running = false;
        thread.interrupt();
        try {
            thread.join(1_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        thread = null;
        finished = true;
        print();
        if (terminal) out.println();
        out.flush();
    }
}
