package io.behaviorcep.event;

import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 15: a user id holding a lone surrogate (valid JSON: an escape of one UTF-16 half) came out of
 * Flink's serialisation of the event (UTF-8) as another string, hashed to another key group on the far
 * side of keyBy, and failed the job on every restart ("Key group 75 is not in KeyGroupRange",
 * {@code HostileValidInputIT}). The parser makes user ids well-formed: the key survives the trip.
 */
class UserKeyRoundTripTest {
    static BehaviorEvent parse(String userField, String escapedId) {
        String json = "{\"type\":\"track\",\"event\":\"Product Viewed\",\"messageId\":\"m1\",\"" + userField + "\":\"" + escapedId
                + "\",\"timestamp\":\"2026-03-02T11:00:00Z\"}";
        EventParser.Result r = new EventParser(EventParser.Limits.defaults(), () -> 1_772_452_800_000L).parse(RawRecord.of(json.getBytes(StandardCharsets.UTF_8)));
        assertThat(r.deadLetter).isNull();
        return r.event;
    }

    static BehaviorEvent roundTrip(BehaviorEvent e) throws Exception {
        var s = org.apache.flink.api.common.typeinfo.TypeInformation.of(BehaviorEvent.class)
                .createSerializer(new org.apache.flink.api.common.ExecutionConfig().getSerializerConfig());
        DataOutputSerializer out = new DataOutputSerializer(256);
        s.serialize(e, out);
        return s.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
    }

    @Test
    void userKeysWithLoneSurrogatesSurviveSerialisation() throws Exception {
        for (String[] c : new String[][] {{"userId", "lone\\ud800user"}, {"userId", "low\\udc00"}, {"anonymousId", "\\ud800"},
                {"userId", "end\\ud83d"}, {"userId", "nul\\u0000user"}}) {
            BehaviorEvent e = parse(c[0], c[1]);
            BehaviorEvent back = roundTrip(e);
            assertThat(back.userKey).as(c[1]).isEqualTo(e.userKey);
            assertThat(back.userKey.hashCode()).isEqualTo(e.userKey.hashCode());
        }
        assertThat(parse("userId", "lone\\ud800user").userKey).isEqualTo("lone\uFFFDuser");
        assertThat(parse("userId", "nul\\u0000user").userKey).isEqualTo("nul\u0000user");
        // a pair is a character, kept as it is
        assertThat(parse("userId", "smile\\ud83d\\ude00").userKey).isEqualTo("smile\uD83D\uDE00");
    }
}
