package io.behaviorcep.testkit;

import io.behaviorcep.BehaviorCepPipeline;
import io.behaviorcep.action.Alert;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.pattern.Durations;
import io.behaviorcep.pattern.Example;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.TraitDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.segment.ThresholdSegment;
import io.behaviorcep.segment.ThresholdSegmentFile;
import io.behaviorcep.segment.SegmentUpdate;
import io.behaviorcep.sink.OutputJson;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Runs the {@code examples:} of pattern files (and of threshold segment files, {@code kind: segments})
 * through the real job (parse, dedup, profile, the
 * compiled Flink CEP pattern, actions) on a local Flink, and compares what it decided with what
 * each example expects.
 *
 * <p>All examples of one pattern run in one job; each example has its own users, so they cannot
 * see each other. Only decided outcomes count: whatever the job decides after the example's
 * {@code until} (default: its last event) is still pending and is not compared.
 */
public final class PatternTestKit {
    /** Examples start here: a Monday, so weekly figures line up with calendar weeks. */
    public static final Instant T0 = Instant.parse("2024-01-01T00:00:00Z");

    /** One example's outcome; {@code pattern} is null for an example of a threshold segments file ({@code segmentsFile}). */
    public record Result(PatternDefinition pattern, Example example, boolean passed, String diff, ThresholdSegmentFile segmentsFile) {
        public Result(PatternDefinition pattern, Example example, boolean passed, String diff) {
            this(pattern, example, passed, diff, null);
        }

        public String title() {
            if (pattern == null) return segmentsFile.source + ":" + example.line + " segments: \"" + example.name + "\"";
            return pattern.source + ":" + example.line + " " + pattern.id + ": \"" + example.name + "\"";
        }
    }

    private PatternTestKit() {}

    public static List<Result> run(List<PatternDefinition> patterns) throws Exception {
        return run(patterns, List.of());
    }

    /** @param traits the computed traits the patterns may read (those of their folder's traits file) */
    public static List<Result> run(List<PatternDefinition> patterns, List<TraitDefinition> traits) throws Exception {
        List<Result> results = new ArrayList<>();
        for (PatternDefinition p : patterns) {
            if (!p.examples.isEmpty()) results.addAll(run(p, traits));
        }
        return results;
    }

    /** Every example of a loaded folder: patterns' and threshold segment files'. */
    public static List<Result> run(PatternLoader.Result loaded) throws Exception {
        List<Result> results = new ArrayList<>(run(loaded.patterns(), loaded.traits()));
        for (ThresholdSegmentFile f : loaded.segmentFiles()) {
            if (!f.examples.isEmpty()) results.addAll(run(f, loaded.traits()));
        }
        return results;
    }

    public static List<Result> run(PatternDefinition pattern) throws Exception {
        return run(pattern, List.of());
    }

    public static List<Result> run(PatternDefinition pattern, List<TraitDefinition> traits) throws Exception {
        InMemoryIO io = execute(pattern.examples, List.of(pattern), List.of(), traits, "pattern examples: " + pattern.id);
        try {
            List<Result> results = new ArrayList<>();
            for (int x = 0; x < pattern.examples.size(); x++) {
                Set<String> ownSegments = pattern.segment == null ? Set.of() : Set.of(pattern.segment.name);
                Example ex = pattern.examples.get(x);
                String diff = compare(pattern.id, ownSegments, ex, x, io.alerts(), io.segments());
                results.add(new Result(pattern, ex, diff.isEmpty(), diff));
            }
            return results;
        } finally {
            io.clear();
        }
    }

    /**
     * The examples of a threshold segments file, run through the real job with those segments (and
     * no pattern): only the updates of the file's own segments are compared.
     */
    public static List<Result> run(ThresholdSegmentFile file) throws Exception {
        return run(file, List.of());
    }

