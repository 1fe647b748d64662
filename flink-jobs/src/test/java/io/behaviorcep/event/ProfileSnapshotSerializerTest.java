package io.behaviorcep.event;

import io.behaviorcep.testing.SerializerChecks;

import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SerializerTestBase;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.testutils.DeeplyEqualsChecker;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link ProfileSnapshotSerializer}: Flink's serializer contract, every public field of
 * {@link ProfileSnapshot} written (a field added to the class and not to the serializer fails here),
 * and the migration of snapshots written by Flink's POJO serializer.
 */
class ProfileSnapshotSerializerTest extends SerializerTestBase<ProfileSnapshot> {

    ProfileSnapshotSerializerTest() {
        super(new DeeplyEqualsChecker().withCustomCheck((a, b) -> a instanceof ProfileSnapshot && b instanceof ProfileSnapshot,
                (a, b, checker) -> sameFields(a, b)));
    }

    static boolean sameFields(Object a, Object b) {
        return SerializerChecks.sameFields(a, b);
    }

    /** Every public instance field set to a value that is not its default, at random. */
    static ProfileSnapshot everyFieldSet(Random r) throws Exception {
        ProfileSnapshot p = new ProfileSnapshot();
        for (Field f : ProfileSnapshot.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers())) continue;
            Class<?> t = f.getType();
            if (t == long.class) f.setLong(p, r.nextBoolean() ? 1 + r.nextInt(1_000) : r.nextLong() | 1);
            else if (t == int.class) f.setInt(p, r.nextBoolean() ? 1 + r.nextInt(100) : r.nextInt() | 1);
            else if (t == double.class) f.setDouble(p, r.nextDouble() * 1_000 + 0.5);
            else if (t == String[].class) f.set(p, new String[] {"t" + r.nextInt(9), null, "\u00e9\ud83d\ude00"});
            else throw new AssertionError("a field of a type this test does not know: " + f);
        }
        return p;
    }

    @Override
    protected TypeSerializer<ProfileSnapshot> createSerializer() {
        return TypeInformation.of(ProfileSnapshot.class).createSerializer(new SerializerConfigImpl());
    }

    @Override
    protected int getLength() {
        return -1;
    }

    @Override
    protected Class<ProfileSnapshot> getTypeClass() {
        return ProfileSnapshot.class;
    }

    @Override
    protected ProfileSnapshot[] getTestData() {
        try {
            ProfileSnapshot extremes = everyFieldSet(new Random(1));
            extremes.asOf = Long.MIN_VALUE;
            extremes.firstSeen = Long.MAX_VALUE;
            extremes.revenue30d = -0.0;
            extremes.traitIds = new String[0];
            extremes.traitValues = null;
            ProfileSnapshot typical = new ProfileSnapshot();
            typical.asOf = 1_767_000_000_000L;
            typical.firstSeen = typical.asOf - 86_400_000L;
            typical.lastSeen = typical.asOf;
            typical.events24h = 12;
            typical.revenueLifetime = 59.99;
            return new ProfileSnapshot[] {new ProfileSnapshot(), typical, everyFieldSet(new Random(2)), everyFieldSet(new Random(3)), extremes};
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void everyFieldSurvivesARoundTrip() throws Exception {
        TypeSerializer<ProfileSnapshot> s = createSerializer();
        assertThat(s).isSameAs(ProfileSnapshotSerializer.INSTANCE);
        Random r = new Random(7);
        for (int i = 0; i < 200; i++) {
            ProfileSnapshot p = everyFieldSet(r);
            DataOutputSerializer out = new DataOutputSerializer(256);
            s.serialize(p, out);
            ProfileSnapshot back = s.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
            for (Field f : ProfileSnapshot.class.getFields()) {
                if (!Modifier.isStatic(f.getModifiers())) assertThat(f.get(back)).as(f.getName()).isEqualTo(f.get(p));
            }
            assertThat(back).isEqualTo(p);
        }
    }

    @Test
    void snapshotsWrittenByThePojoSerializerAreMigratedAndTakeAFractionOfTheBytes() throws Exception {
        TypeSerializer<ProfileSnapshot> pojo = SerializerChecks.pojoSerializer(ProfileSnapshot.class);
        ProfileSnapshot typical = getTestData()[1];
        DataOutputSerializer pojoBytes = new DataOutputSerializer(512);
        pojo.serialize(typical, pojoBytes);

        TypeSerializerSnapshot<ProfileSnapshot> old = SerializerChecks.throughASavepoint(pojo.snapshotConfiguration());
        assertThat(createSerializer().snapshotConfiguration().resolveSchemaCompatibility(old).isCompatibleAfterMigration()).isTrue();
        ProfileSnapshot read = old.restoreSerializer().deserialize(new DataInputDeserializer(pojoBytes.getCopyOfBuffer()));
        assertThat(sameFields(typical, read)).isTrue();

        DataOutputSerializer compact = new DataOutputSerializer(128);
        createSerializer().serialize(read, compact);
        System.out.printf("a profile snapshot: %d B compact, %d B with the POJO serializer%n", compact.length(), pojoBytes.length());
        assertThat(compact.length() * 4).isLessThan(pojoBytes.length());
    }
}
