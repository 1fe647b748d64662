package io.behaviorcep.event;

import io.behaviorcep.event.DeadLetter.Reason;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Every way a record is refused, and what a valid one turns into. */
class EventParserTest {
    /** The wall clock of every test: 2026-03-02T12:00:00Z. */
    static final long NOW = Instant.parse("2026-03-02T12:00:00Z").toEpochMilli();

    static EventParser parser() {
        return new EventParser(EventParser.Limits.defaults(), () -> NOW);
    }

    static EventParser.Result parse(String json) {
        return parser().parse(RawRecord.of(json.getBytes(StandardCharsets.UTF_8)));
    }

    static String track(String extra) {
        return "{\"type\":\"track\",\"event\":\"Product Added\",\"messageId\":\"m-1\",\"userId\":\"u1\","
                + "\"timestamp\":\"2026-03-02T10:00:00Z\"" + (extra.isEmpty() ? "" : "," + extra) + "}";
    }

    static Stream<Arguments> rejected() {
        return Stream.of(
                Arguments.of("not JSON", "hello world", Reason.NOT_JSON),
                Arguments.of("truncated JSON", "{\"type\":\"track\",\"event\":\"Product Ad", Reason.NOT_JSON),
                Arguments.of("trailing content", track("") + " {}", Reason.NOT_JSON),
                Arguments.of("an array", "[" + track("") + "]", Reason.NOT_AN_OBJECT),
                Arguments.of("a bare string", "\"track\"", Reason.NOT_AN_OBJECT),
                Arguments.of("no messageId",
                        "{\"type\":\"track\",\"event\":\"A\",\"userId\":\"u1\",\"timestamp\":\"2026-03-02T10:00:00Z\"}",
                        Reason.MISSING_FIELD),
                Arguments.of("blank messageId",
                        "{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"  \",\"userId\":\"u1\",\"timestamp\":\"2026-03-02T10:00:00Z\"}",
                        Reason.MISSING_FIELD),
                Arguments.of("neither userId nor anonymousId",
                        "{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"m\",\"timestamp\":\"2026-03-02T10:00:00Z\"}",
                        Reason.MISSING_FIELD),
                Arguments.of("blank userId and null anonymousId",
                        "{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"m\",\"userId\":\"\",\"anonymousId\":null,\"timestamp\":\"2026-03-02T10:00:00Z\"}",
                        Reason.MISSING_FIELD),
                Arguments.of("track without event",
                        "{\"type\":\"track\",\"messageId\":\"m\",\"userId\":\"u1\",\"timestamp\":\"2026-03-02T10:00:00Z\"}",
                        Reason.MISSING_FIELD),
                Arguments.of("no timestamp",
                        "{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"m\",\"userId\":\"u1\"}",
                        Reason.MISSING_FIELD),
                Arguments.of("no type",
                        "{\"event\":\"A\",\"messageId\":\"m\",\"userId\":\"u1\",\"timestamp\":\"2026-03-02T10:00:00Z\"}",
                        Reason.MISSING_FIELD),
                Arguments.of("timestamp as a number",
                        "{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"m\",\"userId\":\"u1\",\"timestamp\":1772445600000}",
                        Reason.WRONG_TYPE),
                Arguments.of("properties as a string", track("\"properties\":\"price=3\""), Reason.WRONG_TYPE),
                Arguments.of("context as an array", track("\"context\":[1,2]"), Reason.WRONG_TYPE),
                Arguments.of("messageId as a number",
                        "{\"type\":\"track\",\"event\":\"A\",\"messageId\":17,\"userId\":\"u1\",\"timestamp\":\"2026-03-02T10:00:00Z\"}",
                        Reason.WRONG_TYPE),
                Arguments.of("userId as an object",
                        "{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"m\",\"userId\":{\"id\":1},\"timestamp\":\"2026-03-02T10:00:00Z\"}",
                        Reason.WRONG_TYPE),
                Arguments.of("anonymousId as a number",
                        "{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"m\",\"anonymousId\":5,\"timestamp\":\"2026-03-02T10:00:00Z\"}",
                        Reason.WRONG_TYPE),
                Arguments.of("page name as a number",
                        "{\"type\":\"page\",\"name\":5,\"messageId\":\"m\",\"userId\":\"u1\",\"timestamp\":\"2026-03-02T10:00:00Z\"}",
                        Reason.WRONG_TYPE),
                Arguments.of("unparseable timestamp",
                        "{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"m\",\"userId\":\"u1\",\"timestamp\":\"yesterday\"}",
                        Reason.INVALID_TIMESTAMP),
                Arguments.of("timestamp without an offset",
                        "{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"m\",\"userId\":\"u1\",\"timestamp\":\"2026-03-02T10:00:00\"}",
                        Reason.INVALID_TIMESTAMP),
                Arguments.of("year 1970",
                        "{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"m\",\"userId\":\"u1\",\"timestamp\":\"1970-01-01T00:00:00Z\"}",
                        Reason.INVALID_TIMESTAMP),
                Arguments.of("year 3000",
                        "{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"m\",\"userId\":\"u1\",\"timestamp\":\"3000-01-01T00:00:00Z\"}",
                        Reason.FUTURE_TIMESTAMP),
                Arguments.of("unsupported type",
                        "{\"type\":\"batch\",\"messageId\":\"m\",\"userId\":\"u1\",\"timestamp\":\"2026-03-02T10:00:00Z\"}",
                        Reason.UNSUPPORTED_TYPE),
                Arguments.of("nesting deeper than 16", track("\"properties\":" + nested(20)), Reason.TOO_DEEP));
    }

