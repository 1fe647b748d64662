package io.behaviorcep.metrics;

import org.apache.flink.api.common.TaskInfo;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple4;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.state.KeyGroupRange;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Per-subtask counts of keyed things (users with a profile, members of a segment), kept up to date
 * by the keyed function that creates and clears that state, and shown as gauges.
 *
 * <p>Counting keys in keyed state would need a scan; instead the function increments on create and
 * decrements on clear. So that the numbers survive a restart or a savepoint rollout, they are kept
 * in union operator state: restored at the same parallelism, each subtask takes back its own count
 * exactly; after rescaling, each subtask takes the share of every old count that matches the key
 * groups it now owns (an estimate per subtask whose shares add up to the old total exactly; the
 * per-subtask error stays until that state is cleared).
 */
public final class SubtaskCounts implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String stateName;
    private transient Map<String, AtomicLong> counts;
    private transient ListState<Tuple4<Integer, Integer, String, Long>> state;
    private transient int subtask;
    private transient int parallelism;

    /** @param stateName name of the operator state holding the counts: unique within the operator, never changed */
    public SubtaskCounts(String stateName) {
        this.stateName = stateName;
    }

    /** Call from {@code CheckpointedFunction.initializeState}. */
    public void initialize(FunctionInitializationContext ctx, TaskInfo task) throws Exception {
        counts = new ConcurrentHashMap<>();
        subtask = task.getIndexOfThisSubtask();
        parallelism = task.getNumberOfParallelSubtasks();
        state = ctx.getOperatorStateStore().getUnionListState(new ListStateDescriptor<>(stateName,
                Types.TUPLE(Types.INT, Types.INT, Types.STRING, Types.LONG)));
        if (!ctx.isRestored()) return;
        int maxParallelism = task.getMaxNumberOfParallelSubtasks();
        KeyGroupRange mine = KeyGroupRangeAssignment.computeKeyGroupRangeForOperatorIndex(maxParallelism, parallelism, subtask);
        for (Tuple4<Integer, Integer, String, Long> t : state.get()) {
            KeyGroupRange theirs = KeyGroupRangeAssignment.computeKeyGroupRangeForOperatorIndex(maxParallelism, t.f1, t.f0);
            KeyGroupRange overlap = mine.getIntersection(theirs);
            if (overlap.getNumberOfKeyGroups() == 0) continue;
            // this subtask's share of the old count, by key-group position; the shares of all new
            // subtasks add up to the old count exactly (no rounding drift across rescalings)
            long n = theirs.getNumberOfKeyGroups();
            long from = overlap.getStartKeyGroup() - theirs.getStartKeyGroup();
            long to = overlap.getEndKeyGroup() - theirs.getStartKeyGroup() + 1;
            long share = Math.floorDiv(t.f3 * to, n) - Math.floorDiv(t.f3 * from, n);
            counter(t.f2).addAndGet(share);
        }
    }

    /** Call from {@code CheckpointedFunction.snapshotState}. */
    public void snapshot(FunctionSnapshotContext ctx) throws Exception {
        if (state == null) return;
        List<Tuple4<Integer, Integer, String, Long>> out = new ArrayList<>();
        counts().forEach((name, n) -> out.add(Tuple4.of(subtask, parallelism, name, n.get())));
        state.update(out);
    }

    /** Registers {@code gauge} for {@code name} in {@code group} (call in open, after initialize). */
    public void register(MetricGroup group, String gaugeName, String name) {
        AtomicLong n = counter(name);
        group.gauge(gaugeName, (Gauge<Long>) n::get);
    }

    /** Names with a count, restored or counted so far. */
    public List<String> names() {
        return new ArrayList<>(counts().keySet());
    }

    public void increment(String name) {
        counter(name).incrementAndGet();
    }

    public void add(String name, long delta) {
        counter(name).addAndGet(delta);
    }

    public void decrement(String name) {
        counter(name).decrementAndGet();
    }

    public long get(String name) {
        AtomicLong n = counts().get(name);
        return n == null ? 0 : n.get();
    }

    private AtomicLong counter(String name) {
        return counts().computeIfAbsent(name, k -> new AtomicLong());
    }

    /** Also usable without {@link #initialize} (a function tested on its own): then it just counts. */
    private Map<String, AtomicLong> counts() {
        if (counts == null) counts = new ConcurrentHashMap<>();
        return counts;
    }
}
