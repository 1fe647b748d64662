package io.behaviorcep.output;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.segment.SegmentUpdate;
import io.behaviorcep.util.JsonText;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The one place where output records become JSON. docs/contracts.md documents these shapes and
 * ContractTest holds them to it.
 */
public final class OutputJson {
    public static final ObjectMapper MAPPER = new ObjectMapper();

    private OutputJson() {}

    /** A JSON string literal; see {@link JsonText#appendQuoted}. */
    public static StringBuilder appendQuoted(StringBuilder sb, String s) {
        return JsonText.appendQuoted(sb, s);
    }

    /** The inside of a JSON string literal; see {@link JsonText#appendEscaped}. */
    public static StringBuilder appendEscaped(StringBuilder sb, String s) {
        return JsonText.appendEscaped(sb, s);
    }

    public static String iso(long epochMillis) {
        return JsonText.iso(epochMillis);
    }

    public static ObjectNode alert(Alert a) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("alert_id", a.alertId);
        n.put("pattern_id", a.patternId);
        n.put("pattern_version", a.patternVersion);
        n.put("alert_type", a.alertType);
        n.put("severity", a.severity);
        n.put("user_id", a.userId);
        n.put("detected_at", iso(a.detectedAt));
        n.set("matched", parse(a.matchedJson));
        n.set("payload", parse(a.payloadJson));
        n.set("profile", profile(a.profile));
        if (a.experimentId != null) {
            n.put("experiment_id", a.experimentId);
            n.put("arm", a.arm);
        }
        return n;
    }

    /** An outcome as {@code behavior.outcomes} carries it and {@code outcomes} stores it (docs/contracts.md, "Outcomes"). */
    public static ObjectNode outcome(io.behaviorcep.experiment.Outcome o) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("decision_id", o.decisionId());
        n.put("user_id", o.userId());
        n.put("pattern_id", o.patternId());
        n.put("pattern_version", o.patternVersion());
        n.put("experiment_id", o.experimentId());
        n.put("arm", o.arm());
        n.put("holdout", o.holdout());
        n.put("decided_at", iso(o.decidedAt()));
        n.put("goal_event", o.goalEvent());
        n.put("goal_within_ms", o.goalWithinMs());
        n.put("converted", o.converted());
        if (o.convertedAt() == null) n.putNull("converted_at");
        else n.put("converted_at", iso(o.convertedAt()));
        n.put("value", o.value());
        n.put("time_to_convert_ms", o.timeToConvertMs());
        return n;
    }

    public static byte[] outcomeValue(io.behaviorcep.experiment.Outcome o) {
        return bytes(outcome(o));
    }

    /**
     * The profile object of alerts and of {@code user_profiles.profile}. Field names are the
     * pattern-language names ({@link ProfileSnapshot#FIELDS}); instants are ISO-8601.
     */
    public static ObjectNode profile(ProfileSnapshot p) {
        ObjectNode n = MAPPER.createObjectNode();
        if (p == null) return n;
        n.put("first_seen", iso(p.firstSeen));
        n.put("last_seen", iso(p.lastSeen));
        n.put("events_24h", p.events24h);
        n.put("events_7d", p.events7d);
        n.put("sessions_24h", p.sessions24h);
        n.put("sessions_7d", p.sessions7d);
        n.put("sessions_lifetime", p.sessionsLifetime);
        n.put("orders_lifetime", p.ordersLifetime);
        n.put("revenue_lifetime", p.revenueLifetime);
        n.put("sessions_last_week", p.sessionsLastWeek);
        n.put("sessions_weekly_avg_prior_4", p.sessionsWeeklyAvgPrior4);
        n.put("decay_weeks", p.decayWeeks);
        // added with the full profile; the names above never change
        n.put("events_1h", p.events1h);
        n.put("events_30d", p.events30d);
        n.put("events_lifetime", p.eventsLifetime);
        n.put("sessions_1h", p.sessions1h);
        n.put("sessions_30d", p.sessions30d);
        n.put("current_session_start", iso(p.currentSessionStart));
        n.put("current_session_duration_s", p.currentSessionDurationS);
        n.put("last_session_duration_s", p.lastSessionDurationS);
        n.put("avg_session_duration_s", p.avgSessionDurationS);
        n.put("session_page_views", p.sessionPageViews);
        n.put("session_product_views", p.sessionProductViews);
        n.put("page_views_per_session", p.pageViewsPerSession);
        n.put("product_views_per_session", p.productViewsPerSession);
        n.put("page_views_lifetime", p.pageViewsLifetime);
        n.put("product_views_lifetime", p.productViewsLifetime);
        n.put("product_views_7d", p.productViews7d);
        n.put("product_views_30d", p.productViews30d);
        n.put("adds_lifetime", p.addsLifetime);
        n.put("adds_30d", p.adds30d);
        n.put("checkouts_lifetime", p.checkoutsLifetime);
        n.put("checkouts_30d", p.checkouts30d);
        n.put("orders_30d", p.orders30d);
        n.put("revenue_30d", p.revenue30d);
        n.put("active_days_7d", p.activeDays7d);
        n.put("active_days_30d", p.activeDays30d);
        n.put("days_since_first_seen", p.daysSinceFirstSeen);
        n.put("days_since_last_seen", p.daysSinceLastSeen);
        return n;
    }

    /** A profile record as the PostgreSQL sink stores it in its committables. */
    public static ObjectNode profileRecord(ProfileRecord r) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("kind", r.kind);
        n.put("user_id", r.userId);
        n.put("version", r.at);
        if (r.isErasure()) {
            n.put("erased_at", iso(r.at));
        } else {
            n.put("as_of", iso(r.at));
            n.set("profile", profile(r.profile));
            if (r.recentEventNames != null && r.recentEventTimes != null) {
                var recent = n.putArray("recent_events");
                for (int i = 0; i < r.recentEventNames.length && i < r.recentEventTimes.length; i++) {
                    recent.addObject().put("event", clean(r.recentEventNames[i])).put("at", iso(r.recentEventTimes[i]));
                }
            }
        }
        return n;
    }

    public static ObjectNode segment(SegmentUpdate u) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("event_id", u.eventId);
        n.put("user_id", u.userId);
        n.put("segment", u.segment);
        n.put("action", u.action);
        n.put("reason", u.reason);
        n.put("at", iso(u.at));
        n.put("version", u.version);
        // threshold segments have no set end: their enters carry no expiry
        if (SegmentUpdate.ENTER.equals(u.action) && u.expiresAt != SegmentUpdate.NO_EXPIRY) n.put("expires_at", iso(u.expiresAt));
        else n.putNull("expires_at");
        return n;
    }

    /** A parsed event back as Segment JSON (for the late-events topic); flattened fields are nested again. */
    public static ObjectNode event(BehaviorEvent e) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("type", e.type);
        if (e.event != null) n.put("track".equals(e.type) ? "event" : "name", e.event);
        n.put("messageId", e.messageId);
        if (e.userId != null) n.put("userId", e.userId);
        if (e.anonymousId != null) n.put("anonymousId", e.anonymousId);
        n.put("timestamp", iso(e.timestamp));
        n.set("properties", nest(e.properties));
        n.set("context", nest(e.context));
        return n;
    }

    /**
     * Flattened paths as nested objects. Any name renders (issue 15): empty segments ({@code "."},
     * {@code "a..b"}, {@code ".a"}, {@code "a."}, {@code ""}) are empty names, and where a value already
     * stands on the way (a flattened map may hold both {@code a} and {@code a.b}) the rest of the path
     * stays one flat name beside it, so no value replaces another. Sorted, so a path comes before
     * every path under it.
     */
    private static ObjectNode nest(Map<String, String> flat) {
        ObjectNode root = MAPPER.createObjectNode();
        if (flat == null) return root;
        flat.keySet().stream().sorted().forEach(path -> {
            String[] parts = path.split("\\.", -1);
            ObjectNode cur = root;
            int i = 0;
            for (; i < parts.length - 1; i++) {
                JsonNode next = cur.get(parts[i]);
                if (next == null) {
                    next = MAPPER.createObjectNode();
                    cur.set(parts[i], next);
                } else if (!(next instanceof ObjectNode)) {
                    break;
                }
                cur = (ObjectNode) next;
            }
            String name = i == parts.length - 1 ? parts[i] : String.join(".", java.util.Arrays.asList(parts).subList(i, parts.length));
            cur.put(name, flat.get(path));
        });
        return root;
    }

    // ---------------------------------------------------------------- what the outputs never hold
    //
    // Issue 15: events are written by browsers, so any text may reach an output. Whatever PostgreSQL
    // or Kafka would refuse is made writable here, where every output becomes text or bytes (and not
    // in each sink): a refused write fails the sink, and the job restarts on the same record forever.

    /**
     * Key, value and headers of one Kafka output record together stay below this (1 MiB less 16 KiB),
     * so that with the record's own overhead it fits a default producer's {@code max.request.size} and a
     * default topic's {@code max.message.bytes} (both about 1 MiB).
     */
    public static final int MAX_RECORD_BYTES = 1024 * 1024 - 16 * 1024;

    /**
     * JSON text of an output document (PostgreSQL's documents, replay files). NUL and lone surrogates
     * in names and values become U+FFFD: PostgreSQL's {@code jsonb} refuses the escape {@code \u0000} and
     * its {@code text} the character, and a lone surrogate has no UTF-8 form (it was written as '?').
     */
    public static String text(JsonNode n) {
        java.io.StringWriter w = new java.io.StringWriter(256);
        try (JsonGenerator g = new CleanText(MAPPER.getFactory().createGenerator(w))) {
            MAPPER.writeTree(g, n);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot write JSON", e); // a StringWriter does not fail
        }
        return w.toString();
    }

    /** UTF-8 of {@link #text}, for Kafka values. */
    public static byte[] bytes(JsonNode n) {
        return text(n).getBytes(StandardCharsets.UTF_8);
    }

    /** UTF-8 of a Kafka key, cleaned like the values (so a key is the user id its value carries). */
    public static byte[] key(String s) {
        return s == null ? null : clean(s).getBytes(StandardCharsets.UTF_8);
    }

    /** {@code s} with NUL and unpaired surrogates replaced by U+FFFD; {@code s} itself when there are none. */
    public static String clean(String s) {
        int n = s.length();
        int i = 0;
        while (i < n) {
            char c = s.charAt(i);
            if (c == 0 || Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                    i += 2;
                    continue;
                }
                break;
            }
            i++;
        }
        if (i == n) return s;
        StringBuilder sb = new StringBuilder(n).append(s, 0, i);
        for (; i < n; i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                sb.append(c).append(s.charAt(++i));
            } else {
                sb.append(c == 0 || Character.isSurrogate(c) ? '\ufffd' : c);
            }
        }
        return sb.toString();
    }

    /** Writes every name and string value through {@link #clean}. */
    private static final class CleanText extends com.fasterxml.jackson.core.util.JsonGeneratorDelegate {
        CleanText(JsonGenerator g) {
            super(g, false);
        }

        @Override
        public void writeFieldName(String name) throws java.io.IOException {
            super.writeFieldName(clean(name));
        }

        @Override
        public void writeString(String text) throws java.io.IOException {
            if (text == null) super.writeNull();
            else super.writeString(clean(text));
        }
    }

    /**
     * An alert as Kafka carries it and PostgreSQL stores it. One that would not fit a Kafka record
     * (many long message ids) keeps its ids, user and profile, with {@code matched} and {@code payload}
     * emptied, {@code "truncated": true} and {@code original_size} (bytes).
     */
    public static byte[] alertValue(Alert a) {
        ObjectNode n = alert(a);
        byte[] value = bytes(n);
        int room = MAX_RECORD_BYTES - lengthOf(key(a.userId));
        if (value.length <= room) return value;
        n.putObject("matched");
        n.putObject("payload");
        n.put("truncated", true);
        n.put("original_size", value.length);
        return bytes(n);
    }

    /** {@link #alertValue} as text: the document of table {@code alerts}. */
    public static String alertDocument(Alert a) {
        return new String(alertValue(a), StandardCharsets.UTF_8);
    }

    /**
     * A late event as the late topic carries it. One that would not fit a Kafka record (a 256 KiB event
     * holding an array of 130k elements is 1.5 MB once its flattened paths are nested again) keeps its
     * type, names, ids and timestamp, with {@code properties} and {@code context} emptied,
     * {@code "truncated": true} and {@code original_size} (bytes).
     */
    public static byte[] lateEventValue(BehaviorEvent e) {
        ObjectNode n = event(e);
        byte[] value = bytes(n);
        int room = MAX_RECORD_BYTES - lengthOf(key(e.userKey));
        if (value.length <= room) return value;
        n.putObject("properties");
        n.putObject("context");
        n.put("truncated", true);
        n.put("original_size", value.length);
        return bytes(n);
    }

    private static int lengthOf(byte[] b) {
        return b == null ? 0 : b.length;
    }

    private static JsonNode parse(String json) {
        try {
            return MAPPER.readTree(json == null ? "{}" : json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("internal JSON is invalid: " + json, e);
        }
    }
}