    /** {"a":{"a":...{"a":1}...}} with {@code depth} objects. */
    static String nested(int depth) {
        return "{\"a\":".repeat(depth) + "1" + "}".repeat(depth);
    }

    @ParameterizedTest(name = "{0} -> {2}")
    @MethodSource("rejected")
    void refusesWithTheRightReason(String what, String json, Reason expected) {
        EventParser.Result r = parse(json);
        assertThat(r.ok()).as(what).isFalse();
        assertThat(r.event).isNull();
        assertThat(r.deadLetter.reason).as(what + ": " + r.deadLetter.message).isEqualTo(expected);
        assertThat(r.deadLetter.message).isNotBlank();
    }

    @Test
    void everyReasonIsProducedByOneOfTheCases() {
        Set<Reason> produced = rejected().map(a -> (Reason) a.get()[2]).collect(Collectors.toCollection(() -> EnumSet.noneOf(Reason.class)));
        produced.add(Reason.TOO_LARGE); // tooLargeRecord below
        assertThat(produced).containsExactlyInAnyOrderElementsOf(DeadLetter.parserReasons());
    }

    @Test
    void emptyRecordIsNotJson() {
        assertThat(parser().parse(RawRecord.of(new byte[0])).deadLetter.reason).isEqualTo(Reason.NOT_JSON);
        assertThat(parser().parse(RawRecord.of(null)).deadLetter.reason).isEqualTo(Reason.NOT_JSON);
    }

    @Test
    void tooLargeRecord() {
        EventParser.Limits limits = EventParser.Limits.defaults();
        limits.maxBytes = 1024;
        String json = track("\"properties\":{\"blob\":\"" + "x".repeat(2000) + "\"}");
        EventParser.Result r = new EventParser(limits, () -> NOW).parse(RawRecord.of(json.getBytes(StandardCharsets.UTF_8)));
        assertThat(r.deadLetter.reason).isEqualTo(Reason.TOO_LARGE);
        assertThat(r.deadLetter.message).contains(Integer.toString(json.length())).contains("1024");

        // exactly at the limit is fine
        limits.maxBytes = json.length();
        assertThat(new EventParser(limits, () -> NOW).parse(RawRecord.of(json.getBytes(StandardCharsets.UTF_8))).ok()).isTrue();
    }

    @Test
    void stringLongerThan64KiBIsTooLarge() {
        String json = track("\"properties\":{\"blob\":\"" + "x".repeat(64 * 1024 + 1) + "\"}");
        EventParser.Result r = parse(json);
        assertThat(r.deadLetter.reason).isEqualTo(Reason.TOO_LARGE);
        assertThat(parse(track("\"properties\":{\"blob\":\"" + "x".repeat(60 * 1024) + "\"}")).ok()).isTrue();
    }

