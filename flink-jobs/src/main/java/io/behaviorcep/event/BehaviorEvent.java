package io.behaviorcep.event;


import org.apache.flink.api.common.typeinfo.TypeInfo;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A validated Segment-spec event (track, page, screen, identify). Flink serialises it with
 * {@link BehaviorEventSerializer} (never Kryo), on the network and in state.
 *
 * <p>{@code properties} and {@code context} are flattened to dotted paths ("products.0.price") with
 * JSON scalars kept as their text. Pattern conditions address them as {@code properties.price};
 * {@link EventJson} turns them back into nested JSON for outputs.
 */
@TypeInfo(BehaviorEventTypeInfo.Factory.class)
public class BehaviorEvent {
    public String messageId;
    /** userId if present, else anonymousId: the key of all per-user state. */
    public String userKey;
    public String userId;
    public String anonymousId;
    /** track, page, screen or identify. */
    public String type;
    /** The track event name ("Product Added"); for page/screen the page name, if any. */
    public String event;
    /** Event time, epoch millis, from the event's own {@code timestamp}. */
    public long timestamp;
    public Map<String, String> properties = new HashMap<>();
    public Map<String, String> context = new HashMap<>();
    /** The user's profile right after this event was counted; set by the profile operator. */
    public ProfileSnapshot profile;
    /**
     * For an anonymous event replayed into its user's timeline when its anonymous id was linked
     * (docs/contracts.md, "Identity"): where the user's own timeline takes over, the later of the
     * linking event's time and the latest replayed event's; {@link #NOT_STITCHED} for every other event.
     */
    public long stitchedAt = NOT_STITCHED;

    /** {@link #stitchedAt} of an event that was not replayed by identity stitching. */
    public static final long NOT_STITCHED = Long.MIN_VALUE;

    public BehaviorEvent() {}

    /** Whether identity stitching replayed this event into its user's timeline. */
    public boolean stitched() {
        return stitchedAt != NOT_STITCHED;
    }

    /** A copy that is no longer marked as replayed by identity stitching (the maps copied, the profile shared). */
    public BehaviorEvent unstitched() {
        BehaviorEvent c = withMaps(properties == null ? null : new HashMap<>(properties), context == null ? null : new HashMap<>(context));
        c.stitchedAt = NOT_STITCHED;
        return c;
    }

    /** A copy with these {@code properties} and {@code context}: every other field the same, the profile shared. */
    public BehaviorEvent withMaps(Map<String, String> properties, Map<String, String> context) {
        BehaviorEvent c = new BehaviorEvent();
        c.messageId = messageId;
        c.userKey = userKey;
        c.userId = userId;
        c.anonymousId = anonymousId;
        c.type = type;
        c.event = event;
        c.timestamp = timestamp;
        c.stitchedAt = stitchedAt;
        c.profile = profile;
        c.properties = properties;
        c.context = context;
        return c;
    }

    public String property(String path) {
        return properties == null ? null : properties.get(path);
    }

    /** A field by its pattern-language path: type, event, messageId, userId, properties.x, context.x. */
    public String field(String path) {
        if (path.startsWith("properties.")) return property(path.substring("properties.".length()));
        if (path.startsWith("context.")) return context == null ? null : context.get(path.substring("context.".length()));
        switch (path) {
            case "type": return type;
            case "event": return event;
            case "messageId": return messageId;
            case "userId": return userId;
            case "anonymousId": return anonymousId;
            case "timestamp": return Long.toString(timestamp);
            default: return null;
        }
    }

    public Double numericProperty(String path) {
        String v = property(path);
        if (v == null) return null;
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof BehaviorEvent)) return false;
        BehaviorEvent e = (BehaviorEvent) o;
        return timestamp == e.timestamp && stitchedAt == e.stitchedAt && Objects.equals(messageId, e.messageId) && Objects.equals(userKey, e.userKey)
                && Objects.equals(type, e.type) && Objects.equals(event, e.event)
                && Objects.equals(properties, e.properties) && Objects.equals(context, e.context);
    }

    @Override
    public int hashCode() {
        return Objects.hash(messageId, userKey, timestamp);
    }

    @Override
    public String toString() {
        return type + "/" + event + "{" + messageId + " " + userKey + " @" + timestamp + "}";
    }
}
