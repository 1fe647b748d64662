package io.behaviorcep.testkit;

import io.behaviorcep.BehaviorCepPipeline;
import io.behaviorcep.output.Alert;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.pattern.Durations;
import io.behaviorcep.pattern.Example;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.TraitDefinition;
import io.behaviorcep.pattern.TraitsFile;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.policy.PolicyDefinition;
import io.behaviorcep.policy.PolicyExample;
import io.behaviorcep.pattern.ThresholdSegment;
import io.behaviorcep.pattern.ThresholdSegmentFile;
import io.behaviorcep.segment.SegmentUpdate;
import io.behaviorcep.output.OutputJson;

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

    /** What the {@code test} command reports of any example: where it is, whether it passed, and the diff if not. */
    public interface Outcome {
        String title();

        boolean passed();

        String diff();
    }

    /** One example's outcome; {@code pattern} is null for an example of a threshold segments file ({@code segmentsFile}). */
    public record Result(PatternDefinition pattern, Example example, boolean passed, String diff, ThresholdSegmentFile segmentsFile) implements Outcome {
        public Result(PatternDefinition pattern, Example example, boolean passed, String diff) {
            this(pattern, example, passed, diff, null);
        }

        @Override
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
        for (TraitsFile f : loaded.traitsFiles()) {
            if (!f.examples.isEmpty()) results.addAll(run(f, loaded.traits()));
        }
        return results;
    }

    /**
     * The examples of a traits file, run through the real job with the folder's traits and the file's
     * {@link TraitsFile#probe() probe}, a pattern whose alert on every event carries the traits as the
     * profile has them on that event. An example's {@code expect: traits:} entries are compared with
     * the user's last event at each {@code at}.
     */
    public static List<Result> run(TraitsFile file, List<TraitDefinition> traits) throws Exception {
        PatternDefinition probe = file.probe();
        InMemoryIO io = execute(file.examples, List.of(probe), List.of(), traits, "trait examples: " + file.source, Map.of());
        try {
            List<Result> results = new ArrayList<>();
            for (int x = 0; x < file.examples.size(); x++) {
                Example ex = file.examples.get(x);
                String diff = compareTraits(ex, x, io.alerts());
                results.add(new Result(probe, ex, diff.isEmpty(), diff));
            }
            return results;
        } finally {
            io.clear();
        }
    }

    /** Each expected set of trait values against the probe's payload on the user's last event at that time. */
    private static String compareTraits(Example ex, int x, List<Alert> allAlerts) throws Exception {
        if (ex.traits() == null) return "";
        String prefix = "ex" + x + ":";
        long t0 = T0.toEpochMilli();
        Map<String, Integer> indexById = new HashMap<>();
        for (int i = 0; i < ex.events.size(); i++) indexById.put(messageIdOf(x, ex.events.get(i), i), i);
        // user and time -> the probe's payload on the last event then (events of one time in the order written)
        Map<String, JsonNode> last = new HashMap<>();
        Map<String, Integer> lastIndex = new HashMap<>();
        for (Alert a : allAlerts) {
            if (!a.userId.startsWith(prefix) || !a.patternId.equals(TraitsFile.PROBE)) continue;
            String key = a.userId.substring(prefix.length()) + "@" + (a.detectedAt - t0);
            int index = indexById.getOrDefault(OutputJson.MAPPER.readTree(a.matchedJson).path("event").path(0).path("message_id").asText(), -1);
            if (index >= lastIndex.getOrDefault(key, -1)) {
                lastIndex.put(key, index);
                last.put(key, OutputJson.MAPPER.readTree(a.payloadJson));
            }
        }
        StringBuilder diff = new StringBuilder();
        for (Example.ExpectedTraits t : ex.traits()) {
            String at = "at " + Durations.formatOffset(t.at()) + "  user " + t.user();
            JsonNode payload = last.get(t.user() + "@" + t.at());
            if (payload == null) {
                diff.append("    - no event of user ").append(t.user()).append(" at ").append(Durations.formatOffset(t.at()))
                        .append(": traits are read as of an event\n");
                continue;
            }
            for (Map.Entry<String, String> v : t.values().entrySet()) {
                JsonNode actual = payload.get(v.getKey());
                String shown = actual == null || actual.isNull() ? "null" : actual.asText();
                if (!sameValue(v.getValue(), shown)) {
                    diff.append("    - ").append(at).append("  ").append(v.getKey()).append(": expected ").append(v.getValue())
                            .append(", was ").append(shown).append('\n');
                }
            }
        }
        return diff.length() == 0 ? "" : "  traits:\n" + diff;
    }

    /** Numbers compare as numbers (2 and 2.0 are one value), anything else as text; null is a missing value. */
    private static boolean sameValue(String expected, String actual) {
        if (expected.equals(actual)) return true;
        try {
            return new java.math.BigDecimal(expected).compareTo(new java.math.BigDecimal(actual)) == 0;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    public static List<Result> run(PatternDefinition pattern) throws Exception {
        return run(pattern, List.of());
    }

    public static List<Result> run(PatternDefinition pattern, List<TraitDefinition> traits) throws Exception {
        Map<String, String> ids = userIds(pattern.examples, pattern);
        InMemoryIO io = execute(pattern.examples, List.of(pattern), List.of(), traits, "pattern examples: " + pattern.id, ids);
        try {
            List<Result> results = new ArrayList<>();
            for (int x = 0; x < pattern.examples.size(); x++) {
                Set<String> ownSegments = pattern.segment == null ? Set.of() : Set.of(pattern.segment.name);
                Example ex = pattern.examples.get(x);
                String diff = compare(pattern.id, ownSegments, ex, x, io.alerts(), io.segments(), ids)
                        + compareOutcomes(pattern, ex, x, io.outcomes(), ids);
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
        InMemoryIO io = execute(file.examples, List.of(), file.segments, traits, "segment examples: " + file.source, Map.of());
        try {
            Set<String> own = new java.util.HashSet<>();
            for (ThresholdSegment s : file.segments) own.add(s.id);
            List<Result> results = new ArrayList<>();
            for (int x = 0; x < file.examples.size(); x++) {
                Example ex = file.examples.get(x);
                String diff = compare(null, own, ex, x, io.alerts(), io.segments(), Map.of());
                results.add(new Result(null, ex, diff.isEmpty(), diff, file));
            }
            return results;
        } finally {
            io.clear();
        }
    }

    /**
     * The user ids of an example of a pattern with an experiment: each user is in the arm the example's
     * {@code arms:} gives, else in the experiment's first variant. Its id is {@code ex<x>:<user>} with the
     * first suffix {@code ~<n>} whose keyed hash lands in that arm: the job assigns them as it assigns
     * anyone, and the example does not depend on how ids happen to hash.
     */
    static Map<String, String> userIds(List<Example> examples, PatternDefinition pattern) {
        Map<String, String> ids = new HashMap<>();
        if (pattern.experiment() == null) return ids;
        String first = pattern.experiment().variants.get(0).name;
        for (int x = 0; x < examples.size(); x++) {
            Map<String, String> arms = new java.util.LinkedHashMap<>();
            for (Example.Event e : examples.get(x).events) if (e.user() != null) arms.put(e.user(), first);
            arms.putAll(examples.get(x).arms());
            for (Map.Entry<String, String> a : arms.entrySet()) {
                String base = userOf(x, a.getKey());
                for (int n = 0; ; n++) {
                    String id = n == 0 ? base : base + "~" + n;
                    if (io.behaviorcep.experiment.Assignment.variant(pattern.experiment(), id).name.equals(a.getValue())) {
                        ids.put(base, id);
                        break;
                    }
                    if (n > 100_000) throw new IllegalStateException("no user id lands in arm " + a.getValue());
                }
            }
        }
        return ids;
    }

    private static InMemoryIO execute(List<Example> examples, List<PatternDefinition> patterns, List<ThresholdSegment> segments,
                                      List<TraitDefinition> traits, String jobName, Map<String, String> ids) throws Exception {
        return execute(examples.stream().map(e -> e.events).toList(), patterns, segments, traits, Map.of(), jobName, ids);
    }

    /** Runs examples' events (each example's users apart) through the job with these extra settings. */
    private static InMemoryIO execute(List<List<Example.Event>> examples, List<PatternDefinition> patterns, List<ThresholdSegment> segments,
                                      List<TraitDefinition> traits, Map<String, String> settings, String jobName, Map<String, String> ids) throws Exception {
        List<byte[]> records = new ArrayList<>();
        List<long[]> order = new ArrayList<>();
        for (int x = 0; x < examples.size(); x++) {
            List<Example.Event> events = examples.get(x);
            for (int i = 0; i < events.size(); i++) order.add(new long[] {events.get(i).at(), x, i});
        }
        // event-time order, as a well-behaved stream would deliver them
        order.sort(Comparator.<long[]>comparingLong(a -> a[0]).thenComparingLong(a -> a[1]).thenComparingLong(a -> a[2]));
        for (long[] o : order) records.add(toJson(examples.get((int) o[1]), (int) o[1], (int) o[2], ids));

        InMemoryIO io = new InMemoryIO(records);
        try {
            Configuration conf = new Configuration();
            conf.setString("pipeline.generic-types", "false");
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
            env.setParallelism(2);
            Map<String, String> all = new HashMap<>(Map.of("kafka.bootstrap-servers", "in-memory:0",
                    "events.max-out-of-orderness", "1d", "events.idle-advance", "false", "policy.file", "none"));
            all.putAll(settings);
            JobConfig config = JobConfig.of(all);
            BehaviorCepPipeline.build(env, config, patterns, segments, traits, io);
            env.execute(jobName);
            return io;
        } catch (Exception | Error e) {
            io.clear();
            throw e;
        }
    }

    /** One example of a messaging policy file and its outcome. */
    public record PolicyResult(PolicyDefinition policy, PolicyExample example, boolean passed, String diff) implements Outcome {
        @Override
        public String title() {
            return policy.source + ":" + example.line() + " policy: \"" + example.name() + "\"";
        }
    }

    /**
     * The examples of a messaging policy file, each run through the real job under the policy with the
     * patterns it names (default: all of {@code patterns}); every alert and policy decision of the
     * example's users counts.
     */
    public static List<PolicyResult> run(PolicyDefinition policy, List<PatternDefinition> patterns) throws Exception {
        List<PolicyResult> results = new ArrayList<>();
        for (PolicyExample ex : policy.examples) {
            List<PatternDefinition> used = patterns;
            if (ex.patterns() != null) {
                List<String> unknown = ex.patterns().stream().filter(id -> patterns.stream().noneMatch(p -> p.id.equals(id))).toList();
                if (!unknown.isEmpty()) {
                    results.add(new PolicyResult(policy, ex, false, "  unknown pattern(s): " + String.join(", ", unknown) + "\n"));
                    continue;
                }
                used = patterns.stream().filter(p -> ex.patterns().contains(p.id)).toList();
            }
            InMemoryIO io = execute(List.of(ex.events()), used, List.of(), List.of(), Map.of("policy.file", policy.source), "policy example: " + ex.name(), Map.of());
            try {
                String prefix = userOf(0, "");
                long t0 = T0.toEpochMilli();
                long horizon = t0 + ex.until();
                StringBuilder diff = new StringBuilder();
                if (ex.alerts() != null) {
                    List<Map<String, String>> expected = ex.alerts().stream().map(a -> row(a.at(), a.user(), "type", a.type(), "reason", null)).toList();
                    List<Map<String, String>> actual = io.alerts().stream().filter(a -> a.userId.startsWith(prefix) && a.detectedAt <= horizon)
                            .map(a -> row(a.detectedAt - t0, a.userId.substring(prefix.length()), "type", a.alertType, "reason", null)).toList();
                    diff.append(section("alerts", expected, actual));
                }
                if (ex.decisions() != null) {
                    List<Map<String, String>> expected = ex.decisions().stream().map(d -> row(d.at(), d.user(), "type", d.type(), "reason", d.reason())).toList();
                    List<Map<String, String>> actual = io.alertDecisions().stream().filter(d -> d.userId.startsWith(prefix) && d.decidedAt <= horizon)
                            .map(d -> row(d.decidedAt - t0, d.userId.substring(prefix.length()), "type", d.alertType, "reason", d.reason)).toList();
                    diff.append(section("decisions", expected, actual));
                }
                results.add(new PolicyResult(policy, ex, diff.isEmpty(), diff.toString()));
            } finally {
                io.clear();
            }
        }
        return results;
    }

    static String userOf(int example, String user) {
        return "ex" + example + ":" + user;
    }

    static String messageIdOf(int example, Example.Event e, int index) {
        return "ex" + example + ":" + (e.messageId() != null ? e.messageId() : "e" + index);
    }

    private static byte[] toJson(List<Example.Event> events, int x, int i, Map<String, String> ids) {
        Example.Event e = events.get(i);
        ObjectNode n = OutputJson.MAPPER.valueToTree(e.json());
        n.put("messageId", messageIdOf(x, e, i));
        if (e.user() != null) n.put("userId", ids.getOrDefault(userOf(x, e.user()), userOf(x, e.user())));
        if (n.hasNonNull("anonymousId")) n.put("anonymousId", userOf(x, n.get("anonymousId").asText()));
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
                                  List<SegmentUpdate> allSegments, Map<String, String> ids) {
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
                    .map(a -> row(a.detectedAt - t0, userName(a.userId, prefix, ids), "type", a.alertType,
                            "bound", boundLine(bound(a, indexById))))
                    .toList();
            diff.append(section("alerts", expected, actual));
        }
        if (ex.segments != null) {
            List<Map<String, String>> expected = ex.segments.stream().map(u -> row(u.at(), u.user(),
                    u.action(), u.segment(), "reason", u.reason())).toList();
            List<Map<String, String>> actual = allSegments.stream()
                    .filter(u -> u.userId.startsWith(prefix) && ownSegments.contains(u.segment) && u.at <= horizon)
                    .map(u -> row(u.at - t0, userName(u.userId, prefix, ids), u.action, u.segment, "reason", u.reason))
                    .toList();
            diff.append(section("segments", expected, actual));
        }
        return diff.toString();
    }

    /** The example's name of a user id of example {@code prefix}. */
    private static String userName(String id, String prefix, Map<String, String> ids) {
        for (Map.Entry<String, String> e : ids.entrySet()) if (e.getValue().equals(id)) return e.getKey().substring(prefix.length());
        return id.substring(prefix.length());
    }

    /** The outcomes example {@code x} expects against those decided by its {@code until}; "" when it checks none or all match. */
    private static String compareOutcomes(PatternDefinition pattern, Example ex, int x, List<io.behaviorcep.experiment.Outcome> all,
                                          Map<String, String> ids) {
        if (ex.outcomes() == null) return "";
        String prefix = "ex" + x + ":";
        long t0 = T0.toEpochMilli();
        long horizon = t0 + ex.until;
        List<Map<String, String>> expected = ex.outcomes().stream().map(o -> row(o.at(), o.user(), "arm", o.arm(),
                "converted", String.valueOf(o.converted()), "value", o.value() == null ? null : String.valueOf(o.value()))).toList();
        List<Map<String, String>> actual = all.stream()
                .filter(o -> o.userId().startsWith(prefix) && o.patternId().equals(pattern.id))
                .filter(o -> (o.converted() ? o.convertedAt() : o.decidedAt() + o.goalWithinMs()) <= horizon)
                .map(o -> row((o.converted() ? o.convertedAt() : o.decidedAt() + o.goalWithinMs()) - t0, userName(o.userId(), prefix, ids),
                        "arm", o.arm(), "converted", String.valueOf(o.converted()), "value", o.value() == null ? null : String.valueOf(o.value())))
                .toList();
        return section("outcomes", expected, actual);
    }

    private static Map<String, String> row(long at, String user, String k1, String v1, String k2, String v2, String k3, String v3) {
        Map<String, String> r = row(at, user, k1, v1, k2, v2);
        if (v3 != null) r.put(k3, v3);
        return r;
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
