package io.behaviorcep.engine;

import io.behaviorcep.pattern.PatternChange;
import io.behaviorcep.pattern.PatternMatch;
import io.behaviorcep.event.ProfileSnapshot;

import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ActionInputSerializerTest {
    static final TypeSerializer<ActionInput> SERIALIZER = TypeInformation.of(ActionInput.class).createSerializer(new SerializerConfigImpl());

    /** Two pattern versions' goals met by one event: one with a value, one without. */
    static java.util.Map<String, Double> goalValues() {
        java.util.Map<String, Double> values = new java.util.HashMap<>();
        values.put("cart-abandonment#3", 59.9);
        values.put("checkout-abandonment#1", null);
        return values;
    }

    static List<ActionInput> oneOfEach() {
        PatternMatch m = new PatternMatch();
        m.patternId = "cart-abandonment";
        m.patternVersion = 3;
        m.userKey = "u1";
        m.detectedAt = 1_000;
        m.anchorId = "add-1";
        m.eventIds = "view-1,add-1";
        m.matchedJson = "{}";
        m.payloadJson = "{\"k\":\"v\"}";
        ProfileSnapshot p = new ProfileSnapshot();
        return List.of(new ActionInput.Matched(m),
                new ActionInput.SegmentExit("u1", "dormant", "dormancy-14d", "e".repeat(70_000), 2_000, p),
                new ActionInput.SegmentExit("u2", "dormant", "ttl", "", 3_000, null),
                new ActionInput.PrivacySignal("u3", ActionInput.Signal.ERASE, 4_000),
                new ActionInput.GoalReached("u4", "order-1", 5_000, goalValues()),
                new ActionInput.PatternChanged("\u0000keyed-path-1", PatternChange.delete("cart", 2, "cart.yaml", 5_000, 6_000)));
    }

    @Test
    void theTypeIsSerialisedByItsOwnSerializerNotKryo() {
        assertThat(TypeInformation.of(ActionInput.class)).isInstanceOf(ActionInputTypeInfo.class);
        assertThat(SERIALIZER).isInstanceOf(ActionInputSerializer.class);
    }

    @Test
    void everyKindSurvivesARoundTripAndACopy() throws Exception {
        for (ActionInput in : oneOfEach()) {
            DataOutputSerializer out = new DataOutputSerializer(64);
            SERIALIZER.serialize(in, out);
            ActionInput back = SERIALIZER.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
            assertThat(back).as(in.getClass().getSimpleName()).usingRecursiveComparison().isEqualTo(in);
            assertThat(back.sortKey()).isEqualTo(in.sortKey());
            assertThat(back.timestamp()).isEqualTo(in.timestamp());
            assertThat(SERIALIZER.copy(in)).usingRecursiveComparison().isEqualTo(in);
        }
    }

    @Test
    void aRestoredSnapshotIsCompatibleAsIs() throws Exception {
        TypeSerializerSnapshot<ActionInput> snapshot = SERIALIZER.snapshotConfiguration();
        DataOutputSerializer out = new DataOutputSerializer(64);
        TypeSerializerSnapshot.writeVersionedSnapshot(out, snapshot);
        TypeSerializerSnapshot<ActionInput> restored = TypeSerializerSnapshot.readVersionedSnapshot(
                new DataInputDeserializer(out.getCopyOfBuffer()), getClass().getClassLoader());
        TypeSerializerSchemaCompatibility<ActionInput> compatibility = SERIALIZER.snapshotConfiguration()
                .resolveSchemaCompatibility(restored);
        assertThat(compatibility.isCompatibleAsIs()).isTrue();
        assertThat(restored.restoreSerializer()).isEqualTo(SERIALIZER);
    }
}