    @Test
    void defaultLimitIs256KiB() {
        String json = track("\"properties\":{\"blob\":\"" + "x".repeat(256 * 1024) + "\"}");
        assertThat(parse(json).deadLetter.reason).isEqualTo(Reason.TOO_LARGE);
    }

    @Test
    void depthLimitCountsTheRootObject() {
        EventParser.Limits limits = EventParser.Limits.defaults();
        limits.maxDepth = 3;
        EventParser p = new EventParser(limits, () -> NOW);
        // root + properties + {"a":..} = 3 levels: allowed
        EventParser.Result ok = p.parse(RawRecord.of(track("\"properties\":{\"a\":{\"b\":1}}").getBytes(StandardCharsets.UTF_8)));
        assertThat(ok.ok()).isTrue();
        assertThat(ok.event.properties).containsEntry("a.b", "1");
        // one more level: refused
        EventParser.Result deep = p.parse(RawRecord.of(track("\"properties\":{\"a\":{\"b\":{\"c\":1}}}").getBytes(StandardCharsets.UTF_8)));
        assertThat(deep.deadLetter.reason).isEqualTo(Reason.TOO_DEEP);
        // arrays count as levels too
        EventParser.Result deepArray = p.parse(RawRecord.of(track("\"properties\":{\"a\":[[1]]}").getBytes(StandardCharsets.UTF_8)));
        assertThat(deepArray.deadLetter.reason).isEqualTo(Reason.TOO_DEEP);
    }

    @Test
    void invalidUtf8IsNotJson() {
        byte[] good = track("\"properties\":{\"name\":\"XX\"}").getBytes(StandardCharsets.UTF_8);
        int at = new String(good, StandardCharsets.UTF_8).indexOf("XX");
        good[at] = (byte) 0xC3;     // a lead byte...
        good[at + 1] = (byte) 0x28; // ...followed by something that is not a continuation byte
        EventParser.Result r = parser().parse(RawRecord.of(good));
        assertThat(r.deadLetter.reason).isEqualTo(Reason.NOT_JSON);
        assertThat(r.deadLetter.message).contains("UTF-8");
    }

    @Test
    void validMultiByteUtf8IsAccepted() {
        EventParser.Result r = parse(track("\"properties\":{\"name\":\"Größe 😀\"}"));
        assertThat(r.ok()).isTrue();
        assertThat(r.event.properties).containsEntry("name", "Größe 😀");
    }

    @Test
    void futureSkewIsMeasuredAgainstTheInjectedWallClock() {
        String at = "{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"m\",\"userId\":\"u1\",\"timestamp\":\"%s\"}";
        // 59 minutes ahead of the wall clock: fine; 61 minutes: a bad device clock
        assertThat(parse(String.format(at, "2026-03-02T12:59:00Z")).ok()).isTrue();
        assertThat(parse(String.format(at, "2026-03-02T13:00:00Z")).ok()).isTrue();
        assertThat(parse(String.format(at, "2026-03-02T13:00:00.001Z")).deadLetter.reason).isEqualTo(Reason.FUTURE_TIMESTAMP);
        // the same record is fine for a parser whose clock is a day later
        EventParser later = new EventParser(EventParser.Limits.defaults(), () -> NOW + Duration.ofDays(1).toMillis());
        assertThat(later.parse(RawRecord.of(String.format(at, "2026-03-02T13:01:00Z").getBytes(StandardCharsets.UTF_8))).ok()).isTrue();
    }

    @Test
    void minTimestampIsInclusive() {
        String at = "{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"m\",\"userId\":\"u1\",\"timestamp\":\"%s\"}";
        assertThat(parse(String.format(at, "2000-01-01T00:00:00Z")).ok()).isTrue();
        assertThat(parse(String.format(at, "1999-12-31T23:59:59.999Z")).deadLetter.reason).isEqualTo(Reason.INVALID_TIMESTAMP);
    }

