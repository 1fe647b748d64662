package io.behaviorcep.profile;

import io.behaviorcep.trait.TraitCell;

import static io.behaviorcep.event.CompactNumbers.readSigned;
import static io.behaviorcep.event.CompactNumbers.readSize;
import static io.behaviorcep.event.CompactNumbers.writeSigned;
import static io.behaviorcep.event.CompactNumbers.writeSize;

import org.apache.flink.api.common.typeutils.CompositeTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.java.typeutils.runtime.PojoSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;

/**
 * The state format of {@link ProfileState}, compact because the profile is most of what the job
 * keeps per user and, on RocksDB, is written with every event. Where Flink's POJO serializer writes
 * every bucket of every ring as four bytes (about 1.3 kB, almost all zeros for a user seen on a few
 * days), this writes counters as variable-length numbers, the rings sparsely (only non-zero buckets,
 * by their distance from the previous one), times relative to {@code lastSeen}, and each recent
 * event's name once. The computed traits' cells go through their own (POJO) serializer, nested.
 *
 * <p>Evolving the layout: bump {@link Snapshot#CURRENT_VERSION} and read the older one when the
 * restored snapshot says so. Profiles written by the POJO serializer (before this one) are migrated
 * on restore: Flink reads them with the restored POJO serializer and writes them with this one.
 */
public final class ProfileStateSerializer extends TypeSerializer<ProfileState> {
    private static final long serialVersionUID = 1L;

    private final TypeSerializer<TraitCell> cells;

    public ProfileStateSerializer(TypeSerializer<TraitCell> cells) {
        this.cells = cells;
    }

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public TypeSerializer<ProfileState> duplicate() {
        TypeSerializer<TraitCell> c = cells.duplicate();
        return c == cells ? this : new ProfileStateSerializer(c);
    }

    @Override
    public ProfileState createInstance() {
        return new ProfileState();
    }

    @Override
    public ProfileState copy(ProfileState from) {
        ProfileState to = new ProfileState();
        to.firstSeen = from.firstSeen;
        to.lastSeen = from.lastSeen;
        to.sessionStart = from.sessionStart;
        to.sessionsLifetime = from.sessionsLifetime;
        to.eventsLifetime = from.eventsLifetime;
        to.sessionTimeCompleted = from.sessionTimeCompleted;
        to.previousSessionDuration = from.previousSessionDuration;
        to.sessionPageViews = from.sessionPageViews;
        to.sessionProductViews = from.sessionProductViews;
        to.pageViewsLifetime = from.pageViewsLifetime;
        to.productViewsLifetime = from.productViewsLifetime;
        to.addsLifetime = from.addsLifetime;
        to.checkoutsLifetime = from.checkoutsLifetime;
        to.ordersLifetime = from.ordersLifetime;
        to.revenueLifetime = from.revenueLifetime;
        to.newestSlot = from.newestSlot;
        to.newestHour = from.newestHour;
        to.newestDay = from.newestDay;
        to.newestWeek = from.newestWeek;
        to.weeklySessions = clone(from.weeklySessions);
        to.slotEvents = clone(from.slotEvents);
        to.slotSessions = clone(from.slotSessions);
        to.hourlyEvents = clone(from.hourlyEvents);
        to.hourlySessions = clone(from.hourlySessions);
        to.dailyEvents = clone(from.dailyEvents);
        to.dailySessions = clone(from.dailySessions);
        to.dailyCommerce = clone(from.dailyCommerce);
        to.dailyRevenue = from.dailyRevenue == null ? null : from.dailyRevenue.clone();
        to.recentEventNames = from.recentEventNames == null ? null : from.recentEventNames.clone();
        to.recentEventTimes = from.recentEventTimes == null ? null : from.recentEventTimes.clone();
        to.writtenAt = from.writtenAt;
        to.dirty = from.dirty;
        to.optedOut = from.optedOut;
        to.suppressionListed = from.suppressionListed;
        to.segmentCheckAt = from.segmentCheckAt;
        if (from.traits != null) {
            to.traits = new TraitCell[from.traits.length];
            for (int i = 0; i < from.traits.length; i++) to.traits[i] = from.traits[i] == null ? null : cells.copy(from.traits[i]);
        }
        return to;
    }

    private static int[] clone(int[] a) {
        return a == null ? null : a.clone();
    }

