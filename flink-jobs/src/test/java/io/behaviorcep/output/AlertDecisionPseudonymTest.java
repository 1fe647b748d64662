package io.behaviorcep.output;

import io.behaviorcep.policy.AlertDecision;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** The messaging policy's decisions are pseudonymised like the alerts they refer to, so the two join on ids. */
class AlertDecisionPseudonymTest {
    static final String KEY_ENV = "BEHAVIOR_CEP_TEST_DECISION_KEY";

    @Test
    void userAndAlertIdsAreKeyedAsOnTheAlertsAndTheDecisionIdFollows() throws Exception {
        System.setProperty(KEY_ENV, "a-test-key");
        byte[] key = "a-test-key".getBytes(StandardCharsets.UTF_8);
        AlertDecision d = new AlertDecision();
        d.alertId = "plain-alert";
        d.winnerAlertId = "plain-winner";
        d.userId = "alice@example.com";
        d.reason = AlertDecision.PRIORITY;
        d.decidedAt = 1_700_000_000_000L;
        d.decisionId = AlertDecision.id(d.alertId, d.reason, d.decidedAt);
        String plainDecisionId = d.decisionId;

        AlertDecision out = Pseudonymizer.alertDecisions(KEY_ENV).map(d);

        assertThat(out.userId).isEqualTo(Pseudonymizer.pseudonym(key, "alice@example.com")).doesNotContain("alice");
        assertThat(out.alertId).isEqualTo(Pseudonymizer.alertId(key, "plain-alert"));
        assertThat(out.winnerAlertId).isEqualTo(Pseudonymizer.alertId(key, "plain-winner"));
        assertThat(out.decisionId).isEqualTo(AlertDecision.id(out.alertId, AlertDecision.PRIORITY, d.decidedAt)).isNotEqualTo(plainDecisionId);

        AlertDecision noWinner = new AlertDecision();
        noWinner.alertId = "a";
        noWinner.userId = "u";
        noWinner.reason = AlertDecision.GLOBAL_CAP;
        assertThat(Pseudonymizer.alertDecisions(KEY_ENV).map(noWinner).winnerAlertId).isNull();
    }
}
