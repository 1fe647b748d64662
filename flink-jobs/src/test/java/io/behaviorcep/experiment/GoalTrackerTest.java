package io.behaviorcep.experiment;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class GoalTrackerTest {
    static final long HOUR = 3_600_000L;
    final Map<String, PendingDecision> open = new LinkedHashMap<>();
    final List<Outcome> outcomes = new ArrayList<>();
    final List<Long> timers = new ArrayList<>();
    final GoalTracker.State state = new GoalTracker.State() {
        @Override
        public Iterable<PendingDecision> open() {
            return new ArrayList<>(open.values());
        }

        @Override
        public void put(PendingDecision d) {
            open.put(d.decisionId, d);
        }

        @Override
        public void remove(String decisionId) {
            open.remove(decisionId);
        }

        @Override
        public void clear() {
            open.clear();
        }
    };
    final GoalTracker.Output out = new GoalTracker.Output() {
        @Override
        public void outcome(Outcome o) {
            outcomes.add(o);
        }

        @Override
        public void registerTimer(long at) {
            timers.add(at);
        }
    };

    @BeforeEach
    void reset() {
        open.clear();
        outcomes.clear();
        timers.clear();
    }

    static PendingDecision decision(String id, String pattern, long at, long within) {
        PendingDecision d = new PendingDecision();
        d.decisionId = id;
        d.userId = "u";
        d.patternId = pattern;
        d.patternVersion = 1;
        d.arm = "a";
        d.decidedAt = at;
        d.goalEvent = "Order Completed";
        d.goalWithinMs = within;
        return d;
    }

    static Map<String, Double> meets(String pattern, Double value) {
        Map<String, Double> m = new HashMap<>();
        m.put(pattern + "#1", value);
        return m;
    }

    @Test
    void theFirstGoalEventInTheWindowConvertsOnce() throws Exception {
        GoalTracker.open(decision("d1", "p", 1000, HOUR), state, out);
        assertThat(timers).containsExactly(1000 + HOUR);
        GoalTracker.goal(5000, meets("p", 42.5), state, out);
        GoalTracker.goal(6000, meets("p", 10.0), state, out);
        GoalTracker.expire(1000 + HOUR, state, out);
        assertThat(outcomes).hasSize(1);
        Outcome o = outcomes.get(0);
        assertThat(o.converted()).isTrue();
        assertThat(o.convertedAt()).isEqualTo(5000L);
        assertThat(o.value()).isEqualTo(42.5);
        assertThat(o.timeToConvertMs()).isEqualTo(4000L);
        assertThat(open).isEmpty();
    }

    @Test
    void theWindowIsOpenAtTheStartAndClosedAtTheEnd() throws Exception {
        GoalTracker.open(decision("d1", "p", 1000, HOUR), state, out);
        GoalTracker.goal(1000, meets("p", null), state, out); // the decision's own instant: not after it
        assertThat(outcomes).isEmpty();
        GoalTracker.goal(1000 + HOUR, meets("p", null), state, out); // the last instant counts
        assertThat(outcomes).singleElement().satisfies(o -> {
            assertThat(o.converted()).isTrue();
            assertThat(o.value()).isNull();
        });
    }

    @Test
    void aGoalAfterTheWindowDoesNotConvertAndTheDecisionExpiresUnconverted() throws Exception {
        GoalTracker.open(decision("d1", "p", 1000, HOUR), state, out);
        // a watermark that jumped past the deadline and the goal at once: the goal is too late
        GoalTracker.goal(1001 + HOUR, meets("p", 5.0), state, out);
        GoalTracker.expire(2000 + HOUR, state, out);
        assertThat(outcomes).singleElement().satisfies(o -> {
            assertThat(o.converted()).isFalse();
            assertThat(o.convertedAt()).isNull();
            assertThat(o.value()).isNull();
            assertThat(o.timeToConvertMs()).isNull();
        });
    }

    @Test
    void expiryWaitsForTheDeadline() throws Exception {
        GoalTracker.open(decision("d1", "p", 1000, HOUR), state, out);
        GoalTracker.expire(999 + HOUR, state, out);
        assertThat(outcomes).isEmpty();
        assertThat(GoalTracker.closesAt(1000 + HOUR, state)).isTrue();
    }

    @Test
    void overlappingDecisionsOfOnePatternEachCountTheConversion() throws Exception {
        GoalTracker.open(decision("d1", "p", 1000, HOUR), state, out);
        GoalTracker.open(decision("d2", "p", 2000, HOUR), state, out);
        GoalTracker.open(decision("d3", "other", 2000, HOUR), state, out);
        GoalTracker.goal(3000, meets("p", 1.0), state, out);
        assertThat(outcomes).extracting(Outcome::decisionId).containsExactly("d1", "d2");
        assertThat(open).containsOnlyKeys("d3");
    }

    @Test
    void theSameDecisionTwiceIsKeptOnce() throws Exception {
        GoalTracker.open(decision("d1", "p", 1000, HOUR), state, out);
        GoalTracker.open(decision("d1", "p", 1000, HOUR), state, out);
        GoalTracker.expire(Long.MAX_VALUE, state, out);
        assertThat(outcomes).hasSize(1);
    }

    @Test
    void openDecisionsAreBounded() throws Exception {
        for (int i = 0; i < GoalTracker.MAX_OPEN_DECISIONS; i++) {
            assertThat(GoalTracker.open(decision("d" + i, "p", i, HOUR), state, out)).isTrue();
        }
        assertThat(GoalTracker.open(decision("one-too-many", "p", 0, HOUR), state, out)).isFalse();
        assertThat(open).hasSize(GoalTracker.MAX_OPEN_DECISIONS).doesNotContainKey("one-too-many");
    }
}
