package io.behaviorcep.engine;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.ProfileSnapshot;

import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The engine's state format: runs and their shared paths come back as they were, every event once,
 * and only the events that end a run keep their profile snapshot (the only profiles read again).
 */
class EngineStateSerializerTest {
    private final EngineStateSerializer serializer =
            new EngineStateSerializer(TypeInformation.of(BehaviorEvent.class).createSerializer(new SerializerConfigImpl()));

    static BehaviorEvent event(String id, long ts, int ordersLifetime) {
        BehaviorEvent e = new BehaviorEvent();
        e.messageId = id;
        e.userKey = "u1";
        e.userId = "u1";
        e.type = "track";
        e.event = "Product Viewed";
        e.timestamp = ts;
        e.properties.put("product_id", "p-" + id);
        e.context.put("userAgent", "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/133.0");
        e.profile = new ProfileSnapshot();
        e.profile.asOf = ts;
        e.profile.ordersLifetime = ordersLifetime;
        return e;
    }

    /** Two runs sharing a first event: a -> b (partial) and a -> c (completed), plus a run of one event d of another pattern. */
    static EngineState branching() {
        PathNode a = new PathNode("viewed", event("a", 1_000, 1), 1_000, 0, null);
        PathNode b = new PathNode("viewed", event("b", 2_000, 2), 2_000, 0, a);
        PathNode c = new PathNode("added", event("c", 3_000, 3), 3_000, 0, a);
        PathNode d = new PathNode("last_event", event("d", 4_000, 4), 4_000, 0, null);
        PriorityQueue<Run> partial = new PriorityQueue<>(Run.ORDER);
        partial.add(new Run("viewed:1", b, 1_000, 2_000, 1_000, 0));
        partial.add(Run.start("viewed"));
        PriorityQueue<Run> completed = new PriorityQueue<>(Run.ORDER);
        completed.add(new Run("$end$", c, 1_000, 3_000, 1_000, 0));
        PriorityQueue<Run> dormancy = new PriorityQueue<>(Run.ORDER);
        dormancy.add(new Run("silence", d, 4_000, 4_000, 4_000, 0));
        EngineState s = new EngineState();
        s.patterns.put("repeat-view", new PatternRuns(2, partial, completed));
        s.patterns.put("dormancy", new PatternRuns(1, dormancy, new PriorityQueue<>(Run.ORDER)));
        s.lastTs = 4_000;
        s.timerAt = 4_000 + 14 * 86_400_000L;
        return s;
    }

