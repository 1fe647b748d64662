package io.behaviorcep.event;


import org.apache.flink.api.common.typeutils.CompositeTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The wire and state format of {@link BehaviorEvent}: every event crosses the network once after
 * parsing and sits in the profile and pattern state, so this is on the job's hot path.
 *
 * <p>Why not Flink's POJO serializer: it reaches each field by reflection, wraps the two string maps
 * in nullable and map serializers and writes strings char by char; a profile of the job put it at a
 * fifth of the CPU. This one writes strings as UTF-8 bytes (the JDK's intrinsics make ASCII, most of
 * a Segment event, a plain copy) and sizes maps on reading; it is about twice as fast on a typical
 * 1 kB event. The profile snapshot goes through its own serializer ({@link ProfileSnapshotSerializer},
 * compact and versioned), nested in this one's snapshot, so it evolves on its own.
 *
 * <p>Evolving the event's own fields: bump {@link Snapshot#CURRENT_VERSION}, read the old layout
 * when the restored snapshot's version says so ({@code readVersion}) and add a test with a serialized
 * event of the old version.
 */
public final class BehaviorEventSerializer extends TypeSerializer<BehaviorEvent> {
    private static final long serialVersionUID = 1L;

    private final TypeSerializer<ProfileSnapshot> profiles;
    /** The layout this serializer reads and writes: {@link Snapshot#CURRENT_VERSION}, or an older one restored from a snapshot. */
    private final int layout;
    /** Reused for reading strings: this serializer is stateful, hence {@link #duplicate()}. */
    private transient byte[] scratch;

    public BehaviorEventSerializer(TypeSerializer<ProfileSnapshot> profiles) {
        this(profiles, Snapshot.CURRENT_VERSION);
    }

    BehaviorEventSerializer(TypeSerializer<ProfileSnapshot> profiles, int layout) {
        this.profiles = profiles;
        this.layout = layout;
    }

    TypeSerializer<ProfileSnapshot> profileSerializer() {
        return profiles;
    }

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public TypeSerializer<BehaviorEvent> duplicate() {
        return new BehaviorEventSerializer(profiles.duplicate(), layout);
    }

    @Override
    public BehaviorEvent createInstance() {
        return new BehaviorEvent();
    }

    @Override
    public BehaviorEvent copy(BehaviorEvent from) {
        BehaviorEvent e = new BehaviorEvent();
        e.messageId = from.messageId;
        e.userKey = from.userKey;
        e.userId = from.userId;
        e.anonymousId = from.anonymousId;
        e.type = from.type;
        e.event = from.event;
        e.timestamp = from.timestamp;
        e.properties = from.properties == null ? null : new HashMap<>(from.properties);
        e.context = from.context == null ? null : new HashMap<>(from.context);
        e.profile = from.profile == null ? null : profiles.copy(from.profile);
        e.stitchedAt = from.stitchedAt;
        return e;
    }

