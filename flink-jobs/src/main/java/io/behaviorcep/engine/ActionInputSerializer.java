package io.behaviorcep.engine;

import io.behaviorcep.pattern.PatternChange;
import io.behaviorcep.pattern.PatternMatch;
import io.behaviorcep.event.ProfileSnapshot;

import org.apache.flink.api.common.typeutils.CompositeTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.types.StringValue;

import java.io.IOException;

/**
 * {@link ActionInput} in state (the actions operator's pending inputs) and on the wire: one tag byte
 * for the kind, then its fields; the match, profile and change through their own serializers,
 * whose snapshots are nested in this one's.
 *
 * <p>Evolving a kind: bump {@link Snapshot#CURRENT_VERSION} and read the old layout when a restored
 * snapshot's version says so.
 */
public final class ActionInputSerializer extends TypeSerializer<ActionInput> {
    private static final long serialVersionUID = 1L;
    private static final byte MATCHED = 1, SEGMENT_EXIT = 2, PRIVACY_SIGNAL = 3, PATTERN_CHANGED = 4, GOAL_REACHED = 5;

    private final TypeSerializer<PatternMatch> matches;
    private final TypeSerializer<ProfileSnapshot> profiles;
    private final TypeSerializer<PatternChange> changes;

    public ActionInputSerializer(TypeSerializer<PatternMatch> matches, TypeSerializer<ProfileSnapshot> profiles,
                                 TypeSerializer<PatternChange> changes) {
        this.matches = matches;
        this.profiles = profiles;
        this.changes = changes;
    }

    @Override
    public boolean isImmutableType() {
        return false; // the records are, but a match's fields are not
    }

    @Override
    public TypeSerializer<ActionInput> duplicate() {
        return new ActionInputSerializer(matches.duplicate(), profiles.duplicate(), changes.duplicate());
    }

    @Override
    public ActionInput createInstance() {
        return null;
    }

    @Override
    public ActionInput copy(ActionInput from) {
        if (from instanceof ActionInput.Matched m) return new ActionInput.Matched(matches.copy(m.match()));
        if (from instanceof ActionInput.SegmentExit x) {
            return new ActionInput.SegmentExit(x.userKey(), x.segment(), x.patternId(), x.eventId(), x.timestamp(),
                    x.profile() == null ? null : profiles.copy(x.profile()));
        }
        if (from instanceof ActionInput.PatternChanged c) return new ActionInput.PatternChanged(c.userKey(), changes.copy(c.change()));
        return from; // a privacy signal: immutable all through
    }

    @Override
    public ActionInput copy(ActionInput from, ActionInput reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(ActionInput input, DataOutputView out) throws IOException {
        if (input instanceof ActionInput.Matched m) {
            out.writeByte(MATCHED);
            matches.serialize(m.match(), out);
        } else if (input instanceof ActionInput.SegmentExit x) {
                out.writeByte(SEGMENT_EXIT);
                writeString(x.userKey(), out);
                writeString(x.segment(), out);
                writeString(x.patternId(), out);
                writeString(x.eventId(), out);
                out.writeLong(x.timestamp());
                out.writeBoolean(x.profile() != null);
                if (x.profile() != null) profiles.serialize(x.profile(), out);
        } else if (input instanceof ActionInput.PrivacySignal s) {
                out.writeByte(PRIVACY_SIGNAL);
                writeString(s.userKey(), out);
                out.writeByte(s.signal().ordinal());
                out.writeLong(s.timestamp());
        } else if (input instanceof ActionInput.GoalReached g) {
            out.writeByte(GOAL_REACHED);
            writeString(g.userKey(), out);
            writeString(g.eventId(), out);
            out.writeLong(g.timestamp());
            out.writeInt(g.valueByGoalKey().size());
            for (java.util.Map.Entry<String, Double> e : g.valueByGoalKey().entrySet()) {
                writeString(e.getKey(), out);
                out.writeBoolean(e.getValue() != null);
                if (e.getValue() != null) out.writeDouble(e.getValue());
            }
        } else {
            ActionInput.PatternChanged c = (ActionInput.PatternChanged) input;
            out.writeByte(PATTERN_CHANGED);
            writeString(c.userKey(), out);
            changes.serialize(c.change(), out);
        }
    }

    @Override
    public ActionInput deserialize(DataInputView in) throws IOException {
        byte tag = in.readByte();
        return switch (tag) {
            case MATCHED -> new ActionInput.Matched(matches.deserialize(in));
            case SEGMENT_EXIT -> {
                String user = readString(in), segment = readString(in), patternId = readString(in), eventId = readString(in);
                long at = in.readLong();
                ProfileSnapshot profile = in.readBoolean() ? profiles.deserialize(in) : null;
                yield new ActionInput.SegmentExit(user, segment, patternId, eventId, at, profile);
            }
            case PRIVACY_SIGNAL -> {
                String user = readString(in);
                ActionInput.Signal signal = ActionInput.Signal.values()[in.readByte()];
                yield new ActionInput.PrivacySignal(user, signal, in.readLong());
            }
            case PATTERN_CHANGED -> {
                String user = readString(in);
                yield new ActionInput.PatternChanged(user, changes.deserialize(in));
            }
            case GOAL_REACHED -> {
                String user = readString(in), eventId = readString(in);
                long at = in.readLong();
                int n = in.readInt();
                java.util.Map<String, Double> values = new java.util.HashMap<>();
                for (int i = 0; i < n; i++) {
                    String key = readString(in);
                    values.put(key, in.readBoolean() ? in.readDouble() : null);
                }
                yield new ActionInput.GoalReached(user, eventId, at, values);
            }
            default -> throw new IOException("corrupt ActionInput: unknown kind " + tag);
        };
    }

    @Override
    public ActionInput deserialize(ActionInput reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView source, DataOutputView target) throws IOException {
        serialize(deserialize(source), target);
    }

    /** Nullable and of any length (writeUTF stops at 64 KiB). */
    private static void writeString(String s, DataOutputView out) throws IOException {
        StringValue.writeString(s, out);
    }

    private static String readString(DataInputView in) throws IOException {
        return StringValue.readString(in);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ActionInputSerializer s && matches.equals(s.matches) && profiles.equals(s.profiles) && changes.equals(s.changes);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(matches, profiles, changes);
    }

    @Override
    public TypeSerializerSnapshot<ActionInput> snapshotConfiguration() {
        return new Snapshot(this);
    }

    /** The layout version, with the match, profile and change serializers' snapshots nested. */
    public static final class Snapshot extends CompositeTypeSerializerSnapshot<ActionInput, ActionInputSerializer> {
        static final int CURRENT_VERSION = 1;

        /** For restoring, by reflection. */
        public Snapshot() {}

        Snapshot(ActionInputSerializer serializer) {
            super(serializer);
        }

        @Override
        protected int getCurrentOuterSnapshotVersion() {
            return CURRENT_VERSION;
        }

        @Override
        protected TypeSerializer<?>[] getNestedSerializers(ActionInputSerializer outer) {
            return new TypeSerializer<?>[] {outer.matches, outer.profiles, outer.changes};
        }

        @Override
        @SuppressWarnings("unchecked")
        protected ActionInputSerializer createOuterSerializerWithNestedSerializers(TypeSerializer<?>[] nested) {
            return new ActionInputSerializer((TypeSerializer<PatternMatch>) nested[0], (TypeSerializer<ProfileSnapshot>) nested[1],
                    (TypeSerializer<PatternChange>) nested[2]);
        }
    }
}