    public static List<Result> run(ThresholdSegmentFile file, List<TraitDefinition> traits) throws Exception {
        InMemoryIO io = execute(file.examples, List.of(), file.segments, traits, "segment examples: " + file.source);
        try {
            Set<String> own = new java.util.HashSet<>();
            for (ThresholdSegment s : file.segments) own.add(s.id);
            List<Result> results = new ArrayList<>();
            for (int x = 0; x < file.examples.size(); x++) {
                Example ex = file.examples.get(x);
                String diff = compare(null, own, ex, x, io.alerts(), io.segments());
                results.add(new Result(null, ex, diff.isEmpty(), diff, file));
            }
            return results;
        } finally {
            io.clear();
        }
    }

    private static InMemoryIO execute(List<Example> examples, List<PatternDefinition> patterns, List<ThresholdSegment> segments,
                                      List<TraitDefinition> traits, String jobName) throws Exception {
        List<byte[]> records = new ArrayList<>();
        List<long[]> order = new ArrayList<>();
        for (int x = 0; x < examples.size(); x++) {
            Example ex = examples.get(x);
            for (int i = 0; i < ex.events.size(); i++) order.add(new long[] {ex.events.get(i).at(), x, i});
        }
        // event-time order, as a well-behaved stream would deliver them
        order.sort(Comparator.<long[]>comparingLong(a -> a[0]).thenComparingLong(a -> a[1]).thenComparingLong(a -> a[2]));
        for (long[] o : order) records.add(toJson(examples.get((int) o[1]), (int) o[1], (int) o[2]));

        InMemoryIO io = new InMemoryIO(records);
        try {
            Configuration conf = new Configuration();
            conf.setString("pipeline.generic-types", "false");
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
            env.setParallelism(2);
            JobConfig config = JobConfig.of(Map.of("kafka.bootstrap-servers", "in-memory:0",
                    "events.max-out-of-orderness", "1d", "events.idle-advance", "false"));
            BehaviorCepPipeline.build(env, config, patterns, segments, traits, io);
            env.execute(jobName);
            return io;
        } catch (Exception | Error e) {
            io.clear();
            throw e;
        }
    }

    static String userOf(int example, String user) {
        return "ex" + example + ":" + user;
    }

    static String messageIdOf(int example, Example.Event e, int index) {
        return "ex" + example + ":" + (e.messageId() != null ? e.messageId() : "e" + index);
    }

