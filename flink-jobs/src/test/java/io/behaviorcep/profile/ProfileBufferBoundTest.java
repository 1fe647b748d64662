package io.behaviorcep.profile;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.DeadLetter;

import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The events a user has waiting for the watermark are bounded ({@code profile.max-buffered-events-per-user}):
 * past the bound an event is refused to the dead letters with its reason, the user's waiting events
 * and everyone else's are counted as before, and the room comes back once the watermark passes.
 */
class ProfileBufferBoundTest {
    static final long T0 = Instant.parse("2026-03-02T10:00:00Z").toEpochMilli();

    private KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent> harness;

    void open(int maxBuffered) throws Exception {
        open(maxBuffered, maxBuffered);
    }

    void open(int maxBuffered, int maxAtOneInstant) throws Exception {
        ProfileOptions o = ProfileOptions.countingOnly(Duration.ofDays(2));
        ProfileOptions options = new ProfileOptions(Duration.ofDays(2), o.segments, null, o.privacy, maxBuffered, maxAtOneInstant);
        harness = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new ProfileFunction(options)), e -> e.userKey, Types.STRING);
        harness.open();
    }

    @AfterEach
    void close() throws Exception {
        harness.close();
    }

    static BehaviorEvent ev(String user, String messageId, long ts) {
        BehaviorEvent e = new BehaviorEvent();
        e.type = "track";
        e.event = "Product Viewed";
        e.messageId = messageId;
        e.userId = user;
        e.userKey = user;
        e.timestamp = ts;
        return e;
    }

    void send(BehaviorEvent e) throws Exception {
        harness.processElement(new StreamRecord<>(e, e.timestamp));
    }

    List<String> out() {
        return harness.extractOutputValues().stream().map(e -> e.userKey + "/" + e.messageId + "#" + e.profile.eventsLifetime)
                .collect(Collectors.toList());
    }

    List<DeadLetter> refused() {
        var side = harness.getSideOutput(ProfileFunction.BUFFER_FULL);
        return side == null ? List.of() : side.stream().map(StreamRecord::getValue).collect(Collectors.toList());
    }

    @Test
    void pastTheBoundAUsersEventsAreDeadLetteredAndEveryoneElseIsCountedAsBefore() throws Exception {
        open(5);
        // u1 floods one instant; arrival order is not messageId order
        for (int i = 6; i >= 0; i--) send(ev("u1", "m" + i, T0));
        send(ev("u1", "later", T0 + 1_000));
        for (int i = 0; i < 3; i++) send(ev("u2", "n" + i, T0 + i));

        assertThat(refused()).extracting(d -> d.reason).containsOnly(DeadLetter.Reason.USER_BUFFER_FULL);
        // the first five to arrive wait (m6..m2); m1, m0 and the later one do not fit
        assertThat(refused()).extracting(d -> new String(d.key, StandardCharsets.UTF_8)).containsExactly("u1", "u1", "u1");
        assertThat(refused()).extracting(d -> new String(d.value, StandardCharsets.UTF_8))
                .satisfiesExactly(v -> assertThat(v).contains("\"messageId\":\"m1\""), v -> assertThat(v).contains("\"messageId\":\"m0\""),
                        v -> assertThat(v).contains("\"messageId\":\"later\"").contains("2026-03-02T10:00:01"));
        assertThat(refused().get(0).message).contains("5 events waiting", "at this instant", "profile.max-buffered-events-per-instant");
        assertThat(refused().get(2).message).contains("5 events waiting", "profile.max-buffered-events-per-user");
        assertThat(out()).isEmpty();

        harness.processWatermark(T0 + 10_000);
        assertThat(out()).containsExactly("u1/m2#1", "u1/m3#2", "u1/m4#3", "u1/m5#4", "u1/m6#5", "u2/n0#1", "u2/n1#2", "u2/n2#3");

        // the watermark took u1's waiting events: there is room again
        for (int i = 0; i < 5; i++) send(ev("u1", "again" + i, T0 + 20_000 + i));
        assertThat(refused()).hasSize(3);
        harness.processWatermark(T0 + 30_000);
        assertThat(out()).hasSize(13).last().isEqualTo("u1/again4#10");
    }

    @Test
    void aUserWithNothingWaitingHoldsNoBufferState() throws Exception {
        open(1_000);
        for (int i = 0; i < 50; i++) send(ev("u1", "m" + i, T0));
        harness.processWatermark(T0);
        assertThat(out()).hasSize(50).last().isEqualTo("u1/m9#50"); // messageId order: m49 < m5 < ... < m9
        assertThat(waitingEntries("u1")).isZero();
        assertThat(refused()).isEmpty();
    }

    /** How many instants the user's events wait at, read through the operator's state descriptor. */
    private int waitingEntries(String user) throws Exception {
        KeyedStateBackend<String> backend = ((AbstractStreamOperator<?>) harness.getOperator()).getKeyedStateBackend();
        backend.setCurrentKey(user);
        ProfileValue v = backend.getPartitionedState(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE,
                ProfileFunction.stateDescriptor(TypeInformation.of(ProfileState.class).createSerializer(new org.apache.flink.api.common.ExecutionConfig().getSerializerConfig()),
                        TypeInformation.of(BehaviorEvent.class).createSerializer(new org.apache.flink.api.common.ExecutionConfig().getSerializerConfig()))).value();
        return v == null ? 0 : v.waiting.size();
    }

    @Test
    void aFloodAtOneInstantMeetsItsOwnBoundWhateverTheTotalAndEventsSpreadOverTimeDoNot() throws Exception {
        open(100, 3);
        for (int i = 0; i < 5; i++) send(ev("u1", "same-" + i, T0));
        // a backlog of one user read far ahead of event time: many instants, a few events each
        for (int i = 0; i < 60; i++) send(ev("u1", "spread-" + i, T0 + 1 + i / 2));
        assertThat(refused()).extracting(d -> d.message).hasSize(2)
                .allMatch(m -> m.contains("profile.max-buffered-events-per-instant"));
        harness.processWatermark(T0 + 10_000);
        assertThat(out()).hasSize(3 + 60);
    }
}
