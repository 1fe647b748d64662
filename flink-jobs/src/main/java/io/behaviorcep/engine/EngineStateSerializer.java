package io.behaviorcep.engine;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.BehaviorEventSerializer;

import org.apache.flink.api.common.typeutils.CompositeTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

import static io.behaviorcep.event.CompactNumbers.readSigned;
import static io.behaviorcep.event.CompactNumbers.readSize;
import static io.behaviorcep.event.CompactNumbers.writeSigned;
import static io.behaviorcep.event.CompactNumbers.writeSize;

/**
 * Writes a user's engine state with every event once, however many runs and patterns share it,
 * and runs as indexes into it. An event's profile snapshot (about half its bytes) is written only
 * for the events that end a run: no one reads the profile of an earlier bound event again, so the
 * restored state has none there (issue #16, engine state per user). Events go through their own serializer ({@code BehaviorEventSerializer}),
 * whose snapshot is nested in this one's, so a savepoint restores after the event's layout or the
 * profile gain fields.
 *
 * <p>Runs and path nodes are immutable, so {@link #copy} (which the heap backend calls while an
 * asynchronous snapshot is running) copies the maps and queues and shares the rest.
 */
public final class EngineStateSerializer extends TypeSerializer<EngineState> {
    private static final long serialVersionUID = 1L;

    /**
     * The layout written now: 2 added the leading absences' last events ({@link EngineState#absenceSeen});
     * 3 writes step and state names once each and numbers and times (relative to the user's last
     * event) in variable length: most of a run or path node was fixed-width longs and repeated names.
     */
    static final int FORMAT = 3;

    private final TypeSerializer<BehaviorEvent> events;
    /** The layout this serializer reads and writes: {@link #FORMAT}, or an older one to restore a savepoint. */
    private final int format;

    public EngineStateSerializer(TypeSerializer<BehaviorEvent> events) {
        this(events, FORMAT);
    }

    EngineStateSerializer(TypeSerializer<BehaviorEvent> events, int format) {
        this.events = events;
        this.format = format;
    }

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public TypeSerializer<EngineState> duplicate() {
        TypeSerializer<BehaviorEvent> d = events.duplicate();
        return d == events ? this : new EngineStateSerializer(d, format);
    }

    @Override
    public EngineState createInstance() {
        return new EngineState();
    }

    @Override
    public EngineState copy(EngineState from) {
        Map<String, PatternRuns> patterns = new HashMap<>(from.patterns.size() * 2);
        for (Map.Entry<String, PatternRuns> e : from.patterns.entrySet()) {
            PatternRuns r = e.getValue();
            patterns.put(e.getKey(), new PatternRuns(r.version, copyQueue(r.partial), copyQueue(r.completed)));
        }
        EngineState s = new EngineState(patterns);
        s.lastTs = from.lastTs;
        s.lastSeq = from.lastSeq;
        s.timerAt = from.timerAt;
        if (from.maybeMember != null) {
            s.maybeMember = new HashMap<>();
            from.maybeMember.forEach((k, v) -> s.maybeMember.put(k, v.clone()));
        }
        if (from.absenceSeen != null) s.absenceSeen = new HashMap<>(from.absenceSeen);
        return s;
    }

    private static PriorityQueue<Run> copyQueue(PriorityQueue<Run> q) {
        PriorityQueue<Run> c = new PriorityQueue<>(Math.max(1, q.size()), Run.ORDER);
        for (Run r : q) c.add(r); // iteration order: the copy's heap is the same array
        return c;
    }

