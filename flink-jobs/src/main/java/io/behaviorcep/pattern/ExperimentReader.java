package io.behaviorcep.pattern;

import io.behaviorcep.pattern.PatternDefinition.AlertAction;
import io.behaviorcep.pattern.PatternDefinition.Experiment;
import io.behaviorcep.pattern.PatternDefinition.Goal;
import io.behaviorcep.pattern.PatternDefinition.Variant;

import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.SequenceNode;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads {@code experiment:} and {@code goal:} (docs/pattern-language.md, "Experiments and goals") with
 * located problems. An arm that sets parameters or overrides the alert is run as its own version of the
 * pattern: the file is read again with the arm's parameters ({@link #variants}).
 */
final class ExperimentReader {
    static final Set<String> EXPERIMENT_KEYS = Set.of("id", "salt", "variants");
    static final Set<String> VARIANT_KEYS = Set.of("name", "weight", "holdout", "params", "alert");
    static final Set<String> VARIANT_ALERT_KEYS = Set.of("type", "payload");
    static final Set<String> GOAL_KEYS = Set.of("event", "within", "value", "where");
    /** Arm names the job gives itself in outcomes: no variant may take them. */
    static final Set<String> RESERVED_ARMS = Set.of("default", "global_holdout");
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9_-]*");
    private static final Pattern VALUE_PATH = Pattern.compile("(properties|context)\\.[A-Za-z0-9_.$-]+");
    private static final Pattern TEMPLATE = Pattern.compile("\\$\\{([^}]*)}");

    /** A variant as written, before its pattern is built. */
    record Written(String name, double weight, boolean holdout, Map<String, String> params, String alertType,
                   Map<String, String> payload, Node at) {
        boolean changesPattern() {
            return !params.isEmpty() || alertType != null || !payload.isEmpty();
        }
    }

    /** The experiment as written: id, salt, and the variants. */
    record WrittenExperiment(String id, String salt, List<Written> variants, Node at) {}

    private final PatternLoader.FileReader r;

    ExperimentReader(PatternLoader.FileReader r) {
        this.r = r;
    }

    Goal goal(Node node) {
        if (!(r.mapping(node, "goal") instanceof MappingNode m)) return null;
        Map<String, NodeTuple> k = r.keys(m, GOAL_KEYS, "goal");
        String event = r.requiredString(k, "event", m);
        Duration within = null;
        if (!k.containsKey("within")) r.problem(m, "a goal needs 'within' (how long after a decision the goal event counts), e.g. within: 24h");
        else within = r.duration(k.get("within").getValueNode());
        String value = r.optionalString(k, "value");
        if (value != null && !VALUE_PATH.matcher(value.trim()).matches()) {
            r.problem(k.get("value").getValueNode(), "a goal's 'value' is a field of the goal event, properties.<name> or context.<name> (e.g. properties.revenue), got '" + value + "'");
            value = null;
        }
        List<io.behaviorcep.pattern.expr.Expr> where = k.containsKey("where") ? r.readConditions(k.get("where").getValueNode(), Set.of()) : List.of();
        for (io.behaviorcep.pattern.expr.Expr x : where) {
            if (x.usesProfile()) r.problem(k.get("where").getValueNode(), "a goal's 'where' looks at the goal event only, not at profile fields");
        }
        if (event == null || within == null) return null;
        return new Goal(new EventMatcher(event, null, where), within, value == null ? null : value.trim());
    }

    WrittenExperiment experiment(Node node, Map<String, String> declaredParams, AlertAction alert, Set<String> stepNames,
                                 boolean hasGoal, Node patternNode) {
        if (!(r.mapping(node, "experiment") instanceof MappingNode m)) return null;
        Map<String, NodeTuple> k = r.keys(m, EXPERIMENT_KEYS, "experiment");
        String id = r.requiredString(k, "id", m);
        if (id != null && !ID.matcher(id).matches()) {
            r.problem(k.get("id").getValueNode(), "experiment id '" + id + "' must be lowercase letters, digits, '-' or '_'");
        }
        String salt = k.containsKey("salt") ? r.scalar(k.get("salt").getValueNode(), "salt") : "";
        if (!hasGoal) r.problem(m, "an experiment needs the pattern's 'goal:' (e.g. goal: {event: Order Completed, within: 24h}), or its arms cannot be compared");
        if (alert == null) r.problem(m, "an experiment decides who gets the pattern's alert, but this pattern has no 'alert'");
        List<Written> variants = new ArrayList<>();
        if (!k.containsKey("variants") || !(k.get("variants").getValueNode() instanceof SequenceNode seq)) {
            r.problem(k.containsKey("variants") ? k.get("variants").getValueNode() : m,
                    "an experiment needs 'variants:', a list of at least two arms, each with 'name' and 'weight'");
            return null;
        }
        Set<String> names = new HashSet<>();
        Node firstHoldout = null;
        for (Node item : seq.getValue()) {
            if (!(r.mapping(item, "variant") instanceof MappingNode vm)) continue;
            Map<String, NodeTuple> vk = r.keys(vm, VARIANT_KEYS, "variant");
            String name = r.requiredString(vk, "name", vm);
            if (name != null && !PatternLoader.NAME.matcher(name).matches()) {
                r.problem(vk.get("name").getValueNode(), "variant name '" + name + "' must be lowercase letters, digits and '_', starting with a letter");
            } else if (name != null && RESERVED_ARMS.contains(name)) {
                r.problem(vk.get("name").getValueNode(), "variant name '" + name + "' is reserved: outcomes use it for decisions outside any experiment arm");
            } else if (name != null && !names.add(name)) {
                r.problem(vk.get("name").getValueNode(), "variant name '" + name + "' is used twice");
            }
            Double weight = null;
            String w = r.requiredString(vk, "weight", vm);
            if (w != null) {
                try {
                    weight = Double.parseDouble(w.trim());
                    if (!(weight > 0) || weight.isInfinite()) {
                        r.problem(vk.get("weight").getValueNode(), "a variant's weight must be a positive number, got '" + w + "'");
                        weight = null;
                    }
                } catch (NumberFormatException e) {
                    r.problem(vk.get("weight").getValueNode(), "a variant's weight must be a positive number, got '" + w + "'");
                }
            }
            Boolean holdout = r.optionalBool(vk, "holdout");
            if (Boolean.TRUE.equals(holdout)) {
                if (firstHoldout != null) {
                    r.problem(vk.get("holdout").getKeyNode(), "at most one variant is the holdout (the first is on line " + PatternLoader.FileReader.line(firstHoldout) + ")");
                }
                if (firstHoldout == null) firstHoldout = vk.get("holdout").getKeyNode();
            }
            Map<String, String> params = new LinkedHashMap<>();
            if (vk.containsKey("params") && r.mapping(vk.get("params").getValueNode(), "params") instanceof MappingNode pm) {
                for (NodeTuple t : pm.getValue()) {
                    String p = r.scalar(t.getKeyNode(), "param name");
                    String v = r.scalar(t.getValueNode(), "param value");
                    if (p == null || v == null) continue;
                    if (!declaredParams.containsKey(p)) {
                        r.problem(t.getKeyNode(), "variant sets parameter '" + p + "', which the pattern does not declare under 'params:'"
                                + PatternLoader.didYouMean(p, declaredParams.keySet()));
                    } else {
                        params.put(p, v);
                    }
                }
            }
            String alertType = null;
            Map<String, String> payload = new LinkedHashMap<>();
            if (vk.containsKey("alert")) {
                if (Boolean.TRUE.equals(holdout)) {
                    r.problem(vk.get("alert").getKeyNode(), "a holdout sends no alert; 'alert' overrides do not apply to it");
                } else if (r.mapping(vk.get("alert").getValueNode(), "alert") instanceof MappingNode am) {
                    Map<String, NodeTuple> ak = r.keys(am, VARIANT_ALERT_KEYS, "variant alert");
                    alertType = r.optionalString(ak, "type");
                    if (ak.containsKey("payload") && r.mapping(ak.get("payload").getValueNode(), "payload") instanceof MappingNode pm) {
                        for (NodeTuple t : pm.getValue()) {
                            String field = r.scalar(t.getKeyNode(), "payload key");
                            String template = r.scalar(t.getValueNode(), "payload value");
                            if (field == null || template == null) continue;
                            java.util.regex.Matcher tm = TEMPLATE.matcher(template);
                            while (tm.find()) {
                                String ref = tm.group(1).trim();
                                String step = ref.contains(".") ? ref.substring(0, ref.indexOf('.')) : ref;
                                if (!stepNames.contains(step)) {
                                    r.problem(t.getValueNode(), "template ${" + ref + "} refers to step '" + step + "', which this pattern does not have"
                                            + PatternLoader.didYouMean(step, stepNames));
                                }
                            }
                            payload.put(field, template);
                        }
                    }
                }
            }
            if (name != null && weight != null) {
                variants.add(new Written(name, weight, Boolean.TRUE.equals(holdout), params, alertType, payload, vm));
            }
        }
        if (seq.getValue().size() < 2) r.problem(seq, "an experiment needs at least two variants (e.g. a treatment and a holdout)");
        return id == null ? null : new WrittenExperiment(id, salt == null ? "" : salt, variants, m);
    }

    /**
     * The experiment with each arm's pattern: the pattern itself for an arm that changes nothing, else
     * the file read again with the arm's parameters, with its alert overrides applied. Problems of an
     * arm's reading are reported at the arm.
     */
    Experiment build(WrittenExperiment w, PatternDefinition base, String text) {
        List<Variant> variants = new ArrayList<>();
        for (Written v : w.variants()) {
            PatternDefinition pattern = base;
            if (v.changesPattern()) {
                pattern = !v.params().isEmpty() ? readWith(v, text) : base;
                if (pattern == null) continue;
                if (v.alertType() != null || !v.payload().isEmpty()) {
                    Map<String, String> payload = new LinkedHashMap<>(base.alert.payload);
                    payload.putAll(v.payload());
                    AlertAction alert = new AlertAction(v.alertType() != null ? v.alertType() : base.alert.type, base.alert.severity, payload);
                    pattern = new PatternDefinition(pattern.id, pattern.version, pattern.description, pattern.owner, pattern.enabled,
                            pattern.steps, alert, pattern.segment, pattern.cap, pattern.within, pattern.afterMatch, pattern.afterMatchStep,
                            pattern.onChange, pattern.source, List.of());
                }
                pattern.goal(base.goal());
            }
            variants.add(new Variant(v.name(), v.weight(), v.holdout(), v.params(), pattern));
        }
        return new Experiment(w.id(), w.salt(), variants);
    }

    private PatternDefinition readWith(Written v, String text) {
        PatternLoader.FileReader arm = new PatternLoader.FileReader(r.file);
        arm.paramOverrides = v.params();
        arm.readingArm = true;
        PatternDefinition d = arm.read(text);
        for (PatternProblem p : arm.problems) {
            r.problem(v.at(), "with variant '" + v.name() + "''s params: " + p.message() + " (at " + p.line() + ":" + p.column() + ")");
        }
        return arm.problems.isEmpty() ? d : null;
    }
}
