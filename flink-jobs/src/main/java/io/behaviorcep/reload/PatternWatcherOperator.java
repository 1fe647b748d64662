package io.behaviorcep.reload;

import io.behaviorcep.config.JobConfig;
import io.behaviorcep.engine.PatternTimeline;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.PatternChange;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.pattern.PatternProblem;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Watches the patterns folder of a running job and emits every accepted change as a
 * {@link PatternChange}, for the pattern engine and the actions operator to broadcast (issue #9).
 *
 * <p>One instance (parallelism 1) reads the folder every {@code patterns.watch-interval} of wall
 * time. A file whose text differs from the accepted one is checked with the same loader as
 * {@code validate}, together with the other files of the folder (duplicate ids, segment names), and
 * with the rule that versions only go forward. A valid change is emitted with
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
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern KIND_SEGMENTS = Pattern.compile("(?m)^kind:\\s*[\"']?segments[\"']?\\s*(#.*)?$");
    private static final Pattern ID_LINE = Pattern.compile("(?m)^id:\\s*[\"']?([A-Za-z0-9_.-]+)");
    private static final Pattern VERSION_LINE = Pattern.compile("(?m)^version:\\s*[\"']?(\\d{1,9})");

    /** One accepted pattern: what the engine runs (a Flink POJO, kept in operator state). */
    public static class Accepted implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        public String patternId;
        public int version;
        /** The file's name (not its folder): stable when the folder is mounted elsewhere. */
        public String file;
        /** SHA-256 of the file's text; null when the text at submission could not be read. */
        public String sha256;
        public boolean enabled;
        /** {@link #stepShape} of this version, for {@code on_change: keep}; null if unknown. */
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

        @Override
        public String toString() {
            return patternId + " v" + version + " (" + file + (enabled ? "" : ", disabled") + ")";
        }
    }

    /** A file text that was rejected: not looked at again until the file changes. */
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
    }

    private final String folder;
    private final long intervalMillis;
    private final long delayMillis;
    private final ArrayList<Accepted> initial;

    private transient Map<String, Accepted> accepted;
    private transient Map<String, Rejected> rejected;
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
            out.put(d.id, new Accepted(d.id, d.version, fileName(d.source), hashOf(d.source, patternsPath), d.enabled, stepShape(d)));
        }
        try {
            PatternLoader.Result r = PatternLoader.load(patternsPath);
            for (PatternDefinition d : r.patterns()) {
                if (!d.enabled && !out.containsKey(d.id)) {
                    out.put(d.id, new Accepted(d.id, d.version, fileName(d.source), hashOf(d.source, patternsPath), false, stepShape(d)));
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
                if (Files.isRegularFile(p)) return sha256(PatternLoader.readText(p));
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
            for (Accepted a : acceptedState.get()) accepted.put(a.patternId, a);
            for (Rejected r : rejectedState.get()) rejected.put(r.file, r);
            LOG.info("pattern watcher restored: accepted {}", accepted.values());
        } else {
            for (Accepted a : initial) accepted.put(a.patternId, copy(a));
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        lastWatermark = Long.MIN_VALUE;
        segmentFileHashes = new HashMap<>();
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
        acceptedState.update(new ArrayList<>(accepted.values()));
        rejectedState.update(new ArrayList<>(rejected.values()));
    }

    /** The accepted set as it stands (for tests and the log). */
    public List<Accepted> acceptedPatterns() {
        return new ArrayList<>(accepted.values());
    }

    // ---- one poll --------------------------------------------------------------------------------

    /** Reads the folder, checks what changed, emits accepted changes and records for all of them. */
    void poll() {
        Path root = Path.of(folder);
        Map<String, String> texts = readFolder(root);
        if (texts == null) return;
        folderWarned = false;

        Map<String, String> patternTexts = new TreeMap<>();
        Map<String, String> hashes = new HashMap<>();
        for (Map.Entry<String, String> f : texts.entrySet()) {
            String sha = sha256(f.getValue());
            hashes.put(f.getKey(), sha);
            if (isSegmentsFile(f.getKey(), f.getValue())) {
                String before = segmentFileHashes.put(f.getKey(), sha);
                if (before != null && !before.equals(sha)) {
                    LOG.warn("threshold segment file {} changed: threshold segments are read when the job starts; "
                            + "it takes effect at the next restart (savepoint upgrade), not now", f.getKey());
                }
            } else {
                patternTexts.put(f.getKey(), f.getValue());
            }
        }
        rejected.keySet().removeIf(f -> !patternTexts.containsKey(f) || !rejected.get(f).sha256.equals(hashes.get(f)));

        Map<String, Accepted> byFile = new HashMap<>();
        for (Accepted a : accepted.values()) byFile.put(a.file, a);
        List<String> changed = new ArrayList<>();
        for (String f : patternTexts.keySet()) {
            Accepted a = byFile.get(f);
            boolean same = a != null && hashes.get(f).equals(a.sha256);
            if (!same && !rejected.containsKey(f)) changed.add(f);
        }
        boolean anyRemoved = accepted.values().stream().anyMatch(a -> !patternTexts.containsKey(a.file));
        if (changed.isEmpty() && !anyRemoved) return;

        long now = getProcessingTimeService().getCurrentProcessingTime();
        long activateAt = activationTime(now);

        // what runs now, as files: segment files and pattern files whose text is the accepted one
        Map<String, String> base = new TreeMap<>();
        for (Map.Entry<String, String> f : texts.entrySet()) {
            String name = f.getKey();
            Accepted a = byFile.get(name);
            if (!patternTexts.containsKey(name) || (a != null && hashes.get(name).equals(a.sha256))) base.put(loaderName(root, name), f.getValue());
        }
        List<String> baseProblems = changed.isEmpty() ? List.of() : problemsOf(PatternLoader.loadAll(base));
        Map<String, String> idTakenFrom = new HashMap<>(); // file -> id it now holds (accepted in this poll)

        for (String f : changed) {
            String text = patternTexts.get(f);
            String sha = hashes.get(f);
            String name = loaderName(root, f);
            Map<String, String> candidate = new TreeMap<>(base);
            candidate.put(name, text);
            PatternLoader.Result r = PatternLoader.loadAll(candidate);
            List<String> problems = minus(problemsOf(r), baseProblems);
            PatternDefinition def = r.patterns().stream().filter(p -> p.source.equals(name)).findFirst().orElse(null);
            Accepted before = byFile.get(f);
            if (!problems.isEmpty() || def == null) {
                if (problems.isEmpty()) problems = List.of(name + ":1:1: no pattern could be read from the file");
                String id = guess(ID_LINE, text);
                Integer version = guess(VERSION_LINE, text) == null ? null : Integer.valueOf(guess(VERSION_LINE, text));
                boolean known = (id != null && accepted.containsKey(id)) || before != null;
                reject(f, sha, id != null ? id : before == null ? null : before.patternId, version, known ? "changed" : "added", problems, now);
                continue;
            }
            Accepted existing = accepted.get(def.id);
            String change;
            if (existing == null) {
                change = "added";
            } else {
                change = existing.enabled == def.enabled ? "changed" : def.enabled ? "enabled" : "disabled";
                if (!existing.file.equals(f) && patternTexts.containsKey(existing.file)) {
                    reject(f, sha, def.id, def.version, change, List.of(name + ":1:1: pattern id '" + def.id
                            + "' is already the id of the running pattern in " + loaderName(root, existing.file)), now);
                    continue;
                }
                if (sha.equals(existing.sha256) || (existing.sha256 == null && existing.version == def.version && existing.file.equals(f))) {
                    // the same text under another file name, or the submission's text we could not hash: nothing to apply
                    existing.file = f;
                    existing.sha256 = sha;
                    base.put(name, text);
                    idTakenFrom.put(f, def.id);
                    continue;
                }
                if (def.version <= existing.version) {
                    String why = def.version == existing.version
                            ? "the file changed but its version is still " + def.version
                            : "version " + def.version + " is lower than the running version " + existing.version;
                    reject(f, sha, def.id, def.version, change, List.of(name + ":" + versionPosition(text) + ": " + why
                            + "; version numbers only go forward: give it version " + (existing.version + 1) + " or more"), now);
                    continue;
                }
                String shape = stepShape(def);
                if (def.onChange == PatternDefinition.OnChange.KEEP && existing.enabled && def.enabled && existing.steps != null
                        && !existing.steps.equals(shape)) {
                    reject(f, sha, def.id, def.version, change, List.of(name + ":" + keyPosition(text, "on_change")
                            + ": on_change: keep needs the same steps as the running version " + existing.version
                            + " (names, order, absence, quantifiers) so that its open matches can go on: it has ["
                            + existing.steps + "], this version [" + shape + "]; use drain or restart for this change"), now);
                    continue;
                }
            }
            accepted.put(def.id, new Accepted(def.id, def.version, f, sha, def.enabled, stepShape(def)));
            rejected.remove(f);
            base.put(name, text);
            baseProblems = problemsOf(r);
            idTakenFrom.put(f, def.id);
            output.collect(new StreamRecord<>(PatternChange.upsert(def.id, def.version, name, text, activateAt, now), activateAt));
            accept(def.id, def.version, f, change, activateAt, now);
        }

        // deleted files, and ids a file no longer holds (unless a rejected file still claims them: then the old version runs on)
        for (Accepted a : new ArrayList<>(accepted.values())) {
            boolean gone = !patternTexts.containsKey(a.file);
            String holder = idTakenFrom.get(a.file);
            boolean replaced = holder != null && !holder.equals(a.patternId);
            if (!gone && !replaced) continue;
            if (!replaced && rejected.values().stream().anyMatch(x -> a.patternId.equals(x.patternId))) continue;
            accepted.remove(a.patternId);
            output.collect(new StreamRecord<>(PatternChange.delete(a.patternId, a.version, loaderName(root, a.file), activateAt, now), activateAt));
            accept(a.patternId, a.version, a.file, "deleted", activateAt, now);
        }
    }

    private long activationTime(long now) {
        long from = lastWatermark == Long.MIN_VALUE ? now : lastWatermark;
        long t = from + delayMillis;
        return t < from ? Long.MAX_VALUE : t; // saturate (the watermark at the end of input is Long.MAX_VALUE)
    }

    private void accept(String id, int version, String file, String change, long activateAt, long now) {
        acceptedCount.inc();
        LOG.info("pattern change accepted: {} v{} {} ({}), in effect from event time {}", id, version, change, file, Instant.ofEpochMilli(activateAt));
        output.collect(PATTERN_EVENTS, new StreamRecord<>(record("accepted", id, version, file, change, List.of(), activateAt, now), activateAt));
    }

    private void reject(String file, String sha, String id, Integer version, String change, List<String> problems, long now) {
        rejected.put(file, new Rejected(file, sha, id));
        rejectedCount.inc();
        Accepted running = id == null ? null : accepted.get(id);
        LOG.warn("pattern change rejected: {} ({}{}); {}; problems:\n  {}", file, id == null ? "unknown id" : id,
                version == null ? "" : " v" + version,
                running == null ? "nothing of it runs" : "the running version stays: " + running.patternId + " v" + running.version,
                String.join("\n  ", problems));
        long ts = lastWatermark == Long.MIN_VALUE ? now : lastWatermark;
        output.collect(PATTERN_EVENTS, new StreamRecord<>(record("rejected", id, version, file, change, problems, null, now), ts));
    }

    /** The pattern-events record: one line of JSON. */
    static String record(String kind, String id, Integer version, String file, String change, List<String> problems, Long activateAt, long at) {
        ObjectNode n = JSON.createObjectNode();
        n.put("kind", kind);
        n.put("pattern_id", id);
        n.put("version", version);
        n.put("file", file);
        n.put("change", change);
        ArrayNode p = n.putArray("problems");
        problems.forEach(p::add);
        if (activateAt == null) n.putNull("activate_at");
        else n.put("activate_at", Instant.ofEpochMilli(activateAt).toString());
        n.put("at", Instant.ofEpochMilli(at).toString());
        return n.toString();
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

    private String loaderName(Path root, String file) {
        return Files.isDirectory(root) || !root.getFileName().toString().equals(file) ? root.resolve(file).toString() : root.toString();
    }

    static boolean isSegmentsFile(String name, String text) {
        return PatternLoader.SEGMENTS_FILE_NAMES.contains(name) || KIND_SEGMENTS.matcher(text).find();
    }

    private static List<String> problemsOf(PatternLoader.Result r) {
        List<String> out = new ArrayList<>();
        for (PatternProblem p : r.problems()) out.add(p.toString());
        return out;
    }

    /** {@code all} without one occurrence of each of {@code known}. */
    private static List<String> minus(List<String> all, List<String> known) {
        List<String> rest = new ArrayList<>(all);
        for (String k : known) rest.remove(k);
        return rest;
    }

    private static String guess(Pattern p, String text) {
        Matcher m = p.matcher(text);
        return m.find() ? m.group(1) : null;
    }

    /**
     * What must stay the same for open matches to go on under a new version ({@code on_change: keep}):
     * the steps' names and order, which are absences, and each quantifier's shape.
     */
    public static String stepShape(PatternDefinition d) {
        List<String> out = new ArrayList<>();
        for (PatternDefinition.StepDefinition s : d.steps) {
            PatternDefinition.Quantifier q = s.quantifier;
            StringBuilder b = new StringBuilder(s.name);
            if (s.absent) b.append(" absent");
            if (q.min != 1 || q.max != 1) b.append(" ").append(q.min).append("..").append(q.max < 0 ? "" : String.valueOf(q.max));
            if (q.optional) b.append(" optional");
            if (q.greedy) b.append(" greedy");
            if (q.until != null) b.append(" until");
            out.add(b.toString());
        }
        return String.join(", ", out);
    }

    /** LINE:COL of a top-level key, for the editor. */
    private static String keyPosition(String text, String key) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(key) + ":").matcher(text);
        if (!m.find()) return "1:1";
        int line = 1;
        for (int i = 0; i < m.start(); i++) if (text.charAt(i) == '\n') line++;
        return line + ":1";
    }

    /** LINE:COL of the version's value, for the editor. */
    private static String versionPosition(String text) {
        Matcher m = VERSION_LINE.matcher(text);
        if (!m.find()) return "1:1";
        int line = 1;
        for (int i = 0; i < m.start(1); i++) if (text.charAt(i) == '\n') line++;
        int col = m.start(1) - text.lastIndexOf('\n', m.start(1) - 1);
        return line + ":" + col;
    }

    static String fileName(String source) {
        Path p = Path.of(source).getFileName();
        return p == null ? source : p.toString();
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Accepted copy(Accepted a) {
        return new Accepted(a.patternId, a.version, a.file, a.sha256, a.enabled, a.steps);
    }
}
