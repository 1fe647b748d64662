package io.behaviorcep.engine;

import io.behaviorcep.pattern.PatternChange;
import io.behaviorcep.pattern.PatternDefinition;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Which version of each pattern applies to an event: every version a running job has known, each
 * with the event time from which it applies. The version of pattern P for an event at time t is the
 * highest version of P whose activation time is at or before t, so every instance of the job picks
 * the same version for the same event, however late a change reached it.
 *
 * <p>The versions the job was started with apply from the beginning of time; changes arrive from the
 * pattern watcher ({@link PatternChange}), in-band on the keyed path, and are kept in operator state
 * ({@link PatternChangeLog}), so they survive restores. A job submitted anew (a savepoint upgrade with another pattern set) starts
 * from its own set: the versions it brings apply from the beginning of time, patterns it does not
 * bring are deleted, and older versions stay known only so that their open matches can be handled
 * by the new version's {@code on_change}.
 */
public final class PatternTimeline {
    private static final Logger LOG = LoggerFactory.getLogger(PatternTimeline.class);

    /**
     * A stream of no changes that carries the events' event time and nothing else: it passes on
     * their watermarks and idleness and ends when they end. An input of its own that
     * finished at once would sit at the end of time, and whenever the events went idle (a quiet
     * start, a quiet spell) the engine's event time would jump there and decide every absence.
     */
    public static <T> SingleOutputStreamOperator<PatternChange> noChangesAlong(DataStream<T> events, String uid) {
        return events.flatMap(new NoChanges<T>(), TypeInformation.of(PatternChange.class)).setParallelism(events.getParallelism())
                .uid(uid).name("No pattern changes (event time only)");
    }

    private static final class NoChanges<T> implements org.apache.flink.api.common.functions.FlatMapFunction<T, PatternChange> {
        @Override
        public void flatMap(T event, org.apache.flink.util.Collector<PatternChange> out) {}
    }

    public static final class Entry {
        public final String id;
        public final int version;
        public final boolean delete;
        public final long activateAt;
        /** Null for a deletion. */
        public final PatternDefinition def;
        /** The engine state key of this version's runs. */
        final String key;
        CompiledPattern compiled;
        /** The engine's metrics of this version (kept here so the hot path needs no lookup). */
        Object metrics;

        Entry(String id, int version, boolean delete, long activateAt, PatternDefinition def) {
            this.id = id;
            this.version = version;
            this.delete = delete;
            this.activateAt = activateAt;
            this.def = def;
            this.key = runsKey(id, version);
        }

        /** Whether new matches start on this version. */
        public boolean live() {
            return !delete && def.enabled;
        }

        @Override
        public String toString() {
            return (delete ? "delete " : "") + id + " v" + version + " from " + activateAt;
        }
    }

    /** Pattern id -> its versions, ascending (a deletion after the version it deletes). */
    private final Map<String, List<Entry>> byId = new LinkedHashMap<>();
    private final Map<String, Entry> byKey = new HashMap<>();
    /** Bumped on every change, so callers can refresh what they derived. */
    private int generation;

    static String runsKey(String id, int version) {
        return id + "#" + version;
    }

    public static String changeKey(PatternChange c) {
        return c.patternId + "#" + c.version + "#" + c.kind;
    }

    /**
     * @param initial     the patterns this job was submitted with (enabled and disabled)
     * @param restored    changes from operator state (none on a fresh start)
     * @param resubmitted true when the job was restored from a snapshot of a job submitted with
     *                    another pattern set (see the class comment)
     * @param previousInitial the patterns of that earlier submission (their texts), for draining
     */
    public static PatternTimeline of(List<PatternDefinition> initial, Collection<PatternChange> restored, boolean resubmitted,
                                     List<PatternChange> previousInitial) {
        PatternTimeline t = new PatternTimeline();
        if (!resubmitted) {
            for (PatternDefinition p : initial) t.add(new Entry(p.id, p.version, false, Long.MIN_VALUE, p));
            for (PatternChange c : restored) t.apply(c);
            return t;
        }
        // history first (only so open matches of old versions can be drained), then this submission's set on top
        for (PatternChange c : previousInitial) t.apply(c);
        for (PatternChange c : restored) t.apply(c);
        Map<String, PatternDefinition> now = new LinkedHashMap<>();
        for (PatternDefinition p : initial) now.put(p.id, p);
        for (String id : new ArrayList<>(t.byId.keySet())) {
            List<Entry> versions = t.byId.get(id);
            PatternDefinition p = now.get(id);
            // a resubmission decides: nothing of its own patterns applies above its versions
            versions.removeIf(e -> p == null ? false : e.version > p.version || (e.version == p.version));
            if (p == null) {
                Entry last = versions.get(versions.size() - 1);
                if (!last.delete) t.addRaw(new Entry(id, last.version, true, Long.MIN_VALUE, null));
            }
        }
        t.byKey.clear();
        for (List<Entry> l : t.byId.values()) for (Entry e : l) if (!e.delete) t.byKey.put(e.key, e);
        for (PatternDefinition p : initial) t.add(new Entry(p.id, p.version, false, Long.MIN_VALUE, p));
        return t;
    }

