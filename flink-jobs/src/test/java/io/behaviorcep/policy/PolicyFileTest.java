package io.behaviorcep.policy;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.LocalTime;
import java.time.ZoneId;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** A malformed policy file is rejected with FILE:LINE:COL and what is wrong; every problem at once. */
class PolicyFileTest {
    static PolicyFile.Result parse(String yaml) {
        return PolicyFile.parse("policy.yaml", yaml.getBytes(StandardCharsets.UTF_8));
    }

    static List<String> problems(String yaml) {
        return parse(yaml).problems().stream().map(PolicyProblem::toString).toList();
    }

    @Test
    void aCompletePolicyReadsAsWritten() {
        PolicyDefinition p = parse("""
                kind: policy
                timezone_fallback: Europe/Berlin
                compete_within: 30m
                priorities: [a, b]
                default_channel: email
                channels:
                  - name: email
                    cap: {max: 3, per: 7d}
                  - name: push
                    patterns: [cart-abandonment]
                    alert_types: [x]
                    quiet_hours: {from: "21:30", to: "07:00", action: drop}
                """).orThrow();
        assertThat(p.fallbackZone).isEqualTo(ZoneId.of("Europe/Berlin"));
        assertThat(p.competeWithinMillis).isEqualTo(30 * 60_000L);
        assertThat(p.rank("a")).isZero();
        assertThat(p.rank("zzz")).isEqualTo(2);
        assertThat(p.channelOf("cart-abandonment", "y").name()).isEqualTo("push");
        assertThat(p.channelOf("other", "x").name()).isEqualTo("push");
        assertThat(p.channelOf("other", "y").name()).isEqualTo("email");
        assertThat(p.channels.get("email").cap()).isEqualTo(new PolicyDefinition.Cap(3, 7 * 86_400_000L));
        assertThat(p.channels.get("push").quietHours())
                .isEqualTo(new PolicyDefinition.QuietHours(LocalTime.of(21, 30), LocalTime.of(7, 0), PolicyDefinition.QuietAction.DROP));
    }

    @Test
    void everyProblemIsReportedWithItsPlace() {
        assertThat(problems("""
                kind: policy
                timezone_fallback: Mars/Base
                compete_within: soon
                default_channel: emial
                channels:
                  - name: email
                    cap: {max: 0, per: 1d}
                    quiet: {}
                  - name: push
                    patterns: [p1]
                    quiet_hours: {from: "25:00", to: "07:00", action: later}
                  - name: sms
                    patterns: [p1]
                    quiet_hours: {from: "07:00", to: "07:00", action: delay}
                """)).containsExactly(
                "policy.yaml:8:5: unknown key 'quiet' in channel",
                "policy.yaml:7:16: cap max must be a whole number from 1 to 1000, not '0'",
                "policy.yaml:11:25: quiet_hours from must be a local time HH:MM (00:00 to 23:59), not '25:00'",
                "policy.yaml:11:55: quiet_hours action is 'delay' or 'drop', not 'later'",
                "policy.yaml:13:16: pattern id 'p1' is already in a channel (line 10); an alert belongs to one channel",
                "policy.yaml:14:38: quiet_hours from and to are the same time; the window would be empty",
                "policy.yaml:2:20: 'Mars/Base' is not a time zone id (e.g. UTC, Europe/Berlin, America/New_York)",
                "policy.yaml:3:17: compete_within: 'soon' is not a duration; write a number and a unit: 500ms, 30s, 15m, 24h, 7d, 2w");
    }

    @Test
    void anUnknownDefaultChannelIsNamedWithTheNearestOne() {
        assertThat(problems("""
                kind: policy
                default_channel: emial
                channels: [{name: email}, {name: push}]
                """)).containsExactly("policy.yaml:2:18: default_channel 'emial' is not a channel, did you mean 'email'?");
    }

    @Test
    void theKindAndTheChannelsAreRequiredAndSyntaxErrorsHaveAPlace() {
        assertThat(problems("channels: []\n")).containsExactly(
                "policy.yaml:1:1: a policy file starts with 'kind: policy'",
                "policy.yaml:1:11: 'channels' must be a list of at least one channel");
        assertThat(problems("")).containsExactly("policy.yaml:1:1: the file is empty; a policy needs 'kind: policy' and at least one channel");
        assertThat(problems("kind: policy\nchannels: [\n")).singleElement().asString().startsWith("policy.yaml:2:12: YAML syntax:");
        assertThat(PolicyFile.parse("policy.yaml", new byte[] {(byte) 0xff, 0x00}).problems()).extracting(PolicyProblem::message)
                .containsExactly("not UTF-8 text");
    }

    @Test
    void examplesAreCheckedToo() {
        assertThat(problems("""
                kind: policy
                channels: [{name: default}]
                examples:
                  - name: x
                    events: [{at: soon, event: A}]
                    expect:
                      decisions: [{at: 1m, reason: capped}]
                """)).containsExactly(
                "policy.yaml:5:19: 'soon' is not a time offset; write e.g. 0m, 15m, 1d2h, 20m1ms",
                "policy.yaml:7:36: unknown reason 'capped'");
    }

    @Test
    void declaresPolicyLooksOnlyAtTheKindLine() {
        assertThat(PolicyFile.declaresPolicy("# x\nkind: policy\n")).isTrue();
        assertThat(PolicyFile.declaresPolicy("kind: \"policy\"  # the policy\n")).isTrue();
        assertThat(PolicyFile.declaresPolicy("kind: segments\ndescription: kind: policy\n")).isFalse();
    }
}
