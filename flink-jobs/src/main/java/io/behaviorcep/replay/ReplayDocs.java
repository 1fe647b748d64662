package io.behaviorcep.replay;

import io.behaviorcep.output.Alert;
import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.segment.SegmentUpdate;
import io.behaviorcep.output.OutputJson;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Output documents (docs/contracts.md) back into the job's records, so a replay's results can be
 * written by the production sinks ({@code --to-sinks}). The round trip is exact for every field
 * the documents carry: {@code OutputJson.alert(alert(doc))} is {@code doc} again, ids included
 * (ReplayPartsTest checks it with every profile field set).
 */
public final class ReplayDocs {
    private ReplayDocs() {}

    public static JsonNode read(String json) {
        try {
            return OutputJson.MAPPER.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException("not a JSON document: " + json, e);
        }
    }

    public static Alert alert(JsonNode n) {
        Alert a = new Alert();
        a.alertId = n.get("alert_id").asText();
        a.patternId = n.get("pattern_id").asText();
        a.patternVersion = n.get("pattern_version").asInt();
        a.alertType = n.get("alert_type").asText();
        a.severity = n.get("severity").asText();
        a.userId = n.get("user_id").asText();
        a.detectedAt = millis(n.get("detected_at"));
        a.matchedJson = n.get("matched").toString();
        a.payloadJson = n.get("payload").toString();
        JsonNode p = n.get("profile");
        if (p != null && p.size() > 0) a.profile = profile(p);
        return a;
    }

    /** The ids (event_id, version) are taken as the document has them. */
    public static SegmentUpdate segment(JsonNode n) {
        JsonNode expires = n.get("expires_at");
        SegmentUpdate u = SegmentUpdate.of(n.get("user_id").asText(), n.get("segment").asText(), n.get("action").asText(),
                n.get("reason").asText(), millis(n.get("at")), expires == null || expires.isNull() ? SegmentUpdate.NO_EXPIRY : millis(expires));
        u.eventId = n.get("event_id").asText();
        u.version = n.get("version").asLong();
        return u;
    }

    /**
     * Which field of {@link ProfileSnapshot} each key of the profile document shows, learned from
     * {@link OutputJson#profile} itself (one field set at a time, the keys that change noted), so the
     * profile's fields can grow without this code changing with them.
     */
    private static final Map<String, Field> PROFILE_KEYS = new LinkedHashMap<>();

    static {
        ObjectNode blank = OutputJson.profile(new ProfileSnapshot());
        for (Field f : ProfileSnapshot.class.getFields()) {
            // the computed traits (arrays) are not part of the profile document
            if (Modifier.isStatic(f.getModifiers()) || !f.getType().isPrimitive()) continue;
            ProfileSnapshot probe = new ProfileSnapshot();
            try {
                set(probe, f, 86_400_123L);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
            ObjectNode shown = OutputJson.profile(probe);
            shown.fieldNames().forEachRemaining(k -> {
                if (!shown.get(k).equals(blank.get(k))) PROFILE_KEYS.putIfAbsent(k, f);
            });
        }
    }

    static ProfileSnapshot profile(JsonNode p) {
        ProfileSnapshot s = new ProfileSnapshot();
        p.fieldNames().forEachRemaining(k -> {
            Field f = PROFILE_KEYS.get(k);
            if (f == null) throw new IllegalArgumentException("profile field '" + k + "' is not a field of ProfileSnapshot");
            JsonNode v = p.get(k);
            try {
                if (v.isTextual()) set(s, f, millis(v));
                else if (f.getType() == double.class) f.setDouble(s, v.asDouble());
                else set(s, f, v.asLong());
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        });
        return s;
    }

    private static void set(ProfileSnapshot s, Field f, long value) throws IllegalAccessException {
        Class<?> t = f.getType();
        if (t == long.class) f.setLong(s, value);
        else if (t == int.class) f.setInt(s, (int) value);
        else if (t == double.class) f.setDouble(s, value);
        else throw new IllegalStateException("ProfileSnapshot." + f.getName() + " has an unexpected type " + t);
    }

    static long millis(JsonNode iso) {
        return Instant.parse(iso.asText()).toEpochMilli();
    }
}
