package io.behaviorcep.policy;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The policy's rules one by one, on plain state: caps per channel, priorities, quiet hours and time zones. */
class MessagingPolicyTest {
    static final long MIN = 60_000L;
    static final long HOUR = 60 * MIN;

    /** What the policy did, in order. */
    static final class Recorded implements MessagingPolicy.Out {
        final List<String> sent = new ArrayList<>();
        final List<AlertDecision> decisions = new ArrayList<>();
        final List<Long> timers = new ArrayList<>();

        @Override
        public void send(Candidate alert) {
            sent.add(alert.alertId());
        }

        @Override
        public void record(AlertDecision d) {
            decisions.add(d);
        }

        @Override
        public void timer(long at) {
            timers.add(at);
        }

        List<String> reasons() {
            return decisions.stream().map(d -> d.alertId + ":" + d.reason).toList();
        }
    }

    static PolicyDefinition policy(String yaml) {
        return PolicyFile.parse("policy.yaml", yaml.getBytes(StandardCharsets.UTF_8)).orThrow();
    }

    static Candidate alert(String id, String type, String instant, String zone) {
        long at = Instant.parse(instant).toEpochMilli();
        return new Candidate(id, type + "-pattern", 1, type, "u1", at, zone, "{}");
    }

    static long t(String instant) {
        return Instant.parse(instant).toEpochMilli();
    }

    static final String CAP_AND_PRIORITY = """
            kind: policy
            compete_within: 1h
            priorities: [checkout_abandoned, cart_abandoned]
            channels:
              - name: default
                cap: {max: 2, per: 24h}
            """;

    @Test
    void theCapCountsAlertsOfEveryPatternOnTheChannelInASlidingWindow() {
        MessagingPolicy p = new MessagingPolicy(policy(CAP_AND_PRIORITY));
        PolicyState s = new PolicyState();
        Recorded out = new Recorded();
        p.decide(List.of(alert("a1", "cart_abandoned", "2026-03-02T09:00:00Z", null)), t("2026-03-02T09:00:00Z"), s, out);
        p.decide(List.of(alert("a2", "browse", "2026-03-02T12:00:00Z", null)), t("2026-03-02T12:00:00Z"), s, out);
        p.decide(List.of(alert("a3", "checkout_abandoned", "2026-03-02T15:00:00Z", null)), t("2026-03-02T15:00:00Z"), s, out);
        // 24 h after the first send it no longer counts; the window is (t - 24h, t]
        p.decide(List.of(alert("a4", "browse", "2026-03-03T09:00:00Z", null)), t("2026-03-03T09:00:00Z"), s, out);
        p.decide(List.of(alert("a5", "browse", "2026-03-03T11:59:59Z", null)), t("2026-03-03T11:59:59Z"), s, out);

        assertThat(out.sent).containsExactly("a1", "a2", "a4");
        assertThat(out.reasons()).containsExactly("a3:global_cap", "a5:global_cap");
        assertThat(out.decisions.get(0).decidedAt).isEqualTo(t("2026-03-02T15:00:00Z"));
    }

    @Test
    void atOneInstantTheHighestPriorityWinsAndTheOthersAreRecordedWithTheWinner() {
        MessagingPolicy p = new MessagingPolicy(policy(CAP_AND_PRIORITY));
        PolicyState s = new PolicyState();
        Recorded out = new Recorded();
        String at = "2026-03-02T09:00:00Z";
        p.decide(new ArrayList<>(List.of(alert("low", "other", at, null), alert("cart", "cart_abandoned", at, null),
                alert("checkout", "checkout_abandoned", at, null))), t(at), s, out);

        assertThat(out.sent).containsExactly("checkout");
        assertThat(out.reasons()).containsExactlyInAnyOrder("cart:priority", "low:priority");
        assertThat(out.decisions).allSatisfy(d -> assertThat(d.winnerAlertId).isEqualTo("checkout"));
    }

