package io.behaviorcep.reload;

import io.behaviorcep.pattern.PatternChange;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.pattern.PatternProblem;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What one look at the patterns folder means for the running pattern set: which files are new or
 * changed, which of them are accepted (checked with the same loader as {@code validate}, together
 * with the other files of the folder, with versions that only go forward and the {@code on_change:
 * keep} rule), which are rejected and why, and which running patterns are gone.
 *
 * <p>Plain Java on purpose, like Flink CEP's {@code NFA} beside its operator: the
 * {@link PatternWatcherOperator} reads the folder, keeps the result as state and emits the
 * decisions; every rule is here, and tested without Flink.
 */
public final class PatternSetDiff {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern KIND_SEGMENTS = Pattern.compile("(?m)^kind:\\s*[\"']?(segments|traits)[\"']?\\s*(#.*)?$");
    private static final Pattern KIND_POLICY = Pattern.compile("(?m)^kind:\\s*[\"']?policy[\"']?\\s*(#.*)?$");
    /** A key of the definition files' hashes that is no file: the hashes of a first look are there (even of no file). */
    static final String LOOKED = "";
    private static final Pattern ID_LINE = Pattern.compile("(?m)^id:\\s*[\"']?([A-Za-z0-9_.-]+)");
    private static final Pattern VERSION_LINE = Pattern.compile("(?m)^version:\\s*[\"']?(\\d{1,9})");

    private PatternSetDiff() {}

    /**
     * The pattern files as read in one look.
     *
     * @param root     the patterns folder, or the single pattern file, as {@code patterns.dir}
     * @param isFolder whether {@code root} is a folder (a single file is named by {@code root} itself)
     * @param texts    file name (not its folder) to text, of every {@code .yaml}/{@code .yml} file
     */
    public record PatternFolder(Path root, boolean isFolder, Map<String, String> texts) {

        /** The name the loader gives the file: the source of its patterns and of its problems. */
        String sourceName(String file) {
            return isFolder || !root.getFileName().toString().equals(file) ? root.resolve(file).toString() : root.toString();
        }
    }

    /**
     * One accepted pattern: what the engine runs.
     *
     * @param file   the file's name (not its folder): stable when the folder is mounted elsewhere
     * @param sha256 SHA-256 of the file's text; null when the text at submission could not be read
     * @param steps  {@link #stepShape} of this version, for {@code on_change: keep}; null if unknown
     */
    public record RunningPattern(String patternId, int version, String file, String sha256, boolean enabled, String steps) {

        RunningPattern inFile(String newFile, String newSha256) {
            return new RunningPattern(patternId, version, newFile, newSha256, enabled, steps);
        }
    }

    /**
     * A file text that was rejected: not looked at again until the file changes.
     *
     * @param patternId the id the file names, if it could be made out; null otherwise
     */
    public record RejectedFile(String file, String sha256, String patternId) {}

    /** What the watcher must do or say, in this order. */
    public sealed interface Decision permits Upsert, Delete, PatternAccepted, PatternRejected, DefinitionsChanged, DefinitionsRejected {}

    /** A new or changed pattern goes to the engine. */
    public record Upsert(PatternChange change) implements Decision {}

    /** A running pattern stops. */
    public record Delete(PatternChange change) implements Decision {}

    /**
     * A change was accepted: the pattern-events record and the log line.
     *
     * @param change {@code added}, {@code changed}, {@code enabled}, {@code disabled} or {@code deleted}
     */
    public record PatternAccepted(String patternId, int version, String file, String change, long activateAt, long at) implements Decision {

        /** The pattern-events record: one line of JSON. */
        public String toJson() {
            return record("accepted", patternId, version, file, change, List.of(), activateAt, at);
        }
    }

    /**
     * A file was rejected; the version that ran before runs on.
     *
     * @param patternId the id the file names, if it could be made out
     * @param version   the version the file names, if it could be made out
     * @param running   what runs under that id instead, if anything
     */
    public record PatternRejected(String file, String patternId, Integer version, String change, List<String> problems,
                                  RunningPattern running, long at) implements Decision {

        public String toJson() {
            return record("rejected", patternId, version, file, change, problems, null, at);
        }
    }

    /**
     * The threshold segments and computed traits files ({@code kind: segments}, {@code kind: traits})
     * changed and pass {@code validate} with the running patterns: {@code change} carries every such
     * file's text to the profile operator, which takes them at {@link PatternChange#activateAt}.
     *
     * @param files the definition files that changed, were added or were removed
     */
    public record DefinitionsChanged(PatternChange change, List<String> files) implements Decision {

