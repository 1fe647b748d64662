package io.behaviorcep.action;

import io.behaviorcep.output.Alert;
import io.behaviorcep.policy.AlertDecision;
import io.behaviorcep.policy.Candidate;
import io.behaviorcep.policy.MessagingPolicy;
import io.behaviorcep.policy.PolicyState;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The messaging policy ({@link MessagingPolicy}) between the patterns' caps and the alerts output, for
 * one user and one run of {@link UserActions#decide}: alerts offered at one event-time instant are
 * decided together when the decisions move past that instant, so alerts of different patterns decided
 * at the same instant compete. Plain logic: the operator loads and stores the {@link PolicyState}.
 */
public final class PolicyGate implements UserActions.AlertGate {
    /** A held alert is kept in the policy state as JSON; unknown fields from a newer version are ignored. */
    private static final ObjectMapper JSON = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private final MessagingPolicy policy;
    private final PolicyState state;
    private final UserActions.Effects effects;
    private final Consumer<AlertDecision> decisions;
    private final List<Candidate> offered = new ArrayList<>();
    private final Map<String, Alert> offeredAlerts = new HashMap<>();
    private long offeredAt = Long.MIN_VALUE;
    private final MessagingPolicy.Out out;

    public PolicyGate(MessagingPolicy policy, PolicyState state, UserActions.Effects effects, Consumer<AlertDecision> decisions) {
        this.policy = policy;
        this.state = state;
        this.effects = effects;
        this.decisions = decisions;
        this.out = new MessagingPolicy.Out() {
            @Override
            public void send(Candidate c) {
                Alert a = offeredAlerts.remove(c.alertId());
                effects.alert(a != null ? a : fromJson(c.body()));
            }

            @Override
            public void record(AlertDecision d) {
                decisions.accept(d);
            }

            @Override
            public void timer(long at) {
                effects.registerTimer(at);
            }
        };
    }

    public PolicyState state() {
        return state;
    }

    @Override
    public void offer(Alert alert, String timezone) {
        if (alert.detectedAt != offeredAt) advance(alert.detectedAt);
        offeredAt = alert.detectedAt;
        // the body is kept only while the alert waits for quiet hours to end; alerts are few next to events
        // longer text is no zone id (the policy falls back); not kept in state
        String zone = timezone == null || timezone.length() > MessagingPolicy.MAX_ZONE_LENGTH ? null : timezone;
        offered.add(new Candidate(alert.alertId, alert.patternId, alert.patternVersion, alert.alertType, alert.userId,
                alert.detectedAt, zone, toJson(alert)));
        offeredAlerts.put(alert.alertId, alert);
    }

    @Override
    public void advance(long at) {
        if (offered.isEmpty() || at == offeredAt) return;
        List<Candidate> batch = new ArrayList<>(offered);
        offered.clear();
        policy.decide(batch, offeredAt, state, out);
        offeredAlerts.clear();
    }

    @Override
    public void suppressed(long at) {
        advance(Long.MAX_VALUE);
        policy.releaseDue(at - 1, state, out);
        policy.suppressed(at, state, out);
    }

    @Override
    public void erased(long at) {
        advance(Long.MAX_VALUE);
        policy.releaseDue(at - 1, state, out);
        offered.clear();
        offeredAlerts.clear();
        state.sent.clear();
        state.lastSentByRank.clear();
        state.held.clear();
    }

    @Override
    public void finish(long watermark) {
        advance(Long.MAX_VALUE);
        policy.releaseDue(watermark, state, out);
        policy.prune(watermark, state);
        // a held alert's timer may have been deleted as another timer of the same instant
        long next = state.nextRelease();
        if (next != Long.MAX_VALUE) effects.registerTimer(next);
    }

    private static String toJson(Alert a) {
        try {
            return JSON.writeValueAsString(a);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Alert fromJson(String json) {
        try {
            return JSON.readValue(json, Alert.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("unreadable held alert", e);
        }
    }
}