    @Test
    void aLowerPriorityWithinCompeteWithinOfASentAlertIsSuppressedButAHigherOneIsNot() {
        MessagingPolicy p = new MessagingPolicy(policy(CAP_AND_PRIORITY.replace("max: 2", "max: 10")));
        PolicyState s = new PolicyState();
        Recorded out = new Recorded();
        p.decide(List.of(alert("cart1", "cart_abandoned", "2026-03-02T09:00:00Z", null)), t("2026-03-02T09:00:00Z"), s, out);
        p.decide(List.of(alert("checkout", "checkout_abandoned", "2026-03-02T09:10:00Z", null)), t("2026-03-02T09:10:00Z"), s, out);
        p.decide(List.of(alert("cart2", "cart_abandoned", "2026-03-02T10:10:00Z", null)), t("2026-03-02T10:10:00Z"), s, out);
        p.decide(List.of(alert("cart3", "cart_abandoned", "2026-03-02T10:10:00.001Z", null)), t("2026-03-02T10:10:00.001Z"), s, out);

        // compete_within is inclusive: 10:10 is exactly 1 h after the checkout alert
        assertThat(out.sent).containsExactly("cart1", "checkout", "cart3");
        assertThat(out.reasons()).containsExactly("cart2:priority");
    }

    static final String QUIET = """
            kind: policy
            timezone_fallback: America/New_York
            priorities: [checkout_abandoned, cart_abandoned]
            channels:
              - name: default
                cap: {max: 5, per: 24h}
                quiet_hours: {from: "22:00", to: "08:00", action: delay}
            """;

    @Test
    void anAlertInQuietHoursWaitsForTheirEndInTheUsersZoneAndIsDecidedThen() {
        MessagingPolicy p = new MessagingPolicy(policy(QUIET));
        PolicyState s = new PolicyState();
        Recorded out = new Recorded();
        // 23:30 in Berlin (UTC+1 in winter)
        p.decide(List.of(alert("a", "cart_abandoned", "2026-01-12T22:30:00Z", "Europe/Berlin")), t("2026-01-12T22:30:00Z"), s, out);
        assertThat(out.sent).isEmpty();
        assertThat(out.reasons()).containsExactly("a:quiet_hours_delayed");
        assertThat(out.decisions.get(0).releaseAt).isEqualTo(t("2026-01-13T07:00:00Z"));
        assertThat(out.timers).containsExactly(t("2026-01-13T07:00:00Z"));

        p.releaseDue(t("2026-01-13T06:59:59.999Z"), s, out);
        assertThat(out.sent).isEmpty();
        p.releaseDue(t("2026-01-13T07:00:00Z"), s, out);
        assertThat(out.sent).containsExactly("a");
        assertThat(out.reasons()).containsExactly("a:quiet_hours_delayed", "a:quiet_hours_released");
        assertThat(s.held).isEmpty();
    }

    @Test
    void oneAlertWaitsPerChannelTheHighestPriorityTheEarlierAmongEquals() {
        MessagingPolicy p = new MessagingPolicy(policy(QUIET));
        PolicyState s = new PolicyState();
        Recorded out = new Recorded();
        p.decide(List.of(alert("cart", "cart_abandoned", "2026-01-13T03:00:00Z", null)), t("2026-01-13T03:00:00Z"), s, out);
        p.decide(List.of(alert("checkout", "checkout_abandoned", "2026-01-13T04:00:00Z", null)), t("2026-01-13T04:00:00Z"), s, out);
        p.decide(List.of(alert("checkout2", "checkout_abandoned", "2026-01-13T05:00:00Z", null)), t("2026-01-13T05:00:00Z"), s, out);
        p.releaseDue(t("2026-01-14T00:00:00Z"), s, out);

        assertThat(out.sent).containsExactly("checkout");
        assertThat(out.reasons()).containsExactly("cart:quiet_hours_delayed", "cart:priority", "checkout:quiet_hours_delayed",
                "checkout2:priority", "checkout:quiet_hours_released");
        // New York is UTC-5 in January: 08:00 local is 13:00 UTC (the fallback zone, no zone was sent)
        assertThat(out.decisions.get(2).releaseAt).isEqualTo(t("2026-01-13T13:00:00Z"));
    }

