package io.behaviorcep.engine;

import io.behaviorcep.pattern.PatternChange;

import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.runtime.state.FunctionInitializationContext;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The pattern changes a running job has seen, as the engine and the actions operator keep them in
 * operator state. Every subtask sees every change (they travel in-band from a broadcast input at the
 * head of the keyed path), and every subtask writes them all into union list state: whatever the
 * parallelism after a restore, each subtask gets them back (duplicates collapse on their key).
 */
public final class PatternChangeLog implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    /** Shared by the engine and the actions operator; the names are part of the savepoint layout. */
    static final String STATE_NAME = "pattern-change-log";

    private transient ListState<PatternChange> state;
    private transient Map<String, PatternChange> byKey;

    public void initialize(FunctionInitializationContext ctx) throws Exception {
        state = ctx.getOperatorStateStore().getUnionListState(new ListStateDescriptor<>(STATE_NAME, TypeInformation.of(PatternChange.class)));
        byKey = new LinkedHashMap<>();
        if (!ctx.isRestored()) return;
        List<PatternChange> restored = new ArrayList<>();
        for (PatternChange c : state.get()) restored.add(c);
        restored.sort(Comparator.comparingLong(c -> c.acceptedAt));
        for (PatternChange c : restored) byKey.put(PatternTimeline.changeKey(c), c);
    }

    public void add(PatternChange change) {
        byKey.put(PatternTimeline.changeKey(change), change);
    }

    /** Every change, oldest accepted first. */
    public List<PatternChange> all() {
        return byKey == null ? List.of() : new ArrayList<>(byKey.values());
    }

    public void snapshot() throws Exception {
        state.update(all());
    }
}
