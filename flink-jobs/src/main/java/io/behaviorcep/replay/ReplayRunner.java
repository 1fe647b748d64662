package io.behaviorcep.replay;

import io.behaviorcep.BehaviorCepPipeline;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.event.RawRecord;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.segment.SegmentUpdate;
import io.behaviorcep.pattern.ThresholdSegment;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Runs pattern files over recorded history: the unchanged streaming pipeline (parse and validate,
 * dedup, profile, threshold segments, the compiled Flink CEP patterns, caps and segments) as a
 * bounded job on a local Flink, with {@link ReplayIO} around it.
 *
 * <p><b>Order does not matter.</b> In batch execution Flink sorts each keyed input by user and
 * time and emits only the final watermark, at the end of each user's input, so no event is late
 * and the profile and the pattern engine see each user's events in event-time order (ties by
 * messageId, in the profile operator). In streaming execution the same holds because the
 * out-of-orderness is set to a century: the watermark stays behind every event until the input
 * ends. Either way the outcome is a function of the set of events, not of their order, and
 * duplicates (same user and messageId) are dropped as in streaming. {@link Mode} says which
 * execution a replay uses.
 *
 * <p><b>Only decided outcomes count.</b> At the end of input the job decides everything (the final
 * watermark passes every deadline). Whatever it decided for a time after the last event of the
 * input, such as an abandonment whose 15 minutes had not run out when the recording stopped, is
 * not known from the data: it is dropped from the results and counted as pending, per pattern.
 */
public final class ReplayRunner {
    /** events.max-out-of-orderness of a replay: the watermark stays behind every event until the end. */
    static final String CENTURY = "36500d";

    /**
     * How the bounded job runs. BATCH sorts each user's events and spills to disk, so history of
     * any size fits; STREAMING keeps every event in memory until the end. They decide the same,
     * except that threshold segments ({@code segments.yaml}) change membership on timers the
     * profile operator sets while it is being told that a user's input has ended, which batch
     * execution ignores: AUTO (the default) therefore picks STREAMING when there are enabled
     * threshold segments and BATCH otherwise.
     */
    public enum Mode { AUTO, BATCH, STREAMING }

    /** Recorded events: files, or a range of the live topic. */
    public record Input(EventFiles files, KafkaRange kafka) {
        public static Input of(EventFiles files) {
            return new Input(files, null);
        }

        public static Input of(KafkaRange kafka) {
            return new Input(null, kafka);
        }

        public String describe() {
            if (files != null) {
                List<Path> f = files.files();
                return f.size() == 1 ? f.get(0).toString() : f.size() + " files (" + f.get(0).getParent() + ")";
            }
            return kafka.describe();
        }

        DataStream<RawRecord> stream(StreamExecutionEnvironment env, String runId) {
            return files != null ? files.stream(env, runId) : kafka.stream(env, runId);
        }
    }

    public static final class Options {
        public Input input;
        public List<PatternDefinition> patterns;
        /** Threshold segments of the pattern folder ({@code segments.yaml}). */
        public List<ThresholdSegment> segments = List.of();
        /** Computed traits of the pattern folder ({@code kind: traits}): computed from the replayed history. */
        public List<io.behaviorcep.pattern.TraitDefinition> traits = List.of();
        public String patternsLabel = "patterns";
        public Path out;
        public JobConfig config;
        public int parallelism = Runtime.getRuntime().availableProcessors();
        public Mode mode = Mode.AUTO;
        /** Where the progress goes (null: nowhere), and whether it is a terminal (a bar) or not (lines). */
        public PrintStream progress;
        public boolean terminal;

        public Options copy() {
            Options o = new Options();
            o.input = input;
            o.patterns = patterns;
            o.segments = segments;
            o.traits = traits;
            o.patternsLabel = patternsLabel;
            o.out = out;
            o.config = config;
            o.parallelism = parallelism;
            o.mode = mode;
            o.progress = progress;
            o.terminal = terminal;
            return o;
        }
    }

    /** The decision outcomes of experiments and holdouts in a result folder, one record a line as on the outcomes topic. */
    public static final String OUTCOMES_FILE = "outcomes.jsonl";

    /** One output document with what it is sorted and cut by. */
    record Outcome(long at, String user, String key, JsonNode doc) {}

