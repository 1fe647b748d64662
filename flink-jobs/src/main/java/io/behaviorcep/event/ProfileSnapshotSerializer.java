package io.behaviorcep.event;

import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.api.java.typeutils.runtime.PojoSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;

import static io.behaviorcep.event.CompactNumbers.readSigned;
import static io.behaviorcep.event.CompactNumbers.readStrings;
import static io.behaviorcep.event.CompactNumbers.writeSigned;
import static io.behaviorcep.event.CompactNumbers.writeStrings;

/**
 * The state format of a {@link ProfileSnapshot}, which the pattern engine keeps with the events
 * that may end a match: counts as variable-length numbers, times relative to {@code asOf}, and only
 * the non-zero ones of its six decimals (about 50 bytes where Flink's POJO serializer writes about
 * 300). Snapshots written by the POJO serializer (before this one) are migrated on restore.
 *
 * <p>Evolving the layout: bump {@link Snapshot#VERSION} and read the older one when the restored
 * snapshot says so. {@code ProfileSnapshotSerializerTest} fails when a field is not written.
 */
public final class ProfileSnapshotSerializer extends TypeSerializerSingleton<ProfileSnapshot> {
    private static final long serialVersionUID = 1L;

    public static final ProfileSnapshotSerializer INSTANCE = new ProfileSnapshotSerializer();

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public ProfileSnapshot createInstance() {
        return new ProfileSnapshot();
    }

    /** Through the bytes: copies are rare (the engine shares its events' snapshots), and this copies every field. */
    @Override
    public ProfileSnapshot copy(ProfileSnapshot from) {
        try {
            org.apache.flink.core.memory.DataOutputSerializer out = new org.apache.flink.core.memory.DataOutputSerializer(128);
            serialize(from, out);
            return deserialize(new org.apache.flink.core.memory.DataInputDeserializer(out.getSharedBuffer(), 0, out.length()));
        } catch (IOException e) {
            throw new IllegalStateException("cannot copy a profile snapshot", e);
        }
    }

