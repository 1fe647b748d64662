package io.behaviorcep.privacy;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.DeadLetter;
import io.behaviorcep.event.DeadLetterRouter;
import io.behaviorcep.event.RawRecord;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The records of the control topic ({@code topics.control}), written only by the operator: each valid
 * record becomes one keyed record ({@link PrivacyRules#controlRecord}) per id it names, the
 * {@code userId} and each {@code anonymousIds} entry, so the control reaches the state of every id the
 * person used. An invalid record goes to the dead-letter side output ({@link DeadLetter.Reason#INVALID_CONTROL})
 * with why; the job never fails on one.
 *
 * <pre>
 * {"type": "erase" | "opt_out" | "opt_in", "userId": "u1", "anonymousIds": ["a1"], "requestId": "ticket-42", "at": "2025-01-01T00:00:00Z"}
 * </pre>
 *
 * {@code type} is required and at least one id; {@code requestId} and {@code at} are optional, {@code at}
 * is informative only (a control is applied when it arrives, whatever its time: an erasure is never late).
 * Other fields are refused, so a misspelt {@code userid} does not pass as a control for nobody.
 */
public final class ControlRecords extends ProcessFunction<RawRecord, BehaviorEvent> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ControlRecords.class);
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    public static final int MAX_BYTES = 64 * 1024;
    public static final int MAX_ID_CHARS = 1024;
    public static final int MAX_ANONYMOUS_IDS = 1000;
    private static final Set<String> FIELDS = Set.of("type", "userId", "anonymousIds", "requestId", "at");
    private static final Set<String> TYPES = Set.of(PrivacyRules.CONTROL_ERASE, PrivacyRules.CONTROL_OPT_OUT, PrivacyRules.CONTROL_OPT_IN);

    private transient Counter accepted;
    private transient Counter refused;

    /** A control record that cannot be applied, with why. */
    public static final class InvalidControl extends Exception {
        InvalidControl(String message) {
            super(message);
        }
    }

    /** One parsed control: what, and for which ids (userId first). */
    public record Control(String type, List<String> ids, String requestId, long at) {
        public List<BehaviorEvent> keyed() {
            List<BehaviorEvent> out = new ArrayList<>(ids.size());
            for (String id : ids) out.add(PrivacyRules.controlRecord(id, type, requestId, at));
            return out;
        }
    }

    /**
     * @param now the time a control without {@code at} carries (epoch ms)
     */
    public static Control parse(byte[] value, long now) throws InvalidControl {
        if (value == null || value.length == 0) throw new InvalidControl("empty control record");
        if (value.length > MAX_BYTES) throw new InvalidControl("control record of " + value.length + " bytes, more than " + MAX_BYTES);
        JsonNode n;
        try {
            n = JSON.readTree(value);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new InvalidControl("not JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new InvalidControl("not JSON: " + e.getMessage());
        }
        if (n == null || !n.isObject()) throw new InvalidControl("not a JSON object");
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            String f = it.next().getKey();
            if (!FIELDS.contains(f)) throw new InvalidControl("unknown field '" + clip(f) + "' (known: type, userId, anonymousIds, requestId, at)");
        }
        JsonNode type = n.get("type");
        if (type == null || !type.isTextual() || !TYPES.contains(type.asText())) {
            throw new InvalidControl("type must be one of erase, opt_out, opt_in");
        }
        Set<String> ids = new LinkedHashSet<>();
        JsonNode user = n.get("userId");
        if (user != null && !user.isNull()) ids.add(id(user, "userId"));
        JsonNode anonymous = n.get("anonymousIds");
        if (anonymous != null && !anonymous.isNull()) {
            if (!anonymous.isArray()) throw new InvalidControl("anonymousIds must be an array of strings");
            if (anonymous.size() > MAX_ANONYMOUS_IDS) throw new InvalidControl("more than " + MAX_ANONYMOUS_IDS + " anonymousIds");
            for (JsonNode a : anonymous) ids.add(id(a, "anonymousIds[]"));
        }
        if (ids.isEmpty()) throw new InvalidControl("no id: userId or anonymousIds is required");
        String requestId = null;
        JsonNode rid = n.get("requestId");
        if (rid != null && !rid.isNull()) {
            if (!rid.isTextual() || rid.asText().length() > MAX_ID_CHARS) throw new InvalidControl("requestId must be a string of at most " + MAX_ID_CHARS + " characters");
            requestId = rid.asText();
        }
        long at = now;
        JsonNode atNode = n.get("at");
        if (atNode != null && !atNode.isNull()) {
            if (!atNode.isTextual()) throw new InvalidControl("at must be an ISO-8601 timestamp string");
            try {
                at = OffsetDateTime.parse(atNode.asText()).toInstant().toEpochMilli();
            } catch (DateTimeParseException | ArithmeticException e) {
                throw new InvalidControl("at is not an ISO-8601 timestamp with offset: '" + clip(atNode.asText()) + "'");
            }
        }
        return new Control(type.asText(), List.copyOf(ids), requestId, at);
    }

    private static String id(JsonNode n, String field) throws InvalidControl {
        if (!n.isTextual() || n.asText().isBlank()) throw new InvalidControl(field + " must be a non-empty string");
        if (n.asText().length() > MAX_ID_CHARS) throw new InvalidControl(field + " longer than " + MAX_ID_CHARS + " characters");
        return n.asText();
    }

    private static String clip(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "…";
    }

    /**
     * No event time at all, like {@link io.behaviorcep.sink.SuppressionListSource#watermarks()}: the control source says it
     * is idle and never emits a watermark, so in the union with the events it neither holds event time
     * back nor pushes it forward (docs/contracts.md, "Event time").
     */
    public static <T> WatermarkStrategy<T> watermarks() {
        return WatermarkStrategy.forGenerator(ctx -> new WatermarkGenerator<>() {
            @Override
            public void onEvent(T event, long eventTimestamp, WatermarkOutput output) {
                output.markIdle();
            }

            @Override
            public void onPeriodicEmit(WatermarkOutput output) {
                output.markIdle();
            }
        });
    }

    @Override
    public void open(OpenContext ctx) {
        accepted = getRuntimeContext().getMetricGroup().counter("privacyControls");
        refused = getRuntimeContext().getMetricGroup().counter("privacyControlsRefused");
    }

    @Override
    public void processElement(RawRecord r, Context ctx, Collector<BehaviorEvent> out) {
        try {
            Control c = parse(r.value, System.currentTimeMillis());
            accepted.inc();
            // the ids stay out of the log: the request id is how an operator follows a control
            LOG.info("privacy control {} (request {}) for {} id(s) from {}/{}/{}", c.type(), c.requestId(), c.ids().size(), r.topic,
                    r.partition, r.offset);
            for (BehaviorEvent e : c.keyed()) out.collect(e);
        } catch (InvalidControl e) {
            refused.inc();
            LOG.warn("control record {}/{}/{} refused (to the dead-letter topic): {}", r.topic, r.partition, r.offset, e.getMessage());
            ctx.output(DeadLetterRouter.DEAD_LETTERS, new DeadLetter(DeadLetter.Reason.INVALID_CONTROL, e.getMessage(), r));
        }
    }

    /** For tests and the CLI: a control record's JSON. */
    public static byte[] json(String type, String userId, List<String> anonymousIds, String requestId, String at) {
        var n = JSON.createObjectNode().put("type", type);
        if (userId != null) n.put("userId", userId);
        if (anonymousIds != null && !anonymousIds.isEmpty()) anonymousIds.forEach(n.putArray("anonymousIds")::add);
        if (requestId != null) n.put("requestId", requestId);
        if (at != null) n.put("at", at);
        return n.toString().getBytes(StandardCharsets.UTF_8);
    }
}
