package io.behaviorcep.profile;

import io.behaviorcep.output.OutputJson;
import io.behaviorcep.output.ProfileRecord;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import static io.behaviorcep.profile.ProfileStateSizeTest.D0;
import static io.behaviorcep.profile.ProfileStateSizeTest.MIN;
import static io.behaviorcep.profile.ProfileStateSizeTest.ev;
import static org.assertj.core.api.Assertions.assertThat;

/** The latest events the profile keeps for the read API ({@code user_profiles.recent_events}): bounded, newest first. */
class ProfileRecentEventsTest {

    @Test
    void theTenNewestEventsAreKeptNewestFirstWhateverTheArrivalOrder() {
        ProfileState s = new ProfileState();
        for (int i = 0; i < 25; i++) s.add(ev(D0 + i * MIN, "track", "Event " + i));
        s.add(ev(D0 + 30 * MIN, "page", "Home"));
        s.add(ev(D0 + 17 * MIN + 1, "track", "Late but recent")); // within the ten newest: slotted in by time
        s.add(ev(D0, "track", "Too old")); // older than all ten: not kept

        assertThat(s.recentEventNames).hasSize(ProfileState.RECENT_EVENTS);
        assertThat(s.recentEventNames).containsExactly("page", "Event 24", "Event 23", "Event 22", "Event 21", "Event 20",
                "Event 19", "Event 18", "Late but recent", "Event 17");
        for (int i = 1; i < s.recentEventTimes.length; i++) {
            assertThat(s.recentEventTimes[i]).isLessThanOrEqualTo(s.recentEventTimes[i - 1]);
        }
    }

    @Test
    void longNamesAreCutWithoutSplittingACharacter() {
        ProfileState s = new ProfileState();
        s.add(ev(D0, "track", "x".repeat(63) + "😀" + "y".repeat(1000)));
        assertThat(s.recentEventNames[0]).isEqualTo("x".repeat(63));
        s.add(ev(D0 + 1, "track", "z".repeat(5000)));
        assertThat(s.recentEventNames[0]).hasSize(ProfileState.RECENT_EVENT_NAME_MAX);
    }

    @Test
    void theProfileRecordCarriesThemToUserProfiles() throws Exception {
        ProfileState s = new ProfileState();
        s.add(ev(D0, "page", "Home"));
        s.add(ev(D0 + MIN, "track", "Product Viewed"));
        ProfileRecord r = ProfileRecord.profile("u", s.snapshot()).withRecentEvents(s.recentEventNames, s.recentEventTimes);
        JsonNode doc = OutputJson.MAPPER.readTree(OutputJson.text(OutputJson.profileRecord(r)));
        assertThat(doc.path("recent_events")).hasSize(2);
        assertThat(doc.path("recent_events").get(0).path("event").asText()).isEqualTo("Product Viewed");
        assertThat(doc.path("recent_events").get(0).path("at").asText()).isEqualTo(OutputJson.iso(D0 + MIN));
        assertThat(doc.path("recent_events").get(1).path("event").asText()).isEqualTo("page");
        // the state changing later does not change a record already handed on
        s.add(ev(D0 + 2 * MIN, "track", "Product Added"));
        assertThat(r.recentEventNames).hasSize(2);
    }
}
