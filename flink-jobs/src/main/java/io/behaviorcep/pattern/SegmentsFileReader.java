package io.behaviorcep.pattern;

import io.behaviorcep.pattern.expr.Expr;
import io.behaviorcep.pattern.expr.FieldRef;

import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.SequenceNode;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a threshold segments file ({@code kind: segments}, or a file named {@code segments.yaml}):
 * segments defined by conditions over the user's profile, with examples, reporting every problem
 * with its position like the rest of the loader.
 *
 * <pre>
 * kind: segments
 * params:
 *   min_revenue: 500
 * segments:
 *   - id: engaged
 *     description: More than 5 sessions in the last 7 days.
 *     when: profile.sessions_7d &gt; 5
 *   - id: high_value
 *     when:
 *       - profile.revenue_30d &gt; ${params.min_revenue}
 * examples:
 *   - name: ...
 *     events: [...]
 *     expect:
 *       segments: [{enter: engaged, at: 2d}]
 * </pre>
 */
final class SegmentsFileReader {
    private final PatternLoader.FileReader r;

    SegmentsFileReader(PatternLoader.FileReader r) {
        this.r = r;
    }

    ThresholdSegmentFile read(MappingNode top) {
        Map<String, NodeTuple> k = r.keys(top, PatternLoader.SEGMENTS_FILE_KEYS, "segments file");
        r.readParams(k.get("params"));
        List<ThresholdSegment> segments = new ArrayList<>();
        NodeTuple list = k.get("segments");
        if (list == null) {
            r.problem(top, "missing 'segments': list the threshold segments, e.g. - id: engaged / when: profile.sessions_7d > 5");
        } else if (!(list.getValueNode() instanceof SequenceNode seq) || seq.getValue().isEmpty()) {
            r.problem(list.getValueNode(), "'segments' must be a non-empty list of segments, each with 'id' and 'when'");
        } else {
            for (Node item : seq.getValue()) {
                ThresholdSegment s = readSegment(item);
                if (s != null) segments.add(s);
            }
        }
        List<Example> examples = k.containsKey("examples")
                ? new ExampleReader(r, Set.of()).read(k.get("examples").getValueNode()) : List.of();
        for (Example ex : examples) {
            if (ex.alerts != null && !ex.alerts.isEmpty()) {
                r.problems.add(new PatternProblem(r.file, ex.line, 1, "example '" + ex.name
                        + "' expects alerts, but threshold segments raise none; expect 'segments:'"));
            }
        }
        return new ThresholdSegmentFile(r.file, segments, examples);
    }

    private ThresholdSegment readSegment(Node item) {
        if (!(r.mapping(item, "segment") instanceof MappingNode m)) return null;
        Map<String, NodeTuple> k = r.keys(m, PatternLoader.THRESHOLD_SEGMENT_KEYS, "segment");
        String id = r.requiredString(k, "id", m);
        Node idNode = k.containsKey("id") ? k.get("id").getValueNode() : m;
        if (id != null && !PatternLoader.NAME.matcher(id).matches()) {
            r.problem(idNode, "segment id '" + id + "' must be lowercase letters, digits and '_', starting with a letter (it is the segment's name)");
            id = null;
        } else if (id != null && PatternLoader.RESERVED_REASONS.contains(id)) {
            r.problem(idNode, "'" + id + "' is a reason the job gives segment updates itself (ttl, suppressed, erased); choose another id");
            id = null;
        } else if (id != null && r.segmentIdPositions.containsKey(id)) {
            r.problem(idNode, "segment id '" + id + "' is used twice in this file (first on line " + r.segmentIdPositions.get(id)[0] + ")");
            id = null;
        } else if (id != null) {
            r.segmentIdPositions.put(id, new int[] {PatternLoader.FileReader.line(idNode), PatternLoader.FileReader.column(idNode)});
        }
        String description = r.optionalString(k, "description");
        Boolean enabled = r.optionalBool(k, "enabled");
        List<Expr> when = new ArrayList<>();
        if (!k.containsKey("when")) {
            r.problem(m, "segment '" + (id == null ? "?" : id) + "' needs 'when': conditions over the profile, e.g. profile.sessions_7d > 5");
        } else {
            when = r.readConditions(k.get("when").getValueNode(), Set.of());
            for (Expr x : when) checkProfileOnly(x);
        }
        if (id == null || when.isEmpty()) return null;
        return new ThresholdSegment(id, description, enabled == null || enabled, when, r.file, PatternLoader.FileReader.line(m));
    }

    /** A threshold is decided from the profile alone (also when no event arrives), so it reads nothing else. */
    private void checkProfileOnly(Expr x) {
        Set<String> reported = new HashSet<>();
        for (FieldRef ref : x.fieldRefs()) {
            if (ref.kind() != FieldRef.Kind.PROFILE && reported.add(ref.path())) {
                int[] at = r.positionOf(x, ref.column());
                r.problems.add(new PatternProblem(r.file, at[0], at[1], "'" + ref.path() + "' is a field of an event; a segment condition reads"
                        + " only the user's profile (profile.<field>), because it is also decided when no event arrives"));
            }
        }
    }
}
