package io.behaviorcep.pattern;

import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Reads {@code examples:} (the pattern test kit's input) with the same located problems as the rest of the file. */
final class ExampleReader {
    static final Set<String> EXAMPLE_KEYS = Set.of("name", "events", "until", "expect", "arms");
    static final Set<String> EVENT_KEYS = Set.of("at", "user", "anonymous_id", "type", "event", "name", "message_id", "properties", "context", "traits");
    static final Set<String> EXPECT_KEYS = Set.of("alerts", "segments", "outcomes", "traits");
    static final Set<String> OUTCOME_KEYS = Set.of("at", "user", "arm", "converted", "value");
    static final Set<String> ALERT_KEYS = Set.of("at", "user", "type", "bound");
    static final Set<String> SEGMENT_KEYS = Set.of("enter", "exit", "at", "user", "reason");

    private final PatternLoader.FileReader r;
    private final Set<String> stepNames;

    /** The experiment's arm names, for {@code arms:} and expected outcomes; null when the file has no experiment. */
    private final Set<String> armNames;

    ExampleReader(PatternLoader.FileReader r, Set<String> stepNames) {
        this(r, stepNames, null);
    }

    ExampleReader(PatternLoader.FileReader r, Set<String> stepNames, Set<String> armNames) {
        this.r = r;
        this.stepNames = stepNames;
        this.armNames = armNames;
    }

    /** The trait ids a traits file's examples may expect values of; null elsewhere (then {@code expect: traits} is a problem). */
    private Set<String> traitIds;

    ExampleReader traits(Set<String> traitIds) {
        this.traitIds = traitIds;
        return this;
    }

    /** {@code expect: traits:} a list of {at, user (optional), <trait id>: <value>, ...}. */
    private List<Example.ExpectedTraits> readTraits(NodeTuple t) {
        List<Example.ExpectedTraits> out = new ArrayList<>();
        if (traitIds == null) {
            r.problem(t.getKeyNode(), "'traits' expectations belong to the examples of a traits file (kind: traits)");
            return out;
        }
        if (!(t.getValueNode() instanceof SequenceNode seq)) {
            r.problem(t.getValueNode(), "expected a list (write [] for none)");
            return out;
        }
        for (Node item : seq.getValue()) {
            if (!(r.mapping(item, "traits") instanceof MappingNode m)) continue;
            Long at = null;
            String user = "user";
            Map<String, String> values = new LinkedHashMap<>();
            for (NodeTuple kv : m.getValue()) {
                String key = r.scalar(kv.getKeyNode(), "key");
                if (key == null) continue;
                if (key.equals("at")) at = offset(kv.getValueNode());
                else if (key.equals("user")) user = r.scalar(kv.getValueNode(), "user");
                else if (!traitIds.contains(key)) {
                    r.problem(kv.getKeyNode(), "'" + key + "' is not a trait of this file" + PatternLoader.didYouMean(key, traitIds)
                            + " (expected values are given by trait id, beside 'at' and 'user')");
                } else {
                    String v = r.scalar(kv.getValueNode(), key);
                    values.put(key, v == null || v.equals("~") || v.equals("missing") ? "null" : v);
                }
            }
            if (!containsKey(m, "at")) r.problem(m, "expected traits need 'at': the time of the event as of which they are read");
            else if (values.isEmpty()) r.problem(m, "expected traits need at least one '<trait id>: <value>'");
            if (at != null && !values.isEmpty()) out.add(new Example.ExpectedTraits(at, user, values));
        }
        return out;
    }

    private static boolean containsKey(MappingNode m, String key) {
        for (NodeTuple t : m.getValue()) if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals(key)) return true;
        return false;
    }

    private String arm(Node n) {
        String arm = r.scalar(n, "arm");
        Set<String> known = new java.util.TreeSet<>(ExperimentReader.RESERVED_ARMS);
        if (armNames != null) known.addAll(armNames);
        if (arm != null && !known.contains(arm)) {
            r.problem(n, "arm '" + arm + "' is not one of " + known + PatternLoader.didYouMean(arm, known));
        }
        return arm;
    }

    /** {@code arms:} user -> variant; each user is put in that arm of the pattern's experiment. */
    private Map<String, String> readArms(Node n) {
        Map<String, String> arms = new LinkedHashMap<>();
        if (!(r.mapping(n, "arms") instanceof MappingNode m)) return arms;
        if (armNames == null) {
            r.problem(n, "'arms' puts users in arms of the pattern's experiment, but this pattern has no 'experiment:'");
            return arms;
        }
        for (NodeTuple t : m.getValue()) {
            String user = r.scalar(t.getKeyNode(), "user");
            String arm = r.scalar(t.getValueNode(), "arm");
            if (user == null || arm == null) continue;
            if (!armNames.contains(arm)) {
                r.problem(t.getValueNode(), "arm '" + arm + "' is not a variant of the experiment " + new java.util.TreeSet<>(armNames)
                        + PatternLoader.didYouMean(arm, armNames));
            } else {
                arms.put(user, arm);
            }
        }
        return arms;
    }

    private List<Example.ExpectedOutcome> readOutcomes(Node n) {
        List<Example.ExpectedOutcome> out = new ArrayList<>();
        if (!(n instanceof SequenceNode seq)) {
            r.problem(n, "expected a list (write [] for none)");
            return out;
        }
        for (Node item : seq.getValue()) {
            if (!(r.mapping(item, "outcome") instanceof MappingNode m)) continue;
            Map<String, NodeTuple> k = r.keys(m, OUTCOME_KEYS, "expected outcome");
            Long at = k.containsKey("at") ? offset(k.get("at").getValueNode()) : null;
            if (!k.containsKey("at")) r.problem(m, "an expected outcome needs 'at' (when it is decided: the goal event, or the end of the goal's window)");
            String user = k.containsKey("user") ? r.scalar(k.get("user").getValueNode(), "user") : "user";
            String arm = k.containsKey("arm") ? arm(k.get("arm").getValueNode()) : null;
            Boolean converted = r.optionalBool(k, "converted");
            if (!k.containsKey("converted")) r.problem(m, "an expected outcome needs 'converted: true' or 'converted: false'");
            Double value = null;
            if (k.containsKey("value")) {
                String v = r.scalar(k.get("value").getValueNode(), "value");
                try {
                    value = v == null ? null : Double.parseDouble(v);
                } catch (NumberFormatException e) {
                    r.problem(k.get("value").getValueNode(), "an outcome's 'value' is a number, got '" + v + "'");
                }
            }
            if (at != null && converted != null) out.add(new Example.ExpectedOutcome(at, user, arm, converted, value));
        }
        return out;
    }

    List<Example> read(Node node) {
        List<Example> out = new ArrayList<>();
        if (!(node instanceof SequenceNode seq)) {
            r.problem(node, "'examples' must be a list of examples, each with name, events and expect");
            return out;
        }
        Set<String> names = new java.util.HashSet<>();
        for (Node item : seq.getValue()) {
            if (!(r.mapping(item, "example") instanceof MappingNode m)) continue;
            Map<String, NodeTuple> k = r.keys(m, EXAMPLE_KEYS, "example");
            String name = k.containsKey("name") ? r.scalar(k.get("name").getValueNode(), "name") : null;
            if (name == null) {
                r.problem(m, "an example needs a 'name' that says what it shows");
                name = "example at line " + PatternLoader.FileReader.line(m);
            } else if (!names.add(name)) {
                r.problem(k.get("name").getValueNode(), "example name '" + name + "' is used twice");
            }
            List<Example.Event> events = new ArrayList<>();
            if (!k.containsKey("events") || !(k.get("events").getValueNode() instanceof SequenceNode es)) {
                r.problem(m, "example '" + name + "' needs 'events:', a list of events with 'at' times");
            } else {
                int i = 0;
                for (Node en : es.getValue()) {
                    Example.Event e = readEvent(en, i++);
                    if (e != null) events.add(e);
                }
            }
            long last = events.stream().mapToLong(Example.Event::at).max().orElse(0);
            long until = last;
            if (k.containsKey("until")) {
                Long u = offset(k.get("until").getValueNode());
                if (u != null) {
                    if (u < last) r.problem(k.get("until").getValueNode(), "'until' is before the example's last event");
                    until = Math.max(u, last);
                }
            }
            List<Example.ExpectedAlert> alerts = null;
            List<Example.ExpectedSegment> segments = null;
            List<Example.ExpectedOutcome> outcomes = null;
            List<Example.ExpectedTraits> traits = null;
            if (!k.containsKey("expect")) {
                r.problem(m, "example '" + name + "' needs 'expect:' (alerts and/or segments, or 'nothing')");
            } else {
                Node en = k.get("expect").getValueNode();
                if (en instanceof ScalarNode sc && sc.getValue().equals("nothing")) {
                    alerts = List.of();
                    segments = List.of();
                    outcomes = armNames != null ? List.of() : null;
                } else if (r.mapping(en, "expect") instanceof MappingNode em) {
                    Map<String, NodeTuple> ek = r.keys(em, EXPECT_KEYS, "expect");
                    if (ek.containsKey("alerts")) alerts = readList(ek.get("alerts").getValueNode(), events.size(), true).alerts;
                    if (ek.containsKey("segments")) segments = readList(ek.get("segments").getValueNode(), events.size(), false).segments;
                    if (ek.containsKey("outcomes")) outcomes = readOutcomes(ek.get("outcomes").getValueNode());
                    if (ek.containsKey("traits")) traits = readTraits(ek.get("traits"));
                }
            }
            Example example = new Example(name, PatternLoader.FileReader.line(item), events, until, alerts, segments);
            example.experiment(k.containsKey("arms") ? readArms(k.get("arms").getValueNode()) : Map.of(), outcomes);
            example.traits(traits);
            out.add(example);
        }
        return out;
    }

    private Example.Event readEvent(Node n, int index) {
        if (!(r.mapping(n, "event") instanceof MappingNode m)) return null;
        Map<String, NodeTuple> k = r.keys(m, EVENT_KEYS, "example event");
        Long at = null;
        if (!k.containsKey("at")) r.problem(m, "an example event needs 'at' (time from the example's start, e.g. 0m, 15m, 2d)");
        else at = offset(k.get("at").getValueNode());
        if (!k.containsKey("event") && !k.containsKey("type")) r.problem(m, "an example event needs 'event' (a track event name) or 'type'");
        Map<String, Object> json = new LinkedHashMap<>();
        for (String key : List.of("type", "event", "name")) {
            if (k.containsKey(key)) json.put(key, r.scalar(k.get(key).getValueNode(), key));
        }
        json.putIfAbsent("type", "track");
        for (String key : List.of("properties", "context", "traits")) {
            if (k.containsKey(key)) json.put(key, toJava(k.get(key).getValueNode()));
        }
        String user = k.containsKey("user") ? r.scalar(k.get("user").getValueNode(), "user") : "user";
        if (k.containsKey("anonymous_id")) {
            // an event of a visitor not logged in (no userId), or with 'user' too, one that links the two
            json.put("anonymousId", r.scalar(k.get("anonymous_id").getValueNode(), "anonymous_id"));
            if (!k.containsKey("user")) user = null;
        }
        String messageId = k.containsKey("message_id") ? r.scalar(k.get("message_id").getValueNode(), "message_id") : null;
        return at == null ? null : new Example.Event(at, user, json, messageId);
    }

    private record Expected(List<Example.ExpectedAlert> alerts, List<Example.ExpectedSegment> segments) {}

    private Expected readList(Node n, int eventCount, boolean alerts) {
        List<Example.ExpectedAlert> as = new ArrayList<>();
        List<Example.ExpectedSegment> ss = new ArrayList<>();
        if (!(n instanceof SequenceNode seq)) {
            r.problem(n, "expected a list (write [] for none)");
            return new Expected(as, ss);
        }
        for (Node item : seq.getValue()) {
            if (!(r.mapping(item, alerts ? "alert" : "segment") instanceof MappingNode m)) continue;
            Map<String, NodeTuple> k = r.keys(m, alerts ? ALERT_KEYS : SEGMENT_KEYS, alerts ? "expected alert" : "expected segment update");
            Long at = k.containsKey("at") ? offset(k.get("at").getValueNode()) : null;
            if (!k.containsKey("at")) r.problem(m, "expected outcomes need 'at' (when it is decided, from the example's start)");
            String user = k.containsKey("user") ? r.scalar(k.get("user").getValueNode(), "user") : "user";
            if (alerts) {
                String type = k.containsKey("type") ? r.scalar(k.get("type").getValueNode(), "type") : null;
                Map<String, List<Integer>> bound = null;
                if (k.containsKey("bound") && r.mapping(k.get("bound").getValueNode(), "bound") instanceof MappingNode bm) {
                    bound = new LinkedHashMap<>();
                    for (NodeTuple t : bm.getValue()) {
                        String step = r.scalar(t.getKeyNode(), "step");
                        if (step != null && !stepNames.contains(step)) {
                            r.problem(t.getKeyNode(), "'bound' names step '" + step + "', which this pattern does not have" + PatternLoader.didYouMean(step, stepNames));
                        }
                        List<Integer> idx = new ArrayList<>();
                        Node v = t.getValueNode();
                        for (Node x : v instanceof SequenceNode s ? s.getValue() : List.of(v)) {
                            String text = r.scalar(x, "event index");
                            try {
                                int i = Integer.parseInt(text);
                                if (i < 0 || i >= eventCount) r.problem(x, "event index " + i + " is out of range (0.." + (eventCount - 1) + ")");
                                idx.add(i);
                            } catch (NumberFormatException e) {
                                r.problem(x, "'bound' lists event indexes (0 is the first event), got '" + text + "'");
                            }
                        }
                        if (step != null) bound.put(step, idx);
                    }
                }
                if (at != null) as.add(new Example.ExpectedAlert(at, user, type, bound));
            } else {
                String action = k.containsKey("enter") ? "enter" : k.containsKey("exit") ? "exit" : null;
                if (action == null || (k.containsKey("enter") && k.containsKey("exit"))) {
                    r.problem(m, "an expected segment update is either 'enter: <segment>' or 'exit: <segment>'");
                    continue;
                }
                String segment = r.scalar(k.get(action).getValueNode(), action);
                String reason = k.containsKey("reason") ? r.scalar(k.get("reason").getValueNode(), "reason") : null;
                if (at != null) ss.add(new Example.ExpectedSegment(action, segment, at, user, reason));
            }
        }
        return new Expected(as, ss);
    }

    private Long offset(Node n) {
        String v = r.scalar(n, "time");
        if (v == null) return null;
        String t = v.trim();
        if (t.startsWith("+")) t = t.substring(1);
        if (t.equals("0")) return 0L;
        try {
            return Durations.parseOffset(t);
        } catch (IllegalArgumentException e) {
            r.problem(n, e.getMessage());
            return null;
        }
    }

    private static Object toJava(Node n) {
        if (n instanceof MappingNode m) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (NodeTuple t : m.getValue()) {
                out.put(((ScalarNode) t.getKeyNode()).getValue(), toJava(t.getValueNode()));
            }
            return out;
        }
        if (n instanceof SequenceNode s) {
            List<Object> out = new ArrayList<>();
            for (Node x : s.getValue()) out.add(toJava(x));
            return out;
        }
        ScalarNode sc = (ScalarNode) n;
        String v = sc.getValue();
        if (sc.getScalarStyle() == org.yaml.snakeyaml.DumperOptions.ScalarStyle.PLAIN) {
            if (v.matches("-?\\d+")) return Long.parseLong(v);
            if (v.matches("-?\\d+\\.\\d+")) return Double.parseDouble(v);
            if (v.equals("true") || v.equals("false")) return Boolean.parseBoolean(v);
            if (v.equals("null") || v.equals("~")) return null;
        }
        return v;
    }
}
