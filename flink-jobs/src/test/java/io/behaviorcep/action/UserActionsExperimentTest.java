package io.behaviorcep.action;

import io.behaviorcep.engine.ActionInput;
import io.behaviorcep.experiment.Assignment;
import io.behaviorcep.experiment.Experiments;
import io.behaviorcep.experiment.GoalTracker;
import io.behaviorcep.experiment.Outcome;
import io.behaviorcep.experiment.PendingDecision;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.pattern.PatternMatch;
import io.behaviorcep.testing.Repo;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.behaviorcep.action.PatternActionsFunctionTest.DAY;
import static io.behaviorcep.action.PatternActionsFunctionTest.HOUR;
import static io.behaviorcep.action.PatternActionsFunctionTest.MIN;
import static io.behaviorcep.action.PatternActionsFunctionTest.PID;
import static io.behaviorcep.action.PatternActionsFunctionTest.T;
import static org.assertj.core.api.Assertions.assertThat;

/** The actions' decisions for a pattern with an experiment and a goal (patterns/experiments/cart-abandonment.yaml), without Flink. */
class UserActionsExperimentTest {
    final PatternDefinition cart = load();
    final State state = new State();
    final Effects out = new Effects();
    final Map<String, Integer> counted = new HashMap<>();

    static PatternDefinition load() {
        PatternLoader.Result r = PatternLoader.load(Repo.patterns().resolve("experiments/cart-abandonment.yaml"));
        assertThat(r.problems()).isEmpty();
        return r.patterns().get(0);
    }

    UserActions actions(Experiments experiments) {
        return new UserActions(new UserActions.PatternVersions() {
            @Override
            public PatternDefinition version(String patternId, int version) {
                return latest(patternId);
            }

            @Override
            public PatternDefinition latest(String patternId) {
                return patternId.equals(PID) ? cart : null;
            }
        }, 2 * HOUR, new UserActions.Counts() {
            @Override public void alertEmitted(PatternDefinition def) { counted.merge("alertsEmitted", 1, Integer::sum); }
            @Override public void alertCapped(PatternDefinition def) { counted.merge("alertsCapped", 1, Integer::sum); }
            @Override public void matchCollapsed(PatternDefinition def) { }
            @Override public void alertSuppressed() { counted.merge("alertsSuppressed", 1, Integer::sum); }
            @Override public void matchErased() { }
            @Override public void segmentEntered(String segment) { }
            @Override public void segmentExited(String segment) { }
            @Override public void decisionHeldOut(PatternDefinition def) { counted.merge("decisionsHeldOut", 1, Integer::sum); }
        }, experiments);
    }

    /** The first user id of the form u<n> that lands in {@code arm}. */
    String userIn(String arm) {
        for (int n = 0; ; n++) if (Assignment.variant(cart.experiment(), "u" + n).name.equals(arm)) return "u" + n;
    }

    void decide(UserActions actions, String user, long watermark, ActionInput... inputs) throws Exception {
        state.pending.addAll(List.of(inputs));
        actions.decide(user, watermark, state, out);
    }

    static ActionInput match(String user, String addId, long detectedAt) {
        PatternMatch m = PatternActionsFunctionTest.match(user, "v-" + addId, addId, detectedAt);
        return new ActionInput.Matched(m);
    }

    static ActionInput order(String user, String id, long at, double revenue) {
        return new ActionInput.GoalReached(user, id, at, Map.of(PendingDecision.goalKey(PID, 1), revenue));
    }

    @Test
    void aHoldoutUserGetsNoAlertButTheDecisionIsRecordedAndConverts() throws Exception {
        String user = userIn("holdout");
        UserActions actions = actions(Experiments.NONE);
        decide(actions, user, T + HOUR, match(user, "a1", T), order(user, "o1", T + 2 * HOUR, 30.0));
        assertThat(out.alerts).isEmpty();
        assertThat(counted).containsEntry("decisionsHeldOut", 1).doesNotContainKey("alertsEmitted");
        assertThat(out.outcomes).isEmpty(); // the order is not due yet
        decide(actions, user, T + 3 * HOUR);
        assertThat(out.outcomes).singleElement().satisfies(o -> {
            assertThat(o.decisionId()).isEqualTo(UserActions.alertId(PID, 1, user, "a1,v-a1"));
            assertThat(o.arm()).isEqualTo("holdout");
            assertThat(o.experimentId()).isEqualTo("cart-abandonment-wait");
            assertThat(o.holdout()).isTrue();
            assertThat(o.converted()).isTrue();
            assertThat(o.value()).isEqualTo(30.0);
            assertThat(o.timeToConvertMs()).isEqualTo(2 * HOUR);
        });
    }

