package io.behaviorcep.trait;

import io.behaviorcep.profile.ProfileState;

import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static io.behaviorcep.trait.TraitSetTest.DAY;
import static io.behaviorcep.trait.TraitSetTest.HOUR;
import static io.behaviorcep.trait.TraitSetTest.T0;
import static io.behaviorcep.trait.TraitSetTest.event;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bytes a trait adds to a user's profile state, as Flink stores it (the profile's PojoSerializer), with
 * every bucket in use: the figures of docs/pattern-language.md ("Computed traits"), printed, and held
 * to their documented bounds.
 */
class TraitStateSizeTest {
    static final TypeSerializer<ProfileState> SERIALIZER = TypeInformation.of(ProfileState.class).createSerializer(new SerializerConfigImpl());

    static int bytes(ProfileState s) throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(256);
        SERIALIZER.serialize(s, out);
        ProfileState back = SERIALIZER.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        assertThat(back.traits == null ? 0 : back.traits.length).isEqualTo(s.traits == null ? 0 : s.traits.length);
        return out.length();
    }

    /** Bytes the one trait of {@code yaml} adds after a busy user's 90 days of adds (an add every hour, a new category each). */
    static int bytesOf(String trait) throws Exception {
        TraitSet set = TraitSetTest.traits(trait);
        ProfileState s = new ProfileState();
        int without = bytes(s);
        for (long t = T0; t < T0 + 90 * DAY; t += HOUR) {
            s.traits = set.add(s.traits, event("Product Added", t, Map.of("price", "12.5", "category", "c" + t)));
        }
        int with = bytes(s);
        // the cells read back to the same values
        ProfileState back = SERIALIZER.deserialize(new DataInputDeserializer(serialized(s)));
        assertThat(TraitSetTest.values(set, back.traits, T0 + 90 * DAY)).isEqualTo(TraitSetTest.values(set, s.traits, T0 + 90 * DAY));
        return with - without;
    }

    static byte[] serialized(ProfileState s) throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(256);
        SERIALIZER.serialize(s, out);
        return out.getCopyOfBuffer();
    }

    @Test
    void eachTraitCostsABoundedShareOfTheProfileState() throws Exception {
        int since = bytesOf("{id: cart_value, function: sum, event: Product Added, property: properties.price, since: Order Completed}");
        int hourly = bytesOf("{id: adds_48h, function: count, event: Product Added, window: 48h}");
        int daily = bytesOf("{id: spend_90d, function: sum, event: Product Added, property: properties.price, window: 90d}");
        int distinct = bytesOf("{id: categories_90d, function: distinct_count, event: Product Added, property: properties.category, window: 90d}");
        int first = bytesOf("{id: first_category_90d, function: first, event: Product Added, property: properties.category, window: 90d}");
        System.out.printf("trait state per user: since %d B, 48h hourly %d B, 90d daily %d B, distinct (full) %d B, 90d first %d B%n",
                since, hourly, daily, distinct, first);
        assertThat(since).isLessThanOrEqualTo(100);
        assertThat(hourly).isLessThanOrEqualTo(48 * 8 + 100);
        assertThat(daily).isLessThanOrEqualTo(90 * 8 + 100);
        assertThat(distinct).isLessThanOrEqualTo(TraitSet.MAX_DISTINCT * 16 + 100);
        assertThat(first).isLessThanOrEqualTo(90 * (TraitSet.MAX_VALUE_CHARS * 3 + 2) + 100);
    }
}
