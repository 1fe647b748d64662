package io.behaviorcep.action;

import io.behaviorcep.engine.ActionInput;
import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.output.Alert;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.pattern.PatternMatch;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static io.behaviorcep.action.PatternActionsFunctionTest.DAY;
import static io.behaviorcep.action.PatternActionsFunctionTest.HOUR;
import static io.behaviorcep.action.PatternActionsFunctionTest.T;
import static org.assertj.core.api.Assertions.assertThat;

/** The actions' side of {@code on_timeout}: a timed-out partial match raises the on_timeout alert, under the pattern's cap. */
class TimedOutAlertsTest {
    static final String USER = "u1";

    final PatternDefinition pricing = PatternLoader.loadString("p.yaml", """
            id: pricing
            version: 2
            steps:
              - {name: pricing, type: page}
              - {name: signed_up, event: Signed Up, within: 1d}
            actions:
              alert: {type: pricing_then_signup, severity: info}
              cap: {max: 1, per: 1d}
            on_timeout:
              alert: {type: pricing_no_signup, severity: high}
            """).orThrow().get(0);
    final UserActionsTest.InMemoryState state = new UserActionsTest.InMemoryState();
    final UserActionsTest.Recorded out = new UserActionsTest.Recorded();
    final Map<String, Integer> counted = new HashMap<>();
    final UserActions actions = new UserActions(new UserActions.PatternVersions() {
        @Override
        public PatternDefinition version(String patternId, int version) {
            return latest(patternId);
        }

        @Override
        public PatternDefinition latest(String patternId) {
            return patternId.equals("pricing") ? pricing : null;
        }
    }, 2 * HOUR, new UserActions.Counts() {
        @Override
        public void alertEmitted(PatternDefinition def) {
            counted.merge("emitted", 1, Integer::sum);
        }

        @Override
        public void alertCapped(PatternDefinition def) {
            counted.merge("capped", 1, Integer::sum);
        }

        @Override
        public void matchCollapsed(PatternDefinition def) {
            counted.merge("collapsed", 1, Integer::sum);
        }

        @Override
        public void alertSuppressed() {}

        @Override
        public void matchErased() {}

        @Override
        public void segmentEntered(String segment) {}

        @Override
        public void segmentExited(String segment) {}
    });

    static ActionInput timedOut(String pricingId, long detectedAt) {
        PatternMatch m = new PatternMatch();
        m.patternId = "pricing";
        m.patternVersion = 2;
        m.userKey = USER;
        m.detectedAt = detectedAt;
        m.anchorId = "timeout:" + pricingId;
        m.eventIds = pricingId;
        m.matchedJson = "{\"pricing\":[{\"message_id\":\"" + pricingId + "\"}]}";
        m.payloadJson = "{}";
        m.profile = new ProfileSnapshot();
        m.timedOut = true;
        return new ActionInput.Matched(m);
    }

    void decide(long watermark, ActionInput... inputs) throws Exception {
        state.pending.addAll(java.util.List.of(inputs));
        actions.decide(USER, watermark, state, out);
    }

    @Test
    void aTimedOutPartialMatchRaisesTheOnTimeoutAlertWithAnIdOfItsOwn() throws Exception {
        decide(T + DAY + 1, timedOut("m1", T + DAY));
        assertThat(out.alerts).hasSize(1);
        Alert a = out.alerts.get(0);
        assertThat(a.alertType).isEqualTo("pricing_no_signup");
        assertThat(a.severity).isEqualTo("high");
        assertThat(a.detectedAt).isEqualTo(T + DAY);
        assertThat(a.matchedJson).isEqualTo("{\"pricing\":[{\"message_id\":\"m1\"}]}");
        assertThat(a.alertId).isEqualTo(UserActions.alertId("pricing", 2, USER, "timeout:m1"))
                .isNotEqualTo(UserActions.alertId("pricing", 2, USER, "m1"));
        assertThat(state.memberships()).as("a timed-out partial match enters no segment").isEmpty();
    }

    @Test
    void thePatternsCapCountsTimeoutAlertsAndOneAnchorAtOneInstantIsOneAlert() throws Exception {
        decide(T + DAY + 3 * HOUR, timedOut("m1", T + DAY), timedOut("m1", T + DAY), timedOut("m2", T + DAY + 2 * HOUR));
        assertThat(out.alerts).extracting(a -> a.detectedAt).containsExactly(T + DAY);
        assertThat(counted).containsEntry("emitted", 1).containsEntry("collapsed", 1).containsEntry("capped", 1);
    }
}