        public String toJson() {
            return record("accepted", null, null, String.join(",", files), "definitions", List.of(), change.activateAt, change.acceptedAt);
        }
    }

    /** The changed definition files do not pass {@code validate}: the running segments and traits stay. */
    public record DefinitionsRejected(List<String> files, List<String> problems, long at) implements Decision {

        public String toJson() {
            return record("rejected", null, null, String.join(",", files), "definitions", problems, null, at);
        }
    }

    /**
     * @param running           the running set after this look, by pattern id
     * @param rejected          the rejected file texts after this look, by file
     * @param segmentFileHashes the segment files' hashes seen in this look, to compare the next look with
     */
    public record Result(List<Decision> decisions, Map<String, RunningPattern> running, Map<String, RejectedFile> rejected,
                         Map<String, String> segmentFileHashes) {}

    /**
     * Compares the folder with the running set.
     *
     * @param running           the running set, by pattern id
     * @param rejected          the file texts rejected before, by file
     * @param segmentFileHashes the segment files' hashes of the previous look (empty for the first)
     * @param now               the wall-clock time of this look
     * @param activateAt        the event time from which accepted changes apply
     */
    public static Result compare(PatternFolder folder, Map<String, RunningPattern> running, Map<String, RejectedFile> rejected,
                                 Map<String, String> segmentFileHashes, long now, long activateAt) {
        return new Comparison(folder, running, rejected, segmentFileHashes, now, activateAt).run();
    }

    /** The state of one {@link #compare}: the working copies it changes as it goes through the files. */
    private static final class Comparison {
        private final PatternFolder folder;
        private final long now;
        private final long activateAt;
        private final Map<String, RunningPattern> accepted;
        private final Map<String, RejectedFile> rejected;
        private final Map<String, String> segmentFileHashes;
        private final List<Decision> decisions = new ArrayList<>();

        Comparison(PatternFolder folder, Map<String, RunningPattern> running, Map<String, RejectedFile> rejected,
                   Map<String, String> segmentFileHashes, long now, long activateAt) {
            this.folder = folder;
            this.now = now;
            this.activateAt = activateAt;
            this.accepted = new TreeMap<>(running);
            this.rejected = new TreeMap<>(rejected);
            this.segmentFileHashes = new HashMap<>(segmentFileHashes);
        }

        private Result done() {
            return new Result(List.copyOf(decisions), Collections.unmodifiableMap(accepted),
                    Collections.unmodifiableMap(rejected), Collections.unmodifiableMap(segmentFileHashes));
        }