    @Override
    public ProfileState copy(ProfileState from, ProfileState reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    /** Flags of the first byte: the three booleans, then which times are Long.MIN_VALUE (never). */
    private static final int DIRTY = 1, OPTED_OUT = 2, LISTED = 4, NO_LAST_SEEN = 8, NO_FIRST_SEEN = 16, NO_WRITTEN_AT = 32,
            NO_SEGMENT_CHECK = 64, NO_NEWEST = 128;

    @Override
    public void serialize(ProfileState s, DataOutputView out) throws IOException {
        boolean noNewest = s.newestSlot == Long.MIN_VALUE && s.newestHour == Long.MIN_VALUE && s.newestDay == Long.MIN_VALUE
                && s.newestWeek == Long.MIN_VALUE;
        int flags = (s.dirty ? DIRTY : 0) | (s.optedOut ? OPTED_OUT : 0) | (s.suppressionListed ? LISTED : 0)
                | (s.lastSeen == Long.MIN_VALUE ? NO_LAST_SEEN : 0) | (s.firstSeen == Long.MIN_VALUE ? NO_FIRST_SEEN : 0)
                | (s.writtenAt == Long.MIN_VALUE ? NO_WRITTEN_AT : 0) | (s.segmentCheckAt == Long.MIN_VALUE ? NO_SEGMENT_CHECK : 0)
                | (noNewest ? NO_NEWEST : 0);
        out.writeByte(flags);
        long base = s.lastSeen == Long.MIN_VALUE ? 0 : s.lastSeen;
        if (s.lastSeen != Long.MIN_VALUE) writeSigned(out, s.lastSeen);
        if (s.firstSeen != Long.MIN_VALUE) writeSigned(out, s.firstSeen - base);
        if (s.writtenAt != Long.MIN_VALUE) writeSigned(out, s.writtenAt - base);
        if (s.segmentCheckAt != Long.MIN_VALUE) writeSigned(out, s.segmentCheckAt - base);
        writeSigned(out, s.sessionStart - base);
        writeSigned(out, s.sessionsLifetime);
        writeSigned(out, s.eventsLifetime);
        writeSigned(out, s.sessionTimeCompleted);
        writeSigned(out, s.previousSessionDuration);
        writeSigned(out, s.sessionPageViews);
        writeSigned(out, s.sessionProductViews);
        writeSigned(out, s.pageViewsLifetime);
        writeSigned(out, s.productViewsLifetime);
        writeSigned(out, s.addsLifetime);
        writeSigned(out, s.checkoutsLifetime);
        writeSigned(out, s.ordersLifetime);
        out.writeDouble(s.revenueLifetime);
        if (!noNewest) {
            writeSigned(out, s.newestSlot);
            writeSigned(out, s.newestHour - s.newestSlot);
            writeSigned(out, s.newestDay - s.newestSlot);
            writeSigned(out, s.newestWeek - s.newestSlot);
        }
        writeSparse(out, s.weeklySessions);
        writeSparse(out, s.slotEvents);
        writeSparse(out, s.slotSessions);
        writeSparse(out, s.hourlyEvents);
        writeSparse(out, s.hourlySessions);
        writeSparse(out, s.dailyEvents);
        writeSparse(out, s.dailySessions);
        writeSparse(out, s.dailyCommerce);
        writeSparse(out, s.dailyRevenue);
        writeRecent(out, s, base);
        if (s.traits == null) {
            writeSize(out, 0);
        } else {
            writeSize(out, s.traits.length + 1);
            for (TraitCell c : s.traits) {
                out.writeBoolean(c != null);
                if (c != null) cells.serialize(c, out);
            }
        }
    }

    @Override
    public ProfileState deserialize(DataInputView in) throws IOException {
        ProfileState s = new ProfileState();
        int flags = in.readUnsignedByte();
        s.dirty = (flags & DIRTY) != 0;
        s.optedOut = (flags & OPTED_OUT) != 0;
        s.suppressionListed = (flags & LISTED) != 0;
        s.lastSeen = (flags & NO_LAST_SEEN) != 0 ? Long.MIN_VALUE : readSigned(in);
        long base = s.lastSeen == Long.MIN_VALUE ? 0 : s.lastSeen;
        s.firstSeen = (flags & NO_FIRST_SEEN) != 0 ? Long.MIN_VALUE : base + readSigned(in);
        s.writtenAt = (flags & NO_WRITTEN_AT) != 0 ? Long.MIN_VALUE : base + readSigned(in);
        s.segmentCheckAt = (flags & NO_SEGMENT_CHECK) != 0 ? Long.MIN_VALUE : base + readSigned(in);
        s.sessionStart = base + readSigned(in);
        s.sessionsLifetime = readSigned(in);
        s.eventsLifetime = readSigned(in);
        s.sessionTimeCompleted = readSigned(in);
        s.previousSessionDuration = readSigned(in);
        s.sessionPageViews = (int) readSigned(in);
        s.sessionProductViews = (int) readSigned(in);
        s.pageViewsLifetime = readSigned(in);
        s.productViewsLifetime = readSigned(in);
        s.addsLifetime = readSigned(in);
        s.checkoutsLifetime = readSigned(in);
        s.ordersLifetime = readSigned(in);
        s.revenueLifetime = in.readDouble();
        if ((flags & NO_NEWEST) == 0) {
            s.newestSlot = readSigned(in);
            s.newestHour = s.newestSlot + readSigned(in);
            s.newestDay = s.newestSlot + readSigned(in);
            s.newestWeek = s.newestSlot + readSigned(in);
        }
        s.weeklySessions = readSparseInts(in);
        s.slotEvents = readSparseInts(in);
        s.slotSessions = readSparseInts(in);
        s.hourlyEvents = readSparseInts(in);
        s.hourlySessions = readSparseInts(in);
        s.dailyEvents = readSparseInts(in);
        s.dailySessions = readSparseInts(in);
        s.dailyCommerce = readSparseInts(in);
        s.dailyRevenue = readSparseDoubles(in);
        readRecent(in, s, base);
        int traits = readSize(in);
        if (traits > 0) {
            s.traits = new TraitCell[traits - 1];
            for (int i = 0; i < s.traits.length; i++) s.traits[i] = in.readBoolean() ? cells.deserialize(in) : null;
        }
        return s;
    }

    @Override
    public ProfileState deserialize(ProfileState reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView source, DataOutputView target) throws IOException {
        serialize(deserialize(source), target);
    }

    // --- the parts -----------------------------------------------------------------------------------

    /** A ring: its length + 1 (0: null), how many buckets are non-zero, then each as (gap from the previous, value). */
    private static void writeSparse(DataOutputView out, int[] a) throws IOException {
        if (a == null) {
            writeSize(out, 0);
            return;
        }
        writeSize(out, a.length + 1);
        int nonZero = 0;
        for (int v : a) if (v != 0) nonZero++;
        writeSize(out, nonZero);
        int previous = -1;
        for (int i = 0; i < a.length; i++) {
            if (a[i] == 0) continue;
            writeSize(out, i - previous - 1);
            writeSigned(out, a[i]);
            previous = i;
        }
    }

    private static int[] readSparseInts(DataInputView in) throws IOException {
        int length = readSize(in) - 1;
        if (length < 0) return null;
        int[] a = new int[length];
        int at = -1;
        for (int i = 0, n = readSize(in); i < n; i++) {
            at += readSize(in) + 1;
            a[at] = (int) readSigned(in);
        }
        return a;
    }

    /** As {@link #writeSparse(DataOutputView, int[])}; a bucket is zero when its bits are (so -0.0 is kept as written). */
    private static void writeSparse(DataOutputView out, double[] a) throws IOException {
        if (a == null) {
            writeSize(out, 0);
            return;
        }
        writeSize(out, a.length + 1);
        int nonZero = 0;
        for (double v : a) if (Double.doubleToRawLongBits(v) != 0) nonZero++;
        writeSize(out, nonZero);
        int previous = -1;
        for (int i = 0; i < a.length; i++) {
            if (Double.doubleToRawLongBits(a[i]) == 0) continue;
            writeSize(out, i - previous - 1);
            out.writeDouble(a[i]);
            previous = i;
        }
    }

    private static double[] readSparseDoubles(DataInputView in) throws IOException {
        int length = readSize(in) - 1;
        if (length < 0) return null;
        double[] a = new double[length];
        int at = -1;
        for (int i = 0, n = readSize(in); i < n; i++) {
            at += readSize(in) + 1;
            a[at] = in.readDouble();
        }
        return a;
    }

    /**
     * The recent events: how many + 1 (0: none), then per event its time (relative to lastSeen) and
     * its name, or the 1-based position of an earlier event with the same name.
     */
    private static void writeRecent(DataOutputView out, ProfileState s, long base) throws IOException {
        String[] names = s.recentEventNames;
        long[] times = s.recentEventTimes;
        if (names == null || times == null) {
            // both or neither exist; a half is written as its own length so it reads back as it was
            writeSize(out, 0);
            out.writeBoolean(names != null);
            if (names != null) writeStrings(out, names);
            out.writeBoolean(times != null);
            if (times != null) {
                writeSize(out, times.length);
                for (long t : times) writeSigned(out, t - base);
            }
            return;
        }
        if (names.length != times.length) throw new IOException("corrupt ProfileState: " + names.length + " recent names for " + times.length + " times");
        writeSize(out, names.length + 1);
        for (long t : times) writeSigned(out, t - base);
        writeStrings(out, names);
    }

    private static void readRecent(DataInputView in, ProfileState s, long base) throws IOException {
        int n = readSize(in) - 1;
        if (n < 0) {
            if (in.readBoolean()) s.recentEventNames = readStrings(in);
            if (in.readBoolean()) {
                s.recentEventTimes = new long[readSize(in)];
                for (int i = 0; i < s.recentEventTimes.length; i++) s.recentEventTimes[i] = base + readSigned(in);
            }
            return;
        }
        s.recentEventTimes = new long[n];
        for (int i = 0; i < n; i++) s.recentEventTimes[i] = base + readSigned(in);
        s.recentEventNames = readStrings(in);
        if (s.recentEventNames.length != n) throw new IOException("corrupt ProfileState: " + s.recentEventNames.length + " recent event names for " + n + " times");
    }

    /** How many, then each string as 0 and its text, 1 for null, or 2 + the index of an earlier equal one. */
    private static void writeStrings(DataOutputView out, String[] names) throws IOException {
        writeSize(out, names.length);
        for (int i = 0; i < names.length; i++) {
            String name = names[i];
            int same = -1;
            for (int j = 0; j < i && name != null; j++) {
                if (name.equals(names[j])) {
                    same = j;
                    break;
                }
            }
            if (same >= 0) {
                writeSize(out, same + 2);
            } else if (name == null) {
                writeSize(out, 1);
            } else {
                writeSize(out, 0);
                out.writeUTF(name);
            }
        }
    }

    private static String[] readStrings(DataInputView in) throws IOException {
        String[] names = new String[readSize(in)];
        for (int i = 0; i < names.length; i++) {
            int tag = readSize(in);
            if (tag == 0) names[i] = in.readUTF();
            else if (tag == 1) names[i] = null;
            else if (tag - 2 < i) names[i] = names[tag - 2];
            else throw new IOException("corrupt ProfileState: recent event name " + i + " refers to " + (tag - 2));
        }
        return names;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ProfileStateSerializer s && cells.equals(s.cells);
    }

    @Override
    public int hashCode() {
        return ProfileStateSerializer.class.hashCode() * 31 + cells.hashCode();
    }

    @Override
    public TypeSerializerSnapshot<ProfileState> snapshotConfiguration() {
        return new Snapshot(this);
    }

    /** The layout's version, with the trait cells' serializer snapshot nested. Version 1: the layout above. */
    public static final class Snapshot extends CompositeTypeSerializerSnapshot<ProfileState, ProfileStateSerializer> {
        static final int CURRENT_VERSION = 1;

        /** For restoring, by reflection. */
        public Snapshot() {}

        Snapshot(ProfileStateSerializer serializer) {
            super(serializer);
        }

        /** Profiles from before this serializer (Flink's POJO serializer) are read by it and rewritten in this layout. */
        @Override
        public TypeSerializerSchemaCompatibility<ProfileState> resolveSchemaCompatibility(TypeSerializerSnapshot<ProfileState> old) {
            if (old instanceof PojoSerializerSnapshot) return TypeSerializerSchemaCompatibility.compatibleAfterMigration();
            return super.resolveSchemaCompatibility(old);
        }

        @Override
        protected int getCurrentOuterSnapshotVersion() {
            return CURRENT_VERSION;
        }

        @Override
        protected TypeSerializer<?>[] getNestedSerializers(ProfileStateSerializer outer) {
            return new TypeSerializer<?>[] {outer.cells};
        }

        @Override
        @SuppressWarnings("unchecked")
        protected ProfileStateSerializer createOuterSerializerWithNestedSerializers(TypeSerializer<?>[] nested) {
            return new ProfileStateSerializer((TypeSerializer<TraitCell>) nested[0]);
        }
    }
}