    /** The decided results (sorted, as written to the files) and the summary. */
    public static final class Result {
        public final ReplaySummary summary;
        public final List<JsonNode> alerts;
        public final List<JsonNode> segments;
        public final List<JsonNode> pendingAlerts;
        public final List<JsonNode> pendingSegments;
        public final List<JsonNode> deadLetters;
        public final Map<String, Set<String>> usersByPattern;

        Result(ReplaySummary summary, List<JsonNode> alerts, List<JsonNode> segments, List<JsonNode> pendingAlerts,
               List<JsonNode> pendingSegments, List<JsonNode> deadLetters, Map<String, Set<String>> usersByPattern) {
            this.summary = summary;
            this.alerts = alerts;
            this.segments = segments;
            this.pendingAlerts = pendingAlerts;
            this.pendingSegments = pendingSegments;
            this.deadLetters = deadLetters;
            this.usersByPattern = usersByPattern;
        }
    }

    private ReplayRunner() {}

    /** The job settings of a replay: the given ones, with event time held back until the end of input. */
    public static JobConfig replayConfig(JobConfig base) {
        return base.with("events.max-out-of-orderness", CENTURY)
                .with("events.idle-advance", "false")
                .with("events.idle-timeout", CENTURY);
    }

    public static Result run(Options o) throws Exception {
        quietBatchTimerWarnings();
        if (o.patterns.stream().noneMatch(p -> p.enabled) && o.segments.stream().noneMatch(x -> x.enabled)) {
            throw new IllegalArgumentException("no enabled pattern or segment in " + o.patternsLabel);
        }
        Mode mode = mode(o);
        String runId = UUID.randomUUID().toString();
        Files.createDirectories(o.out);
        Path work = o.out.resolve(".replay-work-" + runId);
        ReplayProgress.Counters counters = ReplayProgress.counters(runId);
        try {
            Configuration conf = new Configuration();
            conf.set(ExecutionOptions.RUNTIME_MODE, mode == Mode.BATCH ? RuntimeExecutionMode.BATCH : RuntimeExecutionMode.STREAMING);
            // every record type has a Flink serializer; a Kryo fallback would be a bug (and slow)
            conf.setString("pipeline.generic-types", "false");
            conf.setString("restart-strategy.type", "none");
            conf.setString("state.backend.type", "hashmap");
            localClusterSettings(conf);
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
            env.setParallelism(o.parallelism);
            JobConfig config = replayConfig(o.config);
            BehaviorCepPipeline.build(env, config, o.patterns, o.segments, o.traits, new ReplayIO(e -> o.input.stream(e, runId), work, config, mode == Mode.BATCH));

            ReplayProgress.Unit unit = o.input.files() != null ? ReplayProgress.Unit.BYTES : ReplayProgress.Unit.RECORDS;
            long total = o.input.files() != null ? o.input.files().totalBytes() : o.input.kafka().estimateRecords();
            long t0 = System.nanoTime();
            JobExecutionResult job;
            try (ReplayProgress ignored = ReplayProgress.start("replay", counters, total, unit, o.progress, o.terminal)) {
                job = env.execute("behavior-cep replay (" + o.patternsLabel + ")");
            }
            double seconds = (System.nanoTime() - t0) / 1e9;

            ReplaySummary s = new ReplaySummary();
            s.input = o.input.describe();
            s.patterns = o.patternsLabel;
            s.mode = mode.name().toLowerCase(java.util.Locale.ROOT);
            s.parallelism = o.parallelism;
            s.seconds = seconds;
            s.records = counters.records.get();
            Long events = job.getAccumulatorResult(ReplayIO.ACC_EVENTS);
            s.events = events == null ? 0 : events;
            if (s.events > 0) {
                s.firstEventTime = job.<Long>getAccumulatorResult(ReplayIO.ACC_FIRST);
                s.horizon = job.<Long>getAccumulatorResult(ReplayIO.ACC_LAST);
            }
            return collect(o, s, work);
        } finally {
            ReplayProgress.release(runId);
            ReplayIO.deleteQuietly(work);
        }
    }

    /** The mode a replay runs in: see {@link Mode}. */
    public static Mode mode(Options o) {
        boolean thresholds = o.segments.stream().anyMatch(x -> x.enabled);
        if (o.mode == Mode.AUTO) return thresholds ? Mode.STREAMING : Mode.BATCH;
        if (o.mode == Mode.BATCH && thresholds) {
            throw new IllegalArgumentException("threshold segments (" + o.patternsLabel + ") need streaming execution: "
                    + "batch execution ignores the timers that decide their changes after a user's last event; leave out --mode batch");
        }
        return o.mode;
    }