        Result run() {
            Map<String, String> texts = folder.texts();
            Map<String, String> patternTexts = new TreeMap<>();
            Map<String, String> hashes = new HashMap<>();
            Map<String, String> definitionHashes = new TreeMap<>();
            definitionHashes.put(LOOKED, LOOKED);
            for (Map.Entry<String, String> f : texts.entrySet()) {
                String sha = sha256(f.getValue());
                hashes.put(f.getKey(), sha);
                // the messaging policy is read at submission only (a change takes a restart): not a pattern
                if (isPolicyFile(f.getValue())) continue;
                if (isSegmentsFile(f.getKey(), f.getValue())) {
                    definitionHashes.put(f.getKey(), sha);
                } else {
                    patternTexts.put(f.getKey(), f.getValue());
                }
            }
            definitions(definitionHashes, patternTexts, hashes);
            rejected.keySet().removeIf(f -> !patternTexts.containsKey(f) || !rejected.get(f).sha256().equals(hashes.get(f)));

            Map<String, RunningPattern> byFile = new HashMap<>();
            for (RunningPattern a : accepted.values()) byFile.put(a.file(), a);
            List<String> changed = new ArrayList<>();
            for (String f : patternTexts.keySet()) {
                RunningPattern a = byFile.get(f);
                boolean same = a != null && hashes.get(f).equals(a.sha256());
                if (!same && !rejected.containsKey(f)) changed.add(f);
            }
            boolean anyRemoved = accepted.values().stream().anyMatch(a -> !patternTexts.containsKey(a.file()));
            if (changed.isEmpty() && !anyRemoved) return done();

            // what runs now, as files: segment files and pattern files whose text is the accepted one
            Map<String, String> base = new TreeMap<>();
            for (Map.Entry<String, String> f : texts.entrySet()) {
                String name = f.getKey();
                RunningPattern a = byFile.get(name);
                if (!patternTexts.containsKey(name) || (a != null && hashes.get(name).equals(a.sha256()))) base.put(folder.sourceName(name), f.getValue());
            }
            List<String> baseProblems = changed.isEmpty() ? List.of() : problemsOf(PatternLoader.loadAll(base));
            Map<String, String> idTakenFrom = new HashMap<>(); // file -> id it now holds (accepted in this look)

            for (String f : changed) {
                String text = patternTexts.get(f);
                String sha = hashes.get(f);
                String name = folder.sourceName(f);
                Map<String, String> candidate = new TreeMap<>(base);
                candidate.put(name, text);
                PatternLoader.Result r = PatternLoader.loadAll(candidate);
                List<String> problems = minus(problemsOf(r), baseProblems);
                PatternDefinition def = r.patterns().stream().filter(p -> p.source.equals(name)).findFirst().orElse(null);
                RunningPattern before = byFile.get(f);
                if (!problems.isEmpty() || def == null) {
                    if (problems.isEmpty()) problems = List.of(name + ":1:1: no pattern could be read from the file");
                    String id = guess(ID_LINE, text);
                    String versionText = guess(VERSION_LINE, text);
                    Integer version = versionText == null ? null : Integer.valueOf(versionText);
                    boolean known = (id != null && accepted.containsKey(id)) || before != null;
                    reject(f, sha, id != null ? id : before == null ? null : before.patternId(), version, known ? "changed" : "added", problems);
                    continue;
                }
                RunningPattern existing = accepted.get(def.id);
                String change;
                if (existing == null) {
                    change = "added";
                } else {
                    change = existing.enabled() == def.enabled ? "changed" : def.enabled ? "enabled" : "disabled";
                    if (!existing.file().equals(f) && patternTexts.containsKey(existing.file())) {
                        reject(f, sha, def.id, def.version, change, List.of(name + ":1:1: pattern id '" + def.id
                                + "' is already the id of the running pattern in " + folder.sourceName(existing.file())));
                        continue;
                    }
                    if (sha.equals(existing.sha256()) || (existing.sha256() == null && existing.version() == def.version && existing.file().equals(f))) {
                        // the same text under another file name, or the submission's text that could not be hashed: nothing to apply
                        accepted.put(def.id, existing.inFile(f, sha));
                        base.put(name, text);
                        idTakenFrom.put(f, def.id);
                        continue;
                    }
                    if (def.version <= existing.version()) {
                        String why = def.version == existing.version()
                                ? "the file changed but its version is still " + def.version
                                : "version " + def.version + " is lower than the running version " + existing.version();
                        reject(f, sha, def.id, def.version, change, List.of(name + ":" + versionPosition(text) + ": " + why
                                + "; version numbers only go forward: give it version " + (existing.version() + 1) + " or more"));
                        continue;
                    }
                    String keepProblem = keepProblem(existing, def);
                    if (keepProblem != null) {
                        reject(f, sha, def.id, def.version, change, List.of(name + ":" + keyPosition(text, "on_change") + ": " + keepProblem));
                        continue;
                    }
                }
                accepted.put(def.id, new RunningPattern(def.id, def.version, f, sha, def.enabled, stepShape(def)));
                rejected.remove(f);
                base.put(name, text);
                baseProblems = problemsOf(r);
                idTakenFrom.put(f, def.id);
                decisions.add(new Upsert(PatternChange.upsert(def.id, def.version, name, text, activateAt, now)));
                decisions.add(new PatternAccepted(def.id, def.version, f, change, activateAt, now));
            }

            // deleted files, and ids a file no longer holds (unless a rejected file still claims them: then the old version runs on)
            for (RunningPattern a : new ArrayList<>(accepted.values())) {
                boolean gone = !patternTexts.containsKey(a.file());
                String holder = idTakenFrom.get(a.file());
                boolean replaced = holder != null && !holder.equals(a.patternId());
                if (!gone && !replaced) continue;
                if (!replaced && rejected.values().stream().anyMatch(x -> a.patternId().equals(x.patternId()))) continue;
                accepted.remove(a.patternId());
                decisions.add(new Delete(PatternChange.delete(a.patternId(), a.version(), folder.sourceName(a.file()), activateAt, now)));
                decisions.add(new PatternAccepted(a.patternId(), a.version(), a.file(), "deleted", activateAt, now));
            }
            return done();
        }

