package io.behaviorcep.event;

import io.behaviorcep.event.ProfileSnapshot;

import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.SerializerTestBase;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The event's serializer, through Flink's own serializer test suite (copies, sequences, reuse,
 * snapshot and restore, duplicate), plus what the suite does not know: every field compared, and that
 * Flink really picks it (never the POJO serializer or Kryo).
 */
class BehaviorEventSerializerTest extends SerializerTestBase<BehaviorEvent> {

    @Override
    protected TypeSerializer<BehaviorEvent> createSerializer() {
        return TypeInformation.of(BehaviorEvent.class).createSerializer(new ExecutionConfig().getSerializerConfig());
    }

    @Override
    protected int getLength() {
        return -1;
    }

    @Override
    protected Class<BehaviorEvent> getTypeClass() {
        return BehaviorEvent.class;
    }

    @Override
    protected BehaviorEvent[] getTestData() {
        BehaviorEvent plain = event("m1", "user-1", "Product Viewed", 1_736_150_396_193L);
        plain.properties.put("product_id", "p-42");
        plain.properties.put("price", "19.99");
        plain.context.put("page.url", "https://shop.example/p/42?utm_source=x");

        BehaviorEvent empty = new BehaviorEvent();   // every string null, empty maps, timestamp 0

        BehaviorEvent nullMaps = event("m2", "anon-7", "Home", -1L);
        nullMaps.type = "page";
        nullMaps.userId = null;
        nullMaps.anonymousId = "anon-7";
        nullMaps.properties = null;
        nullMaps.context = null;

        BehaviorEvent unicode = event("m3", "usér-ß-東京-😀", "Prödukt Ängesehen", Long.MAX_VALUE);
        unicode.properties.put("name", "Crème brûlée 東京 😀 \u0000 tab\there");
        unicode.properties.put("", "");
        unicode.properties.put("k", null);
        unicode.context.put("locale", "de-DE");

        BehaviorEvent large = event("m4", "user-2", "Order Completed", 1L);
        for (int i = 0; i < 300; i++) large.properties.put("products." + i + ".sku", "sku-" + i + "-" + "x".repeat(i));
        large.properties.put("description", "long ".repeat(40_000));   // past one byte of size and 64 kB

        BehaviorEvent profiled = event("m5", "user-3", "Product Added", 1_736_150_400_000L);
        ProfileSnapshot p = new ProfileSnapshot();
        p.asOf = 1_736_150_400_000L;
        p.eventsLifetime = 17;
        p.revenueLifetime = 123.45;
        p.sessionPageViews = 3;
        profiled.profile = p;

        return new BehaviorEvent[] {plain, empty, nullMaps, unicode, large, profiled};
    }

    @Override
    protected void deepEquals(String message, BehaviorEvent should, BehaviorEvent is) {
        // BehaviorEvent.equals leaves out userId, anonymousId and the profile
        assertThat(is).as(message).usingRecursiveComparison().isEqualTo(should);
    }

    private static BehaviorEvent event(String id, String user, String name, long ts) {
        BehaviorEvent e = new BehaviorEvent();
        e.messageId = id;
        e.userKey = user;
        e.userId = user;
        e.type = "track";
        e.event = name;
        e.timestamp = ts;
        return e;
    }

    @Test
    void flinkUsesThisSerializerEverywhere() {
        assertThat(TypeInformation.of(BehaviorEvent.class)).isInstanceOf(BehaviorEventTypeInfo.class);
        var env = StreamExecutionEnvironment.getExecutionEnvironment();
        assertThat(env.fromData(new BehaviorEvent()).getType().createSerializer(env.getConfig().getSerializerConfig()))
                .isInstanceOf(BehaviorEventSerializer.class);
        // the nested profile has its own compact serializer, which versions its layout
        assertThat(((BehaviorEventSerializer) createSerializer()).profileSerializer()).isInstanceOf(ProfileSnapshotSerializer.class);
    }