    /** Adds a change; false when it was already known (the watcher may send one again after a restore). */
    public boolean apply(PatternChange c) {
        if (c.isDelete()) {
            List<Entry> versions = byId.get(c.patternId);
            if (versions != null) {
                for (Entry e : versions) if (e.delete && e.version == c.version) return false;
            }
            addRaw(new Entry(c.patternId, c.version, true, c.activateAt, null));
            return true;
        }
        if (byKey.containsKey(runsKey(c.patternId, c.version))) return false;
        PatternDefinition def;
        try {
            def = c.definition();
        } catch (RuntimeException e) {
            // the watcher validated it; a job running other code may not read it: say so, keep running
            LOG.error("ignoring pattern change {}: it does not load here: {}", c, e.getMessage());
            return false;
        }
        add(new Entry(c.patternId, c.version, false, c.activateAt, def));
        return true;
    }

    private void add(Entry e) {
        addRaw(e);
        byKey.put(e.key, e);
    }

    private void addRaw(Entry e) {
        List<Entry> versions = byId.computeIfAbsent(e.id, k -> new ArrayList<>(2));
        versions.add(e);
        versions.sort((a, b) -> a.version != b.version ? Integer.compare(a.version, b.version) : Boolean.compare(a.delete, b.delete));
        generation++;
    }

    public int generation() {
        return generation;
    }

    /** Pattern ids in the order they became known. */
    public Collection<String> ids() {
        return byId.keySet();
    }

    /** The version of {@code id} that applies at event time {@code ts} (possibly a deletion), or null. */
    public Entry current(String id, long ts) {
        List<Entry> versions = byId.get(id);
        if (versions == null) return null;
        for (int i = versions.size() - 1; i >= 0; i--) {
            Entry e = versions.get(i);
            if (e.activateAt <= ts) return e;
        }
        return null;
    }

    /** A version by id and number (not deletions), or null. */
    public Entry version(String id, int version) {
        return byKey.get(runsKey(id, version));
    }

    /** Every version kept (current, drained and deleted ones). */
    Collection<Entry> entries() {
        return byKey.values();
    }

    Entry byRunsKey(String key) {
        return byKey.get(key);
    }

    /** The live version of every pattern at event time {@code ts}, for messages and the UI. */
    public Map<String, Integer> liveAt(long ts) {
        Map<String, Integer> out = new TreeMap<>();
        for (String id : byId.keySet()) {
            Entry e = current(id, ts);
            if (e != null && e.live()) out.put(id, e.version);
        }
        return out;
    }

    /** All known versions (not deletions). */
    public Collection<Entry> versions() {
        return byKey.values();
    }

    /** The job's patterns as changes (with their texts), to remember in a snapshot. */
    public static List<PatternChange> asChanges(List<PatternDefinition> initial) {
        List<PatternChange> out = new ArrayList<>();
        for (PatternDefinition p : initial) {
            if (p.text() != null) out.add(PatternChange.upsert(p.id, p.version, p.source, p.text(), Long.MIN_VALUE, 0L));
        }
        return out;
    }

    /** Identifies a submitted pattern set: ids, versions and texts. */
    public static String fingerprint(List<PatternDefinition> initial) {
        TreeMap<String, String> sorted = new TreeMap<>();
        for (PatternDefinition p : initial) sorted.put(p.id, p.version + ":" + (p.text() == null ? "" : Integer.toHexString(p.text().hashCode())));
        return sorted.toString();
    }
}
