package io.behaviorcep.profile;

import io.behaviorcep.event.BehaviorEvent;

import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.typeutils.runtime.PojoSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Random;

import static io.behaviorcep.profile.ProfileState.DAY;
import static io.behaviorcep.profile.ProfileState.HOUR;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bytes of profile state per user, as Flink stores it: the {@link ProfileState} through
 * {@link ProfileStateSerializer} (what RocksDB holds and checkpoints carry, per user, besides the key), for an
 * active user, a user seen once, a user quiet for 30 days (compacted), and an opted-out marker.
 * The figures are printed; the bounds hold the design to them.
 */
class ProfileStateSizeTest {
    static final long D0 = Instant.parse("2026-03-02T00:00:00Z").toEpochMilli();
    static final long MIN = 60_000L;
    static final TypeSerializer<ProfileState> SERIALIZER =
            TypeInformation.of(ProfileState.class).createSerializer(new SerializerConfigImpl());

    static int bytes(ProfileState s) throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(256);
        SERIALIZER.serialize(s, out);
        int n = out.length();
        // and it reads back to the same profile
        ProfileState back = SERIALIZER.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        assertThat(back.snapshot()).isEqualTo(s.snapshot());
        return n;
    }

    static BehaviorEvent ev(long ts, String type, String name, String... props) {
        BehaviorEvent e = new BehaviorEvent();
        e.type = type;
        e.event = name;
        e.messageId = "m" + ts;
        e.userKey = "u";
        e.timestamp = ts;
        for (int i = 0; i < props.length; i += 2) e.properties.put(props[i], props[i + 1]);
        return e;
    }

    /** A shopper on most days for {@code days} days: a session of pages, product views, sometimes adds, checkouts and orders. */
    static ProfileState activeShopper(int days, Random r) {
        ProfileState s = new ProfileState();
        for (int d = 0; d < days; d++) {
            if (r.nextInt(10) < 2) continue;
            long t = D0 + d * DAY + (8 + r.nextInt(12)) * HOUR;
            for (int i = 0; i < 12; i++) {
                t += r.nextInt(4) * MIN + 1_000;
                int k = r.nextInt(20);
                s.add(k < 6 ? ev(t, "page", "Home") : k < 15 ? ev(t, "track", "Product Viewed")
                        : k < 18 ? ev(t, "track", "Product Added") : k < 19 ? ev(t, "track", "Checkout Started")
                        : ev(t, "track", "Order Completed", "revenue", "42.5"));
            }
        }
        return s;
    }

    @Test
    void serializedBytesPerUser() throws Exception {
        assertThat(SERIALIZER).as("state uses the profile's own compact serializer").isInstanceOf(ProfileStateSerializer.class);

        ProfileState active = activeShopper(60, new Random(1));
        int activeBytes = bytes(active);

        ProfileState once = new ProfileState();
        once.add(ev(D0 + 10 * HOUR, "page", "Home"));
        int onceBytes = bytes(once);

        ProfileState idle = new ProfileState();
        idle.add(ev(D0 + 10 * HOUR, "page", "Home"));
        idle.add(ev(D0 + 10 * HOUR + MIN, "track", "Product Viewed"));
        idle.add(ev(D0 + 10 * HOUR + 2 * MIN, "track", "Order Completed", "revenue", "20"));
        idle.compact(idle.compactAt()); // what the profile operator does once the user is quiet for 30 days
        int idleBytes = bytes(idle);

        ProfileState marker = new ProfileState();
        marker.optedOut = true;
        int markerBytes = bytes(marker);

        // the keyed state of a user besides the profile: the timer instant (a Long) and, per threshold
        // segment the user is in, a map entry (the segment id and a Long)
        System.out.printf("profile state per user (serialized): active shopper %d B, seen once %d B, "
                + "idle (quiet 30 d, compacted) %d B, opted-out marker %d B%n", activeBytes, onceBytes, idleBytes, markerBytes);

        // the ten latest events kept for the read API (recent_events) are about 60 B of these
        assertThat(activeBytes).isLessThan(600);
        assertThat(onceBytes).isLessThan(activeBytes);
        assertThat(idleBytes).isLessThan(350);
        assertThat(markerBytes).isLessThan(300);
    }

    /**
     * A user gone past {@code profile.retention}: the {@link LifetimeRecord} (its own keyed state), and
     * the {@link ProfileValue} without a profile: the timer instant and the membership of
     * {@code churned}, the one threshold segment such a user is typically in. The whole per-user cost of a dormant user, besides the key and the timer itself.
     */
    @Test
    void bytesPerDormantUser() throws Exception {
        TypeSerializer<LifetimeRecord> records = TypeInformation.of(LifetimeRecord.class).createSerializer(new SerializerConfigImpl());
        assertThat(records).as("state uses Flink's POJO serializer, not Kryo").isInstanceOf(PojoSerializer.class);
        ProfileState gone = activeShopper(60, new Random(5));
        LifetimeRecord r = LifetimeRecord.of(gone);
        DataOutputSerializer out = new DataOutputSerializer(64);
        records.serialize(r, out);
        int recordBytes = out.length();
        LifetimeRecord back = records.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        assertThat(back.snapshot(gone.lastSeen + 100 * DAY)).isEqualTo(r.snapshot(gone.lastSeen + 100 * DAY));
        assertThat(back.eventsLifetime).isEqualTo(gone.eventsLifetime).isPositive();
        assertThat(back.revenueLifetime).isEqualTo(gone.revenueLifetime).isPositive();

        // the value beside it (no profile: the membership and the timer instant), serialized as ProfileFunction declares it
        ProfileValue value = new ProfileValue();
        value.segments.put("churned", gone.lastSeen + 30 * DAY);
        value.wakeAt = gone.lastSeen + 400 * DAY;
        DataOutputSerializer entry = new DataOutputSerializer(64);
        ProfileValueSerializerTest.serializer().serialize(value, entry);
        int valueBytes = entry.length();
        int total = recordBytes + valueBytes;

        ProfileState idle = new ProfileState();
        idle.add(ev(D0 + 10 * HOUR, "page", "Home"));
        idle.compact(idle.compactAt());
        System.out.printf("dormant user (gone past profile.retention): lifetime record %d B + value with the churned membership and timer instant %d B = %d B "
                + "(a quiet user before the retention: profile %d B)%n", recordBytes, valueBytes, total, bytes(idle));
        assertThat(recordBytes).isLessThan(64);
        assertThat(total).isLessThan(100);
    }

    @Test
    void sizeDoesNotGrowWithHistory() throws Exception {
        // a year of activity takes about as much as two months: every ring is full either way (the ten
        // latest events are full too; only their names' lengths differ, so the same names are compared).
        // Only the lifetime counters' variable-length numbers may take a byte or two more.
        ProfileState twoMonthsState = activeShopper(60, new Random(2));
        ProfileState aYearState = activeShopper(365, new Random(2));
        aYearState.recentEventNames = twoMonthsState.recentEventNames.clone();
        assertThat(bytes(aYearState)).isBetween(bytes(twoMonthsState) - 64, bytes(twoMonthsState) + 64);
    }

    @Test
    void theLatestEventsCostAtMostTwoKilobytesWhateverTheirNames() throws Exception {
        ProfileState plain = activeShopper(60, new Random(3));
        int before = bytes(plain);
        ProfileState worst = activeShopper(60, new Random(3));
        // 11 events named with 3-byte characters far past the cut: ten are kept, each cut to 64 characters
        for (int i = 0; i <= ProfileState.RECENT_EVENTS; i++) {
            worst.add(ev(D0 + 61 * DAY + i * MIN, "track", "\u20ac".repeat(10_000)));
        }
        int after = bytes(worst);
        System.out.printf("latest events: %d B more with ten 64-character names of 3-byte characters%n", after - before);
        assertThat(worst.recentEventNames).hasSize(ProfileState.RECENT_EVENTS)
                .allSatisfy(n -> assertThat(n).hasSize(ProfileState.RECENT_EVENT_NAME_MAX));
        assertThat(after - before).isLessThan(2_048);
    }
}
