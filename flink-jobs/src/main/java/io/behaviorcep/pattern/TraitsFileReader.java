package io.behaviorcep.pattern;

import io.behaviorcep.pattern.expr.ConditionParser;
import io.behaviorcep.pattern.expr.ConditionSyntaxException;
import io.behaviorcep.pattern.expr.Expr;
import io.behaviorcep.pattern.expr.FieldRef;

import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.SequenceNode;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Reads a traits file ({@code kind: traits}, or a file named {@code traits.yaml}): computed traits,
 * each reported with its position like the rest of the loader.
 *
 * <pre>
 * kind: traits
 * traits:
 *   - id: cart_value
 *     function: sum
 *     event: Product Added
 *     property: properties.price
 *     since: Order Completed
 *   - id: categories_viewed_7d
 *     function: distinct_count
 *     event: Product Viewed
 *     property: properties.category
 *     window: 7d
 * </pre>
 */
final class TraitsFileReader {
    static final Set<String> FILE_KEYS = Set.of("kind", "description", "owner", "params", "traits", "examples");
    static final Set<String> TRAIT_KEYS = Set.of("id", "description", "function", "event", "where", "property", "window", "since");
    /** File names read as traits files even without {@code kind: traits}. */
    static final Set<String> FILE_NAMES = Set.of("traits.yaml", "traits.yml");
    static final Set<String> FUNCTIONS;

    static {
        Set<String> f = new java.util.TreeSet<>();
        for (TraitDefinition.Function x : TraitDefinition.Function.values()) f.add(x.yamlName());
        FUNCTIONS = Set.copyOf(f);
    }

    private final PatternLoader.FileReader r;

    TraitsFileReader(PatternLoader.FileReader r) {
        this.r = r;
    }

    List<TraitDefinition> read(MappingNode top) {
        Map<String, NodeTuple> k = r.keys(top, FILE_KEYS, "traits file");
        r.readParams(k.get("params"));
        List<TraitDefinition> traits = new ArrayList<>();
        NodeTuple list = k.get("traits");
        if (list == null) {
            r.problem(top, "missing 'traits': list the traits, e.g. - id: cart_value / function: sum / event: Product Added / property: properties.price / since: Order Completed");
        } else if (!(list.getValueNode() instanceof SequenceNode seq) || seq.getValue().isEmpty()) {
            r.problem(list.getValueNode(), "'traits' must be a non-empty list of traits, each with 'id', 'function', 'event' and 'window' or 'since'");
        } else {
            for (Node item : seq.getValue()) {
                TraitDefinition t = readTrait(item);
                if (t != null) traits.add(t);
            }
        }
        if (k.containsKey("examples")) {
            Set<String> ids = new java.util.TreeSet<>(r.traitIdPositions.keySet());
            r.traitExamples = new ExampleReader(r, Set.of()).traits(ids).read(k.get("examples").getValueNode());
        }
        return traits;
    }