    @Test
    void aRestoredSnapshotIsCompatibleAsIs() throws Exception {
        TypeSerializer<BehaviorEvent> serializer = createSerializer();
        DataOutputSerializer out = new DataOutputSerializer(256);
        TypeSerializerSnapshot.writeVersionedSnapshot(out, serializer.snapshotConfiguration());
        TypeSerializerSnapshot<BehaviorEvent> restored = TypeSerializerSnapshot.readVersionedSnapshot(
                new DataInputDeserializer(out.getCopyOfBuffer()), getClass().getClassLoader());
        TypeSerializerSchemaCompatibility<BehaviorEvent> compat =
                serializer.snapshotConfiguration().resolveSchemaCompatibility(restored);
        assertThat(compat.isCompatibleAsIs()).isTrue();
        assertThat(restored.restoreSerializer()).isEqualTo(serializer);
    }

    @Test
    void stateOfTheLayoutBeforeStitchingIsReadAndMigrated() throws Exception {
        BehaviorEventSerializer current = (BehaviorEventSerializer) createSerializer();
        BehaviorEventSerializer before = new BehaviorEventSerializer(current.profileSerializer(), 1);
        DataOutputSerializer snapshot = new DataOutputSerializer(256);
        TypeSerializerSnapshot.writeVersionedSnapshot(snapshot, before.snapshotConfiguration());
        BehaviorEvent e = getTestData()[3];
        DataOutputSerializer state = new DataOutputSerializer(256);
        before.serialize(e, state);

        TypeSerializerSnapshot<BehaviorEvent> restored = TypeSerializerSnapshot.readVersionedSnapshot(
                new DataInputDeserializer(snapshot.getCopyOfBuffer()), getClass().getClassLoader());
        assertThat(current.snapshotConfiguration().resolveSchemaCompatibility(restored).isCompatibleAfterMigration()).isTrue();
        BehaviorEvent read = restored.restoreSerializer().deserialize(new DataInputDeserializer(state.getCopyOfBuffer()));
        assertThat(read).usingRecursiveComparison().isEqualTo(e);
        assertThat(read.stitched()).isFalse();
        // the version 1 layout is the current one of an event not replayed, without its last byte
        DataOutputSerializer now = new DataOutputSerializer(256);
        current.serialize(e, now);
        assertThat(now.length()).isEqualTo(state.length() + 1);
    }

    @Test
    void theStitchingMarkIsKept() throws Exception {
        TypeSerializer<BehaviorEvent> serializer = createSerializer();
        BehaviorEvent e = getTestData()[0];
        e.stitchedAt = 1_767_000_000_000L;
        DataOutputSerializer out = new DataOutputSerializer(256);
        serializer.serialize(e, out);
        assertThat(serializer.deserialize(new DataInputDeserializer(out.getCopyOfBuffer())).stitchedAt).isEqualTo(1_767_000_000_000L);
        assertThat(serializer.copy(e).stitchedAt).isEqualTo(1_767_000_000_000L);
    }

    @Test
    void duplicatesDoNotShareTheirReadBuffer() throws Exception {
        TypeSerializer<BehaviorEvent> a = createSerializer();
        TypeSerializer<BehaviorEvent> b = a.duplicate();
        assertThat(b).isNotSameAs(a).isEqualTo(a);
        BehaviorEvent e = getTestData()[3];
        DataOutputSerializer out = new DataOutputSerializer(256);
        a.serialize(e, out);
        byte[] bytes = out.getCopyOfBuffer();
        // interleaved reads: a read through one must not disturb strings the other has returned
        BehaviorEvent first = a.deserialize(new DataInputDeserializer(bytes));
        BehaviorEvent second = b.deserialize(new DataInputDeserializer(bytes));
        a.deserialize(new DataInputDeserializer(bytes));
        assertThat(first).usingRecursiveComparison().isEqualTo(e);
        assertThat(second).usingRecursiveComparison().isEqualTo(e);
    }

    @Test
    void aCopyIsIndependentOfTheOriginal() {
        BehaviorEvent e = getTestData()[0];
        BehaviorEvent copy = createSerializer().copy(e);
        e.properties.put("product_id", "changed");
        e.context.clear();
        Map<String, String> expected = new HashMap<>(Map.of("product_id", "p-42", "price", "19.99"));
        assertThat(copy.properties).isEqualTo(expected);
        assertThat(copy.context).containsKey("page.url");
    }
}
