package io.behaviorcep.event;

import io.behaviorcep.pattern.Example;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.testing.HostileCorpus;
import io.behaviorcep.testing.Repo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The streaming {@link EventParser} against the tree-based parser it replaced ({@link TreeEventParser}):
 * for the hostile corpus, every event written in the tests and the pattern examples, and thousands of
 * generated Segment events, good and bad, both must give the same event (every field, maps as maps
 * and in the same iteration order) or the same dead letter (reason and message). Each input is tried
 * under the default limits and under small ones, so the string, depth and size limits are hit often.
 */
class EventParserDifferentialTest {
    static final long NOW = Instant.parse("2026-03-02T12:00:00Z").toEpochMilli();

    /** The default limits, and small ones that cheap inputs reach. */
    static List<EventParser.Limits> limits() {
        EventParser.Limits small = EventParser.Limits.defaults();
        small.maxDepth = 4;
        small.maxStringLength = 40;
        small.maxBytes = 4096;
        EventParser.Limits tiny = EventParser.Limits.defaults();
        tiny.maxDepth = 2;
        tiny.maxStringLength = 6; // shorter than many numbers: Jackson checks their text too
        tiny.maxFutureSkew = Duration.ZERO;
        tiny.minTimestamp = Instant.parse("2026-03-01T00:00:00Z");
        return List.of(EventParser.Limits.defaults(), small, tiny);
    }

    /** Differences found, described for people; empty when both parsers agree on every input. */
    static List<String> differences(Stream<byte[]> inputs) {
        List<EventParser.Limits> limits = limits();
        List<EventParser> fast = limits.stream().map(l -> new EventParser(l, () -> NOW)).toList();
        List<TreeEventParser> tree = limits.stream().map(l -> new TreeEventParser(l, () -> NOW)).toList();
        List<String> differences = new ArrayList<>();
        inputs.forEach(bytes -> {
            for (int i = 0; i < limits.size(); i++) {
                RawRecord raw = new RawRecord(new byte[] {1}, bytes, "t", 3, 7);
                String d = difference(tree.get(i).parse(raw), fast.get(i).parse(raw));
                if (d != null && differences.size() < 20) {
                    differences.add("limits #" + i + ", input " + show(bytes) + ":\n    " + d);
                }
            }
        });
        return differences;
    }

    static String difference(TreeEventParser.Result expected, EventParser.Result actual) {
        if (expected.ok() != actual.ok()) {
            return "tree " + describe(expected.event, expected.deadLetter) + ", streaming " + describe(actual.event, actual.deadLetter);
        }
        if (!expected.ok()) {
            DeadLetter a = expected.deadLetter;
            DeadLetter b = actual.deadLetter;
            boolean same = a.reason == b.reason && a.message.equals(b.message) && a.value == b.value && a.key == b.key
                    && a.sourceTopic.equals(b.sourceTopic) && a.sourcePartition == b.sourcePartition && a.sourceOffset == b.sourceOffset;
            return same ? null : "tree " + a + ", streaming " + b;
        }
        BehaviorEvent a = expected.event;
        BehaviorEvent b = actual.event;
        boolean same = Objects.equals(a.messageId, b.messageId) && Objects.equals(a.userKey, b.userKey)
                && Objects.equals(a.userId, b.userId) && Objects.equals(a.anonymousId, b.anonymousId)
                && Objects.equals(a.type, b.type) && Objects.equals(a.event, b.event) && a.timestamp == b.timestamp
                && a.properties.equals(b.properties) && a.context.equals(b.context) && a.profile == b.profile
                // not required, but free to keep: the same HashMap iteration order
                && List.copyOf(a.properties.keySet()).equals(List.copyOf(b.properties.keySet()))
                && List.copyOf(a.context.keySet()).equals(List.copyOf(b.context.keySet()));
        return same ? null : "tree " + fields(a) + "\n    streaming " + fields(b);
    }

    static String describe(BehaviorEvent e, DeadLetter d) {
        return e != null ? fields(e) : d.toString();
    }

    static String fields(BehaviorEvent e) {
        return e.type + "/" + e.event + " id=" + e.messageId + " user=" + e.userId + " anon=" + e.anonymousId + " key=" + e.userKey
                + " ts=" + e.timestamp + " properties=" + e.properties + " context=" + e.context;
    }

