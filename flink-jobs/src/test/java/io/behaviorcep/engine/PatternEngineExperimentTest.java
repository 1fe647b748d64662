package io.behaviorcep.engine;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.experiment.Assignment;
import io.behaviorcep.experiment.PendingDecision;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.testing.Repo;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.behaviorcep.engine.PatternEngineFunctionTest.MIN;
import static io.behaviorcep.engine.PatternEngineFunctionTest.T0;
import static org.assertj.core.api.Assertions.assertThat;

/** The engine's part in experiments: each arm runs its own version of the pattern, and goal events are passed on. */
class PatternEngineExperimentTest {
    final PatternEngineFunctionTest engine = new PatternEngineFunctionTest();

    @AfterEach
    void close() throws Exception {
        engine.close();
    }

    static PatternDefinition experiment() {
        PatternLoader.Result r = PatternLoader.load(Repo.patterns().resolve("experiments/cart-abandonment.yaml"));
        assertThat(r.problems()).isEmpty();
        return r.patterns().get(0);
    }

    static String userIn(PatternDefinition p, String arm) {
        for (int n = 0; ; n++) if (Assignment.variant(p.experiment(), "u" + n).name.equals(arm)) return "u" + n;
    }

    @Test
    void eachUserRunsTheVersionOfTheirArm() throws Exception {
        PatternDefinition p = experiment();
        String fast = userIn(p, "wait_15m");
        String slow = userIn(p, "wait_30m");
        var h = engine.harness(List.of(p), null);
        for (String user : List.of(fast, slow)) {
            PatternEngineFunctionTest.send(h, PatternEngineFunctionTest.event(user, "Product Viewed", 0));
            PatternEngineFunctionTest.send(h, PatternEngineFunctionTest.event(user, "Product Added", 1));
        }
        h.processWatermark(T0 + 20 * MIN);
        assertThat(PatternEngineFunctionTest.matches(h)).containsExactly("cart-abandonment v1: " + fast + "@1 at 16");
        h.processWatermark(T0 + 40 * MIN);
        // the same id and version: the arm's version is the pattern's, only its wait differs
        assertThat(PatternEngineFunctionTest.matches(h)).containsExactly("cart-abandonment v1: " + fast + "@1 at 16",
                "cart-abandonment v1: " + slow + "@1 at 31");
    }

    @Test
    void anEventMeetingAGoalIsPassedOnWithItsValue() throws Exception {
        PatternDefinition p = experiment();
        var h = engine.harness(List.of(p), null);
        BehaviorEvent order = PatternEngineFunctionTest.event("u1", "Order Completed", 5);
        order.properties.put("revenue", "12.5");
        PatternEngineFunctionTest.send(h, order);
        BehaviorEvent freeOrder = PatternEngineFunctionTest.event("u2", "Order Completed", 6);
        freeOrder.properties.put("revenue", "not a number");
        PatternEngineFunctionTest.send(h, freeOrder);
        PatternEngineFunctionTest.send(h, PatternEngineFunctionTest.event("u3", "Product Viewed", 7));
        List<ActionInput.GoalReached> goals = h.extractOutputValues().stream()
                .filter(in -> in instanceof ActionInput.GoalReached).map(in -> (ActionInput.GoalReached) in).toList();
        assertThat(goals).hasSize(2);
        assertThat(goals.get(0).userKey()).isEqualTo("u1");
        assertThat(goals.get(0).timestamp()).isEqualTo(T0 + 5 * MIN);
        assertThat(goals.get(0).valueByGoalKey()).containsExactly(java.util.Map.entry(PendingDecision.goalKey(p.id, p.version), 12.5));
        assertThat(goals.get(1).valueByGoalKey()).containsKey(PendingDecision.goalKey(p.id, p.version));
        assertThat(goals.get(1).valueByGoalKey().get(PendingDecision.goalKey(p.id, p.version))).isNull();
    }
}