    @Override
    public ProfileSnapshot copy(ProfileSnapshot from, ProfileSnapshot reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(ProfileSnapshot p, DataOutputView out) throws IOException {
        double[] decimals = {p.avgSessionDurationS, p.pageViewsPerSession, p.productViewsPerSession, p.revenueLifetime, p.revenue30d,
                p.sessionsWeeklyAvgPrior4};
        int nonZero = 0;
        for (int i = 0; i < decimals.length; i++) if (Double.doubleToRawLongBits(decimals[i]) != 0) nonZero |= 1 << i;
        out.writeByte(nonZero);
        for (int i = 0; i < decimals.length; i++) if ((nonZero & 1 << i) != 0) out.writeDouble(decimals[i]);
        long t = p.asOf;
        writeSigned(out, t);
        writeSigned(out, p.firstSeen - t);
        writeSigned(out, p.lastSeen - t);
        writeSigned(out, p.currentSessionStart - t);
        writeSigned(out, p.events1h);
        writeSigned(out, p.events24h);
        writeSigned(out, p.events7d);
        writeSigned(out, p.events30d);
        writeSigned(out, p.eventsLifetime);
        writeSigned(out, p.sessions1h);
        writeSigned(out, p.sessions24h);
        writeSigned(out, p.sessions7d);
        writeSigned(out, p.sessions30d);
        writeSigned(out, p.sessionsLifetime);
        writeSigned(out, p.currentSessionDurationS);
        writeSigned(out, p.lastSessionDurationS);
        writeSigned(out, p.sessionPageViews);
        writeSigned(out, p.sessionProductViews);
        writeSigned(out, p.pageViewsLifetime);
        writeSigned(out, p.productViewsLifetime);
        writeSigned(out, p.productViews7d);
        writeSigned(out, p.productViews30d);
        writeSigned(out, p.addsLifetime);
        writeSigned(out, p.adds30d);
        writeSigned(out, p.checkoutsLifetime);
        writeSigned(out, p.checkouts30d);
        writeSigned(out, p.ordersLifetime);
        writeSigned(out, p.orders30d);
        writeSigned(out, p.activeDays7d);
        writeSigned(out, p.activeDays30d);
        writeSigned(out, p.daysSinceFirstSeen);
        writeSigned(out, p.daysSinceLastSeen);
        writeSigned(out, p.sessionsLastWeek);
        writeSigned(out, p.decayWeeks);
        writeStrings(out, p.traitIds);
        writeStrings(out, p.traitValues);
    }

    @Override
    public ProfileSnapshot deserialize(DataInputView in) throws IOException {
        ProfileSnapshot p = new ProfileSnapshot();
        int nonZero = in.readUnsignedByte();
        double[] decimals = new double[6];
        for (int i = 0; i < decimals.length; i++) if ((nonZero & 1 << i) != 0) decimals[i] = in.readDouble();
        p.avgSessionDurationS = decimals[0];
        p.pageViewsPerSession = decimals[1];
        p.productViewsPerSession = decimals[2];
        p.revenueLifetime = decimals[3];
        p.revenue30d = decimals[4];
        p.sessionsWeeklyAvgPrior4 = decimals[5];
        long t = readSigned(in);
        p.asOf = t;
        p.firstSeen = t + readSigned(in);
        p.lastSeen = t + readSigned(in);
        p.currentSessionStart = t + readSigned(in);
        p.events1h = (int) readSigned(in);
        p.events24h = (int) readSigned(in);
        p.events7d = (int) readSigned(in);
        p.events30d = (int) readSigned(in);
        p.eventsLifetime = readSigned(in);
        p.sessions1h = (int) readSigned(in);
        p.sessions24h = (int) readSigned(in);
        p.sessions7d = (int) readSigned(in);
        p.sessions30d = (int) readSigned(in);
        p.sessionsLifetime = readSigned(in);
        p.currentSessionDurationS = readSigned(in);
        p.lastSessionDurationS = readSigned(in);
        p.sessionPageViews = (int) readSigned(in);
        p.sessionProductViews = (int) readSigned(in);
        p.pageViewsLifetime = readSigned(in);
        p.productViewsLifetime = readSigned(in);
        p.productViews7d = (int) readSigned(in);
        p.productViews30d = (int) readSigned(in);
        p.addsLifetime = readSigned(in);
        p.adds30d = (int) readSigned(in);
        p.checkoutsLifetime = readSigned(in);
        p.checkouts30d = (int) readSigned(in);
        p.ordersLifetime = readSigned(in);
        p.orders30d = (int) readSigned(in);
        p.activeDays7d = (int) readSigned(in);
        p.activeDays30d = (int) readSigned(in);
        p.daysSinceFirstSeen = readSigned(in);
        p.daysSinceLastSeen = readSigned(in);
        p.sessionsLastWeek = (int) readSigned(in);
        p.decayWeeks = (int) readSigned(in);
        p.traitIds = readStrings(in);
        p.traitValues = readStrings(in);
        return p;
    }

    @Override
    public ProfileSnapshot deserialize(ProfileSnapshot reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView source, DataOutputView target) throws IOException {
        serialize(deserialize(source), target);
    }

    @Override
    public TypeSerializerSnapshot<ProfileSnapshot> snapshotConfiguration() {
        return new Snapshot();
    }

    /** Version 1: the layout above. Snapshots written by Flink's POJO serializer are read by it and rewritten in this layout. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<ProfileSnapshot> {
        public Snapshot() {
            super(() -> INSTANCE);
        }

        @Override
        public TypeSerializerSchemaCompatibility<ProfileSnapshot> resolveSchemaCompatibility(TypeSerializerSnapshot<ProfileSnapshot> old) {
            if (old instanceof PojoSerializerSnapshot) return TypeSerializerSchemaCompatibility.compatibleAfterMigration();
            return super.resolveSchemaCompatibility(old);
        }
    }
}