    @Test
    void deadLetterKeepsTheOriginalBytesAndCoordinates() {
        byte[] key = "u1".getBytes(StandardCharsets.UTF_8);
        byte[] value = {'{', 'n', 'o', 'p', 'e', (byte) 0xFF};
        DeadLetter d = parser().parse(new RawRecord(key, value, "behavior.events", 3, 4711L)).deadLetter;
        assertThat(d.reason).isEqualTo(Reason.NOT_JSON);
        assertThat(d.value).isEqualTo(new byte[] {'{', 'n', 'o', 'p', 'e', (byte) 0xFF});
        assertThat(d.key).isEqualTo("u1".getBytes(StandardCharsets.UTF_8));
        assertThat(d.sourceTopic).isEqualTo("behavior.events");
        assertThat(d.sourcePartition).isEqualTo(3);
        assertThat(d.sourceOffset).isEqualTo(4711L);
    }

    @Test
    void numericUserIdIsAcceptedAsText() {
        EventParser.Result r = parse("{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"m\",\"userId\":12345,\"timestamp\":\"2026-03-02T10:00:00Z\"}");
        assertThat(r.ok()).isTrue();
        assertThat(r.event.userId).isEqualTo("12345");
        assertThat(r.event.userKey).isEqualTo("12345");
    }

    @Test
    void userKeyIsUserIdElseAnonymousId() {
        EventParser.Result both = parse("{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"m\",\"userId\":\"u1\",\"anonymousId\":\"anon-9\","
                + "\"timestamp\":\"2026-03-02T10:00:00Z\"}");
        assertThat(both.event.userKey).isEqualTo("u1");
        assertThat(both.event.userId).isEqualTo("u1");
        assertThat(both.event.anonymousId).isEqualTo("anon-9");

        EventParser.Result anon = parse("{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"m\",\"anonymousId\":\"anon-9\","
                + "\"timestamp\":\"2026-03-02T10:00:00Z\"}");
        assertThat(anon.event.userKey).isEqualTo("anon-9");
        assertThat(anon.event.userId).isNull();

        EventParser.Result blankUser = parse("{\"type\":\"track\",\"event\":\"A\",\"messageId\":\"m\",\"userId\":\" \",\"anonymousId\":\"anon-9\","
                + "\"timestamp\":\"2026-03-02T10:00:00Z\"}");
        assertThat(blankUser.event.userKey).isEqualTo("anon-9");
        assertThat(blankUser.event.userId).isNull();
    }

    @Test
    void trackEventWithNestedPropertiesAndContext() {
        String json = "{\"type\":\"track\",\"event\":\"Order Completed\",\"messageId\":\"m-42\",\"userId\":\"u1\","
                + "\"timestamp\":\"2026-03-02T10:15:30.250+01:00\","
                + "\"properties\":{\"order_id\":\"o-1\",\"revenue\":99.5,\"coupon\":null,\"paid\":true,"
                + "\"shipping\":{\"method\":\"express\",\"address\":{\"city\":\"Lyon\"}},"
                + "\"products\":[{\"sku\":\"a\",\"price\":10},{\"sku\":\"b\",\"price\":89.5}],\"tags\":[\"x\",\"y\"]},"
                + "\"context\":{\"ip\":\"10.0.0.1\",\"page\":{\"path\":\"/checkout\"},\"library\":{\"name\":\"analytics.js\"}}}";
        EventParser.Result r = parse(json);
        assertThat(r.ok()).isTrue();
        assertThat(r.deadLetter).isNull();
        BehaviorEvent e = r.event;
        assertThat(e.type).isEqualTo("track");
        assertThat(e.event).isEqualTo("Order Completed");
        assertThat(e.messageId).isEqualTo("m-42");
        assertThat(e.userKey).isEqualTo("u1");
        assertThat(e.timestamp).isEqualTo(Instant.parse("2026-03-02T09:15:30.250Z").toEpochMilli());
        assertThat(e.properties).isEqualTo(Map.ofEntries(
                Map.entry("order_id", "o-1"),
                Map.entry("revenue", "99.5"),
                Map.entry("paid", "true"),
                Map.entry("shipping.method", "express"),
                Map.entry("shipping.address.city", "Lyon"),
                Map.entry("products.0.sku", "a"),
                Map.entry("products.0.price", "10"),
                Map.entry("products.1.sku", "b"),
                Map.entry("products.1.price", "89.5"),
                Map.entry("tags.0", "x"),
                Map.entry("tags.1", "y")));
        assertThat(e.context).isEqualTo(Map.of("ip", "10.0.0.1", "page.path", "/checkout", "library.name", "analytics.js"));
        assertThat(e.field("properties.products.1.price")).isEqualTo("89.5");
        assertThat(e.numericProperty("revenue")).isEqualTo(99.5);
        assertThat(e.profile).isNull();
    }