    @Test
    void aTreatedUsersAlertNamesItsExperimentAndArmAndItsOutcomeIsDecidedAtTheEndOfTheWindow() throws Exception {
        String user = userIn("wait_30m");
        UserActions actions = actions(Experiments.NONE);
        decide(actions, user, T + DAY + HOUR, match(user, "a1", T), order(user, "late", T + DAY + 1, 5.0));
        assertThat(out.alerts).singleElement().satisfies(a -> {
            assertThat(a.experimentId).isEqualTo("cart-abandonment-wait");
            assertThat(a.arm).isEqualTo("wait_30m");
        });
        assertThat(out.outcomes).singleElement().satisfies(o -> {
            assertThat(o.converted()).isFalse();
            assertThat(o.holdout()).isFalse();
        });
        assertThat(out.registered).contains(T + DAY);
    }

    @Test
    void theGlobalHoldoutComesBeforeTheExperiment() throws Exception {
        String user = null;
        for (int n = 0; user == null; n++) if (Assignment.inGlobalHoldout(0.5, "g", "u" + n)) user = "u" + n;
        decide(actions(new Experiments(0.5, "g")), user, T + DAY + HOUR, match(user, "a1", T));
        assertThat(out.alerts).isEmpty();
        assertThat(out.outcomes).singleElement().satisfies(o -> {
            assertThat(o.arm()).isEqualTo("global_holdout");
            assertThat(o.experimentId()).as("grouped with the pattern's experiment").isEqualTo("cart-abandonment-wait");
            assertThat(o.holdout()).isTrue();
        });
    }

    @Test
    void capsApplyToHoldoutDecisionsAsToAlerts() throws Exception {
        String user = userIn("holdout");
        decide(actions(Experiments.NONE), user, T + 3 * DAY, match(user, "a1", T), match(user, "a2", T + HOUR));
        assertThat(counted).containsEntry("decisionsHeldOut", 1).containsEntry("alertsCapped", 1);
        assertThat(out.outcomes).hasSize(1);
    }

    @Test
    void aSuppressedUserIsInNoArmAndAnOptOutDropsTheOpenDecisions() throws Exception {
        String user = userIn("holdout");
        UserActions actions = actions(Experiments.NONE);
        decide(actions, user, T + HOUR, match(user, "a1", T));
        assertThat(state.open).hasSize(1);
        decide(actions, user, T + 3 * HOUR, new ActionInput.PrivacySignal(user, ActionInput.Signal.SUPPRESS, T + 2 * HOUR),
                match(user, "a2", T + 2 * HOUR + MIN), order(user, "o1", T + 2 * HOUR + 2 * MIN, 1.0));
        decide(actions, user, T + 3 * DAY);
        assertThat(out.outcomes).isEmpty();
        assertThat(state.open).isEmpty();
        assertThat(counted).containsEntry("decisionsHeldOut", 1).containsEntry("alertsSuppressed", 1);
    }

    @Test
    void anErasureDropsTheOpenDecisions() throws Exception {
        String user = userIn("wait_15m");
        UserActions actions = actions(Experiments.NONE);
        decide(actions, user, T + HOUR, match(user, "a1", T));
        decide(actions, user, T + 3 * DAY, new ActionInput.PrivacySignal(user, ActionInput.Signal.ERASE, T + 2 * HOUR));
        assertThat(out.alerts).hasSize(1);
        assertThat(out.outcomes).isEmpty();
    }

    static final class State extends UserActionsTest.InMemoryState {
        final Map<String, PendingDecision> open = new LinkedHashMap<>();
        final GoalTracker.State decisions = new GoalTracker.State() {
            @Override public Iterable<PendingDecision> open() { return new ArrayList<>(open.values()); }
            @Override public void put(PendingDecision d) { open.put(d.decisionId, d); }
            @Override public void remove(String decisionId) { open.remove(decisionId); }
            @Override public void clear() { open.clear(); }
        };

        @Override
        public GoalTracker.State openDecisions() {
            return decisions;
        }
    }

    static final class Effects extends UserActionsTest.Recorded {
        final List<Outcome> outcomes = new ArrayList<>();

        @Override
        public void outcome(Outcome outcome) {
            outcomes.add(outcome);
        }
    }
}
