package io.behaviorcep.ops;

import io.behaviorcep.metrics.SubtaskCounts;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.util.Collector;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The per-subtask gauges ({@code profilesHeld}, segment {@code members}) are counted on create and
 * clear, not by scanning state: they must come back after a restore (every savepoint rollout is
 * one), exactly at the same parallelism and split by key groups after rescaling.
 */
class MetricsGaugeRestoreTest {
    private static final int MAX_PARALLELISM = 128;

    /** Counts users the way ProfileFunction does: up when a user's state is created, down when cleared. */
    static final class CountingFunction extends KeyedProcessFunction<String, String, String> implements CheckpointedFunction {
        final SubtaskCounts counts = new SubtaskCounts("held-count");
        private transient ValueState<Boolean> held;

        @Override
        public void open(OpenContext ctx) {
            held = getRuntimeContext().getState(new ValueStateDescriptor<>("held", Types.BOOLEAN));
            counts.register(getRuntimeContext().getMetricGroup(), "held", "held");
        }

        @Override
        public void initializeState(FunctionInitializationContext ctx) throws Exception {
            counts.initialize(ctx, getRuntimeContext().getTaskInfo());
        }

        @Override
        public void snapshotState(FunctionSnapshotContext ctx) throws Exception {
            counts.snapshot(ctx);
        }

        @Override
        public void processElement(String user, Context ctx, Collector<String> out) throws Exception {
            if (user.startsWith("-")) {
                if (held.value() != null) {
                    held.clear();
                    counts.decrement("held");
                }
            } else if (held.value() == null) {
                held.update(true);
                counts.increment("held");
            }
        }
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, String, String> harness(CountingFunction f, int parallelism, int subtask) throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(f), u -> u.replace("-", ""), Types.STRING,
                MAX_PARALLELISM, parallelism, subtask);
    }

    @Test
    void countsComeBackAfterARestoreAndSplitByKeyGroupsWhenRescaled() throws Exception {
        CountingFunction first = new CountingFunction();
        OperatorSubtaskState snapshot;
        try (var h = harness(first, 1, 0)) {
            h.open();
            for (int i = 0; i < 100; i++) h.processElement("user-" + i, i);
            h.processElement("user-1", 100);    // already held
            h.processElement("-user-2", 101);   // cleared
            assertThat(first.counts.get("held")).isEqualTo(99);
            snapshot = h.snapshot(1, 1);
        }

        // same parallelism: exactly the count, and it goes on from there
        CountingFunction restored = new CountingFunction();
        try (var h = harness(restored, 1, 0)) {
            h.initializeState(snapshot);
            h.open();
            assertThat(restored.counts.get("held")).isEqualTo(99);
            h.processElement("user-3", 200);    // restored keyed state: not counted twice
            h.processElement("user-new", 201);
            assertThat(restored.counts.get("held")).isEqualTo(100);
        }

        // rescaled 1 -> 2: each subtask takes the share of its key groups (64 of 128 each), adding up to the whole
        CountingFunction[] halves = {new CountingFunction(), new CountingFunction()};
        OperatorSubtaskState[] halfSnapshots = new OperatorSubtaskState[2];
        for (int i = 0; i < 2; i++) {
            try (var h = harness(halves[i], 2, i)) {
                h.initializeState(AbstractStreamOperatorTestHarness.repartitionOperatorState(snapshot, MAX_PARALLELISM, 1, 2, i));
                h.open();
                halfSnapshots[i] = h.snapshot(2, 2);
            }
        }
        assertThat(halves[0].counts.get("held")).isEqualTo(49);
        assertThat(halves[1].counts.get("held")).isEqualTo(50);

        // and back 2 -> 1: the sum
        OperatorSubtaskState merged = AbstractStreamOperatorTestHarness.repackageState(halfSnapshots);
        CountingFunction whole = new CountingFunction();
        try (var h = harness(whole, 1, 0)) {
            h.initializeState(AbstractStreamOperatorTestHarness.repartitionOperatorState(merged, MAX_PARALLELISM, 2, 1, 0));
            h.open();
            assertThat(whole.counts.get("held")).isEqualTo(99);
        }
    }
}