    private TraitDefinition readTrait(Node item) {
        if (!(r.mapping(item, "trait") instanceof MappingNode m)) return null;
        int before = r.problems.size();
        Map<String, NodeTuple> k = r.keys(m, TRAIT_KEYS, "trait");
        String id = r.requiredString(k, "id", m);
        Node idNode = k.containsKey("id") ? k.get("id").getValueNode() : m;
        if (id != null && !PatternLoader.NAME.matcher(id).matches()) {
            r.problem(idNode, "trait id '" + id + "' must be lowercase letters, digits and '_', starting with a letter (it is read as profile.traits." + id + ")");
        } else if (id != null && r.traitIdPositions.containsKey(id)) {
            r.problem(idNode, "trait id '" + id + "' is used twice in this file (first on line " + r.traitIdPositions.get(id)[0] + ")");
        } else if (id != null) {
            r.traitIdPositions.put(id, new int[] {PatternLoader.FileReader.line(idNode), PatternLoader.FileReader.column(idNode)});
        }
        String what = "trait '" + (id == null ? "?" : id) + "'";
        String description = r.optionalString(k, "description");

        TraitDefinition.Function function = null;
        String fn = r.requiredString(k, "function", m);
        if (fn != null) {
            try {
                function = TraitDefinition.Function.valueOf(fn.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                r.problem(k.get("function").getValueNode(), "unknown function '" + fn + "'" + PatternLoader.didYouMean(fn, FUNCTIONS)
                        + " (one of " + String.join(", ", new java.util.TreeSet<>(FUNCTIONS)) + ")");
            }
        }

        String event = r.requiredString(k, "event", m);
        if (PatternLoader.ANY_EVENT.equals(event)) event = null;

        List<Expr> where = k.containsKey("where") ? r.readConditions(k.get("where").getValueNode(), Set.of()) : List.of();
        for (Expr x : where) checkEventOnly(x);

        String property = r.optionalString(k, "property");
        if (function != null && function.needsProperty() && property == null && !k.containsKey("property")) {
            r.problem(m, what + " with function " + function.yamlName() + " needs 'property': the event field it reads, e.g. property: properties.price");
        } else if (function == TraitDefinition.Function.COUNT && property != null) {
            r.problem(k.get("property").getKeyNode(), "count counts events and reads no property; remove 'property' or use another function");
            property = null;
        } else if (property != null) {
            property = checkProperty(property.trim(), k.get("property").getValueNode());
        }

        long window = 0;
        String since = null;
        if (k.containsKey("window") == k.containsKey("since")) {
            r.problem(k.containsKey("window") ? k.get("since").getKeyNode() : m, what + " needs exactly one of 'window' (1h to 90d, e.g. window: 7d)"
                    + " or 'since' (an event name: the trait starts afresh at the user's last one, e.g. since: Order Completed)");
        } else if (k.containsKey("window")) {
            window = window(k.get("window").getValueNode());
        } else {
            since = r.requiredString(k, "since", m);
        }
        if (id == null || function == null || r.problems.size() > before) return null;
        return new TraitDefinition(id, description, function, event, where, property, window, since, r.file, PatternLoader.FileReader.line(m));
    }

    /** The window in ms, or 0 (and a problem): 1h to 90d, whole hours up to 2d, whole days beyond. */
    private long window(Node n) {
        String v = r.scalar(n, "window");
        if (v == null) return 0;
        Duration d;
        try {
            d = Durations.parse(v);
        } catch (IllegalArgumentException e) {
            r.problem(n, e.getMessage());
            return 0;
        }
        long ms = d.toMillis();
        if (ms < TraitDefinition.MIN_WINDOW || ms > TraitDefinition.MAX_WINDOW) {
            r.problem(n, "window '" + v + "' must be from 1h to 90d");
            return 0;
        }
        if (ms <= TraitDefinition.HOURLY_UP_TO && ms % TraitDefinition.HOUR != 0) {
            r.problem(n, "window '" + v + "' must be whole hours (windows up to 2d are kept in hourly buckets)");
            return 0;
        }
        if (ms > TraitDefinition.HOURLY_UP_TO && ms % TraitDefinition.DAY != 0) {
            r.problem(n, "window '" + v + "' must be whole days (windows over 2d are kept in daily buckets)");
            return 0;
        }
        return ms;
    }

    /** The property as an event field path, checked with the condition language's own rules; null (and a problem) if it is not one. */
    private String checkProperty(String path, Node at) {
        try {
            Expr x = ConditionParser.parse(path + " exists");
            for (FieldRef ref : x.fieldRefs()) {
                if (ref.kind() != FieldRef.Kind.CURRENT || ref.wildcard() || ref.aggregate() != null) {
                    r.problem(at, "property '" + path + "' must be a field of the event such as properties.price (no step, profile or '*')");
                    return null;
                }
            }
            return path;
        } catch (ConditionSyntaxException e) {
            r.problem(at, "property '" + path + "' is not an event field: " + e.reason());
            return null;
        }
    }

    /** A trait's event filter reads the event only: a trait read by another trait's filter would make their order matter. */
    private void checkEventOnly(Expr x) {
        Set<String> reported = new HashSet<>();
        for (FieldRef ref : x.fieldRefs()) {
            if (ref.kind() != FieldRef.Kind.CURRENT && reported.add(ref.path())) {
                int[] at = r.positionOf(x, ref.column());
                r.problems.add(new PatternProblem(r.file, at[0], at[1], "'" + ref.path() + "': a trait's 'where' reads only the event it takes"
                        + " (properties.*, context.*, ...), not the profile or steps"));
            }
        }
    }

    /** Each trait id of every traits file read, for the checks across files. */
    static Map<String, String> ids(List<TraitDefinition> traits) {
        Map<String, String> out = new LinkedHashMap<>();
        for (TraitDefinition t : traits) out.putIfAbsent(t.id, t.source);
        return out;
    }
}