    @Test
    void aReleasedAlertStillMeetsTheCapAndTheAlertsOfItsInstant() {
        MessagingPolicy p = new MessagingPolicy(policy(QUIET.replace("max: 5", "max: 1")));
        PolicyState s = new PolicyState();
        Recorded out = new Recorded();
        p.decide(List.of(alert("night", "cart_abandoned", "2026-01-13T03:00:00Z", "UTC")), t("2026-01-13T03:00:00Z"), s, out);
        // an alert decided exactly at the end of the window competes with the released one; it is not quiet
        p.decide(new ArrayList<>(List.of(alert("morning", "checkout_abandoned", "2026-01-13T08:00:00Z", "UTC"))), t("2026-01-13T08:00:00Z"), s, out);

        assertThat(out.sent).containsExactly("morning");
        assertThat(out.reasons()).containsExactly("night:quiet_hours_delayed", "night:priority");
    }

    @Test
    void dropDropsAndRecordsIt() {
        MessagingPolicy p = new MessagingPolicy(policy(QUIET.replace("action: delay", "action: drop")));
        PolicyState s = new PolicyState();
        Recorded out = new Recorded();
        p.decide(List.of(alert("a", "cart_abandoned", "2026-01-13T23:00:00Z", "UTC")), t("2026-01-13T23:00:00Z"), s, out);
        p.decide(List.of(alert("b", "cart_abandoned", "2026-01-13T08:00:00Z", "UTC")), t("2026-01-13T08:00:00Z"), s, out);
        assertThat(out.sent).containsExactly("b");
        assertThat(out.reasons()).containsExactly("a:quiet_hours_dropped");
        assertThat(s.held).isEmpty();
    }

    @Test
    void quietHoursThatDoNotWrapPastMidnight() {
        MessagingPolicy p = new MessagingPolicy(policy(QUIET.replace("\"22:00\"", "\"12:00\"").replace("\"08:00\"", "\"14:00\"")));
        PolicyState s = new PolicyState();
        Recorded out = new Recorded();
        p.decide(List.of(alert("before", "x", "2026-01-13T11:59:59Z", "UTC")), t("2026-01-13T11:59:59Z"), s, out);
        p.decide(List.of(alert("in", "x", "2026-01-13T12:00:00Z", "UTC")), t("2026-01-13T12:00:00Z"), s, out);
        p.decide(List.of(alert("after", "x", "2026-01-13T14:00:00Z", "UTC")), t("2026-01-13T14:00:00Z"), s, out);
        // the released alert and the one decided at 14:00 are of one rank: both go, in alert id order
        assertThat(out.sent).containsExactly("before", "after", "in");
        assertThat(out.reasons()).containsExactly("in:quiet_hours_delayed", "in:quiet_hours_released");
    }

    @Test
    void theEndOfTheWindowAcrossDaylightSavingChanges() {
        PolicyDefinition.QuietHours q = new PolicyDefinition.QuietHours(java.time.LocalTime.of(1, 0), java.time.LocalTime.of(2, 30),
                PolicyDefinition.QuietAction.DELAY);
        ZoneId berlin = ZoneId.of("Europe/Berlin");
        // 2026-03-29: 02:00 -> 03:00 in Berlin, so 02:30 does not exist: later by the gap, 03:30 +02:00 (01:30 UTC)
        assertThat(MessagingPolicy.endOfQuietWindow(t("2026-03-29T00:15:00Z"), berlin, q)).isEqualTo(t("2026-03-29T01:30:00Z"));
        // 2026-10-25: 03:00 -> 02:00, so 02:30 happens twice: the earlier (02:30 +02:00 = 00:30 UTC)
        assertThat(MessagingPolicy.endOfQuietWindow(t("2026-10-24T23:15:00Z"), berlin, q)).isEqualTo(t("2026-10-25T00:30:00Z"));
        // an ordinary night in summer: 08:00 +02:00
        PolicyDefinition.QuietHours night = new PolicyDefinition.QuietHours(java.time.LocalTime.of(22, 0), java.time.LocalTime.of(8, 0),
                PolicyDefinition.QuietAction.DELAY);
        assertThat(MessagingPolicy.endOfQuietWindow(t("2026-07-01T21:00:00Z"), berlin, night)).isEqualTo(t("2026-07-02T06:00:00Z"));
        // after midnight the end is the same day's 08:00
        assertThat(MessagingPolicy.endOfQuietWindow(t("2026-07-02T01:00:00Z"), berlin, night)).isEqualTo(t("2026-07-02T06:00:00Z"));
    }

