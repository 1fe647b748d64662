package io.behaviorcep.profile;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.testing.SerializerChecks;
import io.behaviorcep.trait.TraitCell;

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

import static io.behaviorcep.profile.ProfileState.DAY;
import static io.behaviorcep.profile.ProfileState.HOUR;
import static io.behaviorcep.profile.ProfileStateSizeTest.D0;
import static io.behaviorcep.profile.ProfileStateSizeTest.ev;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link ProfileStateSerializer}: Flink's serializer contract (copies, sequences, reuse, snapshot and
 * restore, duplicates) on profiles of every shape, every field kept exactly, and the migration of
 * profiles written by Flink's POJO serializer.
 */
class ProfileStateSerializerTest extends SerializerTestBase<ProfileState> {

    ProfileStateSerializerTest() {
        super(new DeeplyEqualsChecker().withCustomCheck((a, b) -> a instanceof ProfileState && b instanceof ProfileState,
                (a, b, checker) -> ProfileValueSerializerTest.sameFields(a, b)));
    }

    static TypeSerializer<ProfileState> serializer() {
        return TypeInformation.of(ProfileState.class).createSerializer(new SerializerConfigImpl());
    }

    /** Flink's POJO serializer for the profile, as the job used before its own serializer. */
    static TypeSerializer<ProfileState> pojoSerializer() {
        return SerializerChecks.pojoSerializer(ProfileState.class);
    }

    @Override
    protected TypeSerializer<ProfileState> createSerializer() {
        return serializer();
    }

    @Override
    protected int getLength() {
        return -1;
    }

    @Override
    protected Class<ProfileState> getTypeClass() {
        return ProfileState.class;
    }

    static ProfileState withTraits() {
        ProfileState s = ProfileStateSizeTest.activeShopper(10, new Random(3));
        TraitCell c = new TraitCell();
        c.id = "cart_value";
        c.specHash = -17;
        c.count = 3;
        c.sum = 120.5;
        c.max = 99;
        c.first = "p-1";
        c.last = "p-9";
        c.lastAt = s.lastSeen;
        c.buckets = new double[] {0, 1.5, 0, -2};
        c.hashes = new long[] {Long.MIN_VALUE, 7};
        s.traits = new TraitCell[] {c, null, new TraitCell()};
        return s;
    }

    /** Everything at its edges: extreme times, negative counters, -0.0, an 8-day ring of an old layout, odd recent events. */
    static ProfileState edges() {
        ProfileState s = new ProfileState();
        s.add(ev(D0, "page", "Home"));
        s.segmentCheckAt = Long.MAX_VALUE;
        s.writtenAt = Long.MIN_VALUE + 1;
        s.sessionStart = Long.MIN_VALUE;
        s.sessionsLifetime = Long.MAX_VALUE;
        s.eventsLifetime = -5;
        s.sessionPageViews = Integer.MIN_VALUE;
        s.revenueLifetime = -0.0;
        s.dailyEvents = new int[] {0, 0, 3, 0, 0, 0, 0, Integer.MAX_VALUE};
        s.dailySessions = new int[8];
        s.dailyRevenue = new double[] {-0.0, 0, 4.9e-324, 1e300};
        s.newestHour = Long.MAX_VALUE;
        s.recentEventNames = new String[] {"Product Viewed", null, "Product Viewed", "", "\u00e9\u4e2d\ud83d\ude00", null};
        s.recentEventTimes = new long[] {D0, D0 - DAY, Long.MIN_VALUE, Long.MAX_VALUE, 0, -1};
        s.dirty = true;
        s.suppressionListed = true;
        return s;
    }

    static ProfileState halfRecent() {
        ProfileState s = new ProfileState();
        s.add(ev(D0, "page", "Home"));
        s.recentEventTimes = null;
        return s;
    }

    @Override
    protected ProfileState[] getTestData() {
        ProfileState once = new ProfileState();
        once.add(ev(D0 + 10 * HOUR, "page", "Home"));
        ProfileState idle = ProfileStateSizeTest.activeShopper(5, new Random(2));
        idle.compact(idle.compactAt());
        ProfileState marker = new ProfileState();
        marker.optedOut = true;
        return new ProfileState[] {new ProfileState(), once, ProfileStateSizeTest.activeShopper(60, new Random(1)), idle, marker,
                withTraits(), edges(), halfRecent()};
    }

    @Test
    void aRandomHistoryReadsBackFieldForFieldAndIsAFractionOfThePojoBytes() throws Exception {
        TypeSerializer<ProfileState> compact = serializer(), pojo = pojoSerializer();
        Random r = new Random(9);
        long compactBytes = 0, pojoBytes = 0;
        for (int i = 0; i < 50; i++) {
            ProfileState s = ProfileStateSizeTest.activeShopper(1 + r.nextInt(60), r);
            if (r.nextBoolean()) s.add(ev(s.lastSeen + r.nextInt(40) * DAY, "track", "Order Completed", "revenue", "" + r.nextInt(500)));
            DataOutputSerializer out = new DataOutputSerializer(512);
            compact.serialize(s, out);
            compactBytes += out.length();
            ProfileState back = compact.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
            assertThat(ProfileValueSerializerTest.sameFields(s, back)).as("history %d", i).isTrue();
            DataOutputSerializer pojoOut = new DataOutputSerializer(2048);
            pojo.serialize(s, pojoOut);
            pojoBytes += pojoOut.length();
        }
        System.out.printf("profile state, 50 random histories: %,d B compact, %,d B with the POJO serializer%n", compactBytes, pojoBytes);
        assertThat(compactBytes * 2).isLessThan(pojoBytes);
    }

    @Test
    void profilesWrittenByThePojoSerializerAreMigrated() throws Exception {
        TypeSerializer<ProfileState> pojo = pojoSerializer();
        ProfileState before = withTraits();
        DataOutputSerializer out = new DataOutputSerializer(4096);
        pojo.serialize(before, out);

        TypeSerializerSnapshot<ProfileState> old = roundTrip(pojo.snapshotConfiguration());
        TypeSerializerSchemaCompatibility<ProfileState> compat = serializer().snapshotConfiguration().resolveSchemaCompatibility(old);
        assertThat(compat.isCompatibleAfterMigration()).isTrue();
        // what Flink then does: read with the restored old serializer, write with the new one
        ProfileState read = old.restoreSerializer().deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        DataOutputSerializer rewritten = new DataOutputSerializer(512);
        serializer().serialize(read, rewritten);
        ProfileState after = serializer().deserialize(new DataInputDeserializer(rewritten.getCopyOfBuffer()));
        assertThat(ProfileValueSerializerTest.sameFields(before, after)).isTrue();

        // and the same through the profile operator's state value, which nests the profile's serializer
        TypeSerializer<BehaviorEvent> events = TypeInformation.of(BehaviorEvent.class).createSerializer(new SerializerConfigImpl());
        TypeSerializerSnapshot<ProfileValue> oldValue = roundTrip(new ProfileValueSerializer(pojo, events).snapshotConfiguration());
        assertThat(new ProfileValueSerializer(serializer(), events).snapshotConfiguration().resolveSchemaCompatibility(oldValue)
                .isCompatibleAfterMigration()).isTrue();
    }

    private static <T> TypeSerializerSnapshot<T> roundTrip(TypeSerializerSnapshot<T> snapshot) throws Exception {
        return SerializerChecks.throughASavepoint(snapshot);
    }
}