    @Test
    void pageEventTakesItsNameAsEvent() {
        EventParser.Result r = parse("{\"type\":\"page\",\"name\":\"Checkout\",\"messageId\":\"p-1\",\"anonymousId\":\"a-1\","
                + "\"timestamp\":\"2026-03-02T10:00:00Z\",\"properties\":{\"path\":\"/checkout\",\"referrer\":\"\"}}");
        assertThat(r.ok()).isTrue();
        assertThat(r.event.type).isEqualTo("page");
        assertThat(r.event.event).isEqualTo("Checkout");
        assertThat(r.event.userKey).isEqualTo("a-1");
        assertThat(r.event.properties).isEqualTo(Map.of("path", "/checkout", "referrer", ""));
        assertThat(r.event.context).isEmpty();

        EventParser.Result unnamed = parse("{\"type\":\"page\",\"messageId\":\"p-2\",\"userId\":\"u\",\"timestamp\":\"2026-03-02T10:00:00Z\"}");
        assertThat(unnamed.ok()).isTrue();
        assertThat(unnamed.event.event).isNull();
    }

    @Test
    void identifyTraitsBecomeProperties() {
        EventParser.Result r = parse("{\"type\":\"identify\",\"messageId\":\"i-1\",\"userId\":\"u7\",\"timestamp\":\"2026-03-02T10:00:00Z\","
                + "\"traits\":{\"email\":\"a@b.c\",\"plan\":{\"name\":\"pro\",\"seats\":5}}}");
        assertThat(r.ok()).isTrue();
        assertThat(r.event.type).isEqualTo("identify");
        assertThat(r.event.event).isNull();
        assertThat(r.event.userKey).isEqualTo("u7");
        assertThat(r.event.properties).isEqualTo(Map.of("email", "a@b.c", "plan.name", "pro", "plan.seats", "5"));
    }

    @Test
    void traitsOfATrackEventAreIgnored() {
        EventParser.Result r = parse(track("\"traits\":{\"email\":\"a@b.c\"}"));
        assertThat(r.ok()).isTrue();
        assertThat(r.event.properties).isEmpty();
    }

    @Test
    void nullPropertiesAndContextAreEmpty() {
        EventParser.Result r = parse(track("\"properties\":null,\"context\":null"));
        assertThat(r.ok()).isTrue();
        assertThat(r.event.properties).isEmpty();
        assertThat(r.event.context).isEmpty();
    }

    @Test
    void anAliasLinksItsPreviousIdAsItsAnonymousId() {
        BehaviorEvent e = parse("{\"type\":\"alias\",\"messageId\":\"m\",\"userId\":\"u1\",\"previousId\":\"a1\",\"timestamp\":\"2026-01-01T00:00:00Z\"}").event;
        assertThat(e.userKey).isEqualTo("u1");
        assertThat(e.anonymousId).isEqualTo("a1");
        // only an alias: another type's previousId is not a Segment field and is ignored
        BehaviorEvent t = parse("{\"type\":\"track\",\"event\":\"X\",\"messageId\":\"m\",\"userId\":\"u1\",\"previousId\":\"a1\",\"timestamp\":\"2026-01-01T00:00:00Z\"}").event;
        assertThat(t.anonymousId).isNull();
        assertThat(parse("{\"type\":\"alias\",\"messageId\":\"m\",\"userId\":\"u1\",\"previousId\":7,\"timestamp\":\"2026-01-01T00:00:00Z\"}").deadLetter.reason)
                .isEqualTo(Reason.WRONG_TYPE);
        assertThat(parse("{\"type\":\"alias\",\"messageId\":\"m\",\"userId\":\"u1\",\"previousId\":\"" + "x".repeat(2000) + "\",\"timestamp\":\"2026-01-01T00:00:00Z\"}").deadLetter.reason)
                .isEqualTo(Reason.TOO_LARGE);
    }
}
