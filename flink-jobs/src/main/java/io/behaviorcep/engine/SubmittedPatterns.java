package io.behaviorcep.engine;

import io.behaviorcep.pattern.PatternChange;
import io.behaviorcep.pattern.PatternDefinition;

import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.runtime.state.FunctionInitializationContext;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The pattern set a job was submitted with, remembered in its snapshots, so that an operator
 * restored from a snapshot can tell a restore of the same job (the changes made while it ran still
 * apply) from a submission with another pattern set (that set applies; older versions are kept only
 * to handle their open matches). Used by the engine and the actions operator alike; see
 * {@link PatternTimeline#of}.
 */
public final class SubmittedPatterns implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final String FINGERPRINT = "fingerprint";

    private final List<PatternDefinition> initial;
    private final String fingerprint;
    private transient ListState<PatternChange> state;
    private transient List<PatternChange> previous;
    private transient boolean resubmitted;

    public SubmittedPatterns(List<PatternDefinition> initial) {
        this.initial = List.copyOf(initial);
        this.fingerprint = PatternTimeline.fingerprint(initial);
    }

    public List<PatternDefinition> initial() {
        return initial;
    }

    /** Call from {@code CheckpointedFunction.initializeState}. */
    public void initialize(FunctionInitializationContext ctx) throws Exception {
        state = ctx.getOperatorStateStore().getUnionListState(
                new ListStateDescriptor<>("submitted-patterns", TypeInformation.of(PatternChange.class)));
        previous = new ArrayList<>();
        resubmitted = false;
        if (!ctx.isRestored()) return;
        String restoredFingerprint = null;
        Set<String> seen = new HashSet<>();
        for (PatternChange c : state.get()) {
            if (FINGERPRINT.equals(c.kind)) restoredFingerprint = c.source;
            else if (seen.add(PatternTimeline.changeKey(c))) previous.add(c);
        }
        resubmitted = restoredFingerprint != null && !restoredFingerprint.equals(fingerprint);
    }

    /** Call from {@code CheckpointedFunction.snapshotState}: one subtask writes, union state hands it to all on restore. */
    public void snapshot(int subtaskIndex) throws Exception {
        if (subtaskIndex != 0) {
            state.update(List.of());
            return;
        }
        List<PatternChange> out = new ArrayList<>(PatternTimeline.asChanges(initial));
        PatternChange fp = new PatternChange();
        fp.kind = FINGERPRINT;
        fp.source = fingerprint;
        out.add(fp);
        state.update(out);
    }

    public boolean resubmitted() {
        return resubmitted;
    }

    /** The timeline of this job: its patterns, the restored changes (from operator state) and, after a resubmission, the history. */
    public PatternTimeline timeline(Collection<PatternChange> restoredChanges) {
        return PatternTimeline.of(initial, restoredChanges, resubmitted, previous == null ? List.of() : previous);
    }
}
