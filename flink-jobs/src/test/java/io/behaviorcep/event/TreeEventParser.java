package io.behaviorcep.event;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * The tree-based {@link EventParser} as it was before the streaming rewrite (readTree, then a walk
 * of the tree), kept unchanged apart from its name and sharing {@link EventParser.Limits}: the
 * reference {@code EventParserDifferentialTest} compares the streaming parser against.
 */
final class TreeEventParser {

    /** Either an event or a dead letter. */
    public static final class Result {
        public final BehaviorEvent event;
        public final DeadLetter deadLetter;

        private Result(BehaviorEvent event, DeadLetter deadLetter) {
            this.event = event;
            this.deadLetter = deadLetter;
        }

        public boolean ok() {
            return event != null;
        }
    }

    private static final Set<String> TYPES = Set.of("track", "page", "screen", "identify", "group", "alias");

    private final EventParser.Limits limits;
    private final LongSupplier wallClock;
    private final ObjectMapper mapper;

    TreeEventParser(EventParser.Limits limits, LongSupplier wallClock) {
        this.limits = limits;
        this.wallClock = wallClock;
        JsonFactory factory = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxNestingDepth(limits.maxDepth)
                        .maxStringLength(limits.maxStringLength)
                        .build())
                .build();
        this.mapper = new ObjectMapper(factory);
    }

    TreeEventParser(EventParser.Limits limits) {
        this(limits, System::currentTimeMillis);
    }

    public Result parse(RawRecord raw) {
        byte[] bytes = raw.value;
        if (bytes == null || bytes.length == 0) {
            return reject(DeadLetter.Reason.NOT_JSON, "empty record", raw);
        }
        if (bytes.length > limits.maxBytes) {
            return reject(DeadLetter.Reason.TOO_LARGE,
                    "record is " + bytes.length + " bytes, the limit is " + limits.maxBytes, raw);
        }
        if (!isValidUtf8(bytes)) {
            return reject(DeadLetter.Reason.NOT_JSON, "record is not valid UTF-8", raw);
        }
        JsonNode root;
        try (JsonParser p = mapper.createParser(bytes)) {
            root = mapper.readTree(p);
            if (root != null && p.nextToken() != null) {
                return reject(DeadLetter.Reason.NOT_JSON, "trailing content after the JSON object", raw);
            }
        } catch (StreamConstraintsException e) {
            boolean depth = e.getMessage() != null && e.getMessage().contains("nesting depth");
            return reject(depth ? DeadLetter.Reason.TOO_DEEP : DeadLetter.Reason.TOO_LARGE, firstLine(e.getMessage()), raw);
        } catch (Exception e) {
            return reject(DeadLetter.Reason.NOT_JSON, "not JSON: " + firstLine(e.getMessage()), raw);
        }
        if (root == null || !root.isObject()) {
            return reject(DeadLetter.Reason.NOT_AN_OBJECT,
                    "expected a JSON object, got " + (root == null ? "nothing" : root.getNodeType().name().toLowerCase()), raw);
        }
        return toEvent((ObjectNode) root, raw);
    }

    private Result toEvent(ObjectNode root, RawRecord raw) {
        BehaviorEvent e = new BehaviorEvent();

        String type = text(root, "type");
        if (type == null) return missingOrWrong(root, "type", raw);
        if (!TYPES.contains(type)) {
            return reject(DeadLetter.Reason.UNSUPPORTED_TYPE, "type '" + type + "' is not one of " + TYPES, raw);
        }
        e.type = type;

        e.messageId = text(root, "messageId");
        if (e.messageId == null || e.messageId.isBlank()) return missingOrWrong(root, "messageId", raw);

        if (root.has("userId") && !root.get("userId").isNull() && !root.get("userId").isTextual() && !root.get("userId").isNumber()) {
            return reject(DeadLetter.Reason.WRONG_TYPE, "userId must be a string", raw);
        }
        if (root.has("anonymousId") && !root.get("anonymousId").isNull() && !root.get("anonymousId").isTextual()) {
            return reject(DeadLetter.Reason.WRONG_TYPE, "anonymousId must be a string", raw);
        }
        e.userId = blankToNull(root.hasNonNull("userId") ? root.get("userId").asText() : null);
        e.anonymousId = blankToNull(text(root, "anonymousId"));
        if ("alias".equals(type) && root.has("previousId") && !root.get("previousId").isNull()) {
            if (!root.get("previousId").isTextual()) return reject(DeadLetter.Reason.WRONG_TYPE, "previousId must be a string", raw);
            String previous = blankToNull(root.get("previousId").asText());
            if (previous != null) e.anonymousId = previous;
        }
        e.userKey = e.userId != null ? e.userId : e.anonymousId;
        if (e.userKey == null) {
            return reject(DeadLetter.Reason.MISSING_FIELD, "neither userId nor anonymousId is set", raw);
        }

        if ("track".equals(type)) {
            e.event = text(root, "event");
            if (e.event == null || e.event.isBlank()) return missingOrWrong(root, "event", raw);
        } else if (root.hasNonNull("name")) {
            if (!root.get("name").isTextual()) return reject(DeadLetter.Reason.WRONG_TYPE, "name must be a string", raw);
            e.event = root.get("name").asText();
        }

        String ts = text(root, "timestamp");
        if (ts == null) return missingOrWrong(root, "timestamp", raw);
        long millis;
        try {
            millis = OffsetDateTime.parse(ts).toInstant().toEpochMilli();
        } catch (DateTimeParseException ex) {
            return reject(DeadLetter.Reason.INVALID_TIMESTAMP, "timestamp '" + abbreviate(ts) + "' is not ISO-8601 with an offset", raw);
        } catch (ArithmeticException ex) {
            return reject(DeadLetter.Reason.INVALID_TIMESTAMP, "timestamp '" + abbreviate(ts) + "' is out of range", raw);
        }
        if (millis < limits.minTimestamp.toEpochMilli()) {
            return reject(DeadLetter.Reason.INVALID_TIMESTAMP,
                    "timestamp " + ts + " is before " + limits.minTimestamp, raw);
        }
        long now = wallClock.getAsLong();
        if (millis > now + limits.maxFutureSkew.toMillis()) {
            return reject(DeadLetter.Reason.FUTURE_TIMESTAMP,
                    "timestamp " + ts + " is more than " + limits.maxFutureSkew + " ahead of the wall clock", raw);
        }
        e.timestamp = millis;

        JsonNode props = root.get("properties");
        if (props != null && !props.isNull()) {
            if (!props.isObject()) return reject(DeadLetter.Reason.WRONG_TYPE, "properties must be an object", raw);
            flatten("", props, e.properties);
        }
        JsonNode traits = root.get("traits");
        if (traits != null && traits.isObject() && ("identify".equals(type) || "group".equals(type))) {
            // identify carries its data in traits; pattern conditions read them as properties.*
            flatten("", traits, e.properties);
        }
        JsonNode ctx = root.get("context");
        if (ctx != null && !ctx.isNull()) {
            if (!ctx.isObject()) return reject(DeadLetter.Reason.WRONG_TYPE, "context must be an object", raw);
            flatten("", ctx, e.context);
        }
        return new Result(e, null);
    }

    static void flatten(String prefix, JsonNode node, Map<String, String> out) {
        if (node.isObject()) {
            node.fields().forEachRemaining(f -> flatten(prefix.isEmpty() ? f.getKey() : prefix + "." + f.getKey(), f.getValue(), out));
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) flatten(prefix + "." + i, node.get(i), out);
        } else if (!node.isNull() && !prefix.isEmpty()) {
            out.put(prefix, node.asText());
        }
    }

    private Result missingOrWrong(ObjectNode root, String field, RawRecord raw) {
        JsonNode v = root.get(field);
        if (v == null || v.isNull() || (v.isTextual() && v.asText().isBlank())) {
            return reject(DeadLetter.Reason.MISSING_FIELD, field + " is missing or empty", raw);
        }
        return reject(DeadLetter.Reason.WRONG_TYPE,
                field + " must be a string, got " + v.getNodeType().name().toLowerCase(), raw);
    }

    private static String text(ObjectNode root, String field) {
        JsonNode v = root.get(field);
        return v != null && v.isTextual() ? v.asText() : null;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    private static Result reject(DeadLetter.Reason reason, String message, RawRecord raw) {
        return new Result(null, new DeadLetter(reason, message, raw));
    }

    private static boolean isValidUtf8(byte[] bytes) {
        try {
            StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        return abbreviate(nl < 0 ? s : s.substring(0, nl));
    }

    private static String abbreviate(String s) {
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }
}
