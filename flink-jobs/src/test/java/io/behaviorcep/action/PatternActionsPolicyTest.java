package io.behaviorcep.action;

import io.behaviorcep.engine.ActionInput;
import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.output.Alert;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternMatch;
import io.behaviorcep.policy.AlertDecision;
import io.behaviorcep.policy.PolicyDefinition;
import io.behaviorcep.policy.PolicyFile;
import io.behaviorcep.testing.Repo;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The actions operator with the shipped messaging policy (patterns/policy.yaml): the policy's state and
 * timers in keyed state, its decisions on the side output, across a snapshot and restore.
 */
class PatternActionsPolicyTest {
    static final List<PatternDefinition> PATTERNS = Repo.shippedPatterns();
    static final PolicyDefinition POLICY = PolicyFile.read(Repo.patterns().resolve("policy.yaml")).orThrow();

    private final List<KeyedOneInputStreamOperatorTestHarness<String, ActionInput, Alert>> harnesses = new ArrayList<>();

    KeyedOneInputStreamOperatorTestHarness<String, ActionInput, Alert> harness(OperatorSubtaskState restore) throws Exception {
        var h = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new PatternActionsFunction(PATTERNS).withPolicy(POLICY)), (ActionInput in) -> in.userKey(), Types.STRING);
        if (restore != null) h.initializeState(restore);
        h.open();
        harnesses.add(h);
        return h;
    }

    @AfterEach
    void close() throws Exception {
        for (var h : harnesses) h.close();
    }

    static long t(String iso) {
        return Instant.parse(iso).toEpochMilli();
    }

    static ActionInput match(String patternId, String user, String anchor, long at, String timezone) {
        PatternMatch m = new PatternMatch();
        m.patternId = patternId;
        m.patternVersion = 1;
        m.userKey = user;
        m.detectedAt = at;
        m.anchorId = anchor;
        m.eventIds = anchor;
        m.matchedJson = "{\"step\":[{\"message_id\":\"" + anchor + "\",\"timestamp\":\"" + Instant.ofEpochMilli(at) + "\"}]}";
        m.payloadJson = "{}";
        m.profile = new ProfileSnapshot();
        m.timezone = timezone;
        return new ActionInput.Matched(m);
    }

    static void send(KeyedOneInputStreamOperatorTestHarness<String, ActionInput, Alert> h, ActionInput in) throws Exception {
        h.processElement(new StreamRecord<>(in, in.timestamp()));
    }

    static List<Alert> alerts(KeyedOneInputStreamOperatorTestHarness<String, ActionInput, Alert> h) {
        return h.extractOutputValues();
    }

    static List<String> decisions(KeyedOneInputStreamOperatorTestHarness<String, ActionInput, Alert> h) {
        var out = h.getSideOutput(PatternActionsFunction.ALERT_DECISIONS);
        return out == null ? List.of() : out.stream().map(r -> ((AlertDecision) r.getValue()).alertType + ":" + ((AlertDecision) r.getValue()).reason).toList();
    }

    @Test
    void alertsOfTwoPatternsAtOneInstantCompeteAndTheLoserIsRecorded() throws Exception {
        var h = harness(null);
        long at = t("2026-03-02T10:00:00Z");
        send(h, match("cart-abandonment", "u1", "add-1", at, null));
        send(h, match("checkout-abandonment", "u1", "checkout-1", at, null));
        h.processWatermark(at);

        assertThat(alerts(h)).extracting(a -> a.alertType).containsExactly("checkout_abandoned");
        assertThat(decisions(h)).containsExactly("cart_abandoned:priority");
    }

    @Test
    void anAlertHeldForQuietHoursSurvivesASnapshotAndIsSentAtTheirEndByATimer() throws Exception {
        var h = harness(null);
        // 23:00 in New York is 04:00 UTC; quiet until 08:00 New York = 13:00 UTC (EST)
        long at = t("2026-01-13T04:00:00Z");
        send(h, match("checkout-abandonment", "u1", "checkout-1", at, "America/New_York"));
        h.processWatermark(at);
        assertThat(alerts(h)).isEmpty();
        assertThat(decisions(h)).containsExactly("checkout_abandoned:quiet_hours_delayed");

        OperatorSubtaskState snapshot = h.snapshot(1, at);
        var restored = harness(snapshot);
        restored.processWatermark(t("2026-01-13T12:59:59.999Z"));
        assertThat(alerts(restored)).isEmpty();
        restored.processWatermark(t("2026-01-13T13:00:00Z"));
        assertThat(alerts(restored)).singleElement().satisfies(a -> {
            assertThat(a.alertType).isEqualTo("checkout_abandoned");
            assertThat(a.detectedAt).isEqualTo(at);
        });
        assertThat(decisions(restored)).containsExactly("checkout_abandoned:quiet_hours_released");
    }

    @Test
    void anOptOutWhileAnAlertWaitsRecordsItAndSendsNothing() throws Exception {
        var h = harness(null);
        long at = t("2026-01-13T23:00:00Z");
        send(h, match("checkout-abandonment", "u1", "checkout-1", at, "UTC"));
        send(h, new ActionInput.PrivacySignal("u1", ActionInput.Signal.SUPPRESS, at + 60_000));
        h.processWatermark(t("2026-01-14T12:00:00Z"));

        assertThat(alerts(h)).isEmpty();
        assertThat(decisions(h)).containsExactly("checkout_abandoned:quiet_hours_delayed", "checkout_abandoned:suppressed");
    }

    @Test
    void theCapAcrossPatternsHoldsAndAnErasureForgetsIt() throws Exception {
        var h = harness(null);
        long nine = t("2026-03-02T09:00:00Z");
        send(h, match("checkout-abandonment", "u1", "c1", nine, null));
        send(h, match("cart-abandonment", "u1", "a1", nine + 2 * 3_600_000L, null));
        send(h, match("repeat-view-no-purchase", "u1", "v1", nine + 4 * 3_600_000L, null));
        h.processWatermark(nine + 5 * 3_600_000L);
        assertThat(alerts(h)).extracting(a -> a.alertType).containsExactly("checkout_abandoned", "cart_abandoned");
        assertThat(decisions(h)).containsExactly("repeat_view_no_purchase:global_cap");

        send(h, new ActionInput.PrivacySignal("u1", ActionInput.Signal.ERASE, nine + 6 * 3_600_000L));
        // the cap counted two sends today; after the erasure they are forgotten
        send(h, match("checkout-abandonment", "u1", "c2", nine + 7 * 3_600_000L, null));
        h.processWatermark(nine + 8 * 3_600_000L);
        assertThat(alerts(h)).extracting(a -> a.alertType).containsExactly("checkout_abandoned", "cart_abandoned", "checkout_abandoned");
        assertThat(decisions(h)).hasSize(1);
    }
}
