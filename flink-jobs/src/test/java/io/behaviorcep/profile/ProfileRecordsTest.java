package io.behaviorcep.profile;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.output.ProfileRecord;
import io.behaviorcep.pattern.Durations;
import io.behaviorcep.privacy.PrivacyRules;
import io.behaviorcep.output.OutputJson;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static io.behaviorcep.profile.ProfileState.HOUR;
import static org.assertj.core.api.Assertions.assertThat;

/** Records for {@code user_profiles}: at most one per user per write interval of event time, and the latest state always written. */
class ProfileRecordsTest {
    static final long D0 = Instant.parse("2026-03-02T00:00:00Z").toEpochMilli();
    static final long MIN = 60_000L;

    static KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent> harness(Duration interval) throws Exception {
        ProfileOptions options = new ProfileOptions(Duration.ofDays(30), List.of(), interval, PrivacyRules.defaults());
        var h = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(new ProfileFunction(options)),
                (BehaviorEvent e) -> e.userKey, Types.STRING);
        h.open();
        return h;
    }

    static BehaviorEvent page(String user, long ts) {
        BehaviorEvent e = new BehaviorEvent();
        e.type = "page";
        e.event = "Home";
        e.messageId = user + "-" + ts;
        e.userId = user;
        e.userKey = user;
        e.timestamp = ts;
        return e;
    }

    static List<ProfileRecord> records(KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent> h) {
        var q = h.getSideOutput(ProfileFunction.PROFILE_RECORDS);
        return q == null ? List.of() : q.stream().map(StreamRecord::getValue).toList();
    }

    @Test
    void atMostOncePerIntervalAndTheLastStateAfterTheInterval() throws Exception {
        var h = harness(Duration.ofMinutes(15));
        try {
            // an event every minute from 10:00 to 11:59, the watermark right behind
            for (int m = 0; m < 120; m++) {
                long t = D0 + 10 * HOUR + m * MIN;
                h.processElement(new StreamRecord<>(page("u1", t), t));
                h.processWatermark(t);
            }
            List<ProfileRecord> during = records(h);
            assertThat(during).extracting(r -> Durations.formatOffset(r.at - D0))
                    .containsExactly("+10h", "+10h15m", "+10h30m", "+10h45m", "+11h", "+11h15m", "+11h30m", "+11h45m");
            // the events after 11:45 are written once the interval is over, with nothing more from the user
            h.processWatermark(D0 + 12 * HOUR - 1);
            assertThat(records(h)).hasSize(8);
            h.processWatermark(D0 + 12 * HOUR);
            List<ProfileRecord> all = records(h);
            assertThat(all).hasSize(9);
            ProfileRecord last = all.get(8);
            assertThat(last.at).isEqualTo(D0 + 12 * HOUR);
            assertThat(last.profile.asOf).isEqualTo(D0 + 12 * HOUR);
            assertThat(last.profile.eventsLifetime).isEqualTo(120);
            assertThat(last.profile.lastSeen).isEqualTo(D0 + 11 * HOUR + 59 * MIN);
            assertThat(last.profile.events1h).as("as of 12:00, the 12 five-minute slots up to 12:00-12:05: 11:05 .. 11:59").isEqualTo(55);
            // nothing new: nothing more written
            h.processWatermark(D0 + 20 * HOUR);
            assertThat(records(h)).hasSize(9);
            for (int i = 1; i < all.size(); i++) assertThat(all.get(i).at - all.get(i - 1).at).isGreaterThanOrEqualTo(15 * MIN);

            // as the sink stores it
            JsonNode doc = OutputJson.MAPPER.readTree(OutputJson.profileRecord(last).toString());
            assertThat(doc.get("kind").asText()).isEqualTo("profile");
            assertThat(doc.get("user_id").asText()).isEqualTo("u1");
            assertThat(doc.get("version").asLong()).isEqualTo(D0 + 12 * HOUR);
            assertThat(doc.get("as_of").asText()).isEqualTo("2026-03-02T12:00:00Z");
            assertThat(doc.get("profile").get("events_lifetime").asLong()).isEqualTo(120);
        } finally {
            h.close();
        }
    }

    @Test
    void noRecordsWithoutAWriteInterval() throws Exception {
        var h = harness(null);
        try {
            h.processElement(new StreamRecord<>(page("u1", D0), D0));
            h.processWatermark(D0 + HOUR);
            assertThat(records(h)).isEmpty();
            assertThat(h.numEventTimeTimers()).isEqualTo(1); // the cleanup only
        } finally {
            h.close();
        }
    }
}
