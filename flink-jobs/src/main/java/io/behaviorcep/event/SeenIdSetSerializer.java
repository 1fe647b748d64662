package io.behaviorcep.event;

import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;

/**
 * The state format of {@link SeenIdSet}: the id count, the sweep time, the earliest first-seen
 * time, then per id its fingerprint (8 bytes) and its first-seen time as an unsigned variable-length
 * offset from the earliest (3-4 bytes for ids seen within a day). About 12 bytes per id.
 *
 * <p>Evolving the layout: bump {@link Snapshot#CURRENT_VERSION} and read the old layout when a
 * restored snapshot's version says so.
 */
public final class SeenIdSetSerializer extends TypeSerializerSingleton<SeenIdSet> {
    private static final long serialVersionUID = 1L;
    public static final SeenIdSetSerializer INSTANCE = new SeenIdSetSerializer();

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public SeenIdSet createInstance() {
        return new SeenIdSet();
    }

    @Override
    public SeenIdSet copy(SeenIdSet from) {
        return from.copy();
    }

    @Override
    public SeenIdSet copy(SeenIdSet from, SeenIdSet reuse) {
        return from.copy();
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(SeenIdSet s, DataOutputView out) throws IOException {
        int n = s.size();
        CompactNumbers.writeUnsigned(out, n);
        out.writeLong(s.sweepAt);
        if (n == 0) return;
        long base = s.oldestFirstSeen();
        out.writeLong(base);
        for (int i = 0; i < n; i++) {
            out.writeLong(s.fingerprintAt(i));
            CompactNumbers.writeUnsigned(out, s.firstSeenAt(i) - base);
        }
    }

    @Override
    public SeenIdSet deserialize(DataInputView in) throws IOException {
        int n = (int) CompactNumbers.readUnsigned(in);
        long sweepAt = in.readLong();
        long[] fingerprints = new long[Math.max(4, n)];
        long[] firstSeen = new long[Math.max(4, n)];
        if (n > 0) {
            long base = in.readLong();
            for (int i = 0; i < n; i++) {
                fingerprints[i] = in.readLong();
                firstSeen[i] = base + CompactNumbers.readUnsigned(in);
            }
        }
        return new SeenIdSet(fingerprints, firstSeen, n, sweepAt);
    }

    @Override
    public SeenIdSet deserialize(SeenIdSet reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public TypeSerializerSnapshot<SeenIdSet> snapshotConfiguration() {
        return new Snapshot();
    }

    /** The layout's version; nothing else to configure. */
    public static final class Snapshot implements TypeSerializerSnapshot<SeenIdSet> {
        static final int CURRENT_VERSION = 1;
        private int readVersion = CURRENT_VERSION;

        @Override
        public int getCurrentVersion() {
            return CURRENT_VERSION;
        }

        @Override
        public void writeSnapshot(DataOutputView out) {
        }

        @Override
        public void readSnapshot(int readVersion, DataInputView in, ClassLoader classLoader) {
            this.readVersion = readVersion;
        }

        @Override
        public TypeSerializer<SeenIdSet> restoreSerializer() {
            if (readVersion != CURRENT_VERSION) throw new IllegalStateException("no reader for the seen-ids layout version " + readVersion);
            return INSTANCE;
        }

        @Override
        public TypeSerializerSchemaCompatibility<SeenIdSet> resolveSchemaCompatibility(TypeSerializerSnapshot<SeenIdSet> oldSnapshot) {
            if (!(oldSnapshot instanceof Snapshot old)) return TypeSerializerSchemaCompatibility.incompatible();
            return old.readVersion == CURRENT_VERSION ? TypeSerializerSchemaCompatibility.compatibleAsIs()
                    : TypeSerializerSchemaCompatibility.incompatible();
        }
    }
}
