package io.behaviorcep.engine;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.EventMatcher;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.expr.Expr;
import io.behaviorcep.pattern.expr.FieldRef;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * What the engine keeps of an event it binds into a partial match: everything but the
 * {@code properties} and {@code context} entries that nothing will read again. Once bound, an event
 * is read only through a later condition's reference to its step ({@code first_view.properties.product_id},
 * aggregates included), an alert payload ({@code ${added.properties.name}}, of the alert, a
 * timeout's alert or a segment's exit alert) and the match's time zone ({@code context.timezone},
 * for the messaging policy). The ids, name, type, times, stitching mark and profile snapshot stay.
 * A Segment event's user agent, library, page and most of its properties are most of its bytes, and
 * a pattern with a long window (a view kept 24 h for a repeat) holds many events per user.
 *
 * <p>The engine projects with the union of every pattern version it runs or drains, so a run only
 * ever holds fields its own version reads. A new version may take over open runs ({@code on_change:
 * keep}) only when it reads no field of earlier steps that the running version does not
 * ({@link #covers}); otherwise the change drains.
 */
public final class EventProjection {
    /** Keeps every field: when no pattern is known. */
    public static final EventProjection EVERYTHING = new EventProjection(null);

    /** Always kept of the context: the messaging policy reads the match's zone. */
    static final String TIMEZONE = "context.timezone";

    /** Every path read from bound events, as written ("properties.product_id", "properties.products.*.id"); null: everything. */
    private final Set<String> paths;
    private final Set<String> propertyKeys = new java.util.HashSet<>(), contextKeys = new java.util.HashSet<>();
    /** Wildcard keys as {prefix, suffix} of the flattened key, per map. */
    private final List<String[]> propertyWildcards = new ArrayList<>(), contextWildcards = new ArrayList<>();

    private EventProjection(Set<String> paths) {
        this.paths = paths;
        if (paths == null) return;
        for (String p : paths) {
            if (p.startsWith("properties.")) add(p.substring("properties.".length()), propertyKeys, propertyWildcards);
            else if (p.startsWith("context.")) add(p.substring("context.".length()), contextKeys, contextWildcards);
        }
    }

    private static void add(String key, Set<String> keys, List<String[]> wildcards) {
        int star = key.indexOf('*');
        if (star < 0) keys.add(key);
        else wildcards.add(new String[] {key.substring(0, star), key.substring(star + 1)});
    }

    /** What the given pattern versions read of bound events (experiment variants included). */
    public static EventProjection of(Iterable<PatternDefinition> defs) {
        Set<String> paths = new TreeSet<>();
        paths.add(TIMEZONE);
        for (PatternDefinition d : defs) collect(d, paths);
        return new EventProjection(paths);
    }

    /** The paths of bound events that {@code def} (and its experiment's variants) may read. */
    static Set<String> pathsReadBy(PatternDefinition def) {
        Set<String> paths = new TreeSet<>();
        collect(def, paths);
        return paths;
    }

    private static void collect(PatternDefinition d, Set<String> paths) {
        if (d == null) return;
        for (PatternDefinition.StepDefinition s : d.flatSteps()) {
            collect(s.matcher, paths);
            if (s.quantifier != null) collect(s.quantifier.until, paths);
        }
        collect(d.alert, paths);
        if (d.onTimeout() != null) collect(d.onTimeout().alert, paths);
        if (d.segment != null) collect(d.segment.exitAlert, paths);
        if (d.experiment() != null) {
            for (PatternDefinition.Variant v : d.experiment().variants) if (v.pattern != d) collect(v.pattern, paths);
        }
    }

    private static void collect(EventMatcher m, Set<String> paths) {
        if (m == null) return;
        for (Expr x : m.where) {
            for (FieldRef r : x.fieldRefs()) if (r.kind() == FieldRef.Kind.STEP && r.field() != null) paths.add(r.field());
        }
        if (m.alternatives != null) for (EventMatcher a : m.alternatives) collect(a, paths);
    }

    private static void collect(PatternDefinition.AlertAction a, Set<String> paths) {
        if (a != null) paths.addAll(a.template.eventPaths());
    }

    /** Whether every field {@code def} reads of bound events is one these keep. */
    boolean covers(Set<String> readPaths) {
        return paths == null || paths.containsAll(readPaths);
    }

    /** The event as a partial match keeps it; {@code e} itself when nothing would be left out. */
    public BehaviorEvent apply(BehaviorEvent e) {
        if (paths == null) return e;
        Map<String, String> properties = keep(e.properties, propertyKeys, propertyWildcards);
        Map<String, String> context = keep(e.context, contextKeys, contextWildcards);
        return properties == e.properties && context == e.context ? e : e.withMaps(properties, context);
    }

    /** {@code all} itself when every entry stays, else a new map of the entries kept. */
    private static Map<String, String> keep(Map<String, String> all, Set<String> keys, List<String[]> wildcards) {
        if (all == null || all.isEmpty()) return all;
        int kept = 0;
        for (String k : all.keySet()) if (kept(k, keys, wildcards)) kept++;
        if (kept == all.size()) return all;
        Map<String, String> out = new HashMap<>(Math.max(2, kept * 2));
        if (kept == 0) return out;
        for (Map.Entry<String, String> en : all.entrySet()) if (kept(en.getKey(), keys, wildcards)) out.put(en.getKey(), en.getValue());
        return out;
    }

    /** A key is kept when a read path names it, or a wildcard path's one {@code *} segment stands for one segment of it. */
    private static boolean kept(String key, Set<String> keys, List<String[]> wildcards) {
        if (keys.contains(key)) return true;
        for (String[] w : wildcards) {
            String prefix = w[0], suffix = w[1];
            int end = key.length() - suffix.length();
            if (end <= prefix.length() || !key.startsWith(prefix) || !key.endsWith(suffix)) continue;
            int dot = key.indexOf('.', prefix.length());
            if (dot < 0 || dot >= end) return true;
        }
        return false;
    }

    @Override
    public String toString() {
        return paths == null ? "EventProjection{everything}" : "EventProjection" + paths;
    }
}