    /**
     * Settings for the local Flink a replay starts (a shared test cluster keeps its own): one
     * machine, so compressing the data exchanged between stages only costs CPU (about a tenth of
     * a replay's).
     */
    static void localClusterSettings(Configuration conf) {
        conf.setString("taskmanager.network.compression.codec", "NONE");
    }

    /**
     * In batch execution Flink fires a user's timers once, at the end of that user's input, with
     * the watermark at its maximum, and logs a warning for every timer an operator registers
     * meanwhile (a profile clean-up, a segment's expiry). They are not needed, because that one
     * pass decides everything up to the end of time (the actions operator applies expiries in the
     * same pass; threshold segments, which do need them, run in streaming, see {@link Mode}), but
     * there is one per user and operator: hundreds of thousands of log lines.
     * log4j is there at run time only, hence reflection; without it nothing happens.
     */
    static void quietBatchTimerWarnings() {
        try {
            Class<?> level = Class.forName("org.apache.logging.log4j.Level");
            Class.forName("org.apache.logging.log4j.core.config.Configurator")
                    .getMethod("setLevel", String.class, level)
                    .invoke(null, "org.apache.flink.streaming.api.operators.sorted.state.BatchExecutionInternalTimeService",
                            level.getField("ERROR").get(null));
        } catch (ReflectiveOperationException | LinkageError e) {
            // another logging backend: the warnings stay
        }
    }

