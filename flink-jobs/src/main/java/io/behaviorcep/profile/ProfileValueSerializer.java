package io.behaviorcep.profile;

import io.behaviorcep.event.BehaviorEvent;

import org.apache.flink.api.common.typeutils.CompositeTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Map;
import java.util.TreeMap;

/**
 * The state format of {@link ProfileValue}: the profile through its own serializer, the
 * housekeeping time, the memberships, and the waiting events through the event's serializer. Both
 * nested serializers' snapshots are in this one's, so a savepoint restores after the profile or the
 * event gain fields. Evolving this layout: bump {@link Snapshot#VERSION} and read the old layout when
 * the restored snapshot's version says so.
 *
 * <p>{@link #copy} (called by the heap backend while an asynchronous snapshot runs) copies the
 * profile and the waiting events too: the operator changes both in place.
 */
public final class ProfileValueSerializer extends TypeSerializer<ProfileValue> {
    private static final long serialVersionUID = 1L;

    private final TypeSerializer<ProfileState> profiles;
    private final TypeSerializer<BehaviorEvent> events;

    public ProfileValueSerializer(TypeSerializer<ProfileState> profiles, TypeSerializer<BehaviorEvent> events) {
        this.profiles = profiles;
        this.events = events;
    }

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public TypeSerializer<ProfileValue> duplicate() {
        TypeSerializer<ProfileState> p = profiles.duplicate();
        TypeSerializer<BehaviorEvent> e = events.duplicate();
        return p == profiles && e == events ? this : new ProfileValueSerializer(p, e);
    }

    @Override
    public ProfileValue createInstance() {
        return new ProfileValue();
    }

    @Override
    public ProfileValue copy(ProfileValue from) {
        TreeMap<Long, ArrayList<BehaviorEvent>> waiting = new TreeMap<>();
        for (Map.Entry<Long, ArrayList<BehaviorEvent>> at : from.waiting.entrySet()) {
            ArrayList<BehaviorEvent> list = new ArrayList<>(at.getValue().size());
            for (BehaviorEvent e : at.getValue()) list.add(events.copy(e));
            waiting.put(at.getKey(), list);
        }
        ProfileValue v = new ProfileValue(waiting, new TreeMap<>(from.segments));
        v.waitingTotal = from.waitingTotal;
        v.wakeAt = from.wakeAt;
        v.profile = from.profile == null ? null : profiles.copy(from.profile);
        return v;
    }

    @Override
    public ProfileValue copy(ProfileValue from, ProfileValue reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(ProfileValue v, DataOutputView out) throws IOException {
        out.writeBoolean(v.profile != null);
        if (v.profile != null) profiles.serialize(v.profile, out);
        out.writeLong(v.wakeAt);
        out.writeInt(v.segments.size());
        for (Map.Entry<String, Long> m : v.segments.entrySet()) {
            out.writeUTF(m.getKey());
            out.writeLong(m.getValue());
        }
        out.writeInt(v.waiting.size());
        for (Map.Entry<Long, ArrayList<BehaviorEvent>> at : v.waiting.entrySet()) {
            out.writeLong(at.getKey());
            out.writeInt(at.getValue().size());
            for (BehaviorEvent e : at.getValue()) events.serialize(e, out);
        }
    }

    @Override
    public ProfileValue deserialize(DataInputView in) throws IOException {
        ProfileState profile = in.readBoolean() ? profiles.deserialize(in) : null;
        long wakeAt = in.readLong();
        TreeMap<String, Long> segments = new TreeMap<>();
        for (int i = 0, n = in.readInt(); i < n; i++) segments.put(in.readUTF(), in.readLong());
        TreeMap<Long, ArrayList<BehaviorEvent>> waiting = new TreeMap<>();
        int total = 0;
        for (int i = 0, instants = in.readInt(); i < instants; i++) {
            long ts = in.readLong();
            int n = in.readInt();
            ArrayList<BehaviorEvent> list = new ArrayList<>(n);
            for (int j = 0; j < n; j++) list.add(events.deserialize(in));
            waiting.put(ts, list);
            total += n;
        }
        ProfileValue v = new ProfileValue(waiting, segments);
        v.profile = profile;
        v.wakeAt = wakeAt;
        v.waitingTotal = total;
        return v;
    }

    @Override
    public ProfileValue deserialize(ProfileValue reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ProfileValueSerializer s && profiles.equals(s.profiles) && events.equals(s.events);
    }

    @Override
    public int hashCode() {
        return profiles.hashCode() * 31 + events.hashCode();
    }

    @Override
    public TypeSerializerSnapshot<ProfileValue> snapshotConfiguration() {
        return new Snapshot(this);
    }

    /** The layout's version, with the profile's and the event's serializer snapshots nested. */
    public static final class Snapshot extends CompositeTypeSerializerSnapshot<ProfileValue, ProfileValueSerializer> {
        static final int VERSION = 1;

        /** For restoring, by reflection. */
        public Snapshot() {}

        Snapshot(ProfileValueSerializer s) {
            super(s);
        }

        @Override
        protected int getCurrentOuterSnapshotVersion() {
            return VERSION;
        }

        @Override
        protected TypeSerializer<?>[] getNestedSerializers(ProfileValueSerializer outer) {
            return new TypeSerializer<?>[] {outer.profiles, outer.events};
        }

        @SuppressWarnings("unchecked")
        @Override
        protected ProfileValueSerializer createOuterSerializerWithNestedSerializers(TypeSerializer<?>[] nested) {
            return new ProfileValueSerializer((TypeSerializer<ProfileState>) nested[0], (TypeSerializer<BehaviorEvent>) nested[1]);
        }
    }
}
