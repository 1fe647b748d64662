package io.behaviorcep.profile;

import io.behaviorcep.pattern.PatternChange;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.pattern.ThresholdSegment;
import io.behaviorcep.trait.TraitSet;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.apache.flink.api.common.state.ListState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The threshold segments and computed traits the profile operator applies: those of the submission,
 * then those of each {@link PatternChange#DEFINITIONS} change the pattern watcher sends in-band, from
 * the change's activation time on (event time, the same on every subtask: events before it are
 * counted with the previous definitions, events at or after it with the new ones).
 *
 * <p>The change in effect, and those still waiting for their time, are kept in union operator
 * state (every subtask holds the same), with a fingerprint of the submission's definitions. After a
 * restore they apply again when the job was submitted with the same definitions (a failover, a
 * restart from a savepoint with the same folder); a job submitted with other segments or traits
 * files starts from those instead (the files are then the newer word).
 */
final class ProfileDefinitions {
    static final String STATE = "profile-definitions";
    private static final Logger LOG = LoggerFactory.getLogger(ProfileDefinitions.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String baseline;
    private List<ThresholdSegment> segments;
    private TraitSet traits;
    /** The change in effect (null: the submission's definitions). */
    private PatternChange applied;
    /** Received changes whose activation time event time has not reached, oldest first. */
    private final List<PatternChange> waiting = new ArrayList<>();
    private ListState<String> state;

    ProfileDefinitions(List<ThresholdSegment> segments, TraitSet traits) {
        this.segments = segments;
        this.traits = traits;
        this.baseline = fingerprint(segments, traits);
    }

    List<ThresholdSegment> segments() {
        return segments;
    }

    TraitSet traits() {
        return traits;
    }

    void initialize(ListState<String> state, boolean restored) throws Exception {
        this.state = state;
        if (!restored) return;
        List<PatternChange> kept = new ArrayList<>();
        for (String s : state.get()) {
            ObjectNode o = (ObjectNode) JSON.readTree(s);
            if (!baseline.equals(o.path("baseline").asText())) {
                LOG.info("segments and traits changed in a running job before the restore are not applied: the job was submitted with other files");
                return;
            }
            PatternChange c = PatternChange.definitions(java.util.Map.of(), o.path("activateAt").asLong(), o.path("acceptedAt").asLong());
            c.yaml = o.path("files").asText();
            if (kept.stream().noneMatch(k -> k.activateAt == c.activateAt)) kept.add(c);
        }
        kept.sort(Comparator.comparingLong(c -> c.activateAt));
        if (kept.isEmpty()) return;
        // the earliest was in effect when the state was taken (the operator keeps at most one applied)
        apply(kept.get(0));
        waiting.addAll(kept.subList(1, kept.size()));
    }

    void snapshot() throws Exception {
        List<String> out = new ArrayList<>();
        if (applied != null) out.add(encode(applied));
        for (PatternChange c : waiting) out.add(encode(c));
        state.update(out);
    }

    /** A change arrived: it waits for its activation time. */
    void receive(PatternChange c) {
        if (applied != null && c.activateAt <= applied.activateAt) return;
        waiting.removeIf(w -> w.activateAt >= c.activateAt); // replaced by the later word
        waiting.add(c);
    }

    /** Applies the waiting changes whose activation time is at or before {@code time}; whether any was. */
    boolean activateUpTo(long time) {
        boolean any = false;
        while (!waiting.isEmpty() && waiting.get(0).activateAt <= time) {
            any |= apply(waiting.remove(0));
        }
        return any;
    }

    private boolean apply(PatternChange c) {
        PatternLoader.Result r = PatternLoader.loadAll(c.definitionFiles());
        if (!r.problems().isEmpty()) {
            // the watcher checked them with the same loader: only a job of another version gets here
            LOG.error("segments and traits change from event time {} not applied: {}", c.activateAt, r.problems());
            return false;
        }
        segments = r.segments().stream().filter(s -> s.enabled).toList();
        traits = new TraitSet(r.traits());
        applied = c;
        LOG.info("segments {} and traits {} in effect from event time {}", segments.stream().map(s -> s.id).toList(), traits.ids(), c.activateAt);
        return true;
    }

    private String encode(PatternChange c) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("baseline", baseline);
        o.put("activateAt", c.activateAt);
        o.put("acceptedAt", c.acceptedAt);
        o.put("files", c.yaml);
        return JSON.writeValueAsString(o);
    }

    /** What decides the submission's definitions, hashed. */
    static String fingerprint(List<ThresholdSegment> segments, TraitSet traits) {
        StringBuilder b = new StringBuilder();
        for (ThresholdSegment s : segments) b.append(s.id).append(s.enabled).append(s.when).append('\n');
        for (var t : traits.traits()) b.append(t.id).append(t.spec()).append('\n');
        return Integer.toHexString(b.toString().hashCode()) + ":" + b.length();
    }
}
