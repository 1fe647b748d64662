package io.behaviorcep.event;

import org.apache.flink.api.common.typeutils.SerializerTestBase;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The seen ids' state format through Flink's serializer test suite (copies, sequences, reuse,
 * snapshot and restore), plus its size and that a restored snapshot is compatible as is.
 */
class SeenIdSetSerializerTest extends SerializerTestBase<SeenIdSet> {
    private static final long TTL = 24 * 3_600_000L;

    @Override
    protected TypeSerializer<SeenIdSet> createSerializer() {
        return SeenIdSetSerializer.INSTANCE;
    }

    @Override
    protected int getLength() {
        return -1;
    }

    @Override
    protected Class<SeenIdSet> getTypeClass() {
        return SeenIdSet.class;
    }

    /** A user who sent {@code n} ids, one a minute from {@code start}. */
    static SeenIdSet sent(int n, long start) throws Exception {
        SeenIdSet ids = new SeenIdSet();
        SeenIds seen = new SeenIds(TTL, 10_000);
        SeenIds.SweepTimers none = new SeenIds.SweepTimers() {
            @Override public void schedule(long at) {}
            @Override public void cancel(long at) {}
        };
        for (int i = 0; i < n; i++) seen.see(ids, none, "00000000-0000-4000-8000-" + String.format("%012d", i), start + i * 60_000L);
        return ids;
    }

    @Override
    protected SeenIdSet[] getTestData() {
        try {
            return new SeenIdSet[] {new SeenIdSet(), sent(1, 0), sent(15, 1_736_150_396_193L), sent(2_000, Long.MIN_VALUE / 2), sent(3, -5_000)};
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void anIdCostsAboutTwelveBytes() throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(1024);
        SeenIdSetSerializer.INSTANCE.serialize(sent(15, 1_736_150_396_193L), out);
        // count (1) + sweep time (8) + earliest first sighting (8) + 15 x (fingerprint 8 + offset <= 4)
        assertThat(out.length()).isLessThanOrEqualTo(1 + 8 + 8 + 15 * 12);
    }

    @Test
    void aRoundTripKeepsWhatIsRememberedAndWhen() throws Exception {
        SeenIdSet before = sent(15, 1_000);
        DataOutputSerializer out = new DataOutputSerializer(1024);
        SeenIdSetSerializer.INSTANCE.serialize(before, out);
        SeenIdSet after = SeenIdSetSerializer.INSTANCE.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        assertThat(after.remembers("00000000-0000-4000-8000-000000000014")).isTrue();
        assertThat(after.remembers("00000000-0000-4000-8000-000000000015")).isFalse();
        assertThat(after.sweepAt()).isEqualTo(before.sweepAt());
        // the times came through: the first id expires exactly at the TTL, the second a minute later
        SeenIds seen = new SeenIds(TTL, 10_000);
        SeenIds.SweepTimers none = new SeenIds.SweepTimers() {
            @Override public void schedule(long at) {}
            @Override public void cancel(long at) {}
        };
        assertThat(seen.see(after, none, "00000000-0000-4000-8000-000000000000", 1_000 + TTL - 1).repeat()).isTrue();
        assertThat(seen.see(after, none, "00000000-0000-4000-8000-000000000001", 1_000 + TTL).repeat()).isTrue();
        assertThat(seen.see(after, none, "00000000-0000-4000-8000-000000000001", 61_000 + TTL).repeat()).isFalse();
    }

    @Test
    void aRestoredSnapshotIsCompatibleAsIs() throws Exception {
        TypeSerializer<SeenIdSet> serializer = createSerializer();
        DataOutputSerializer out = new DataOutputSerializer(64);
        TypeSerializerSnapshot.writeVersionedSnapshot(out, serializer.snapshotConfiguration());
        TypeSerializerSnapshot<SeenIdSet> restored = TypeSerializerSnapshot.readVersionedSnapshot(
                new DataInputDeserializer(out.getCopyOfBuffer()), getClass().getClassLoader());
        TypeSerializerSchemaCompatibility<SeenIdSet> compat = serializer.snapshotConfiguration().resolveSchemaCompatibility(restored);
        assertThat(compat.isCompatibleAsIs()).isTrue();
        assertThat(restored.restoreSerializer()).isSameAs(serializer);
    }
}