    static String show(byte[] bytes) {
        String s = new String(bytes, StandardCharsets.UTF_8);
        return (s.length() > 300 ? s.substring(0, 300) + "...(" + bytes.length + " bytes)" : s) + " [" + HexFormat.of().formatHex(bytes, 0, Math.min(bytes.length, 40)) + "]";
    }

    // ---- the inputs

    @Test
    void agreeOnTheHostileCorpus() throws IOException {
        List<HostileCorpus.Entry> corpus = HostileCorpus.load();
        assertThat(corpus).hasSizeGreaterThan(76);
        List<String> d = differences(corpus.stream().map(HostileCorpus.Entry::value).filter(Objects::nonNull));
        assertThat(d).as("hostile corpus").isEmpty();
        // records without a value (tombstones) too
        assertThat(differences(Stream.of(new byte[0]))).isEmpty();
    }

    @Test
    void agreeOnEveryEventWrittenInTheTests() throws IOException {
        List<byte[]> inputs = new ArrayList<>();
        EventParserTest.rejected().forEach(a -> inputs.add(((String) a.get()[1]).getBytes(StandardCharsets.UTF_8)));
        // every string literal of the test sources that looks like (part of) an event: complete ones
        // parse, the pieces of concatenations are bad input of their own
        Pattern literal = Pattern.compile("\"((?:[^\"\\\\\\n]|\\\\.)*)\"");
        try (Stream<Path> files = Files.walk(Path.of("src/test/java"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                Matcher m = literal.matcher(Files.readString(f));
                while (m.find()) {
                    String s = unescapeJava(m.group(1));
                    if (s.startsWith("{") || s.startsWith("[") || s.contains("\"type\"") || s.contains("\"timestamp\"")) {
                        inputs.add(s.getBytes(StandardCharsets.UTF_8));
                    }
                }
            }
        }
        assertThat(inputs).hasSizeGreaterThan(50);
        assertThat(differences(inputs.stream())).as("events of the tests").isEmpty();
    }

    @Test
    void agreeOnThePatternExamples() {
        ObjectMapper mapper = new ObjectMapper();
        Instant t0 = Instant.parse("2026-03-02T10:00:00Z");
        List<byte[]> inputs = new ArrayList<>();
        for (PatternDefinition pattern : Repo.shippedPatterns()) {
            for (Example example : pattern.examples) {
                for (Example.Event e : example.events) {
                    ObjectNode n = mapper.valueToTree(e.json());
                    n.put("messageId", e.messageId() != null ? e.messageId() : "m" + inputs.size());
                    n.put("userId", e.user() != null ? e.user() : "u1");
                    n.put("timestamp", t0.plusMillis(e.at()).toString());
                    inputs.add(n.toString().getBytes(StandardCharsets.UTF_8));
                }
            }
        }
        assertThat(inputs).hasSizeGreaterThan(20);
        assertThat(differences(inputs.stream())).as("pattern examples").isEmpty();
    }

    @Test
    void agreeOnGeneratedEvents() {
        SegmentEvents events = new SegmentEvents(new Random(20260302L));
        List<byte[]> inputs = new ArrayList<>();
        for (int i = 0; i < 6000; i++) inputs.add(events.next());
        Map<String, Integer> verdicts = new java.util.TreeMap<>();
        EventParser parser = new EventParser(EventParser.Limits.defaults(), () -> NOW);
        for (byte[] in : inputs) {
            EventParser.Result r = parser.parse(RawRecord.of(in));
            verdicts.merge(r.ok() ? "OK" : r.deadLetter.reason.name(), 1, Integer::sum);
        }
        // both halves matter: valid events with every shape of properties, and every kind of refusal
        assertThat(verdicts.get("OK")).as("generated events accepted, of " + verdicts).isBetween(1500, 4500);
        assertThat(verdicts).as("every reason").containsKeys(DeadLetter.parserReasons().stream().map(Enum::name).toArray(String[]::new));
        assertThat(differences(inputs.stream())).as("generated events").isEmpty();
    }

    // ---- the fast paths on their own

    @Test
    void fastTimestampsAreJavaTimesInstantsAndOnlyThose() {
        Random r = new Random(7);
        int fast = 0;
        List<String> wrong = new ArrayList<>();
        List<String> candidates = new ArrayList<>(List.of(
                "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-03-02T24:00:00Z",
                "2026-03-02T23:59:60Z", "2026-03-02T23:60:00Z", "2026-03-02T10:00:00.Z", "2026-03-02T10:00:00.1234567890Z",
                "2026-03-02t10:00:00Z", "2026-03-02T10:00:00z", "2026-03-02T10:00Z", "0000-01-01T00:00:00Z",
                "9999-12-31T23:59:59.999999999Z", "+10000-01-01T00:00:00Z", "2026-03-02T10:00:00+00:00", "1999-12-31T23:59:59.999Z",
                "2026-00-10T00:00:00Z", "2026-13-10T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-32T00:00:00Z",
                "2026-03-02 10:00:00Z", "2026-3-02T10:00:00Z", "２０２６-03-02T10:00:00Z", "2025-01-06T07:59:56.193Z",
                "1900-02-29T00:00:00Z", "2000-02-29T00:00:00Z", "1970-01-01T00:00:00.000Z", "1969-12-31T23:59:59.999Z"));
        for (int i = 0; i < 60_000; i++) candidates.add(SegmentEvents.timestamp(r));
        for (String s : candidates) {
            long millis = EventParser.fastIsoUtcMillis(s);
            if (millis == Long.MIN_VALUE) continue;
            fast++;
            try {
                long expected = OffsetDateTime.parse(s).toInstant().toEpochMilli();
                if (expected != millis) wrong.add(s + ": " + millis + " instead of " + expected);
            } catch (DateTimeParseException | ArithmeticException e) {
                wrong.add(s + ": accepted, java.time refuses it (" + e.getMessage() + ")");
            }
        }
        assertThat(wrong).isEmpty();
        assertThat(fast).as("timestamps taking the fast path").isGreaterThan(15_000);
        assertThat(EventParser.fastIsoUtcMillis("2025-01-06T07:59:56.193Z")).isEqualTo(Instant.parse("2025-01-06T07:59:56.193Z").toEpochMilli());
        assertThat(EventParser.fastIsoUtcMillis("2024-02-29T23:59:59.9999Z")).isEqualTo(Instant.parse("2024-02-29T23:59:59.999Z").toEpochMilli());
        // what the fast path leaves to java.time, valid or not
        for (String other : List.of("2026-03-02T10:00:00+01:00", "2026-03-02t10:00:00Z", "2026-03-02T10:00Z", "2023-02-29T00:00:00Z",
                "2026-03-02T10:00:00.Z", "2026-03-02T24:00:00Z", "+10000-01-01T00:00:00Z")) {
            assertThat(EventParser.fastIsoUtcMillis(other)).as(other).isEqualTo(Long.MIN_VALUE);
        }
    }

    @Test
    void utf8CheckIsTheJdkDecoders() {
        List<String> wrong = new ArrayList<>();
        // every 1- and 2-byte input, every 3-byte input that starts with a multi-byte lead
        for (int a = 0; a < 256; a++) {
            check(new byte[] {(byte) a}, wrong);
            for (int b = 0; b < 256; b++) {
                check(new byte[] {(byte) a, (byte) b}, wrong);
                if (a >= 0xC0) {
                    for (int c = 0; c < 256; c++) check(new byte[] {(byte) a, (byte) b, (byte) c}, wrong);
                }
            }
        }
        // 4-byte leads with every second byte, then random tails; behind ASCII of every length, for the 8-byte steps
        Random r = new Random(11);
        for (int i = 0; i < 200_000; i++) {
            int ascii = r.nextInt(20);
            byte[] b = new byte[ascii + 1 + r.nextInt(6)];
            for (int j = 0; j < ascii; j++) b[j] = (byte) ('a' + r.nextInt(26));
            b[ascii] = (byte) (0xC0 + r.nextInt(64));
            for (int j = ascii + 1; j < b.length; j++) b[j] = (byte) (r.nextInt(4) == 0 ? r.nextInt(256) : 0x80 + r.nextInt(64));
            check(b, wrong);
        }
        assertThat(wrong).isEmpty();
    }

    // what EventParser once did: CharsetDecoder.decode(ByteBuffer) with REPORT, here without the cost of its exceptions
    private static final CharsetDecoder UTF8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private static final CharBuffer CHARS = CharBuffer.allocate(64);

    private static void check(byte[] b, List<String> wrong) {
        UTF8.reset();
        CHARS.clear();
        boolean jdk = !UTF8.decode(ByteBuffer.wrap(b), CHARS, true).isError() && !UTF8.flush(CHARS).isError();
        if (EventParser.isValidUtf8(b) != jdk && wrong.size() < 20) wrong.add(HexFormat.of().formatHex(b) + ": the JDK says " + jdk);
    }

    static String unescapeJava(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '\\' || i + 1 == s.length()) {
                b.append(c);
                continue;
            }
            char n = s.charAt(++i);
            switch (n) {
                case 'n' -> b.append('\n');
                case 't' -> b.append('\t');
                case 'r' -> b.append('\r');
                case 'b' -> b.append('\b');
                case 'f' -> b.append('\f');
                case 'u' -> {
                    b.append((char) Integer.parseInt(s.substring(i + 1, i + 5), 16));
                    i += 4;
                }
                default -> b.append(n);
            }
        }
        return b.toString();
    }

    /**
     * Segment events from a seeded generator: mostly plausible, with random nesting of properties,
     * traits and context, numbers in every JSON form, escapes and non-ASCII text, repeated keys, and
     * every way to be wrong: missing, null, blank and wrong-typed fields, bad timestamps, truncation,
     * invalid UTF-8, trailing content, nesting at and past the limits, over-long strings and numbers.
     * Written by hand rather than by Jackson, to write what Jackson would not (repeated keys, 1e3, -0).
     */
    static final class SegmentEvents {
        private static final String[] TYPES = {"track", "track", "track", "page", "screen", "identify", "group", "alias"};
        private static final String[] KEYS = {"a", "b", "price", "products", "product_id", "0", "1", "", ".", "a.b", "a.0", "é", "k\\u00e9y",
                "x y", "\\\"q\\\"", "😀", "name", "currency", "items", "id"};
        private static final String[] NUMBERS = {"0", "-0", "1", "-1", "1.0", "-0.0", "0.0", "1e3", "1E+3", "1e-3", "2.5E-10", "12345678901234567890",
                "-12345678901234567890", "2147483647", "2147483648", "-2147483648", "-2147483649", "9223372036854775807",
                "9223372036854775808", "-9223372036854775809", "1.5e308", "1e400", "-1e400", "4.9e-325", "0.1", "19.99", "100",
                "3.14159265358979323846264338327950288", "123456789.123456789e-5", "1" + "0".repeat(40), "0." + "0".repeat(30) + "1"};
        private static final String[] BAD_NUMBERS = {"01", "1.", ".5", "+1", "NaN", "Infinity", "-Infinity", "1e", "-", "0x10", "1" + "2".repeat(1200)};
        private static final String[] STRINGS = {"", " ", "x", "Product Added", "Größe", "😀", "中文", "a\\nb", "tab\\there", "q\\\"uote",
                "back\\\\slash", "\\/", "\\u0041", "\\u00e9", "\\ud83d\\ude00", "\\ud800", "\\u0000", "https://shop.example/a?b=c&d=e",
                "USD", "p1", "  padded  "};

        private final Random r;
        private int seq;

        SegmentEvents(Random r) {
            this.r = r;
        }

        byte[] next() {
            seq++;
            int shape = r.nextInt(100);
            if (shape < 2) return pick("", " ", "null", "1", "\"x\"", "true", "[]", "{}", "[1,{\"a\":2}]", "\"" + "s".repeat(50) + "\"",
                    "{} {}", "{}]", "\uFEFF{}", "{\"type\":\"track\"}/*c*/", "1e3", "-0").getBytes(StandardCharsets.UTF_8);
            byte[] bytes = event().getBytes(StandardCharsets.UTF_8);
            if (shape < 12) return mutate(bytes);
            return bytes;
        }

        private String event() {
            StringBuilder b = new StringBuilder(512);
            b.append(ws()).append('{');
            List<Runnable> fields = new ArrayList<>();
            String type = r.nextInt(25) == 0 ? pick("batch", "", " ", "Track") : pick(TYPES);
            boolean track = "track".equals(type);
            field(fields, b, "type", 99, () -> b.append(str(type)));
            field(fields, b, "messageId", 98, () -> b.append(r.nextInt(30) == 0 ? pick("\"\"", "\"  \"") : str("m-" + seq)));
            field(fields, b, "userId", 88, () -> b.append(r.nextInt(6) == 0 ? pick(NUMBERS) : r.nextInt(30) == 0 ? "\"\"" : str("u" + r.nextInt(1000))));
            field(fields, b, "anonymousId", 50, () -> b.append(r.nextInt(30) == 0 ? "\" \"" : str("a-" + r.nextInt(1000))));
            field(fields, b, track ? "event" : "name", 96, () -> b.append(r.nextInt(30) == 0 ? "\"\"" : str(pick("Product Added", "Order Completed", "Home", "Größe 😀"))));
            if (r.nextInt(10) == 0) field(fields, b, track ? "name" : "event", 100, () -> b.append(str("other")));
            field(fields, b, "timestamp", 98, () -> b.append(r.nextInt(40) == 0 ? pick(NUMBERS) : str(timestamp(r))));
            field(fields, b, "properties", 85, () -> object(b, 1, 4));
            field(fields, b, "context", 60, () -> object(b, 1, 3));
            field(fields, b, "traits", track ? 10 : 50, () -> object(b, 1, 3));
            if (r.nextInt(3) == 0) field(fields, b, "integrations", 100, () -> object(b, 1, 2));
            if (r.nextInt(3) == 0) field(fields, b, "sentAt", 100, () -> b.append(str(timestamp(r))));
            if (r.nextInt(4) == 0) field(fields, b, "version", 100, () -> b.append(pick(NUMBERS)));
            if (r.nextInt(8) == 0) field(fields, b, "deep", 100, () -> deep(b));
            if (r.nextInt(20) == 0) field(fields, b, pick("properties", "context", "traits"), 100, () -> deep(b));
            java.util.Collections.shuffle(fields, r);
            for (int i = 0; i < fields.size(); i++) {
                if (i > 0) b.append(',').append(ws());
                fields.get(i).run();
            }
            return b.append(ws()).append('}').append(ws()).toString();
        }

        /** Adds a field with the given chance, sometimes null, wrong-typed or repeated. */
        private void field(List<Runnable> fields, StringBuilder b, String name, int percent, Runnable value) {
            if (r.nextInt(100) >= percent) return;
            int copies = r.nextInt(25) == 0 ? 2 : 1;
            for (int i = 0; i < copies; i++) {
                fields.add(() -> {
                    b.append('"').append(name).append('"').append(ws()).append(':').append(ws());
                    int odd = r.nextInt(70);
                    if (odd == 0) b.append("null");
                    else if (odd == 1) b.append(pick("true", "false", "[]", "[1,\"a\"]", "{}", "{\"a\":1}", "7", "\"\""));
                    else value.run();
                });
            }
        }

        private void object(StringBuilder b, int depth, int maxDepth) {
            b.append('{');
            int n = r.nextInt(depth == 1 ? 7 : 4);
            for (int i = 0; i < n; i++) {
                if (i > 0) b.append(',').append(ws());
                b.append('"').append(r.nextInt(3) == 0 ? pick(KEYS) : KEYS[r.nextInt(6)]).append('"').append(ws()).append(':').append(ws());
                value(b, depth, maxDepth);
            }
            b.append('}');
        }

        private void array(StringBuilder b, int depth, int maxDepth) {
            b.append('[');
            int n = r.nextInt(4);
            for (int i = 0; i < n; i++) {
                if (i > 0) b.append(',').append(ws());
                value(b, depth, maxDepth);
            }
            b.append(']');
        }

        private void value(StringBuilder b, int depth, int maxDepth) {
            int k = r.nextInt(depth >= maxDepth ? 7 : 10);
            switch (k) {
                case 0, 1 -> b.append('"').append(r.nextInt(15) == 0 ? longString() : pick(STRINGS)).append('"');
                case 2 -> b.append(r.nextInt(60) == 0 ? pick(BAD_NUMBERS) : pick(NUMBERS));
                case 3 -> b.append(r.nextInt(10000) / 100.0);
                case 4 -> b.append(pick("true", "false"));
                case 5 -> b.append("null");
                case 6 -> b.append(pick("{}", "[]", "[[]]", "{\"\":{}}"));
                case 7, 8 -> object(b, depth + 1, maxDepth);
                default -> array(b, depth + 1, maxDepth);
            }
        }

        /** Around the small limit's 40 characters, or past the default 64 KiB. */
        private String longString() {
            if (r.nextInt(50) == 0) return "y".repeat(64 * 1024 - 2 + r.nextInt(5));
            return "x".repeat(30 + r.nextInt(20)) + (r.nextBoolean() ? "é" : "\\u00e9");
        }

        /** Nested objects and arrays around the depth limits (2, 4, 16, counting the root). */
        private void deep(StringBuilder b) {
            int depth = pick(new int[] {1, 2, 3, 4, 14, 15, 16, 17, 40});
            StringBuilder close = new StringBuilder();
            for (int i = 0; i < depth; i++) {
                if (r.nextBoolean()) {
                    b.append("{\"").append(pick("a", "0", "")).append("\":");
                    close.insert(0, '}');
                } else {
                    b.append('[');
                    if (r.nextBoolean()) b.append("1,");
                    close.insert(0, ']');
                }
            }
            b.append(pick("1", "\"s\"", "null", "{}", "[]")).append(close);
        }

        static String timestamp(Random r) {
            int form = r.nextInt(100);
            int year = form < 70 ? 2025 : r.nextInt(10) == 0 ? r.nextInt(10000) : 1995 + r.nextInt(40);
            int month = r.nextInt(30) == 0 ? r.nextInt(14) : 1 + r.nextInt(12);
            int day = r.nextInt(8) == 0 ? 28 + r.nextInt(5) : r.nextInt(40) == 0 ? r.nextInt(33) : 1 + r.nextInt(28);
            int hour = r.nextInt(30) == 0 ? 24 : r.nextInt(24);
            int minute = r.nextInt(40) == 0 ? 60 : r.nextInt(60);
            int second = r.nextInt(40) == 0 ? 60 : r.nextInt(60);
            if (form < 60 && r.nextBoolean()) { // near the test clock: around the future-skew boundary
                year = 2026;
                month = 3;
                day = 2;
                hour = 11 + r.nextInt(3);
            }
            String date = String.format("%04d-%02d-%02d", year, month, day);
            String time = String.format("%02d:%02d:%02d", hour, minute, second);
            int digits = r.nextInt(11);
            String fraction = digits == 0 ? "" : "." + String.format("%010d", Math.abs(r.nextLong()) % 10_000_000_000L).substring(0, Math.min(digits, 10));
            if (digits == 10 && r.nextBoolean()) fraction = ".";
            String zone = form < 85 ? "Z" : pick(r, "+00:00", "+01:00", "-05:30", "+0100", "+01", "z", "", "+18:00", "+19:00", " Z", "Z ");
            String t = r.nextInt(60) == 0 ? "t" : r.nextInt(60) == 0 ? " " : "T";
            if (r.nextInt(80) == 0) time = time.substring(0, 5); // no seconds
            if (r.nextInt(100) == 0) return pick(r, "yesterday", "", "+10000-01-01T00:00:00Z", "-0001-01-01T00:00:00Z", "2026-03-02",
                    "２０２６-03-02T10:00:00Z", "+999999999-12-31T23:59:59Z", "2026-3-2T10:00:00Z");
            return date + t + time + fraction + zone;
        }

        /** Bytes gone wrong: cut short, a byte replaced, invalid UTF-8 put in, content after the end, or wrapped. */
        private byte[] mutate(byte[] in) {
            switch (r.nextInt(6)) {
                case 0:
                    return java.util.Arrays.copyOf(in, r.nextInt(in.length));
                case 1: {
                    byte[] b = in.clone();
                    b[r.nextInt(b.length)] = (byte) r.nextInt(256);
                    return b;
                }
                case 2: {
                    byte[][] invalid = {{(byte) 0xC0, (byte) 0x80}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80},
                            {(byte) 0x80}, {(byte) 0xFF}, {(byte) 0xE2, (byte) 0x82}, {(byte) 0xC3, (byte) 0x28}, {(byte) 0xE0, (byte) 0x9F, (byte) 0xBF}};
                    byte[] insert = invalid[r.nextInt(invalid.length)];
                    int at = r.nextInt(in.length + 1);
                    byte[] b = new byte[in.length + insert.length];
                    System.arraycopy(in, 0, b, 0, at);
                    System.arraycopy(insert, 0, b, at, insert.length);
                    System.arraycopy(in, at, b, at + insert.length, in.length - at);
                    return b;
                }
                case 3:
                    return (new String(in, StandardCharsets.UTF_8) + pick(" {}", " x", "\n", "]", "}", " 1", " \"s\"", "\t\n ", " null"))
                            .getBytes(StandardCharsets.UTF_8);
                case 4:
                    return ("[" + new String(in, StandardCharsets.UTF_8) + "]").getBytes(StandardCharsets.UTF_8);
                default:
                    return in;
            }
        }

        private String str(String s) {
            return '"' + s + '"';
        }

        private String ws() {
            return r.nextInt(10) == 0 ? pick(" ", "\n", "\t", "  \r\n") : "";
        }

        private String pick(String... options) {
            return pick(r, options);
        }

        private int pick(int[] options) {
            return options[r.nextInt(options.length)];
        }

        static String pick(Random r, String... options) {
            return options[r.nextInt(options.length)];
        }
    }
}