    @Override
    public EngineState copy(EngineState from, EngineState reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(EngineState s, DataOutputView out) throws IOException {
        if (format >= 3) serializeCompact(s, out);
        else serializeFixed(s, out);
    }

    /** The layouts before 3: fixed-width numbers, every name written where it is used. */
    private void serializeFixed(EngineState s, DataOutputView out) throws IOException {
        Shared shared = new Shared(s);
        IdentityHashMap<PathNode, Integer> nodeIndex = shared.nodeIndex;
        List<PathNode> nodes = shared.nodes;
        IdentityHashMap<BehaviorEvent, Integer> eventIndex = shared.eventIndex;
        out.writeLong(s.lastTs);
        out.writeInt(s.lastSeq);
        out.writeLong(s.timerAt);
        out.writeInt(shared.events.size());
        writeEvents(shared, out);
        out.writeInt(nodes.size());
        for (PathNode n : nodes) {
            out.writeUTF(n.step);
            out.writeInt(eventIndex.get(n.event));
            out.writeLong(n.ts);
            out.writeInt(n.seq);
            out.writeInt(n.prev == null ? -1 : nodeIndex.get(n.prev));
        }
        out.writeInt(s.maybeMember == null ? 0 : s.maybeMember.size());
        if (s.maybeMember != null) {
            for (Map.Entry<String, long[]> m : s.maybeMember.entrySet()) {
                out.writeUTF(m.getKey());
                out.writeLong(m.getValue()[0]);
                out.writeLong(m.getValue()[1]);
            }
        }
        out.writeInt(s.patterns.size());
        for (Map.Entry<String, PatternRuns> e : s.patterns.entrySet()) {
            out.writeUTF(e.getKey());
            out.writeInt(e.getValue().version);
            writeRuns(e.getValue().partial, nodeIndex, out);
            writeRuns(e.getValue().completed, nodeIndex, out);
        }
        if (format < 2) return;
        out.writeInt(s.absenceSeen == null ? 0 : s.absenceSeen.size());
        if (s.absenceSeen != null) {
            for (Map.Entry<String, Long> a : s.absenceSeen.entrySet()) {
                out.writeUTF(a.getKey());
                out.writeLong(a.getValue());
            }
        }
    }

    /** Layout 3: a table of the step and state names, then everything by index, numbers in variable length. */
    private void serializeCompact(EngineState s, DataOutputView out) throws IOException {
        Shared shared = new Shared(s);
        IdentityHashMap<PathNode, Integer> nodeIndex = shared.nodeIndex;
        List<PathNode> nodes = shared.nodes;
        IdentityHashMap<BehaviorEvent, Integer> eventIndex = shared.eventIndex;
        Map<String, Integer> names = new java.util.LinkedHashMap<>();
        for (PatternRuns r : s.patterns.values()) {
            for (Run run : r.partial) names.putIfAbsent(run.state, names.size());
            for (Run run : r.completed) names.putIfAbsent(run.state, names.size());
        }
        for (PathNode n : nodes) names.putIfAbsent(n.step, names.size());
        long base = s.lastTs;
        out.writeLong(base);
        writeSigned(out, s.lastSeq);
        writeSigned(out, s.timerAt - base);
        writeSize(out, names.size());
        for (String name : names.keySet()) out.writeUTF(name);
        writeSize(out, shared.events.size());
        writeEvents(shared, out);
        writeSize(out, nodes.size());
        for (PathNode n : nodes) {
            writeSize(out, names.get(n.step));
            writeSize(out, eventIndex.get(n.event));
            writeSigned(out, n.ts - base);
            writeSigned(out, n.seq);
            writeSize(out, n.prev == null ? 0 : nodeIndex.get(n.prev) + 1);
        }
        writeSize(out, s.maybeMember == null ? 0 : s.maybeMember.size());
        if (s.maybeMember != null) {
            for (Map.Entry<String, long[]> m : s.maybeMember.entrySet()) {
                out.writeUTF(m.getKey());
                writeSigned(out, m.getValue()[0] - base);
                writeSigned(out, m.getValue()[1] - base);
            }
        }
        writeSize(out, s.patterns.size());
        for (Map.Entry<String, PatternRuns> e : s.patterns.entrySet()) {
            out.writeUTF(e.getKey());
            writeSigned(out, e.getValue().version);
            writeRunsCompact(e.getValue().partial, nodeIndex, names, base, out);
            writeRunsCompact(e.getValue().completed, nodeIndex, names, base, out);
        }
        writeSize(out, s.absenceSeen == null ? 0 : s.absenceSeen.size());
        if (s.absenceSeen != null) {
            for (Map.Entry<String, Long> a : s.absenceSeen.entrySet()) {
                out.writeUTF(a.getKey());
                writeSigned(out, a.getValue() - base);
            }
        }
    }

    private static void writeRunsCompact(PriorityQueue<Run> runs, IdentityHashMap<PathNode, Integer> nodeIndex, Map<String, Integer> names,
                                         long base, DataOutputView out) throws IOException {
        writeSize(out, runs.size());
        for (Run r : runs) { // iteration order, so the restored heap is the same array
            writeSize(out, names.get(r.state));
            writeSize(out, r.path == null ? 0 : nodeIndex.get(r.path) + 1);
            writeSigned(out, r.startTs - base);
            writeSigned(out, r.prevTs - base);
            writeSigned(out, r.startIdTs - base);
            writeSigned(out, r.startSeq);
        }
    }

    private EngineState deserializeCompact(DataInputView in) throws IOException {
        long base = in.readLong();
        int lastSeq = (int) readSigned(in);
        long timerAt = base + readSigned(in);
        String[] names = new String[readSize(in)];
        for (int i = 0; i < names.length; i++) names[i] = in.readUTF().intern();
        BehaviorEvent[] ev = new BehaviorEvent[readSize(in)];
        for (int i = 0; i < ev.length; i++) ev[i] = events.deserialize(in);
        PathNode[] nodes = new PathNode[readSize(in)];
        for (int i = 0; i < nodes.length; i++) {
            String step = name(names, readSize(in));
            int event = readSize(in);
            if (event >= ev.length) throw new IOException("corrupt engine state: event " + event + " of " + ev.length);
            long ts = base + readSigned(in);
            int seq = (int) readSigned(in);
            int prev = readSize(in) - 1;
            if (prev >= i) throw new IOException("corrupt engine state: node " + i + " follows node " + prev);
            nodes[i] = new PathNode(step, ev[event], ts, seq, prev < 0 ? null : nodes[prev]);
        }
        int nm = readSize(in);
        Map<String, long[]> members = nm == 0 ? null : new HashMap<>(nm * 2);
        for (int i = 0; i < nm; i++) members.put(in.readUTF(), new long[] {base + readSigned(in), base + readSigned(in)});
        int np = readSize(in);
        Map<String, PatternRuns> patterns = new HashMap<>(Math.max(4, np * 2));
        for (int i = 0; i < np; i++) {
            String id = in.readUTF();
            int version = (int) readSigned(in);
            PriorityQueue<Run> partial = readRunsCompact(in, nodes, names, base);
            PriorityQueue<Run> completed = readRunsCompact(in, nodes, names, base);
            patterns.put(id, new PatternRuns(version, partial, completed));
        }
        int na = readSize(in);
        Map<String, Long> absenceSeen = na == 0 ? null : new HashMap<>(na * 2);
        for (int i = 0; i < na; i++) absenceSeen.put(in.readUTF(), base + readSigned(in));
        EngineState s = new EngineState(patterns);
        s.absenceSeen = absenceSeen;
        s.lastTs = base;
        s.lastSeq = lastSeq;
        s.timerAt = timerAt;
        s.maybeMember = members;
        return s;
    }

    private static PriorityQueue<Run> readRunsCompact(DataInputView in, PathNode[] nodes, String[] names, long base) throws IOException {
        int n = readSize(in);
        PriorityQueue<Run> q = new PriorityQueue<>(Math.max(1, n), Run.ORDER);
        for (int i = 0; i < n; i++) {
            String state = name(names, readSize(in));
            int node = readSize(in) - 1;
            if (node >= nodes.length) throw new IOException("corrupt engine state: node " + node + " of " + nodes.length);
            long startTs = base + readSigned(in);
            long prevTs = base + readSigned(in);
            long startIdTs = base + readSigned(in);
            q.add(new Run(state, node < 0 ? null : nodes[node], startTs, prevTs, startIdTs, (int) readSigned(in)));
        }
        return q;
    }

    private static String name(String[] names, int i) throws IOException {
        if (i >= names.length) throw new IOException("corrupt engine state: name " + i + " of " + names.length);
        return names[i];
    }

    /**
     * What every layout writes once and refers to by index: each path node and each event, however
     * many runs and patterns share them, in the order of the patterns' runs (partial, then completed).
     */
    private static final class Shared {
        final IdentityHashMap<PathNode, Integer> nodeIndex = new IdentityHashMap<>();
        final List<PathNode> nodes = new ArrayList<>();
        final IdentityHashMap<BehaviorEvent, Integer> eventIndex = new IdentityHashMap<>();
        final List<BehaviorEvent> events = new ArrayList<>();
        /**
         * The events that end a run: the only ones whose profile is read again (a match's or a
         * timeout's profile is its latest bound event's; conditions and payloads read the profile of
         * the event at hand, and only fields of earlier events).
         */
        final java.util.Set<BehaviorEvent> latest = java.util.Collections.newSetFromMap(new IdentityHashMap<>());

        Shared(EngineState s) {
            for (PatternRuns r : s.patterns.values()) {
                for (Run run : r.partial) add(run);
                for (Run run : r.completed) add(run);
            }
        }

        private void add(Run run) {
            collect(run.path, nodeIndex, nodes, eventIndex, events);
            if (run.path != null) latest.add(run.path.event);
        }
    }

    /** The shared events, each with its profile only if it ends a run. */
    private void writeEvents(Shared shared, DataOutputView out) throws IOException {
        for (BehaviorEvent e : shared.events) {
            if (events instanceof BehaviorEventSerializer b) b.serialize(e, shared.latest.contains(e), out);
            else events.serialize(e, out);
        }
    }

    /** Adds the path's nodes (earlier ones first, so a node's predecessor always has the lower index). */
    private static void collect(PathNode last, IdentityHashMap<PathNode, Integer> nodeIndex, List<PathNode> nodes,
                                IdentityHashMap<BehaviorEvent, Integer> eventIndex, List<BehaviorEvent> eventList) {
        if (last == null || nodeIndex.containsKey(last)) return;
        ArrayList<PathNode> missing = new ArrayList<>();
        for (PathNode n = last; n != null && !nodeIndex.containsKey(n); n = n.prev) missing.add(n);
        for (int i = missing.size() - 1; i >= 0; i--) {
            PathNode n = missing.get(i);
            nodeIndex.put(n, nodes.size());
            nodes.add(n);
            if (!eventIndex.containsKey(n.event)) {
                eventIndex.put(n.event, eventList.size());
                eventList.add(n.event);
            }
        }
    }

    private static void writeRuns(PriorityQueue<Run> runs, IdentityHashMap<PathNode, Integer> nodeIndex, DataOutputView out) throws IOException {
        out.writeInt(runs.size());
        for (Run r : runs) { // iteration order, so the restored heap is the same array
            out.writeUTF(r.state);
            out.writeInt(r.path == null ? -1 : nodeIndex.get(r.path));
            out.writeLong(r.startTs);
            out.writeLong(r.prevTs);
            out.writeLong(r.startIdTs);
            out.writeInt(r.startSeq);
        }
    }

    @Override
    public EngineState deserialize(DataInputView in) throws IOException {
        return format >= 3 ? deserializeCompact(in) : deserializeFixed(in);
    }

    private EngineState deserializeFixed(DataInputView in) throws IOException {
        long lastTs = in.readLong();
        int lastSeq = in.readInt();
        long timerAt = in.readLong();
        int ne = in.readInt();
        BehaviorEvent[] ev = new BehaviorEvent[ne];
        for (int i = 0; i < ne; i++) ev[i] = events.deserialize(in);
        int nn = in.readInt();
        PathNode[] nodes = new PathNode[nn];
        for (int i = 0; i < nn; i++) {
            String step = in.readUTF().intern();
            BehaviorEvent e = ev[in.readInt()];
            long ts = in.readLong();
            int seq = in.readInt();
            int prev = in.readInt();
            nodes[i] = new PathNode(step, e, ts, seq, prev < 0 ? null : nodes[prev]);
        }
        int nm = in.readInt();
        Map<String, long[]> members = nm == 0 ? null : new HashMap<>(nm * 2);
        for (int i = 0; i < nm; i++) members.put(in.readUTF(), new long[] {in.readLong(), in.readLong()});
        int np = in.readInt();
        Map<String, PatternRuns> patterns = new HashMap<>(Math.max(4, np * 2));
        for (int i = 0; i < np; i++) {
            String id = in.readUTF();
            int version = in.readInt();
            PriorityQueue<Run> partial = readRuns(in, nodes);
            PriorityQueue<Run> completed = readRuns(in, nodes);
            patterns.put(id, new PatternRuns(version, partial, completed));
        }
        Map<String, Long> absenceSeen = null;
        int na = format < 2 ? 0 : in.readInt();
        if (na > 0) absenceSeen = new HashMap<>(na * 2);
        for (int i = 0; i < na; i++) absenceSeen.put(in.readUTF(), in.readLong());
        EngineState s = new EngineState(patterns);
        s.absenceSeen = absenceSeen;
        s.lastTs = lastTs;
        s.lastSeq = lastSeq;
        s.timerAt = timerAt;
        s.maybeMember = members;
        return s;
    }

    private static PriorityQueue<Run> readRuns(DataInputView in, PathNode[] nodes) throws IOException {
        int n = in.readInt();
        PriorityQueue<Run> q = new PriorityQueue<>(Math.max(1, n), Run.ORDER);
        for (int i = 0; i < n; i++) {
            String state = in.readUTF().intern();
            int node = in.readInt();
            q.add(new Run(state, node < 0 ? null : nodes[node], in.readLong(), in.readLong(), in.readLong(), in.readInt()));
        }
        return q;
    }

    @Override
    public EngineState deserialize(EngineState reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EngineStateSerializer other && other.events.equals(events) && other.format == format;
    }

    @Override
    public int hashCode() {
        return events.hashCode();
    }

    @Override
    public TypeSerializerSnapshot<EngineState> snapshotConfiguration() {
        return new Snapshot(this);
    }

    /** Nests the event serializer's snapshot, so event schema changes are resolved by the event serializer's own snapshot. */
    public static final class Snapshot extends CompositeTypeSerializerSnapshot<EngineState, EngineStateSerializer> {
        /** The layout of the state this snapshot describes: older when read from an older savepoint. */
        private int format = FORMAT;

        public Snapshot() {}

        Snapshot(EngineStateSerializer s) {
            super(s);
            this.format = s.format;
        }

        /** The outer snapshot version is the state's layout. */
        @Override
        protected int getCurrentOuterSnapshotVersion() {
            return format;
        }

        @Override
        protected void readOuterSnapshot(int readOuterSnapshotVersion, DataInputView in, ClassLoader userCodeClassLoader) {
            format = readOuterSnapshotVersion;
        }

        @Override
        protected OuterSchemaCompatibility resolveOuterSchemaCompatibility(TypeSerializerSnapshot<EngineState> oldSerializerSnapshot) {
            // state written in an older layout is read by the old layout's serializer, and written anew
            if (oldSerializerSnapshot instanceof Snapshot old && old.format < FORMAT) return OuterSchemaCompatibility.COMPATIBLE_AFTER_MIGRATION;
            return oldSerializerSnapshot instanceof Snapshot ? OuterSchemaCompatibility.COMPATIBLE_AS_IS : OuterSchemaCompatibility.INCOMPATIBLE;
        }

        @Override
        protected TypeSerializer<?>[] getNestedSerializers(EngineStateSerializer outer) {
            return new TypeSerializer<?>[] {outer.events};
        }

        @SuppressWarnings("unchecked")
        @Override
        protected EngineStateSerializer createOuterSerializerWithNestedSerializers(TypeSerializer<?>[] nested) {
            return new EngineStateSerializer((TypeSerializer<BehaviorEvent>) nested[0], format);
        }
    }
}