    /** Cuts the job's outputs at the horizon, sorts them, writes the result files and fills in the summary. */
    private static Result collect(Options o, ReplaySummary s, Path work) throws IOException {
        long horizon = s.horizon;
        List<Outcome> alerts = new ArrayList<>();
        List<Outcome> pendingAlerts = new ArrayList<>();
        for (JsonNode a : parts(work, "alerts")) {
            Outcome out = new Outcome(ReplayDocs.millis(a.get("detected_at")), a.get("user_id").asText(), a.get("pattern_id").asText(), a);
            (out.at() <= horizon ? alerts : pendingAlerts).add(out);
        }
        List<Outcome> segments = new ArrayList<>();
        List<Outcome> pendingSegments = new ArrayList<>();
        for (JsonNode u : parts(work, "segments")) {
            Outcome out = new Outcome(ReplayDocs.millis(u.get("at")), u.get("user_id").asText(), u.get("reason").asText(), u);
            (out.at() <= horizon ? segments : pendingSegments).add(out);
        }
        List<JsonNode> dlq = parts(work, "dlq");
        dlq.sort(Comparator.comparing((JsonNode d) -> d.get("source").asText()).thenComparingLong(d -> d.get("partition").asLong())
                .thenComparingLong(d -> d.get("offset").asLong()));
        s.deadLetters = dlq.size();
        s.lateEvents = parts(work, "late").size();

        Comparator<Outcome> alertOrder = Comparator.comparingLong(Outcome::at).thenComparing(Outcome::user)
                .thenComparing(Outcome::key).thenComparing(a -> a.doc().get("alert_id").asText());
        Comparator<Outcome> segmentOrder = Comparator.comparingLong(Outcome::at).thenComparing(Outcome::user)
                .thenComparing(u -> u.doc().get("segment").asText()).thenComparingLong(u -> u.doc().get("version").asLong());
        alerts.sort(alertOrder);
        pendingAlerts.sort(alertOrder);
        segments.sort(segmentOrder);
        pendingSegments.sort(segmentOrder);

        Map<String, Set<String>> users = new TreeMap<>();
        for (PatternDefinition p : o.patterns) {
            if (!p.enabled) continue;
            long nAlerts = alerts.stream().filter(a -> a.key().equals(p.id)).count();
            List<Outcome> enters = segments.stream()
                    .filter(u -> u.key().equals(p.id) && SegmentUpdate.ENTER.equals(u.doc().get("action").asText())).toList();
            Set<String> hit = new TreeSet<>();
            alerts.stream().filter(a -> a.key().equals(p.id)).forEach(a -> hit.add(a.user()));
            enters.forEach(u -> hit.add(u.user()));
            users.put(p.id, hit);
            // one undecided match shows as an alert and a segment entry at the same time: count matches
            Set<String> pending = new HashSet<>();
            pendingAlerts.stream().filter(a -> a.key().equals(p.id)).forEach(a -> pending.add(a.user() + "@" + a.at()));
            pendingSegments.stream().filter(u -> u.key().equals(p.id)).forEach(u -> pending.add(u.user() + "@" + u.at()));
            s.byPattern.put(p.id, new ReplaySummary.PatternStats(p.version, nAlerts, enters.size(), hit.size(), pending.size()));
        }
        // threshold segments: whom each one takes in, as "segment:<id>" next to the patterns
        for (ThresholdSegment t : o.segments) {
            if (!t.enabled) continue;
            Set<String> hit = new TreeSet<>();
            segments.stream().filter(u -> u.key().equals(t.id) && SegmentUpdate.ENTER.equals(u.doc().get("action").asText()))
                    .forEach(u -> hit.add(u.user()));
            users.put("segment:" + t.id, hit);
        }
        Set<String> segmentNames = new TreeSet<>();
        for (PatternDefinition p : o.patterns) if (p.enabled && p.segment != null) segmentNames.add(p.segment.name);
        for (ThresholdSegment t : o.segments) if (t.enabled) segmentNames.add(t.id);
        for (String name : segmentNames) {
            Map<String, JsonNode> last = new HashMap<>();
            long enters = 0;
            long exits = 0;
            for (Outcome u : segments) {
                if (!u.doc().get("segment").asText().equals(name)) continue;
                if (SegmentUpdate.ENTER.equals(u.doc().get("action").asText())) enters++;
                else exits++;
                last.merge(u.user(), u.doc(), (a, b) -> a.get("version").asLong() >= b.get("version").asLong() ? a : b);
            }
            long members = last.values().stream().filter(d -> SegmentUpdate.ENTER.equals(d.get("action").asText())).count();
            // per user, not per update: a membership that begins and ends after the horizon (an entry, then its
            // TTL) is one user whose outcome is not known from the data
            long pending = pendingSegments.stream().filter(u -> u.doc().get("segment").asText().equals(name)).map(Outcome::user).distinct().count();
            s.bySegment.put(name, new ReplaySummary.SegmentStats(members, enters, exits, pending));
        }

        write(o.out.resolve("alerts.jsonl"), alerts.stream().map(Outcome::doc).toList());
        write(o.out.resolve("segments.jsonl"), segments.stream().map(Outcome::doc).toList());
        write(o.out.resolve(OUTCOMES_FILE), decidedOutcomes(work, horizon));
        write(o.out.resolve("dlq.jsonl"), dlq);
        // the messaging policy's decisions (none without a policy), decided up to the horizon, in time order
        List<JsonNode> decisions = new ArrayList<>(parts(work, "alert-decisions").stream()
                .filter(d -> ReplayDocs.millis(d.get("decided_at")) <= horizon).toList());
        decisions.sort(Comparator.comparingLong((JsonNode d) -> ReplayDocs.millis(d.get("decided_at")))
                .thenComparing(d -> d.get("user_id").asText()).thenComparing(d -> d.get("decision_id").asText()));
        write(o.out.resolve("alert-decisions.jsonl"), decisions);
        Files.writeString(o.out.resolve("summary.json"),
                io.behaviorcep.output.OutputJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(s.toJson()) + "\n");
        return new Result(s, docs(alerts), docs(segments), docs(pendingAlerts), docs(pendingSegments), dlq, users);
    }

