package io.behaviorcep.event;

import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.metrics.groups.InternalOperatorMetricGroup;
import org.apache.flink.runtime.metrics.util.InterceptingOperatorMetricGroup;
import org.apache.flink.runtime.metrics.util.InterceptingTaskMetricGroup;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.operators.testutils.MockEnvironmentBuilder;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Dedup and late routing, per user.
 *
 * <p>Deduplication is per user (the operator is keyed by the user key and the seen-ids state is
 * keyed state): the same messageId sent for two different users is two events. Segment message ids
 * are unique per source, and two users sharing one is a producer bug we would rather not turn into
 * silently lost events; it also keeps dedup state local to the user's key group, with no shuffle.
 */
class IngestFilterTest {
    static final Duration TTL = Duration.ofHours(1);
    static final long T0 = 1_772_445_600_000L; // 2026-03-02T10:00:00Z

    private InterceptingOperatorMetricGroup metrics;
    private MockEnvironment env;
    private KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent> harness;

    @BeforeEach
    void open() throws Exception {
        metrics = new InterceptingOperatorMetricGroup();
        InterceptingTaskMetricGroup task = new InterceptingTaskMetricGroup() {
            @Override
            public InternalOperatorMetricGroup getOrAddOperator(OperatorID id, String name, Map<String, String> info) {
                return metrics;
            }
        };
        env = new MockEnvironmentBuilder().setMetricGroup(task).build();
        harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new IngestFilter(TTL)), e -> e.userKey, Types.STRING, env);
        harness.setStateTtlProcessingTime(0);
        harness.open();
    }

    @AfterEach
    void close() throws Exception {
        harness.close();
        env.close();
    }

    static BehaviorEvent event(String user, String messageId, long ts) {
        BehaviorEvent e = new BehaviorEvent();
        e.type = "track";
        e.event = "Product Viewed";
        e.userId = user;
        e.userKey = user;
        e.messageId = messageId;
        e.timestamp = ts;
        return e;
    }

    void send(BehaviorEvent e) throws Exception {
        harness.processElement(new StreamRecord<>(e, e.timestamp));
    }

    List<String> passed() {
        return harness.extractOutputValues().stream().map(e -> e.userKey + "/" + e.messageId).collect(Collectors.toList());
    }

    List<String> late() {
        var side = harness.getSideOutput(IngestFilter.LATE);
        return side == null ? List.of() : side.stream().map(r -> r.getValue().userKey + "/" + r.getValue().messageId).collect(Collectors.toList());
    }

    long counter(String name) {
        return ((Counter) metrics.get(name)).getCount();
    }

    @Test
    void duplicatesOfOneUserAreDroppedAndCounted() throws Exception {
        send(event("u1", "m1", T0));
        send(event("u1", "m1", T0));          // a producer retry
        send(event("u1", "m1", T0 + 5_000));  // a retry with another timestamp is still the same message
        send(event("u1", "m2", T0 + 1));

        assertThat(passed()).containsExactly("u1/m1", "u1/m2");
        assertThat(counter("duplicatesDropped")).isEqualTo(2);
        assertThat(counter("lateEvents")).isZero();
        assertThat(late()).isEmpty();
    }

    @Test
    void theSameMessageIdForAnotherUserIsNotADuplicate() throws Exception {
        send(event("u1", "m1", T0));
        send(event("u2", "m1", T0));

        assertThat(passed()).containsExactly("u1/m1", "u2/m1");
        assertThat(counter("duplicatesDropped")).isZero();
        assertThat(harness.numKeyedStateEntries()).isEqualTo(2);
    }

    @Test
    void eventsAtOrBehindTheWatermarkGoToTheLateOutput() throws Exception {
        harness.processWatermark(T0);
        send(event("u1", "behind", T0 - 60_000));
        send(event("u1", "at", T0));
        send(event("u1", "ahead", T0 + 1));

        assertThat(passed()).containsExactly("u1/ahead");
        assertThat(late()).containsExactly("u1/behind", "u1/at");
        assertThat(counter("lateEvents")).isEqualTo(2);
        assertThat(counter("duplicatesDropped")).isZero();
    }

    @Test
    void aRetriedLateEventIsReportedLateOnlyOnce() throws Exception {
        harness.processWatermark(T0);
        send(event("u1", "m1", T0 - 1));
        send(event("u1", "m1", T0 - 1));

        assertThat(late()).containsExactly("u1/m1");
        assertThat(counter("lateEvents")).isEqualTo(1);
        assertThat(counter("duplicatesDropped")).isEqualTo(1);
    }

    @Test
    void seenIdsExpireAfterTheTtl() throws Exception {
        harness.setStateTtlProcessingTime(0);
        send(event("u1", "m1", T0));
        send(event("u2", "m9", T0));
        assertThat(harness.numKeyedStateEntries()).isEqualTo(2);

        // one millisecond before the TTL: still remembered (a read does not extend it)
        harness.setStateTtlProcessingTime(TTL.toMillis() - 1);
        send(event("u1", "m1", T0 + 1));
        assertThat(passed()).containsExactly("u1/m1", "u2/m9");
        assertThat(counter("duplicatesDropped")).isEqualTo(1);

        // at the TTL: forgotten, the same id passes again
        harness.setStateTtlProcessingTime(TTL.toMillis());
        send(event("u1", "m1", T0 + 2));
        assertThat(passed()).containsExactly("u1/m1", "u2/m9", "u1/m1");
        assertThat(counter("duplicatesDropped")).isEqualTo(1);
        // u2 said nothing more: its expired entry is invisible, and gone once read (heap state cleans
        // expired entries lazily, on access)
        assertThat(readSeen("u2").contains("m9")).isFalse();
        assertThat(harness.numKeyedStateEntries()).isEqualTo(1);

        // once u1's new entry has expired too, nothing is left
        harness.setStateTtlProcessingTime(2 * TTL.toMillis() + 2);
        assertThat(readSeen("u1").contains("m1")).isFalse();
        assertThat(harness.numKeyedStateEntries()).isZero();
    }

    /** The operator's own seen-ids state of one user, read as the operator reads it (same name, same TTL). */
    private MapState<String, Boolean> readSeen(String user) throws Exception {
        KeyedStateBackend<String> backend = ((AbstractStreamOperator<BehaviorEvent>) harness.getOperator()).getKeyedStateBackend();
        backend.setCurrentKey(user);
        MapStateDescriptor<String, Boolean> d = new MapStateDescriptor<>("seen-message-ids", String.class, Boolean.class);
        d.enableTimeToLive(StateTtlConfig.newBuilder(TTL)
                .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
                .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
                .build());
        return backend.getPartitionedState(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, d);
    }
}