    @Test
    void hostileTimeZonesFallBackAndNeverThrow() {
        ZoneId fallback = ZoneId.of("America/New_York");
        for (String hostile : new String[] {"", "Mars/Olympus_Mons", "../../etc/passwd", "Europe/Berlin\u0000", "UTC+99:00",
                "x".repeat(100_000), "GMT+25", "\uD800", "+18:00:01", "SystemV/EST5"}) {
            assertThat(MessagingPolicy.zoneOf(hostile, fallback)).as(hostile.length() > 40 ? "long" : hostile).isNotNull();
        }
        assertThat(MessagingPolicy.zoneOf("Mars/Olympus_Mons", fallback)).isEqualTo(fallback);
        assertThat(MessagingPolicy.zoneOf(null, fallback)).isEqualTo(fallback);
        assertThat(MessagingPolicy.zoneOf("x".repeat(65), fallback)).isEqualTo(fallback);
        assertThat(MessagingPolicy.zoneOf("Asia/Kolkata", fallback)).isEqualTo(ZoneId.of("Asia/Kolkata"));
        assertThat(MessagingPolicy.zoneOf("+05:30", fallback)).isEqualTo(ZoneId.of("+05:30"));

        MessagingPolicy p = new MessagingPolicy(policy(QUIET));
        PolicyState s = new PolicyState();
        Recorded out = new Recorded();
        // 04:00 UTC is 23:00 in New York (the fallback): quiet
        p.decide(List.of(alert("a", "x", "2026-01-13T04:00:00Z", "Not/AZone")), t("2026-01-13T04:00:00Z"), s, out);
        assertThat(out.reasons()).containsExactly("a:quiet_hours_delayed");
    }

    @Test
    void theStateIsBoundedAndPrunedAndSurvivesItsJsonForm() {
        MessagingPolicy p = new MessagingPolicy(policy(CAP_AND_PRIORITY));
        PolicyState s = new PolicyState();
        Recorded out = new Recorded();
        for (int i = 0; i < 100; i++) {
            long at = t("2026-03-02T09:00:00Z") + i * MIN;
            p.decide(List.of(new Candidate("a" + i, "p", 1, i % 2 == 0 ? "other" : "browse", "u1", at, null, "{}")), at, s, out);
        }
        assertThat(out.sent).hasSize(2);
        assertThat(s.sent.get("default")).hasSize(2);
        assertThat(s.lastSentByRank.get("default")).hasSizeLessThanOrEqualTo(3);
        PolicyState back = PolicyState.fromJson(s.toJson());
        assertThat(back.sent.get("default")).containsExactly(s.sent.get("default"));
        p.prune(t("2026-03-03T10:00:00Z"), back);
        assertThat(back.isEmpty()).isTrue();
    }

    @Test
    void replayingTheSameAlertsGivesTheSameDecisionsWhateverTheOrderWithinAnInstant() {
        MessagingPolicy p = new MessagingPolicy(policy(CAP_AND_PRIORITY));
        String at = "2026-03-02T09:00:00Z";
        Recorded first = new Recorded();
        p.decide(new ArrayList<>(List.of(alert("x", "cart_abandoned", at, null), alert("y", "cart_abandoned", at, null),
                alert("z", "cart_abandoned", at, null))), t(at), new PolicyState(), first);
        Recorded second = new Recorded();
        p.decide(new ArrayList<>(List.of(alert("z", "cart_abandoned", at, null), alert("y", "cart_abandoned", at, null),
                alert("x", "cart_abandoned", at, null))), t(at), new PolicyState(), second);
        assertThat(first.sent).containsExactly("x", "y");
        assertThat(second.sent).isEqualTo(first.sent);
        assertThat(second.decisions).extracting(d -> d.decisionId).isEqualTo(first.decisions.stream().map(d -> d.decisionId).toList());
    }
}
