package io.behaviorcep.pattern;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.KeyedPathRecords;

/**
 * One accepted change of the running pattern set, as the pattern watcher sends it to every
 * instance of the pattern engine and of the actions operator (in-band, {@link #toRecord()}): a new or changed file (its whole
 * text, validated by the watcher with the checks of {@code validate}), or a deleted one.
 *
 * <p>{@link #activateAt} is an event time, the same for every instance: events before it are
 * evaluated by the previous version, events at or after it by this one, wherever they are
 * processed. The watcher sets it a little ahead of the event time the job has reached
 * ({@code patterns.activation-delay}), so the change reaches every instance first.
 *
 * <p>A Flink POJO (no Kryo); kept in operator state, so it must stay small: the file text, not the
 * compiled pattern.
 */
public class PatternChange {
    public static final String UPSERT = "upsert";
    public static final String DELETE = "delete";
    /**
     * The threshold segments and computed traits files, all of them, for the profile operator (which
     * takes it off the keyed path: the engine and the actions never see one). {@link #yaml} holds the
     * files as a JSON object, name to text.
     */
    public static final String DEFINITIONS = "definitions";
    static final String DEFINITIONS_ID = "_profile_definitions";

    /** {@link #UPSERT} (added, changed, enabled or disabled) or {@link #DELETE} (file removed). */
    public String kind;
    public String patternId;
    /** The new version; for a delete, the version that was deleted. */
    public int version;
    /** The file's name, for messages and the pattern-events record. */
    public String source;
    /** The file's text, for an upsert. */
    public String yaml;
    /** Event time from which the change applies. */
    public long activateAt;
    /** Wall-clock time at which the watcher accepted it. */
    public long acceptedAt;

    public PatternChange() {}

    public static PatternChange upsert(String patternId, int version, String source, String yaml, long activateAt, long acceptedAt) {
        PatternChange c = new PatternChange();
        c.kind = UPSERT;
        c.patternId = patternId;
        c.version = version;
        c.source = source;
        c.yaml = yaml;
        c.activateAt = activateAt;
        c.acceptedAt = acceptedAt;
        return c;
    }

    public static PatternChange delete(String patternId, int version, String source, long activateAt, long acceptedAt) {
        PatternChange c = upsert(patternId, version, source, null, activateAt, acceptedAt);
        c.kind = DELETE;
        return c;
    }

    /** Every segments and traits file of the folder, by name, to take effect at {@code activateAt}. */
    public static PatternChange definitions(java.util.Map<String, String> files, long activateAt, long acceptedAt) {
        com.fasterxml.jackson.databind.node.ObjectNode o = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        files.forEach(o::put);
        PatternChange c = upsert(DEFINITIONS_ID, 0, "segments and traits files", o.toString(), activateAt, acceptedAt);
        c.kind = DEFINITIONS;
        return c;
    }

    public boolean isDefinitions() {
        return DEFINITIONS.equals(kind);
    }

    /** Whether a record of the keyed path is a {@link #DEFINITIONS} change. */
    public static boolean isDefinitionsRecord(BehaviorEvent e) {
        return KeyedPathRecords.isPatternChange(e) && DEFINITIONS.equals(e.event);
    }

    /** The files of a {@link #DEFINITIONS} change, name to text. */
    public java.util.Map<String, String> definitionFiles() {
        java.util.Map<String, String> out = new java.util.TreeMap<>();
        try {
            new com.fasterxml.jackson.databind.ObjectMapper().readTree(yaml).fields().forEachRemaining(f -> out.put(f.getKey(), f.getValue().asText()));
        } catch (java.io.IOException e) {
            throw new IllegalStateException("a definitions change whose files cannot be read", e);
        }
        return out;
    }

    public boolean isDelete() {
        return DELETE.equals(kind);
    }

    /** The pattern this change brings, parsed again from its text (the watcher has validated it). */
    public PatternDefinition definition() {
        if (isDelete()) return null;
        return PatternLoader.loadString(source, yaml).orThrow().get(0);
    }

    /** The change as a record of the keyed path ({@link KeyedPathRecords}), carried under no user's key. */
    public BehaviorEvent toRecord() {
        BehaviorEvent e = new BehaviorEvent();
        e.type = KeyedPathRecords.PATTERN_CHANGE_TYPE;
        e.userKey = KeyedPathRecords.NO_USER;
        e.messageId = KeyedPathRecords.PATTERN_CHANGE_TYPE + ":" + patternId + "#" + version + "#" + kind;
        e.timestamp = activateAt;
        e.event = kind;
        e.properties.put("patternId", patternId);
        e.properties.put("version", Integer.toString(version));
        if (source != null) e.properties.put("source", source);
        if (yaml != null) e.properties.put("yaml", yaml);
        e.properties.put("activateAt", Long.toString(activateAt));
        e.properties.put("acceptedAt", Long.toString(acceptedAt));
        return e;
    }

    /** The change a record of {@link #toRecord()} carries. */
    public static PatternChange fromRecord(BehaviorEvent e) {
        PatternChange c = new PatternChange();
        c.kind = e.event;
        c.patternId = e.properties.get("patternId");
        c.version = Integer.parseInt(e.properties.get("version"));
        c.source = e.properties.get("source");
        c.yaml = e.properties.get("yaml");
        c.activateAt = Long.parseLong(e.properties.get("activateAt"));
        c.acceptedAt = Long.parseLong(e.properties.get("acceptedAt"));
        return c;
    }

    @Override
    public String toString() {
        return kind + " " + patternId + " v" + version + " (" + source + ") from " + activateAt;
    }
}
