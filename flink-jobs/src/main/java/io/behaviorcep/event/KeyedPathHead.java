package io.behaviorcep.event;

import org.apache.flink.api.common.TaskInfo;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.util.Collector;

/**
 * The head of the keyed path: the keyed events, and the pattern changes of the running job on a
 * broadcast input, merged into one stream in the order this subtask receives them. Everything after it
 * (dedup, profile, engine, actions) has one input and is chained to it; the changes travel in-band
 * ({@link KeyedPathRecords}). Holds no state.
 *
 * <p>Each operator of the chain sets its key context from every record, and Flink refuses a key of
 * another subtask's key groups; so a change goes on under a key of this subtask's own range. Nothing is
 * ever read or written under it: the operators know a change by its type and touch no keyed state or
 * timer for it, so a user with the same id would not be disturbed.
 */
public final class KeyedPathHead extends KeyedBroadcastProcessFunction<String, BehaviorEvent, BehaviorEvent, BehaviorEvent> {
    private static final long serialVersionUID = 1L;

    private transient String localKey;

    @Override
    public void processElement(BehaviorEvent e, ReadOnlyContext ctx, Collector<BehaviorEvent> out) {
        out.collect(e);
    }

    @Override
    public void processBroadcastElement(BehaviorEvent change, Context ctx, Collector<BehaviorEvent> out) {
        if (localKey == null) localKey = keyOf(getRuntimeContext().getTaskInfo());
        change.userKey = localKey;
        out.collect(change);
    }

    /** The first key of the form NUL + "keyed-path-" + n that falls into this subtask's key groups. */
    static String keyOf(TaskInfo task) {
        for (int n = 0; ; n++) {
            String key = KeyedPathRecords.NO_USER + "keyed-path-" + n;
            int index = KeyGroupRangeAssignment.assignKeyToParallelOperator(key, task.getMaxNumberOfParallelSubtasks(),
                    task.getNumberOfParallelSubtasks());
            if (index == task.getIndexOfThisSubtask()) return key;
        }
    }
}
