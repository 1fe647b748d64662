package io.behaviorcep.reload;

import io.behaviorcep.config.JobConfig;
import io.behaviorcep.engine.PatternTimeline;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.PatternChange;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;

import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Watches the patterns folder of a running job and emits every accepted change as a
 * {@link PatternChange}, for the pattern engine and the actions operator to broadcast (issue #9).
 *
 * <p>One instance (parallelism 1) reads the folder every {@code patterns.watch-interval} of wall
 * time and hands it to {@link PatternSetDiff}, which holds every rule: a file whose text differs
 * from the accepted one is checked with the same loader as {@code validate}, together with the other
 * files of the folder (duplicate ids, segment names), and with the rule that versions only go
 * forward. This operator keeps the result as state, and emits and logs the decisions. A valid change is emitted with
 * {@link PatternChange#activateAt} = the event-time watermark this operator has seen +
 * {@code patterns.activation-delay}, so that every instance of the engine has it before event time
 * reaches that point; an invalid one is rejected and the previous version keeps running. Both are
 * reported on {@link #PATTERN_EVENTS} (one JSON line each), in the log and in the metrics
 * {@code patternChangesAccepted} and {@code patternChangesRejected}.
 *
 * <p>The accepted set (id, version, file, SHA-256 of its text) and the texts already rejected are
 * operator state: after a restore nothing accepted before the checkpoint is emitted again, and a
 * file changed while the job was down is picked up by the first poll.
 *
 * <p>Its input is the event stream with every record filtered out: only watermarks (and watermark
 * status) arrive, and they are passed on, so the broadcast side never holds the engine's event
 * time back.
 */
public class PatternWatcherOperator extends AbstractStreamOperator<PatternChange>
        implements OneInputStreamOperator<BehaviorEvent, PatternChange>, BoundedOneInput {

    /** JSON records of accepted and rejected changes, for the {@code behavior.pattern-events} topic. */
    public static final OutputTag<String> PATTERN_EVENTS = new OutputTag<>("pattern-events", TypeInformation.of(String.class));
    public static final String UID = "pattern-watcher";
    public static final String UID_WATERMARKS = "pattern-watcher-watermarks";
    /** With {@code patterns.watch} off: the empty change stream, carrying the events' event time. */
    public static final String UID_NO_CHANGES = "no-pattern-changes";
    public static final String NAME = "Pattern watcher";

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(PatternWatcherOperator.class);

    /**
     * One accepted pattern, as operator state: {@link PatternSetDiff.RunningPattern} as a Flink POJO.
     * Savepoints name this class, so it stays where it is.
     */
    public static class Accepted implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        public String patternId;
        public int version;
        /** The file's name (not its folder): stable when the folder is mounted elsewhere. */
        public String file;
        /** SHA-256 of the file's text; null when the text at submission could not be read. */
        public String sha256;
        public boolean enabled;
        /** {@link PatternSetDiff#stepShape} of this version, for {@code on_change: keep}; null if unknown. */
        public String steps;

        public Accepted() {}

        public Accepted(String patternId, int version, String file, String sha256, boolean enabled) {
            this(patternId, version, file, sha256, enabled, null);
        }

        public Accepted(String patternId, int version, String file, String sha256, boolean enabled, String steps) {
            this.patternId = patternId;
            this.version = version;
            this.file = file;
            this.sha256 = sha256;
            this.enabled = enabled;
            this.steps = steps;
        }

        static Accepted of(PatternSetDiff.RunningPattern p) {
            return new Accepted(p.patternId(), p.version(), p.file(), p.sha256(), p.enabled(), p.steps());
        }

        PatternSetDiff.RunningPattern running() {
            return new PatternSetDiff.RunningPattern(patternId, version, file, sha256, enabled, steps);
        }

        @Override
        public String toString() {
            return patternId + " v" + version + " (" + file + (enabled ? "" : ", disabled") + ")";
        }
    }

    /**
     * A file text that was rejected, as operator state: {@link PatternSetDiff.RejectedFile} as a Flink
     * POJO. Savepoints name this class, so it stays where it is.
     */
    public static class Rejected implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        public String file;
        public String sha256;
        /** The id the file names, if it could be made out; null otherwise. */
        public String patternId;

        public Rejected() {}

        public Rejected(String file, String sha256, String patternId) {
            this.file = file;
            this.sha256 = sha256;
            this.patternId = patternId;
        }

        static Rejected of(PatternSetDiff.RejectedFile r) {
            return new Rejected(r.file(), r.sha256(), r.patternId());
        }

        PatternSetDiff.RejectedFile rejectedFile() {
            return new PatternSetDiff.RejectedFile(file, sha256, patternId);
        }
    }

    private final String folder;
    private final long intervalMillis;
    private final long delayMillis;
    private final ArrayList<Accepted> initial;

    private transient Map<String, PatternSetDiff.RunningPattern> accepted;
    private transient Map<String, PatternSetDiff.RejectedFile> rejected;
    private transient ListState<Accepted> acceptedState;
    private transient ListState<Rejected> rejectedState;
    private transient Map<String, String> segmentFileHashes;
    private transient long lastWatermark;
    private transient boolean ended;
    private transient boolean folderWarned;
    private transient Counter acceptedCount;
    private transient Counter rejectedCount;

    /**
     * @param folder   the patterns folder (or single file), as {@code patterns.dir}
     * @param initial  the patterns the job was started with (disabled ones too); used when there is no state to restore
     */
    public PatternWatcherOperator(String folder, long intervalMillis, long delayMillis, List<Accepted> initial) {
        if (intervalMillis <= 0) throw new IllegalArgumentException("watch interval must be positive");
        if (delayMillis < 0) throw new IllegalArgumentException("activation delay must not be negative");
        this.folder = folder;
        this.intervalMillis = intervalMillis;
        this.delayMillis = delayMillis;
        this.initial = new ArrayList<>(initial);
    }

    // ---- wiring ----------------------------------------------------------------------------------

    /**
     * The stream of accepted pattern changes for the job whose event stream (after event time is
     * assigned) is {@code timed}, started with {@code initial} (every pattern loaded at submission,
     * disabled ones included). With {@code patterns.watch} off: an empty stream. Its side output
     * {@link #PATTERN_EVENTS} holds the JSON records for {@link io.behaviorcep.PipelineIO#patternEvents}.
     */
    public static SingleOutputStreamOperator<PatternChange> attach(DataStream<BehaviorEvent> timed, JobConfig config, List<PatternDefinition> initial) {
        if (!config.patternsWatch()) {
            return PatternTimeline.noChangesAlong(timed, UID_NO_CHANGES);
        }
        PatternWatcherOperator op = new PatternWatcherOperator(config.patternsPath().toString(),
                config.patternsWatchInterval().toMillis(), config.patternsActivationDelay().toMillis(),
                initialEntries(config.patternsPath(), initial));
        return timed.filter(e -> false).uid(UID_WATERMARKS).name("Watermarks for the pattern watcher")
                .transform(NAME, TypeInformation.of(PatternChange.class), op)
                .setParallelism(1).uid(UID).name(NAME);
    }

    /**
     * The accepted set at submission: the given patterns with the hashes of their files as they are
     * now, plus the valid disabled patterns of the folder the list leaves out (a disabled pattern
     * runs nowhere, so taking it as accepted changes nothing, and it is not reported as added).
     */
    public static List<Accepted> initialEntries(Path patternsPath, List<PatternDefinition> initial) {
        Map<String, Accepted> out = new LinkedHashMap<>();
        for (PatternDefinition d : initial) {
            out.put(d.id, new Accepted(d.id, d.version, fileName(d.source), hashOf(d.source, patternsPath), d.enabled, PatternSetDiff.stepShape(d)));
        }
        try {
            PatternLoader.Result r = PatternLoader.load(patternsPath);
            for (PatternDefinition d : r.patterns()) {
                if (!d.enabled && !out.containsKey(d.id)) {
                    out.put(d.id, new Accepted(d.id, d.version, fileName(d.source), hashOf(d.source, patternsPath), false, PatternSetDiff.stepShape(d)));
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("cannot read {} to complete the initial pattern set: {}", patternsPath, e.toString());
        }
        return new ArrayList<>(out.values());
    }

    private static String hashOf(String source, Path patternsPath) {
        for (Path p : new Path[] {Path.of(source), Files.isDirectory(patternsPath) ? patternsPath.resolve(fileName(source)) : patternsPath}) {
            try {
                if (Files.isRegularFile(p)) return PatternSetDiff.sha256(PatternLoader.readText(p));
            } catch (IOException | RuntimeException e) {
                // try the next place; null means "adopt the text seen first if its version is the same"
            }
        }
        return null;
    }

    // ---- operator --------------------------------------------------------------------------------

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        acceptedState = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("accepted-patterns", Accepted.class));
        rejectedState = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("rejected-pattern-files", Rejected.class));
        accepted = new TreeMap<>();
        rejected = new TreeMap<>();
        if (context.isRestored()) {
            for (Accepted a : acceptedState.get()) accepted.put(a.patternId, a.running());
            for (Rejected r : rejectedState.get()) rejected.put(r.file, r.rejectedFile());
            LOG.info("pattern watcher restored: accepted {}", acceptedPatterns());
        } else {
            for (Accepted a : initial) accepted.put(a.patternId, a.running());
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        lastWatermark = Long.MIN_VALUE;
        // the segments and traits files as the job starts with them: a later change of them is sent in-band
        Map<String, String> texts = readFolder(Path.of(folder));
        segmentFileHashes = texts == null ? new HashMap<>() : new HashMap<>(PatternSetDiff.definitionHashes(texts));
        acceptedCount = getMetricGroup().counter("patternChangesAccepted");
        rejectedCount = getMetricGroup().counter("patternChangesRejected");
        scheduleNext(getProcessingTimeService().getCurrentProcessingTime());
    }

    private void scheduleNext(long now) {
        if (ended) return;
        getProcessingTimeService().registerTimer(now + intervalMillis, time -> {
            if (ended) return;
            try {
                poll();
            } catch (RuntimeException e) {
                // a watcher that dies would restart the whole job; a failed poll is retried at the next one
                LOG.warn("reading the pattern folder {} failed; trying again in {} ms", folder, intervalMillis, e);
            }
            scheduleNext(time);
        });
    }

    @Override
    public void processElement(StreamRecord<BehaviorEvent> element) {
        // the input carries watermarks only
    }

    @Override
    public void processWatermark(Watermark mark) throws Exception {
        if (mark.getTimestamp() > lastWatermark) lastWatermark = mark.getTimestamp();
        super.processWatermark(mark);
    }

    @Override
    public void endInput() {
        ended = true; // a bounded run is over: nothing would apply a change any more
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        acceptedState.update(accepted.values().stream().map(Accepted::of).toList());
        rejectedState.update(rejected.values().stream().map(Rejected::of).toList());
    }

    /** The accepted set as it stands (for tests and the log). */
    public List<Accepted> acceptedPatterns() {
        return accepted.values().stream().map(Accepted::of).toList();
    }

    // ---- one poll --------------------------------------------------------------------------------

    /** Reads the folder, lets {@link PatternSetDiff} decide what changed, emits and logs its decisions. */
    void poll() {
        Path root = Path.of(folder);
        Map<String, String> texts = readFolder(root);
        if (texts == null) return;
        folderWarned = false;

        long now = getProcessingTimeService().getCurrentProcessingTime();
        long activateAt = activationTime(now);
        PatternSetDiff.Result diff = PatternSetDiff.compare(new PatternSetDiff.PatternFolder(root, Files.isDirectory(root), texts),
                accepted, rejected, segmentFileHashes, now, activateAt);
        accepted = new TreeMap<>(diff.running());
        rejected = new TreeMap<>(diff.rejected());
        segmentFileHashes = new HashMap<>(diff.segmentFileHashes());
        for (PatternSetDiff.Decision d : diff.decisions()) emit(d, now, activateAt);
    }

    private void emit(PatternSetDiff.Decision decision, long now, long activateAt) {
        if (decision instanceof PatternSetDiff.Upsert u) {
            output.collect(new StreamRecord<>(u.change(), activateAt));
        } else if (decision instanceof PatternSetDiff.Delete d) {
            output.collect(new StreamRecord<>(d.change(), activateAt));
        } else if (decision instanceof PatternSetDiff.PatternAccepted a) {
            acceptedCount.inc();
            LOG.info("pattern change accepted: {} v{} {} ({}), in effect from event time {}", a.patternId(), a.version(), a.change(), a.file(),
                    Instant.ofEpochMilli(a.activateAt()));
            output.collect(PATTERN_EVENTS, new StreamRecord<>(a.toJson(), a.activateAt()));
        } else if (decision instanceof PatternSetDiff.PatternRejected r) {
            rejectedCount.inc();
            PatternSetDiff.RunningPattern running = r.running();
            LOG.warn("pattern change rejected: {} ({}{}); {}; problems:\n  {}", r.file(), r.patternId() == null ? "unknown id" : r.patternId(),
                    r.version() == null ? "" : " v" + r.version(),
                    running == null ? "nothing of it runs" : "the running version stays: " + running.patternId() + " v" + running.version(),
                    String.join("\n  ", r.problems()));
            long ts = lastWatermark == Long.MIN_VALUE ? now : lastWatermark;
            output.collect(PATTERN_EVENTS, new StreamRecord<>(r.toJson(), ts));
        } else if (decision instanceof PatternSetDiff.DefinitionsChanged c) {
            acceptedCount.inc();
            LOG.info("segments and traits files changed ({}): accepted, in effect from event time {}", c.files(), Instant.ofEpochMilli(activateAt));
            output.collect(new StreamRecord<>(c.change(), activateAt));
            output.collect(PATTERN_EVENTS, new StreamRecord<>(c.toJson(), activateAt));
        } else if (decision instanceof PatternSetDiff.DefinitionsRejected r) {
            rejectedCount.inc();
            LOG.warn("segments and traits files change rejected ({}); the running segments and traits stay; problems:\n  {}", r.files(),
                    String.join("\n  ", r.problems()));
            long ts = lastWatermark == Long.MIN_VALUE ? now : lastWatermark;
            output.collect(PATTERN_EVENTS, new StreamRecord<>(r.toJson(), ts));
        }
    }

    private long activationTime(long now) {
        long from = lastWatermark == Long.MIN_VALUE ? now : lastWatermark;
        long t = from + delayMillis;
        return t < from ? Long.MAX_VALUE : t; // saturate (the watermark at the end of input is Long.MAX_VALUE)
    }

    // ---- helpers ---------------------------------------------------------------------------------

    /** File name to text of every pattern file, as {@link PatternLoader#load} picks them; null if the folder cannot be read. */
    private Map<String, String> readFolder(Path root) {
        Map<String, String> texts = new TreeMap<>();
        try {
            if (Files.isDirectory(root)) {
                List<Path> files;
                try (Stream<Path> s = Files.list(root)) {
                    files = s.filter(p -> {
                        String n = p.getFileName().toString();
                        return Files.isRegularFile(p) && (n.endsWith(".yaml") || n.endsWith(".yml"));
                    }).sorted().toList();
                }
                // not UTF-8: a text the loader rejects (not UTF-8 text), so a rejected change, not a folder it cannot read
                for (Path p : files) texts.put(p.getFileName().toString(), PatternLoader.readText(p));
            } else if (Files.isRegularFile(root)) {
                texts.put(root.getFileName().toString(), PatternLoader.readText(root));
            } else {
                // a missing folder is more likely a mount being replaced than every pattern deleted
                if (!folderWarned) LOG.warn("pattern folder {} does not exist (any more); the running patterns stay", root);
                folderWarned = true;
                return null;
            }
        } catch (IOException | RuntimeException e) {
            // e.g. a file deleted between listing and reading: the next poll sees a settled folder
            LOG.debug("pattern folder {} could not be read this time: {}", root, e.toString());
            return null;
        }
        return texts;
    }

    static String fileName(String source) {
        Path p = Path.of(source).getFileName();
        return p == null ? source : p.toString();
    }
}
