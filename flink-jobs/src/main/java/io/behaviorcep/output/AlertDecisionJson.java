package io.behaviorcep.output;

import io.behaviorcep.policy.AlertDecision;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** An alert decision as published on {@code behavior.alert-decisions} and kept in {@code alert_decisions.document} (docs/contracts.md). */
public final class AlertDecisionJson {
    private AlertDecisionJson() {}

    public static ObjectNode of(AlertDecision d) {
        ObjectNode n = OutputJson.MAPPER.createObjectNode();
        n.put("decision_id", d.decisionId);
        n.put("alert_id", d.alertId);
        n.put("pattern_id", d.patternId);
        n.put("pattern_version", d.patternVersion);
        n.put("alert_type", d.alertType);
        n.put("user_id", d.userId);
        n.put("channel", d.channel);
        n.put("reason", d.reason);
        n.put("detected_at", OutputJson.iso(d.detectedAt));
        n.put("decided_at", OutputJson.iso(d.decidedAt));
        if (d.releaseAt > 0) n.put("release_at", OutputJson.iso(d.releaseAt));
        else n.putNull("release_at");
        if (d.winnerAlertId != null) n.put("winner_alert_id", d.winnerAlertId);
        else n.putNull("winner_alert_id");
        return n;
    }

    public static String text(AlertDecision d) {
        return OutputJson.text(of(d));
    }
}
