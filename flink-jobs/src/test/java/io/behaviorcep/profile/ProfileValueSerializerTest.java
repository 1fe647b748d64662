package io.behaviorcep.profile;

import io.behaviorcep.event.BehaviorEvent;

import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SerializerTestBase;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.testutils.DeeplyEqualsChecker;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static io.behaviorcep.profile.ProfileStateSizeTest.D0;
import static io.behaviorcep.profile.ProfileStateSizeTest.ev;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The profile operator's one value per user through Flink's serializer test suite (copies,
 * sequences, reuse, snapshot and restore, duplicate), plus that a copy does not share what the
 * operator changes in place, and that a restored snapshot is compatible as is.
 */
class ProfileValueSerializerTest extends SerializerTestBase<ProfileValue> {

    ProfileValueSerializerTest() {
        super(new DeeplyEqualsChecker().withCustomCheck((a, b) -> a instanceof ProfileValue && b instanceof ProfileValue,
                (a, b, checker) -> sameFields(a, b)));
    }

    /** Field by field, recursively: neither the value, the profile nor the event define equals. */
    static boolean sameFields(Object a, Object b) {
        return io.behaviorcep.testing.SerializerChecks.sameFields(a, b);
    }

    static TypeSerializer<ProfileValue> serializer() {
        SerializerConfigImpl config = new SerializerConfigImpl();
        return new ProfileValueSerializer(TypeInformation.of(ProfileState.class).createSerializer(config),
                TypeInformation.of(BehaviorEvent.class).createSerializer(config));
    }

    @Override
    protected TypeSerializer<ProfileValue> createSerializer() {
        return serializer();
    }

    @Override
    protected int getLength() {
        return -1;
    }

    @Override
    protected Class<ProfileValue> getTypeClass() {
        return ProfileValue.class;
    }

    static ProfileValue full() {
        ProfileValue v = new ProfileValue();
        v.profile = ProfileStateSizeTest.activeShopper(20, new Random(7));
        v.wakeAt = D0 + 40 * ProfileState.DAY;
        v.segments.put("churned", D0 + 3 * ProfileState.DAY);
        v.segments.put("vip", D0);
        v.addWaiting(ev(D0 + 5, "track", "Product Viewed", "product_id", "p-1"));
        v.addWaiting(ev(D0 + 5, "page", "Home"));
        v.addWaiting(ev(D0 + 2, "track", "Order Completed", "revenue", "10"));
        return v;
    }

    @Override
    protected ProfileValue[] getTestData() {
        ProfileValue empty = new ProfileValue();
        ProfileValue marker = new ProfileValue();
        marker.profile = new ProfileState();
        marker.profile.optedOut = true;
        ProfileValue waitingOnly = new ProfileValue();
        waitingOnly.addWaiting(ev(D0, "page", "Home"));
        ProfileValue membershipsOnly = new ProfileValue();
        membershipsOnly.segments.put("churned", D0);
        membershipsOnly.wakeAt = D0 + ProfileState.DAY;
        return new ProfileValue[] {empty, marker, waitingOnly, membershipsOnly, full()};
    }

    @Test
    void aRoundTripKeepsTheWaitingEventsInOrderAndTheirCount() throws Exception {
        ProfileValue v = full();
        DataOutputSerializer out = new DataOutputSerializer(4096);
        serializer().serialize(v, out);
        ProfileValue back = serializer().deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        assertThat(back.waitingTotal).isEqualTo(3);
        assertThat(back.earliestWaiting()).isEqualTo(D0 + 2);
        assertThat(back.takeWaiting(D0 + 5)).extracting(e -> e.event).containsExactly("Product Viewed", "Home");
        assertThat(back.waitingTotal).isEqualTo(1);
        assertThat(back.profile.snapshot()).isEqualTo(v.profile.snapshot());
    }

    @Test
    void aCopySharesNothingTheOperatorChangesInPlace() {
        ProfileValue v = full();
        ProfileValue c = serializer().copy(v);
        assertThat(c.profile).isNotSameAs(v.profile);
        assertThat(c.waiting.get(D0 + 5).get(0)).isNotSameAs(v.waiting.get(D0 + 5).get(0));
        v.takeWaiting(D0 + 5).get(0).properties.put("product_id", "changed");
        v.segments.clear();
        assertThat(c.waiting.get(D0 + 5).get(0).properties).containsEntry("product_id", "p-1");
        assertThat(c.segments).containsOnlyKeys("churned", "vip");
        assertThat(c.waitingTotal).isEqualTo(3);
    }

    @Test
    void aRestoredSnapshotIsCompatibleAsIs() throws Exception {
        TypeSerializer<ProfileValue> s = serializer();
        DataOutputSerializer out = new DataOutputSerializer(256);
        TypeSerializerSnapshot.writeVersionedSnapshot(out, s.snapshotConfiguration());
        TypeSerializerSnapshot<ProfileValue> restored = TypeSerializerSnapshot.readVersionedSnapshot(
                new DataInputDeserializer(out.getCopyOfBuffer()), getClass().getClassLoader());
        TypeSerializerSchemaCompatibility<ProfileValue> compat = s.snapshotConfiguration().resolveSchemaCompatibility(restored);
        assertThat(compat.isCompatibleAsIs()).isTrue();
        assertThat(restored.restoreSerializer()).isEqualTo(s);
    }
}
