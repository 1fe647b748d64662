package io.behaviorcep.pattern.expr;

import io.behaviorcep.event.BehaviorEvent;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A precompiled field of a {@link BehaviorEvent}: the same lookup as {@link BehaviorEvent#field}
 * without splitting the path on every call.
 *
 * <p>A <em>wildcard</em> field ({@code properties.products.*.price}) has one {@code *} segment in
 * its flattened key, never the first one; the key is split around it at parse time into
 * {@link #prefix} ("products.") and {@link #suffix} (".price", or "" when {@code *} is last), and
 * {@link #values} scans the map for the keys {@code prefix + <one segment> + suffix}. Plain fields
 * never scan: {@link #get} is a single map lookup.
 */
final class EventField implements Serializable {
    private static final long serialVersionUID = 1L;

    enum Root { PROPERTIES, CONTEXT, EVENT, TYPE, MESSAGE_ID, USER_ID, ANONYMOUS_ID, TIMESTAMP }

    final Root root;
    /** For PROPERTIES and CONTEXT, the flattened key ("products.0.price"); else null. */
    final String key;
    /** The path as written relative to the event ("properties.price"). */
    final String path;
    /**
     * Wildcard fields only (else null): the part of {@link #key} before the {@code *} segment,
     * ending with '.' ("products."), and the part after it, starting with '.' or empty (".price").
     */
    final String prefix, suffix;

    EventField(Root root, String key, String path) {
        this(root, key, path, null, null);
    }

    /** A wildcard field of PROPERTIES or CONTEXT; {@code prefix + "*" + suffix} is {@code key}. */
    EventField(Root root, String key, String path, String prefix, String suffix) {
        this.root = root;
        this.key = key;
        this.path = path;
        this.prefix = prefix;
        this.suffix = suffix;
    }

    /** Whether the path has a {@code *} segment: read it with {@link #values}, not {@link #get}. */
    boolean wildcard() {
        return prefix != null;
    }

    /** The root for a first path segment, or null if it is not an event field. */
    static Root root(String segment) {
        switch (segment) {
            case "properties": return Root.PROPERTIES;
            case "context": return Root.CONTEXT;
            case "event": return Root.EVENT;
            case "type": return Root.TYPE;
            case "messageId": return Root.MESSAGE_ID;
            case "userId": return Root.USER_ID;
            case "anonymousId": return Root.ANONYMOUS_ID;
            case "timestamp": return Root.TIMESTAMP;
            default: return null;
        }
    }

    /** The field's text, or null if the event lacks it. Not for {@link #wildcard()} fields. */
    String get(BehaviorEvent e) {
        if (e == null) return null;
        switch (root) {
            case PROPERTIES: return lookup(e.properties, key);
            case CONTEXT: return lookup(e.context, key);
            case EVENT: return e.event;
            case TYPE: return e.type;
            case MESSAGE_ID: return e.messageId;
            case USER_ID: return e.userId;
            case ANONYMOUS_ID: return e.anonymousId;
            default: return Long.toString(e.timestamp);
        }
    }

    /** The field as a number: NaN if missing or not numeric. */
    double number(BehaviorEvent e) {
        if (e == null) return Double.NaN;
        if (root == Root.TIMESTAMP) return e.timestamp;
        String s = get(e);
        return s == null ? Double.NaN : Num.parse(s);
    }

    /**
     * Wildcard fields: the values of every key that matches (the {@code *} standing for exactly one
     * non-empty segment), in the map's iteration order; empty if none. Null values (JSON nulls) are
     * absent, as for {@link #get}.
     */
    List<String> values(BehaviorEvent e) {
        if (e == null) return List.of();
        Map<String, String> m = root == Root.PROPERTIES ? e.properties : e.context;
        if (m == null || m.isEmpty()) return List.of();
        List<String> out = null;
        for (Map.Entry<String, String> en : m.entrySet()) {
            String v = en.getValue();
            if (v != null && matches(en.getKey())) {
                if (out == null) out = new ArrayList<>(4);
                out.add(v);
            }
        }
        return out == null ? List.of() : out;
    }

    /** Whether a flattened key ("products.3.price") is one of this wildcard field's keys. */
    boolean matches(String k) {
        if (k == null) return false;
        int p = prefix.length(), end = k.length() - suffix.length();
        if (end <= p || !k.startsWith(prefix) || !k.endsWith(suffix)) return false;
        for (int i = p; i < end; i++) {
            if (k.charAt(i) == '.') return false;
        }
        return true;
    }

    private static String lookup(Map<String, String> m, String key) {
        return m == null ? null : m.get(key);
    }
}
