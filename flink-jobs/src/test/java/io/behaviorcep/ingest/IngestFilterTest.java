package io.behaviorcep.ingest;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.SeenIdSet;

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
        open(new IngestFilter(TTL));
    }

    void open(IngestFilter filter) throws Exception {
        metrics = new InterceptingOperatorMetricGroup();
        InterceptingTaskMetricGroup task = new InterceptingTaskMetricGroup() {
            @Override
            public InternalOperatorMetricGroup getOrAddOperator(OperatorID id, String name, Map<String, String> info) {
                return metrics;
            }
        };
        env = new MockEnvironmentBuilder().setMetricGroup(task).build();
        harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(filter), e -> e.userKey, Types.STRING, env);
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
        assertThat(seenIds("u1").size()).isEqualTo(1);
        assertThat(remembered("u1", "m1")).containsExactly("m1");
        assertThat(seenIds("u2").size()).isEqualTo(1);
        assertThat(remembered("u2", "m1")).containsExactly("m1");
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
        harness.setProcessingTime(0);
        send(event("u1", "m1", T0));
        send(event("u2", "m9", T0));
        assertThat(harness.numProcessingTimeTimers()).isEqualTo(2);

        // one millisecond before the TTL: still remembered (a repeat does not extend it)
        harness.setProcessingTime(TTL.toMillis() - 1);
        send(event("u1", "m1", T0 + 1));
        assertThat(passed()).containsExactly("u1/m1", "u2/m9");
        assertThat(counter("duplicatesDropped")).isEqualTo(1);

        // at the TTL: forgotten, the same id passes again (and is remembered from now)
        harness.setProcessingTime(TTL.toMillis());
        send(event("u1", "m1", T0 + 2));
        assertThat(passed()).containsExactly("u1/m1", "u2/m9", "u1/m1");
        assertThat(counter("duplicatesDropped")).isEqualTo(1);
        assertThat(seenIds("u1").size()).isEqualTo(1);
        assertThat(remembered("u1", "m1")).containsExactly("m1");

        // u2 said nothing more: its sweep (the TTL rounded up to a sixteenth of it) removed its id
        assertThat(seenIds("u2").isEmpty()).isTrue();

        // once u1's renewed id has expired and been swept, nothing is left: no ids, no timers
        harness.setProcessingTime(2 * TTL.toMillis() + TTL.toMillis() / 16);
        assertThat(seenIds("u1").isEmpty()).isTrue();
        assertThat(harness.numKeyedStateEntries()).isZero();
        assertThat(harness.numProcessingTimeTimers()).isZero();
    }

    @Test
    void aBusyUserHasOneSweepTimerAndKeepsOnlyUnexpiredIds() throws Exception {
        long step = TTL.toMillis() / 10;
        for (int i = 0; i < 30; i++) {
            harness.setProcessingTime(i * step);
            send(event("u1", "m" + i, T0 + i));
            assertThat(harness.numProcessingTimeTimers()).isEqualTo(1);
        }
        // at 2.9 TTL: the ids of the last TTL, at most a sixteenth of it more, are remembered
        assertThat(seenIds("u1").size()).isBetween(10, 11);
        assertThat(remembered("u1", "m0", "m18", "m20", "m29")).containsExactly("m20", "m29");
        send(event("u1", "m29", T0 + 40));
        send(event("u1", "m5", T0 + 41));
        assertThat(passed()).endsWith("u1/m29", "u1/m5");
        assertThat(counter("duplicatesDropped")).isEqualTo(1);

        harness.setProcessingTime(30 * step + 2 * TTL.toMillis());
        assertThat(harness.numKeyedStateEntries()).isZero();
        assertThat(harness.numProcessingTimeTimers()).isZero();
    }

    @Test
    void pastTheBoundAUserForgetsTheirOldestIdsFirstAndOthersKeepTheirs() throws Exception {
        close();
        open(new IngestFilter(TTL, null, IngestFilter.DEFAULT_LATE_WARNING_SHARE, 32)); // forgets 2 at a time
        send(event("u2", "x", T0));
        for (int i = 0; i < 32; i++) {
            harness.setProcessingTime(i);
            send(event("u1", "m" + i, T0 + i));
        }
        assertThat(seenIds("u1").size()).isEqualTo(32);
        assertThat(counter("dedupIdsForgotten")).isZero();

        harness.setProcessingTime(32);
        send(event("u1", "m32", T0 + 32)); // the 33rd: m0 and m1, the oldest, are forgotten
        assertThat(seenIds("u1").size()).isEqualTo(31);
        assertThat(remembered("u1", "m0", "m1", "m2", "m32")).containsExactly("m2", "m32");
        assertThat(counter("dedupIdsForgotten")).isEqualTo(2);

        send(event("u1", "m2", T0 + 40));  // still remembered: dropped
        send(event("u1", "m0", T0 + 41));  // forgotten: passes again, and is remembered anew
        send(event("u2", "x", T0 + 42));   // the other user's id is untouched
        assertThat(passed()).endsWith("u1/m32", "u1/m0");
        assertThat(counter("duplicatesDropped")).isEqualTo(2);
        assertThat(seenIds("u2").size()).isEqualTo(1);
        assertThat(remembered("u2", "x")).containsExactly("x");

        // a flood never takes the user past the bound, and costs nothing to anyone else
        for (int i = 100; i < 1_100; i++) {
            harness.setProcessingTime(i);
            send(event("u1", "f" + i, T0 + i));
            if (i % 97 == 0) assertThat(seenIds("u1").size()).isBetween(31, 32);
        }
        assertThat(remembered("u1", "f100", "f1099", "m32")).containsExactly("f1099");
        assertThat(seenIds("u2").size()).isEqualTo(1);
        assertThat(remembered("u2", "x")).containsExactly("x");
        assertThat(harness.numProcessingTimeTimers()).isEqualTo(2); // still one sweep timer per user
    }

    @Test
    void idsTheSweepRemovedNoLongerCountTowardsTheBound() throws Exception {
        close();
        open(new IngestFilter(TTL, null, IngestFilter.DEFAULT_LATE_WARNING_SHARE, 4));
        harness.setProcessingTime(0);
        send(event("u1", "a", T0));
        send(event("u1", "b", T0 + 1));
        harness.setProcessingTime(TTL.toMillis() / 2);
        send(event("u1", "c", T0 + 2));
        harness.setProcessingTime(TTL.toMillis() / 2 + 1); // c is older than d, not a tie
        send(event("u1", "d", T0 + 3));
        // a and b expire and are swept: two ids left
        harness.setProcessingTime(TTL.toMillis() + TTL.toMillis() / 16);
        assertThat(seenIds("u1").size()).isEqualTo(2);
        assertThat(remembered("u1", "a", "b", "c", "d")).containsExactly("c", "d");

        send(event("u1", "e", T0 + 4));
        send(event("u1", "f", T0 + 5));
        assertThat(counter("dedupIdsForgotten")).isZero();
        send(event("u1", "g", T0 + 6)); // the fifth: c, the oldest, is forgotten
        assertThat(seenIds("u1").size()).isEqualTo(4);
        assertThat(remembered("u1", "c", "d", "e", "f", "g")).containsExactly("d", "e", "f", "g");
        assertThat(counter("dedupIdsForgotten")).isEqualTo(1);
        assertThat(passed()).containsExactly("u1/a", "u1/b", "u1/c", "u1/d", "u1/e", "u1/f", "u1/g");
    }

    @Test
    void aLongIdIsRememberedByItsFingerprintAndStillDeduplicated() throws Exception {
        String longId = "m".repeat(64 * 1024);
        send(event("u1", longId, T0));
        send(event("u1", longId, T0 + 1));
        send(event("u1", longId.substring(1) + "n", T0 + 2)); // as long, another id
        send(event("u1", "x".repeat(64), T0 + 3));           // at the limit: kept as it is
        assertThat(harness.extractOutputValues()).hasSize(3);
        assertThat(counter("duplicatesDropped")).isEqualTo(1);
        assertThat(seenIds("u1").size()).isEqualTo(3);
        assertThat(remembered("u1", longId, "x".repeat(64))).hasSize(2);
    }

    /** The operator's own seen ids of one user, read through its state descriptor (empty when the user has none). */
    private SeenIdSet seenIds(String user) throws Exception {
        KeyedStateBackend<String> backend = ((AbstractStreamOperator<BehaviorEvent>) harness.getOperator()).getKeyedStateBackend();
        backend.setCurrentKey(user);
        SeenIdSet ids = backend.getPartitionedState(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, IngestFilter.seenDescriptor()).value();
        return ids == null ? new SeenIdSet() : ids;
    }

    /** Which of {@code candidates} the user's seen ids remember. */
    private List<String> remembered(String user, String... candidates) throws Exception {
        SeenIdSet ids = seenIds(user);
        List<String> found = new java.util.ArrayList<>();
        for (String c : candidates) if (ids.remembers(c)) found.add(c);
        return found;
    }
}