    private EngineState roundTrip(EngineState s) throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(1024);
        serializer.serialize(s, out);
        return serializer.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
    }

    private static List<PathNode> heads(EngineState s, String pattern, boolean completed) {
        List<PathNode> heads = new ArrayList<>();
        PatternRuns r = s.patterns.get(pattern);
        for (Run run : completed ? r.completed : r.partial) if (run.path != null) heads.add(run.path);
        return heads;
    }

    @Test
    void runsComeBackWithTheirPathsSharedAndOnlyTheirLatestEventsKeepAProfile() throws Exception {
        EngineState back = roundTrip(branching());

        assertThat(back.runCount()).isEqualTo(4);
        assertThat(back.timerAt).isEqualTo(4_000 + 14 * 86_400_000L);
        PathNode b = heads(back, "repeat-view", false).get(0);
        PathNode c = heads(back, "repeat-view", true).get(0);
        PathNode d = heads(back, "dormancy", false).get(0);
        assertThat(b.prev).as("the shared first event is one node").isSameAs(c.prev);
        assertThat(b.prev.event.messageId).isEqualTo("a");
        assertThat(b.event.profile.ordersLifetime).isEqualTo(2);
        assertThat(c.event.profile.ordersLifetime).isEqualTo(3);
        assertThat(d.event.profile.ordersLifetime).isEqualTo(4);
        assertThat(b.prev.event.profile).as("an earlier bound event's profile is not kept").isNull();
        // everything else of the earlier event is, for the conditions and payloads that read it
        assertThat(b.prev.event).isEqualTo(event("a", 1_000, 1));
        assertThat(b.prev.event.properties).containsEntry("product_id", "p-a");
    }

    @Test
    void anEarlierEventCostsItsFieldsOnlyAndTheLatestItsProfileToo() throws Exception {
        EngineState s = branching();
        DataOutputSerializer out = new DataOutputSerializer(1024);
        serializer.serialize(s, out);
        int withoutA = out.length();
        // the same state, with a's profile dropped by hand: same bytes, so a's profile was not written
        PathNode b = heads(s, "repeat-view", false).get(0);
        b.prev.event.profile = null;
        DataOutputSerializer out2 = new DataOutputSerializer(1024);
        serializer.serialize(s, out2);
        assertThat(out2.length()).isEqualTo(withoutA);
        // while a run's latest event's profile is written
        b.event.profile = null;
        DataOutputSerializer out3 = new DataOutputSerializer(1024);
        serializer.serialize(s, out3);
        assertThat(out3.length()).isLessThan(withoutA);
    }

    /** The runs of a state as text: pattern, version, each run's state, times and its path's events (id, step, ts, seq). */
    private static String describe(EngineState s) {
        StringBuilder b = new StringBuilder().append(s.lastTs).append('/').append(s.lastSeq).append('/').append(s.timerAt)
                .append(' ').append(s.maybeMember == null ? "{}" : new java.util.TreeMap<>(s.maybeMember).entrySet().stream()
                        .map(m -> m.getKey() + "=" + java.util.Arrays.toString(m.getValue())).toList())
                .append(' ').append(s.absenceSeen == null ? "{}" : new java.util.TreeMap<>(s.absenceSeen));
        for (var p : new java.util.TreeMap<>(s.patterns).entrySet()) {
            b.append('\n').append(p.getKey()).append(" v").append(p.getValue().version);
            for (var q : List.of(p.getValue().partial, p.getValue().completed)) {
                b.append(" |");
                for (Run r : q) {
                    b.append(' ').append(r.state).append('@').append(r.startTs).append(',').append(r.prevTs).append(',').append(r.startIdTs)
                            .append(',').append(r.startSeq).append('[');
                    for (PathNode n = r.path; n != null; n = n.prev) b.append(n.event.messageId).append(':').append(n.step).append(':').append(n.ts).append(':').append(n.seq).append(' ');
                    b.append(']');
                }
            }
        }
        return b.toString();
    }

    @Test
    void theCompactLayoutReadsBackWhatTheFixedOneDidInFewerBytes() throws Exception {
        EngineState s = branching();
        s.lastSeq = 3;
        s.maybeMember = new java.util.HashMap<>(java.util.Map.of("cart_abandoners", new long[] {3_000, 3_000 + 7 * 86_400_000L}));
        s.absenceSeen = new java.util.HashMap<>(java.util.Map.of("pricing@2", 500L));
        s.timerAt = Long.MAX_VALUE;
        var events = TypeInformation.of(BehaviorEvent.class).createSerializer(new SerializerConfigImpl());
        EngineStateSerializer fixed = new EngineStateSerializer(events, 2);
        assertThat(EngineStateSerializer.FORMAT).isEqualTo(3);

        DataOutputSerializer compactOut = new DataOutputSerializer(1024), fixedOut = new DataOutputSerializer(1024);
        serializer.serialize(s, compactOut);
        fixed.serialize(s, fixedOut);
        EngineState compactBack = serializer.deserialize(new DataInputDeserializer(compactOut.getCopyOfBuffer()));
        EngineState fixedBack = fixed.deserialize(new DataInputDeserializer(fixedOut.getCopyOfBuffer()));
        assertThat(describe(compactBack)).isEqualTo(describe(fixedBack)).isEqualTo(describe(s));
        assertThat(describe(s)).contains("cart_abandoners", "pricing@2", "viewed:1@1000");
        System.out.printf("engine state of the branching example: %d B compact, %d B fixed%n", compactOut.length(), fixedOut.length());
        assertThat(compactOut.length()).isLessThan(fixedOut.length());

        // a savepoint of the fixed layout restores: read by its own serializer, written anew
        DataOutputSerializer snap = new DataOutputSerializer(256);
        TypeSerializerSnapshot.writeVersionedSnapshot(snap, fixed.snapshotConfiguration());
        TypeSerializerSnapshot<EngineState> old = TypeSerializerSnapshot.readVersionedSnapshot(
                new DataInputDeserializer(snap.getCopyOfBuffer()), getClass().getClassLoader());
        assertThat(serializer.snapshotConfiguration().resolveSchemaCompatibility(old).isCompatibleAfterMigration()).isTrue();
        EngineState restored = old.restoreSerializer().deserialize(new DataInputDeserializer(fixedOut.getCopyOfBuffer()));
        assertThat(describe(roundTrip(restored))).isEqualTo(describe(s));
    }

    @Test
    void aRestoredSnapshotIsCompatibleAsIs() throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(256);
        TypeSerializerSnapshot.writeVersionedSnapshot(out, serializer.snapshotConfiguration());
        TypeSerializerSnapshot<EngineState> restored = TypeSerializerSnapshot.readVersionedSnapshot(
                new DataInputDeserializer(out.getCopyOfBuffer()), getClass().getClassLoader());
        TypeSerializerSchemaCompatibility<EngineState> compat = serializer.snapshotConfiguration().resolveSchemaCompatibility(restored);
        assertThat(compat.isCompatibleAsIs()).isTrue();
        TypeSerializer<EngineState> again = restored.restoreSerializer();
        assertThat(again).isEqualTo(serializer);
    }
}
