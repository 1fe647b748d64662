package io.behaviorcep.event;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;

import java.io.IOException;
import java.io.Serializable;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.Month;
import java.time.OffsetDateTime;
import java.time.Year;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Validates one Segment-spec JSON record and turns it into a {@link BehaviorEvent}, or says exactly
 * why not. Pure and thread-confined: one instance per task (it reuses scratch buffers), no Flink
 * types, so it is tested alone and reused by replay.
 *
 * <p>What one event may cost is bounded here, before anything is buffered: {@link Limits#maxBytes}
 * and {@link Limits#maxDepth} stop huge or deeply nested payloads from reaching state.
 *
 * <p>One streaming pass over Jackson's tokens, no tree: parsing was a quarter of the job's CPU when
 * it built a {@code JsonNode} tree and walked it. The verdicts are still those of the tree-based
 * parser it replaced ({@code TreeEventParser} in the tests, which {@code EventParserDifferentialTest}
 * compares it with), which is why the pass is shaped the way it is:
 * <ul>
 *   <li>it reads the whole record before judging it, so a syntax error anywhere still wins over a
 *   bad field, and the fields are then checked in the tree parser's order;</li>
 *   <li>it makes the same parser calls {@code JsonNodeDeserializer} made for every value, kept or
 *   not ({@code nextFieldName} in objects, {@code getText} of every string, the same number
 *   accessors): Jackson enforces the string-length limit when a string's text is materialised, so
 *   skipping a value could let through a record the tree refused;</li>
 *   <li>a repeated key keeps its last value (as {@code ObjectNode} did), which for the flattened
 *   maps cannot be decided token by token: a record where some flattened path comes up twice is
 *   read a second time into a small tree, rare and exact.</li>
 * </ul>
 */
public final class EventParser {

    /** Bounds and clocks of validation. Defaults are in {@link #defaults()}; all are configurable. */
    public static final class Limits implements Serializable {
        public int maxBytes = 256 * 1024;
        public int maxDepth = 16;
        public int maxStringLength = 64 * 1024;
        /** Events stamped further than this ahead of the wall clock are refused: usually a bad device clock. */
        public Duration maxFutureSkew = Duration.ofHours(1);
        /** Events before this instant are refused: epoch-zero and unset clocks. */
        public Instant minTimestamp = Instant.parse("2000-01-01T00:00:00Z");

        public static Limits defaults() {
            return new Limits();
        }
    }

    /**
     * The longest {@code userId} / {@code anonymousId} accepted, in UTF-8 bytes. The user id is the key
     * of the job's state and outputs and is indexed in PostgreSQL, where a b-tree row must stay under
     * ~2.7 KB (a 4 KB id failed the sink: issue 15); 1 KiB leaves room for the segment name and version
     * beside it. Not configurable: the tables' indexes fix it.
     */
    public static final int MAX_USER_ID_BYTES = 1024;

    private static boolean tooLongUserId(String id) {
        // a char is at most 3 UTF-8 bytes (a surrogate pair 4 for 2 chars)
        return id != null && id.length() > MAX_USER_ID_BYTES / 3 && id.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_USER_ID_BYTES;
    }

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

    /** The JSON type of a value, named as {@code JsonNodeType} names it in messages. */
    private enum Kind { STRING, NUMBER, BOOLEAN, NULL, OBJECT, ARRAY }

    // The root fields toEvent reads; the last three are flattened.
    private static final int TYPE = 0, MESSAGE_ID = 1, USER_ID = 2, ANONYMOUS_ID = 3, EVENT = 4, NAME = 5, TIMESTAMP = 6,
            PREVIOUS_ID = 7, PROPERTIES = 8, TRAITS = 9, CONTEXT = 10, FIELDS = 11;
    private static final String[] FIELD_NAMES = {
            "type", "messageId", "userId", "anonymousId", "event", "name", "timestamp", "previousId", "properties", "traits", "context"};

    /** Marks a JSON null in the exact re-read's tree. */
    private static final Object JSON_NULL = new Object();

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long NOT_FAST = Long.MIN_VALUE;

    private final Limits limits;
    private final LongSupplier wallClock;
    private final JsonFactory factory;

    // scratch of flatten(), reused from record to record
    private final StringBuilder path = new StringBuilder(64);
    private int[] pathStart = new int[16];
    private int[] nextIndex = new int[16];

    public EventParser(Limits limits, LongSupplier wallClock) {
        this.limits = limits;
        this.wallClock = wallClock;
        this.factory = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxNestingDepth(limits.maxDepth)
                        .maxStringLength(limits.maxStringLength)
                        .build())
                .build();
    }

    public EventParser(Limits limits) {
        this(limits, System::currentTimeMillis);
    }

    /**
     * {@code s} with each unpaired surrogate (a lone UTF-16 half, which a JSON escape may carry) replaced by
     * U+FFFD, which UTF-8 encodes; {@code s} itself when there are none.
     */
    static String wellFormed(String s) {
        if (s == null) return null;
        StringBuilder b = null;
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                if (b != null) b.append(c).append(s.charAt(i + 1));
                i++;
            } else if (Character.isSurrogate(c)) {
                if (b == null) b = new StringBuilder(n).append(s, 0, i);
                b.append('\uFFFD');
            } else if (b != null) {
                b.append(c);
            }
        }
        return b == null ? s : b.toString();
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
        Doc doc;
        try {
            doc = read(bytes, false);
            if (doc.ambiguous()) doc = read(bytes, true);
        } catch (StreamConstraintsException e) {
            boolean depth = e.getMessage() != null && e.getMessage().contains("nesting depth");
            return reject(depth ? DeadLetter.Reason.TOO_DEEP : DeadLetter.Reason.TOO_LARGE, firstLine(e.getMessage()), raw);
        } catch (Exception e) {
            return reject(DeadLetter.Reason.NOT_JSON, "not JSON: " + firstLine(e.getMessage()), raw);
        }
        if (doc.trailing) {
            return reject(DeadLetter.Reason.NOT_JSON, "trailing content after the JSON object", raw);
        }
        if (doc.root != Kind.OBJECT) {
            return reject(DeadLetter.Reason.NOT_AN_OBJECT,
                    "expected a JSON object, got " + (doc.root == null ? "nothing" : doc.root.name().toLowerCase()), raw);
        }
        return toEvent(doc, raw);
    }

    /** What a pass over one record kept: per root field the kind and text of its last value, and the flattened maps. */
    private static final class Doc {
        /** The root value's kind; null for a record of only whitespace. */
        Kind root;
        boolean trailing;
        final Kind[] kind = new Kind[FIELDS];
        final String[] text = new String[FIELDS];
        @SuppressWarnings("unchecked")
        final Map<String, String>[] flat = new Map[FIELDS];
        /** Per flattened field: a path came up twice, so only an exact re-read knows the result. */
        final boolean[] pathRepeated = new boolean[FIELDS];

        boolean ambiguous() {
            return pathRepeated[PROPERTIES] || pathRepeated[TRAITS] || pathRepeated[CONTEXT];
        }

        /** The field's text if it is a JSON string (ObjectNode.get(f).isTextual()), else null. */
        String string(int field) {
            return kind[field] == Kind.STRING ? text[field] : null;
        }

        boolean presentAndNotNull(int field) {
            return kind[field] != null && kind[field] != Kind.NULL;
        }
    }

    /**
     * Reads the whole record, value by value, making the parser calls the tree reader made. With
     * {@code exact}, the flattened fields go through a small tree (see {@link #flattenExactly}).
     */
    private Doc read(byte[] bytes, boolean exact) throws IOException {
        Doc doc = new Doc();
        try (JsonParser p = factory.createParser(bytes)) {
            JsonToken t = p.nextToken();
            if (t == null) return doc;
            doc.root = kindOf(t);
            if (t == JsonToken.START_OBJECT) {
                readRoot(p, doc, exact);
            } else {
                skip(p, t);
            }
            p.clearCurrentToken(); // as ObjectMapper.readTree leaves the parser
            doc.trailing = p.nextToken() != null;
        }
        return doc;
    }

    private void readRoot(JsonParser p, Doc doc, boolean exact) throws IOException {
        for (String name = p.nextFieldName(); name != null; name = p.nextFieldName()) {
            JsonToken t = p.nextToken();
            int field = field(name);
            if (field < 0) {
                skip(p, t);
                continue;
            }
            // a repeated root key: the last one counts, as in a tree
            doc.kind[field] = kindOf(t);
            doc.text[field] = null;
            doc.flat[field] = null;
            doc.pathRepeated[field] = false;
            if (field >= PROPERTIES && t == JsonToken.START_OBJECT) {
                // traits are merged into properties later, entry by entry: keep the order they came in
                Map<String, String> out = field == TRAITS ? new LinkedHashMap<>() : new HashMap<>();
                if (exact) {
                    flattenExactly(p, out);
                } else {
                    doc.pathRepeated[field] = !flatten(p, out);
                }
                doc.flat[field] = out;
            } else if (t.isScalarValue()) {
                doc.text[field] = text(p, t);
            } else {
                skip(p, t);
            }
        }
    }

    private static int field(String name) {
        switch (name) {
            case "type": return TYPE;
            case "messageId": return MESSAGE_ID;
            case "userId": return USER_ID;
            case "anonymousId": return ANONYMOUS_ID;
            case "event": return EVENT;
            case "name": return NAME;
            case "timestamp": return TIMESTAMP;
            case "previousId": return PREVIOUS_ID;
            case "properties": return PROPERTIES;
            case "traits": return TRAITS;
            case "context": return CONTEXT;
            default: return -1;
        }
    }

    private static Kind kindOf(JsonToken t) {
        switch (t) {
            case START_OBJECT: return Kind.OBJECT;
            case START_ARRAY: return Kind.ARRAY;
            case VALUE_STRING: return Kind.STRING;
            case VALUE_NUMBER_INT:
            case VALUE_NUMBER_FLOAT: return Kind.NUMBER;
            case VALUE_TRUE:
            case VALUE_FALSE: return Kind.BOOLEAN;
            case VALUE_NULL: return Kind.NULL;
            default: throw new IllegalStateException("unexpected token " + t);
        }
    }

    /**
     * A scalar's text as {@code JsonNode.asText()} gave it (numbers normalised: -0 is "0", 1e3 is
     * "1000.0"), through the same accessors {@code JsonNodeDeserializer} calls: they are where
     * Jackson checks the string and number limits.
     */
    private static String text(JsonParser p, JsonToken t) throws IOException {
        switch (t) {
            case VALUE_STRING:
                return p.getText();
            case VALUE_NUMBER_INT:
                switch (p.getNumberType()) {
                    case INT: return Integer.toString(p.getIntValue());
                    case LONG: return Long.toString(p.getLongValue());
                    default: return p.getBigIntegerValue().toString();
                }
            case VALUE_NUMBER_FLOAT:
                // JSON text parsers never report BigDecimal or float here: a DoubleNode
                return Double.toString(p.getDoubleValue());
            case VALUE_TRUE:
                return "true";
            case VALUE_FALSE:
                return "false";
            case VALUE_NULL:
                return null;
            default:
                throw new IllegalStateException("unexpected token " + t);
        }
    }

    /** Reads a value nobody keeps, to its end, with the reads the tree reader made. */
    private static void skip(JsonParser p, JsonToken t) throws IOException {
        int depth = 0;
        while (true) {
            if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
                depth++;
            } else if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
                depth--;
            } else {
                text(p, t);
            }
            if (depth == 0) return;
            if (p.getParsingContext().inObject()) {
                t = p.nextFieldName() != null ? p.nextToken() : p.currentToken();
            } else {
                t = p.nextToken();
            }
        }
    }

    /**
     * Flattens the object whose START_OBJECT was just read into {@code out}, as the tree walk did:
     * a key joins its object's path with a dot unless that path is empty, an array index always
     * does, scalars are kept under non-empty paths, nulls and empty containers leave nothing.
     *
     * <p>Returns false if some path came up twice (a repeated key, or keys that meet once joined:
     * "a.b" and "a":{"b"}). Without that, document order is the tree's order and nothing is
     * overwritten, so the result is the tree's; with it, it may not be.
     */
    private boolean flatten(JsonParser p, Map<String, String> out) throws IOException {
        StringBuilder path = this.path;
        path.setLength(0);
        // paths that are not keys of out: containers, nulls, a scalar under the empty path
        Set<String> others = null;
        boolean unique = true;
        int open = 1; // open containers; [open - 1] is the innermost
        pathStart[0] = 0;
        nextIndex[0] = -1; // -1: an object, else the index of the array's next element
        while (open > 0) {
            int top = open - 1;
            JsonToken t;
            path.setLength(pathStart[top]);
            if (nextIndex[top] < 0) {
                String name = p.nextFieldName();
                if (name == null) {
                    open--;
                    continue;
                }
                if (path.length() > 0) path.append('.');
                path.append(name);
                t = p.nextToken();
            } else {
                t = p.nextToken();
                if (t == JsonToken.END_ARRAY) {
                    open--;
                    continue;
                }
                path.append('.').append(nextIndex[top]++);
            }
            String value = t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY ? null : text(p, t);
            String key = path.toString();
            if (value != null && !key.isEmpty()) {
                if (out.put(key, value) != null || (others != null && others.contains(key))) unique = false;
            } else {
                if (others == null) others = new HashSet<>();
                if (!others.add(key) || out.containsKey(key)) unique = false;
            }
            if (value == null && t != JsonToken.VALUE_NULL) {
                if (open == pathStart.length) {
                    pathStart = Arrays.copyOf(pathStart, open * 2);
                    nextIndex = Arrays.copyOf(nextIndex, open * 2);
                }
                pathStart[open] = path.length();
                nextIndex[open] = t == JsonToken.START_ARRAY ? 0 : -1;
                open++;
            }
        }
        return unique;
    }

    /**
     * The exact, slower way for the rare object where a path repeats: read it into a tree with the
     * semantics of ObjectNode (a repeated key replaces the value but keeps the first one's place),
     * then flatten that tree as the tree parser did.
     */
    private static void flattenExactly(JsonParser p, Map<String, String> out) throws IOException {
        flattenTree("", tree(p, JsonToken.START_OBJECT), out);
    }

    /** A LinkedHashMap for an object, a List for an array, JSON_NULL for null, the text of a scalar. */
    private static Object tree(JsonParser p, JsonToken t) throws IOException {
        switch (t) {
            case START_OBJECT: {
                Map<String, Object> object = new LinkedHashMap<>();
                for (String name = p.nextFieldName(); name != null; name = p.nextFieldName()) {
                    object.put(name, tree(p, p.nextToken()));
                }
                return object;
            }
            case START_ARRAY: {
                List<Object> array = new ArrayList<>();
                for (JsonToken e = p.nextToken(); e != JsonToken.END_ARRAY; e = p.nextToken()) {
                    array.add(tree(p, e));
                }
                return array;
            }
            case VALUE_NULL:
                return JSON_NULL;
            default:
                return text(p, t);
        }
    }

    @SuppressWarnings("unchecked")
    private static void flattenTree(String prefix, Object node, Map<String, String> out) {
        if (node instanceof Map) {
            ((Map<String, Object>) node).forEach((k, v) -> flattenTree(prefix.isEmpty() ? k : prefix + "." + k, v, out));
        } else if (node instanceof List) {
            List<Object> array = (List<Object>) node;
            for (int i = 0; i < array.size(); i++) flattenTree(prefix + "." + i, array.get(i), out);
        } else if (node != JSON_NULL && !prefix.isEmpty()) {
            out.put(prefix, (String) node);
        }
    }

    private Result toEvent(Doc doc, RawRecord raw) {
        BehaviorEvent e = new BehaviorEvent();

        String type = doc.string(TYPE);
        if (type == null) return missingOrWrong(doc, TYPE, raw);
        if (!TYPES.contains(type)) {
            return reject(DeadLetter.Reason.UNSUPPORTED_TYPE, "type '" + type + "' is not one of " + TYPES, raw);
        }
        e.type = type;

        e.messageId = doc.string(MESSAGE_ID);
        if (e.messageId == null || e.messageId.isBlank()) return missingOrWrong(doc, MESSAGE_ID, raw);

        Kind userId = doc.kind[USER_ID];
        if (userId != null && userId != Kind.NULL && userId != Kind.STRING && userId != Kind.NUMBER) {
            return reject(DeadLetter.Reason.WRONG_TYPE, "userId must be a string", raw);
        }
        Kind anonymousId = doc.kind[ANONYMOUS_ID];
        if (anonymousId != null && anonymousId != Kind.NULL && anonymousId != Kind.STRING) {
            return reject(DeadLetter.Reason.WRONG_TYPE, "anonymousId must be a string", raw);
        }
        // the user key must be the same string after Flink serialises the event (UTF-8), or it hashes
        // to another key group on the far side of keyBy and the job fails on every restart
        e.userId = wellFormed(blankToNull(doc.presentAndNotNull(USER_ID) ? doc.text[USER_ID] : null));
        e.anonymousId = wellFormed(blankToNull(doc.string(ANONYMOUS_ID)));
        if ("alias".equals(type) && doc.presentAndNotNull(PREVIOUS_ID)) {
            // the id an alias links to its userId is read as its anonymousId (docs/contracts.md, "Identity")
            if (doc.kind[PREVIOUS_ID] != Kind.STRING) return reject(DeadLetter.Reason.WRONG_TYPE, "previousId must be a string", raw);
            String previous = wellFormed(blankToNull(doc.text[PREVIOUS_ID]));
            if (previous != null) e.anonymousId = previous;
        }
        e.userKey = e.userId != null ? e.userId : e.anonymousId;
        if (tooLongUserId(e.userId) || tooLongUserId(e.anonymousId)) {
            return reject(DeadLetter.Reason.TOO_LARGE, (tooLongUserId(e.userId) ? "userId" : "anonymousId")
                    + " is longer than " + MAX_USER_ID_BYTES + " bytes (UTF-8)", raw);
        }
        if (e.userKey == null) {
            return reject(DeadLetter.Reason.MISSING_FIELD, "neither userId nor anonymousId is set", raw);
        }

        if ("track".equals(type)) {
            e.event = doc.string(EVENT);
            if (e.event == null || e.event.isBlank()) return missingOrWrong(doc, EVENT, raw);
        } else if (doc.presentAndNotNull(NAME)) {
            if (doc.kind[NAME] != Kind.STRING) return reject(DeadLetter.Reason.WRONG_TYPE, "name must be a string", raw);
            e.event = doc.text[NAME];
        }

        String ts = doc.string(TIMESTAMP);
        if (ts == null) return missingOrWrong(doc, TIMESTAMP, raw);
        long millis = fastIsoUtcMillis(ts);
        if (millis == NOT_FAST) {
            try {
                millis = OffsetDateTime.parse(ts).toInstant().toEpochMilli();
            } catch (DateTimeParseException ex) {
                return reject(DeadLetter.Reason.INVALID_TIMESTAMP, "timestamp '" + abbreviate(ts) + "' is not ISO-8601 with an offset", raw);
            } catch (ArithmeticException ex) {
                return reject(DeadLetter.Reason.INVALID_TIMESTAMP, "timestamp '" + abbreviate(ts) + "' is out of range", raw);
            }
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

        if (doc.presentAndNotNull(PROPERTIES)) {
            if (doc.kind[PROPERTIES] != Kind.OBJECT) return reject(DeadLetter.Reason.WRONG_TYPE, "properties must be an object", raw);
            e.properties = doc.flat[PROPERTIES];
        }
        if (doc.kind[TRAITS] == Kind.OBJECT && ("identify".equals(type) || "group".equals(type))) {
            // identify carries its data in traits; pattern conditions read them as properties.*
            // (put by put, not putAll, which would size the map differently than the tree walk's puts)
            doc.flat[TRAITS].forEach(e.properties::put);
        }
        if (doc.presentAndNotNull(CONTEXT)) {
            if (doc.kind[CONTEXT] != Kind.OBJECT) return reject(DeadLetter.Reason.WRONG_TYPE, "context must be an object", raw);
            e.context = doc.flat[CONTEXT];
        }
        return new Result(e, null);
    }

    private static Result missingOrWrong(Doc doc, int field, RawRecord raw) {
        Kind kind = doc.kind[field];
        if (kind == null || kind == Kind.NULL || (kind == Kind.STRING && doc.text[field].isBlank())) {
            return reject(DeadLetter.Reason.MISSING_FIELD, FIELD_NAMES[field] + " is missing or empty", raw);
        }
        return reject(DeadLetter.Reason.WRONG_TYPE,
                FIELD_NAMES[field] + " must be a string, got " + kind.name().toLowerCase(), raw);
    }

    /**
     * Epoch millis of a timestamp in the form nearly every event has, 2025-01-06T07:59:56.193Z (UTC,
     * 0 to 9 fraction digits), or {@link #NOT_FAST} for anything else, valid or not, which
     * java.time then judges. It only accepts what {@code OffsetDateTime.parse} accepts, to the
     * same instant: java.time's general parser was a visible part of the parse cost.
     */
    static long fastIsoUtcMillis(String s) {
        int n = s.length();
        if (n < 20 || n == 21 || n > 30 || s.charAt(n - 1) != 'Z') return NOT_FAST;
        if (s.charAt(4) != '-' || s.charAt(7) != '-' || s.charAt(10) != 'T' || s.charAt(13) != ':' || s.charAt(16) != ':') {
            return NOT_FAST;
        }
        int year = digits(s, 0, 4), month = digits(s, 5, 2), day = digits(s, 8, 2);
        int hour = digits(s, 11, 2), minute = digits(s, 14, 2), second = digits(s, 17, 2);
        if ((year | month | day | hour | minute | second) < 0) return NOT_FAST;
        int millis = 0;
        if (n > 20) {
            if (s.charAt(19) != '.') return NOT_FAST;
            int fraction = n - 21; // 1 to 9 digits; beyond milliseconds they are truncated, as toEpochMilli does
            int ms = digits(s, 20, Math.min(fraction, 3));
            if (ms < 0 || (fraction > 3 && digits(s, 23, fraction - 3) < 0)) return NOT_FAST;
            millis = fraction == 1 ? ms * 100 : fraction == 2 ? ms * 10 : ms;
        }
        if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return NOT_FAST;
        if (day > 28 && day > Month.of(month).length(Year.isLeap(year))) return NOT_FAST;
        long epochDay = LocalDate.of(year, month, day).toEpochDay();
        return ((epochDay * 24 + hour) * 60 + minute) * 60_000L + second * 1000L + millis;
    }

    /** The value of count ASCII digits at s[from], or -1 if one is not a digit. */
    private static int digits(String s, int from, int count) {
        int v = 0;
        for (int i = from; i < from + count; i++) {
            int d = s.charAt(i) - '0';
            if (d < 0 || d > 9) return -1;
            v = v * 10 + d;
        }
        return v;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    private static Result reject(DeadLetter.Reason reason, String message, RawRecord raw) {
        return new Result(null, new DeadLetter(reason, message, raw));
    }

    /**
     * Whether the bytes are well-formed UTF-8 as the JDK's strict decoder judges them: no stray
     * continuation bytes, overlong forms, surrogates, code points past U+10FFFF or cut-off
     * sequences. Hand-written because decoding the whole record into a CharBuffer only to throw it
     * away was a visible cost; almost every record is ASCII, checked eight bytes at a time.
     */
    static boolean isValidUtf8(byte[] b) {
        int n = b.length;
        int i = 0;
        while (i < n) {
            if (i + 8 <= n && ((long) LONGS.get(b, i) & 0x8080808080808080L) == 0) {
                i += 8;
                continue;
            }
            int c = b[i] & 0xff;
            if (c < 0x80) {
                i++;
            } else if (c < 0xC2) { // a continuation byte, or the lead of an overlong 2-byte form
                return false;
            } else if (c < 0xE0) {
                if (i + 1 >= n || !continuation(b[i + 1], 0x80, 0xBF)) return false;
                i += 2;
            } else if (c < 0xF0) {
                int lo = c == 0xE0 ? 0xA0 : 0x80; // E0: no overlongs
                int hi = c == 0xED ? 0x9F : 0xBF; // ED: no surrogates
                if (i + 2 >= n || !continuation(b[i + 1], lo, hi) || !continuation(b[i + 2], 0x80, 0xBF)) return false;
                i += 3;
            } else if (c < 0xF5) {
                int lo = c == 0xF0 ? 0x90 : 0x80; // F0: no overlongs
                int hi = c == 0xF4 ? 0x8F : 0xBF; // F4: nothing past U+10FFFF
                if (i + 3 >= n || !continuation(b[i + 1], lo, hi)
                        || !continuation(b[i + 2], 0x80, 0xBF) || !continuation(b[i + 3], 0x80, 0xBF)) return false;
                i += 4;
            } else {
                return false;
            }
        }
        return true;
    }

    private static boolean continuation(byte b, int lo, int hi) {
        int v = b & 0xff;
        return v >= lo && v <= hi;
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
