package io.behaviorcep.pattern.expr;

import io.behaviorcep.event.BehaviorEvent;

import java.io.Serializable;
import java.util.Map;

/**
 * A precompiled field of a {@link BehaviorEvent}: the same lookup as {@link BehaviorEvent#field}
 * without splitting the path on every call.
 */
final class EventField implements Serializable {
    private static final long serialVersionUID = 1L;

    enum Root { PROPERTIES, CONTEXT, EVENT, TYPE, MESSAGE_ID, USER_ID, ANONYMOUS_ID, TIMESTAMP }

    final Root root;
    /** For PROPERTIES and CONTEXT, the flattened key ("products.0.price"); else null. */
    final String key;
    /** The path as written relative to the event ("properties.price"). */
    final String path;

    EventField(Root root, String key, String path) {
        this.root = root;
        this.key = key;
        this.path = path;
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

    /** The field's text, or null if the event lacks it. */
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

    private static String lookup(Map<String, String> m, String key) {
        return m == null ? null : m.get(key);
    }
}
