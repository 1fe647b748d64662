package io.behaviorcep.engine;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;

import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;

import static io.behaviorcep.engine.PatternEngineFunctionTest.ACTION_INPUTS;
import static io.behaviorcep.engine.PatternEngineFunctionTest.MIN;
import static io.behaviorcep.engine.PatternEngineFunctionTest.T0;
import static io.behaviorcep.engine.PatternEngineFunctionTest.event;
import static io.behaviorcep.engine.PatternEngineFunctionTest.matches;
import static io.behaviorcep.engine.PatternEngineFunctionTest.send;
import static io.behaviorcep.engine.PatternEngineFunctionTest.stateEntries;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A leading absence in the engine operator: the one long per user it keeps (the last event of the
 * absence) goes when its window has passed, survives a snapshot, and an engine state written before
 * that field existed (layout 1) still restores.
 */
class LeadingAbsenceEngineTest {
    static final String CHECKOUT_WITHOUT_VIEW = """
            id: checkout-without-view
            version: 1
            steps:
              - {name: no_view, absent: {event: Product Viewed}, for: 30m}
              - {name: checkout, event: Checkout Started}
            actions:
              alert: {type: t}
            """;

    private final List<KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, ActionInput>> harnesses = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (var h : harnesses) h.close();
    }

    KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, ActionInput> harness(OperatorSubtaskState restore) throws Exception {
        PatternDefinition def = PatternLoader.loadString("p.yaml", CHECKOUT_WITHOUT_VIEW).orThrow().get(0);
        var h = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(new PatternEngineFunction(List.of(def))),
                (BehaviorEvent e) -> e.userKey, Types.STRING, 128, 1, 0);
        h.setup(ACTION_INPUTS);
        if (restore != null) h.initializeState(restore);
        h.open();
        harnesses.add(h);
        return h;
    }

    @Test
    void theLastEventOfTheAbsenceIsKeptForItsWindowThenTheUserCostsNothing() throws Exception {
        var h = harness(null);
        send(h, event("u1", "Product Viewed", 0));
        h.processWatermark(T0);
        assertThat(stateEntries(h)).as("the view's time is kept").isEqualTo(1);
        assertThat(h.numEventTimeTimers()).isEqualTo(1);
        h.processWatermark(T0 + 29 * MIN);
        send(h, event("u1", "Checkout Started", 30)); // exactly 30 m after the view: ruled out
        assertThat(matches(h)).isEmpty();
        assertThat(stateEntries(h)).as("kept while a later event could fall in its window").isEqualTo(1);
        // every event after this watermark is more than 30 m after the view
        h.processWatermark(T0 + 30 * MIN);
        assertThat(stateEntries(h)).isZero();
        assertThat(h.numEventTimeTimers()).isZero();
        send(h, event("u1", "Checkout Started", 31));
        assertThat(matches(h)).containsExactly("checkout-without-view v1: u1@31 at 31");
    }

    @Test
    void theLastEventOfTheAbsenceSurvivesASnapshot() throws Exception {
        var before = harness(null);
        send(before, event("u1", "Product Viewed", 0));
        before.processWatermark(T0 + MIN);
        OperatorSubtaskState snapshot = before.snapshot(1, T0);
        var after = harness(snapshot);
        send(after, event("u1", "Checkout Started", 20));
        send(after, event("u2", "Checkout Started", 20));
        assertThat(matches(after)).containsExactly("checkout-without-view v1: u2@20 at 20");
    }

    @Test
    void theSerializerWritesTheNewFieldAndRestoresTheLayoutBeforeIt() throws Exception {
        TypeSerializer<BehaviorEvent> events = TypeInformation.of(BehaviorEvent.class).createSerializer(new SerializerConfigImpl());
        EngineState s = new EngineState();
        s.lastTs = 5;
        s.absenceSeen = new HashMap<>();
        s.absenceSeen.put("checkout-without-view#1", 1234L);
        EngineStateSerializer now = new EngineStateSerializer(events);
        EngineState back = roundTrip(now, s);
        assertThat(back.absenceSeen).containsExactlyEntriesOf(s.absenceSeen);
        assertThat(now.copy(s).absenceSeen).containsExactlyEntriesOf(s.absenceSeen);

        // what docs/pattern-language.md says it costs: the version's key and one long (at most 8 bytes; in
        // layout 3 a time relative to the user's last event, here 2), beside a count per user
        EngineState without = new EngineState();
        without.lastTs = 5;
        String key = "checkout-without-view#1";
        EngineStateSerializer layout2 = new EngineStateSerializer(events, 2);
        assertThat(size(layout2, s) - size(layout2, without)).isEqualTo(2 + key.length() + 8);
        assertThat(size(layout2, without) - size(new EngineStateSerializer(events, 1), without)).isEqualTo(4);
        assertThat(size(now, s) - size(now, without)).isEqualTo(2 + key.length() + 2);

        // a savepoint of layout 1: its snapshot says so, and its serializer reads it; the state is migrated
        EngineStateSerializer layout1 = new EngineStateSerializer(events, 1);
        EngineState old = new EngineState();
        old.lastTs = 7;
        EngineState restored = roundTrip(layout1, old);
        assertThat(restored.lastTs).isEqualTo(7);
        assertThat(restored.absenceSeen).isNull();
        TypeSerializerSnapshot<EngineState> oldSnapshot = reread(layout1.snapshotConfiguration());
        assertThat(oldSnapshot.restoreSerializer()).isEqualTo(layout1);
        TypeSerializerSchemaCompatibility<EngineState> compatibility = now.snapshotConfiguration().resolveSchemaCompatibility(oldSnapshot);
        assertThat(compatibility.isCompatibleAfterMigration()).isTrue();
        TypeSerializerSchemaCompatibility<EngineState> same = now.snapshotConfiguration().resolveSchemaCompatibility(reread(now.snapshotConfiguration()));
        assertThat(same.isCompatibleAsIs()).isTrue();
    }

    private static int size(EngineStateSerializer serializer, EngineState s) throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        serializer.serialize(s, out);
        return out.length();
    }

    private static EngineState roundTrip(EngineStateSerializer serializer, EngineState s) throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        serializer.serialize(s, out);
        return serializer.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
    }

    private static TypeSerializerSnapshot<EngineState> reread(TypeSerializerSnapshot<EngineState> snapshot) throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        TypeSerializerSnapshot.writeVersionedSnapshot(out, snapshot);
        return TypeSerializerSnapshot.readVersionedSnapshot(new DataInputDeserializer(out.getCopyOfBuffer()), LeadingAbsenceEngineTest.class.getClassLoader());
    }
}