    private static byte[] toJson(Example ex, int x, int i) {
        Example.Event e = ex.events.get(i);
        ObjectNode n = OutputJson.MAPPER.valueToTree(e.json());
        n.put("messageId", messageIdOf(x, e, i));
        n.put("userId", userOf(x, e.user()));
        n.put("timestamp", T0.plusMillis(e.at()).toString());
        return n.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The difference between what example {@code x} expects and what the job did; "" if none.
     *
     * @param patternId   whose alerts count (null: none may be expected)
     * @param ownSegments whose segment updates count
     */
    private static String compare(String patternId, Set<String> ownSegments, Example ex, int x, List<Alert> allAlerts,
                                  List<SegmentUpdate> allSegments) {
        String prefix = "ex" + x + ":";
        long t0 = T0.toEpochMilli();
        long horizon = t0 + ex.until;
        Map<String, Integer> indexById = new HashMap<>();
        for (int i = 0; i < ex.events.size(); i++) indexById.put(messageIdOf(x, ex.events.get(i), i), i);

        StringBuilder diff = new StringBuilder();
        if (ex.alerts != null) {
            List<Map<String, String>> expected = ex.alerts.stream().map(a -> row(a.at(), a.user(),
                    "type", a.type(), "bound", a.bound() == null ? null : boundLine(a.bound()))).toList();
            List<Map<String, String>> actual = allAlerts.stream()
                    .filter(a -> a.userId.startsWith(prefix) && a.patternId.equals(patternId) && a.detectedAt <= horizon)
                    .map(a -> row(a.detectedAt - t0, a.userId.substring(prefix.length()), "type", a.alertType,
                            "bound", boundLine(bound(a, indexById))))
                    .toList();
            diff.append(section("alerts", expected, actual));
        }
        if (ex.segments != null) {
            List<Map<String, String>> expected = ex.segments.stream().map(u -> row(u.at(), u.user(),
                    u.action(), u.segment(), "reason", u.reason())).toList();
            List<Map<String, String>> actual = allSegments.stream()
                    .filter(u -> u.userId.startsWith(prefix) && ownSegments.contains(u.segment) && u.at <= horizon)
                    .map(u -> row(u.at - t0, u.userId.substring(prefix.length()), u.action, u.segment, "reason", u.reason))
                    .toList();
            diff.append(section("segments", expected, actual));
        }
        return diff.toString();
    }

    /** An outcome as ordered fields; on the expected side a null value means "not checked". */
    private static Map<String, String> row(long at, String user, String k1, String v1, String k2, String v2) {
        Map<String, String> r = new java.util.LinkedHashMap<>();
        r.put("at", Durations.formatOffset(at));
        r.put("user", user);
        if (k1.equals("enter") || k1.equals("exit")) r.put(k1, v1);
        else if (v1 != null) r.put(k1, v1);
        if (v2 != null) r.put(k2, v2);
        return r;
    }

    private static boolean covers(Map<String, String> expected, Map<String, String> actual) {
        for (Map.Entry<String, String> e : expected.entrySet()) {
            if (!e.getValue().equals(actual.get(e.getKey()))) return false;
        }
        return true;
    }

    private static String line(Map<String, String> r) {
        return r.entrySet().stream().map(e -> e.getKey().equals("at") ? "at " + e.getValue() : e.getKey() + " " + e.getValue())
                .collect(Collectors.joining("  "));
    }

    /** Pairs each expected outcome with an actual one it describes; "" when all pair up and none is left over. */
    private static String section(String what, List<Map<String, String>> expected, List<Map<String, String>> actual) {
        Comparator<Map<String, String>> byTime = Comparator.comparingLong((Map<String, String> r) -> Durations.parseOffset(r.get("at").substring(1)))
                .thenComparing(PatternTestKit::line);
        List<Map<String, String>> exp = expected.stream().sorted(byTime).toList();
        List<Map<String, String>> left = new ArrayList<>(actual.stream().sorted(byTime).toList());
        List<Map<String, String>> missing = new ArrayList<>();
        for (Map<String, String> e : exp) {
            int i = 0;
            while (i < left.size() && !covers(e, left.get(i))) i++;
            if (i < left.size()) left.remove(i);
            else missing.add(e);
        }
        if (missing.isEmpty() && left.isEmpty()) return "";
        StringBuilder sb = new StringBuilder("  " + what + ":\n");
        sb.append("    expected: ").append(exp.isEmpty() ? "(none)" : exp.stream().map(PatternTestKit::line).collect(Collectors.joining("\n              "))).append('\n');
        sb.append("    actual:   ").append(actual.isEmpty() ? "(none)" : actual.stream().sorted(byTime).map(PatternTestKit::line).collect(Collectors.joining("\n              "))).append('\n');
        for (Map<String, String> m : missing) sb.append("    - missing:    ").append(line(m)).append('\n');
        for (Map<String, String> m : left) sb.append("    + unexpected: ").append(line(m)).append('\n');
        return sb.toString();
    }

    private static Map<String, List<Integer>> bound(Alert a, Map<String, Integer> indexById) {
        Map<String, List<Integer>> out = new TreeMap<>();
        try {
            JsonNode matched = OutputJson.MAPPER.readTree(a.matchedJson);
            matched.fields().forEachRemaining(f -> {
                List<Integer> idx = new ArrayList<>();
                for (JsonNode e : f.getValue()) idx.add(indexById.getOrDefault(e.get("message_id").asText(), -1));
                out.put(f.getKey(), idx);
            });
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    private static String boundLine(Map<String, List<Integer>> bound) {
        if (bound == null) return "";
        return new TreeMap<>(bound).entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(" "));
    }

}