    @Override
    public BehaviorEvent copy(BehaviorEvent from, BehaviorEvent reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(BehaviorEvent e, DataOutputView out) throws IOException {
        serialize(e, true, out);
    }

    /**
     * The event as {@link #serialize(BehaviorEvent, DataOutputView)} writes it, but without its profile
     * snapshot unless {@code withProfile}: for state that keeps events whose profile is never read again
     * (the pattern engine's bound events other than the latest of a run). Read back by
     * {@link #deserialize(DataInputView)}, with a null profile.
     */
    public void serialize(BehaviorEvent e, boolean withProfile, DataOutputView out) throws IOException {
        writeString(e.messageId, out);
        writeString(e.userKey, out);
        writeString(e.userId, out);
        writeString(e.anonymousId, out);
        writeString(e.type, out);
        writeString(e.event, out);
        out.writeLong(e.timestamp);
        writeMap(e.properties, out);
        writeMap(e.context, out);
        boolean profile = withProfile && e.profile != null;
        out.writeBoolean(profile);
        if (profile) profiles.serialize(e.profile, out);
        if (layout >= 2) {
            // one byte on almost every event: only a replayed one carries the time
            out.writeBoolean(e.stitched());
            if (e.stitched()) out.writeLong(e.stitchedAt);
        }
    }

    @Override
    public BehaviorEvent deserialize(DataInputView in) throws IOException {
        BehaviorEvent e = new BehaviorEvent();
        e.messageId = readString(in);
        e.userKey = readString(in);
        e.userId = readString(in);
        e.anonymousId = readString(in);
        e.type = readString(in);
        e.event = readString(in);
        e.timestamp = in.readLong();
        e.properties = readMap(in);
        e.context = readMap(in);
        if (in.readBoolean()) e.profile = profiles.deserialize(in);
        if (layout >= 2 && in.readBoolean()) e.stitchedAt = in.readLong();
        return e;
    }

    @Override
    public BehaviorEvent deserialize(BehaviorEvent reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView source, DataOutputView target) throws IOException {
        serialize(deserialize(source), target);
    }

    // --- strings and maps: a variable-length size + 1 (0 is null), then the UTF-8 bytes -------------

    private static void writeString(String s, DataOutputView out) throws IOException {
        if (s == null) {
            out.writeByte(0);
            return;
        }
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        CompactNumbers.writeSize(out, bytes.length + 1);
        out.write(bytes);
    }

    private String readString(DataInputView in) throws IOException {
        int size = CompactNumbers.readSize(in);
        if (size == 0) return null;
        int n = size - 1;
        byte[] buf = scratch;
        if (buf == null || buf.length < n) buf = scratch = new byte[Math.max(n, 256)];
        in.readFully(buf, 0, n);
        return new String(buf, 0, n, StandardCharsets.UTF_8);
    }

    private static void writeMap(Map<String, String> map, DataOutputView out) throws IOException {
        if (map == null) {
            out.writeByte(0);
            return;
        }
        CompactNumbers.writeSize(out, map.size() + 1);
        for (Map.Entry<String, String> en : map.entrySet()) {
            writeString(en.getKey(), out);
            writeString(en.getValue(), out);
        }
    }

    private Map<String, String> readMap(DataInputView in) throws IOException {
        int size = CompactNumbers.readSize(in);
        if (size == 0) return null;
        int n = size - 1;
        Map<String, String> map = new HashMap<>(Math.max(4, (int) (n / 0.75f) + 1));
        for (int i = 0; i < n; i++) map.put(readString(in), readString(in));
        return map;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BehaviorEventSerializer s && layout == s.layout && profiles.equals(s.profiles);
    }

    @Override
    public int hashCode() {
        return (BehaviorEventSerializer.class.hashCode() * 31 + profiles.hashCode()) * 31 + layout;
    }

    @Override
    public TypeSerializerSnapshot<BehaviorEvent> snapshotConfiguration() {
        return new Snapshot(this);
    }

    /**
     * The event's layout version, with the profile serializer's snapshot nested. Versions: 1, the
     * fields up to the profile; 2, then whether the event is {@code stitched()} and if so {@code stitchedAt} (identity stitching). State of an older
     * version is read in its layout and migrated.
     */
    public static final class Snapshot extends CompositeTypeSerializerSnapshot<BehaviorEvent, BehaviorEventSerializer> {
        static final int CURRENT_VERSION = 2;

        /** The layout of the serializer this snapshot was taken of (the restored version, when read). */
        private int layout = CURRENT_VERSION;

        /** For restoring, by reflection. */
        public Snapshot() {}

        Snapshot(BehaviorEventSerializer serializer) {
            super(serializer);
            this.layout = serializer.layout;
        }

        @Override
        protected void readOuterSnapshot(int readOuterSnapshotVersion, DataInputView in, ClassLoader loader) {
            layout = readOuterSnapshotVersion;
        }

        @Override
        protected OuterSchemaCompatibility resolveOuterSchemaCompatibility(TypeSerializerSnapshot<BehaviorEvent> old) {
            if (!(old instanceof Snapshot s)) return OuterSchemaCompatibility.INCOMPATIBLE;
            return s.layout == CURRENT_VERSION ? OuterSchemaCompatibility.COMPATIBLE_AS_IS : OuterSchemaCompatibility.COMPATIBLE_AFTER_MIGRATION;
        }

        @Override
        protected int getCurrentOuterSnapshotVersion() {
            return layout; // the version of the layout this snapshot describes
        }

        @Override
        protected TypeSerializer<?>[] getNestedSerializers(BehaviorEventSerializer outer) {
            return new TypeSerializer<?>[] {outer.profiles};
        }

        @Override
        @SuppressWarnings("unchecked")
        protected BehaviorEventSerializer createOuterSerializerWithNestedSerializers(TypeSerializer<?>[] nested) {
            return new BehaviorEventSerializer((TypeSerializer<ProfileSnapshot>) nested[0], layout);
        }
    }
}