    /**
     * The outcomes (docs/contracts.md, "Outcomes") decided by the horizon (the goal event, or the end of
     * the goal's window), in the order they were decided, then by decision id: as the stream writes them.
     */
    static List<JsonNode> decidedOutcomes(Path work, long horizon) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode n : parts(work, "outcomes")) if (decidedAt(n) <= horizon) out.add(n);
        out.sort(Comparator.comparingLong(ReplayRunner::decidedAt).thenComparing(n -> n.get("decision_id").asText()));
        return out;
    }

    private static long decidedAt(JsonNode outcome) {
        return outcome.get("converted").asBoolean() ? ReplayDocs.millis(outcome.get("converted_at"))
                : ReplayDocs.millis(outcome.get("decided_at")) + outcome.get("goal_within_ms").asLong();
    }

    private static List<JsonNode> docs(List<Outcome> l) {
        return l.stream().map(Outcome::doc).toList();
    }

    private static List<JsonNode> parts(Path work, String what) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        if (!Files.isDirectory(work)) return out;
        List<Path> files;
        try (Stream<Path> s = Files.list(work)) {
            files = s.filter(p -> p.getFileName().toString().startsWith(what + "-")).sorted().toList();
        }
        for (Path f : files) {
            try (BufferedReader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
                String line;
                while ((line = r.readLine()) != null) if (!line.isEmpty()) out.add(ReplayDocs.read(line));
            }
        }
        return out;
    }

    private static void write(Path file, List<JsonNode> docs) throws IOException {
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (JsonNode d : docs) {
                w.write(d.toString());
                w.write('\n');
            }
        }
    }

    /** Per pattern: users hit only by set A, only by set B, by both. */
    public record ComparisonRow(String patternId, Set<String> onlyA, Set<String> onlyB, Set<String> both) {}

    public record Comparison(Result a, Result b, List<ComparisonRow> rows) {
        public String table(String labelA, String labelB) {
            StringBuilder sb = new StringBuilder();
            sb.append("A = ").append(labelA).append("\nB = ").append(labelB).append("\n\n");
            int w = Math.max(7, rows.stream().mapToInt(r -> r.patternId().length()).max().orElse(0));
            sb.append(String.format(java.util.Locale.ROOT, "%-" + w + "s  %9s  %9s  %9s%n", "pattern", "only A", "only B", "both"));
            for (ComparisonRow r : rows) {
                sb.append(String.format(java.util.Locale.ROOT, "%-" + w + "s  %,9d  %,9d  %,9d%n", r.patternId(),
                        r.onlyA().size(), r.onlyB().size(), r.both().size()));
            }
            return sb.toString();
        }
    }

    /**
     * Runs two pattern sets over the same input, A into {@code out/a}, B into {@code out/b}, and
     * compares whom each pattern (by id) hits, and whom each threshold segment takes in
     * ({@code segment:<id>}); writes {@code out/compare.json}.
     */
    public static Comparison compare(Options a, List<PatternDefinition> patternsB, List<ThresholdSegment> segmentsB, String labelB)
            throws Exception {
        return compare(a, patternsB, segmentsB, a.traits, labelB);
    }

    /** @param traitsB the computed traits of the second folder */
    public static Comparison compare(Options a, List<PatternDefinition> patternsB, List<ThresholdSegment> segmentsB,
                                     List<io.behaviorcep.pattern.TraitDefinition> traitsB, String labelB) throws Exception {
        Path out = a.out;
        Options oa = a.copy();
        oa.out = out.resolve("a");
        Options ob = a.copy();
        ob.out = out.resolve("b");
        ob.patterns = patternsB;
        ob.segments = segmentsB;
        ob.traits = traitsB;
        ob.patternsLabel = labelB;
        Result ra = run(oa);
        Result rb = run(ob);
        Set<String> ids = new TreeSet<>();
        ids.addAll(ra.usersByPattern.keySet());
        ids.addAll(rb.usersByPattern.keySet());
        List<ComparisonRow> rows = new ArrayList<>();
        for (String id : ids) {
            Set<String> ua = ra.usersByPattern.getOrDefault(id, Set.of());
            Set<String> ub = rb.usersByPattern.getOrDefault(id, Set.of());
            Set<String> onlyA = new TreeSet<>(ua);
            onlyA.removeAll(ub);
            Set<String> onlyB = new TreeSet<>(ub);
            onlyB.removeAll(ua);
            Set<String> both = new TreeSet<>(ua);
            both.retainAll(ub);
            rows.add(new ComparisonRow(id, onlyA, onlyB, both));
        }
        var json = io.behaviorcep.output.OutputJson.MAPPER.createObjectNode();
        json.put("a", a.patternsLabel);
        json.put("b", labelB);
        var pj = json.putObject("patterns");
        for (ComparisonRow r : rows) {
            var n = pj.putObject(r.patternId());
            n.put("only_a", r.onlyA().size()).put("only_b", r.onlyB().size()).put("both", r.both().size());
            r.onlyA().forEach(n.withArray("users_only_a")::add);
            r.onlyB().forEach(n.withArray("users_only_b")::add);
        }
        Files.writeString(out.resolve("compare.json"),
                io.behaviorcep.output.OutputJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(json) + "\n");
        return new Comparison(ra, rb, rows);
    }

}