        /**
         * Segments and traits files: a change of any of them is checked with the running patterns (a
         * pattern may read a trait or a segment's name) and, if valid, sent as a whole; the first look
         * only records them (they are what the job started with).
         */
        private void definitions(Map<String, String> now, Map<String, String> patternTexts, Map<String, String> hashes) {
            Map<String, String> before = new TreeMap<>(segmentFileHashes);
            segmentFileHashes.clear();
            segmentFileHashes.putAll(now);
            if (before.isEmpty() || before.equals(now)) return;
            List<String> changedFiles = new ArrayList<>();
            for (String f : now.keySet()) if (!f.equals(LOOKED) && !now.get(f).equals(before.get(f))) changedFiles.add(f);
            for (String f : before.keySet()) if (!f.equals(LOOKED) && !now.containsKey(f)) changedFiles.add(f);
            Map<String, RunningPattern> byFile = new HashMap<>();
            for (RunningPattern a : accepted.values()) byFile.put(a.file(), a);
            Map<String, String> candidate = new TreeMap<>();
            Map<String, String> files = new TreeMap<>();
            for (Map.Entry<String, String> f : folder.texts().entrySet()) {
                String name = f.getKey();
                RunningPattern a = byFile.get(name);
                if (now.containsKey(name)) {
                    candidate.put(folder.sourceName(name), f.getValue());
                    files.put(folder.sourceName(name), f.getValue());
                } else if (patternTexts.containsKey(name) && a != null && hashes.get(name).equals(a.sha256())) {
                    candidate.put(folder.sourceName(name), f.getValue());
                }
            }
            List<String> problems = problemsOf(PatternLoader.loadAll(candidate));
            if (!problems.isEmpty()) {
                decisions.add(new DefinitionsRejected(changedFiles, problems, now()));
                return;
            }
            decisions.add(new DefinitionsChanged(PatternChange.definitions(files, activateAt, this.now), changedFiles));
        }

        private long now() {
            return now;
        }

        private void reject(String file, String sha, String id, Integer version, String change, List<String> problems) {
            rejected.put(file, new RejectedFile(file, sha, id));
            RunningPattern runningInstead = id == null ? null : accepted.get(id);
            decisions.add(new PatternRejected(file, id, version, change, problems, runningInstead, now));
        }
    }

    /**
     * Why {@code next} cannot take over the open matches of {@code running} under {@code on_change:
     * keep}, or null if it can (or does not ask to): its steps must have the running version's shape.
     */
    static String keepProblem(RunningPattern running, PatternDefinition next) {
        String shape = stepShape(next);
        if (next.onChange != PatternDefinition.OnChange.KEEP || !running.enabled() || !next.enabled || running.steps() == null
                || running.steps().equals(shape)) {
            return null;
        }
        return "on_change: keep needs the same steps as the running version " + running.version()
                + " (names, order, absence, quantifiers) so that its open matches can go on: it has ["
                + running.steps() + "], this version [" + shape + "]; use drain or restart for this change";
    }

    /**
     * What must stay the same for open matches to go on under a new version ({@code on_change: keep}):
     * the steps' names and order, which are absences, and each quantifier's shape.
     */
    public static String stepShape(PatternDefinition d) {
        return stepShape(d.steps);
    }

    private static String stepShape(List<PatternDefinition.StepDefinition> steps) {
        List<String> out = new ArrayList<>();
        for (PatternDefinition.StepDefinition s : steps) {
            PatternDefinition.Quantifier q = s.quantifier;
            StringBuilder b = new StringBuilder(s.name);
            if (s.isGroup()) b.append(" group [").append(stepShape(s.group)).append("]");
            if (s.absent) b.append(" absent");
            if (q.min != 1 || q.max != 1) b.append(" ").append(q.min).append("..").append(q.max < 0 ? "" : String.valueOf(q.max));
            if (q.optional) b.append(" optional");
            if (q.greedy) b.append(" greedy");
            if (q.until != null) b.append(" until");
            out.add(b.toString());
        }
        return String.join(", ", out);
    }

    /** Whether the file holds threshold segments or computed traits rather than a pattern (by its name or its {@code kind}). */
    static boolean isSegmentsFile(String name, String text) {
        return PatternLoader.SEGMENTS_FILE_NAMES.contains(name) || name.equals("traits.yaml") || name.equals("traits.yml")
                || KIND_SEGMENTS.matcher(text).find();
    }

    /** Whether the file is the messaging policy ({@code kind: policy}), which the loader and the watcher leave to PolicyFile. */
    static boolean isPolicyFile(String text) {
        return KIND_POLICY.matcher(text).find();
    }

    /** The definition files' hashes of a first look, to compare the next look with. */
    public static Map<String, String> definitionHashes(Map<String, String> texts) {
        Map<String, String> out = new TreeMap<>();
        out.put(LOOKED, LOOKED);
        for (Map.Entry<String, String> f : texts.entrySet()) if (isSegmentsFile(f.getKey(), f.getValue())) out.put(f.getKey(), sha256(f.getValue()));
        return out;
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
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
}
