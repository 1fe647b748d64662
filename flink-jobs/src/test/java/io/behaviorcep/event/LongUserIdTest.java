package io.behaviorcep.event;

import io.behaviorcep.event.DeadLetter.Reason;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 15: the user id is the key of every output, and a column of b-tree indexes in PostgreSQL
 * (alerts, segment_events, user_segments, user_profiles), whose rows must stay under ~2.7 KB: a 4 KB
 * id failed the committer ("index row size exceeds maximum"). Ids over
 * {@link EventParser#MAX_USER_ID_BYTES} are refused when the event is parsed.
 */
class LongUserIdTest {
    static final long NOW = Instant.parse("2026-03-02T12:00:00Z").toEpochMilli();

    static EventParser.Result parse(String userField, String id) {
        String json = "{\"type\":\"track\",\"event\":\"Product Viewed\",\"messageId\":\"m1\",\"" + userField + "\":\"" + id
                + "\",\"timestamp\":\"2026-03-02T11:00:00Z\"}";
        return new EventParser(EventParser.Limits.defaults(), () -> NOW).parse(RawRecord.of(json.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void userIdsLongerThanTheLimitAreRefusedAtParseTime() {
        for (String field : new String[] {"userId", "anonymousId"}) {
            EventParser.Result r = parse(field, "u".repeat(4096));
            assertThat(r.deadLetter).as(field).isNotNull();
            assertThat(r.deadLetter.reason).isEqualTo(Reason.TOO_LARGE);
            assertThat(r.deadLetter.message).contains(field, Integer.toString(EventParser.MAX_USER_ID_BYTES));
        }
        // the limit is in UTF-8 bytes: 400 three-byte characters are 1,200 bytes
        assertThat(parse("userId", "東".repeat(400)).deadLetter.reason).isEqualTo(Reason.TOO_LARGE);
        assertThat(parse("userId", "東".repeat(341)).event.userKey).hasSize(341);
        assertThat(parse("userId", "u".repeat(EventParser.MAX_USER_ID_BYTES)).event).isNotNull();
        assertThat(parse("anonymousId", "a".repeat(EventParser.MAX_USER_ID_BYTES)).event).isNotNull();
    }
}
