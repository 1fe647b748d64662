package io.behaviorcep.profile;

import io.behaviorcep.pattern.expr.ConditionParser;
import io.behaviorcep.pattern.ThresholdSegment;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;
import java.util.Set;

import static io.behaviorcep.profile.ProfileState.DAY;
import static io.behaviorcep.profile.ProfileState.HOUR;
import static io.behaviorcep.profile.ThresholdSegmentsTest.D0;
import static io.behaviorcep.profile.ThresholdSegmentsTest.page;
import static io.behaviorcep.profile.ThresholdSegmentsTest.segments;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A quiet user's threshold memberships settle: once {@code days_since_*} has grown past every number
 * a segment compares it with, nothing can change any more by time alone, and the evaluator says so
 * instead of looking at every day until the retention.
 */
class ThresholdSettlingTest {

    @Test
    void theReachOfAFieldIsTheLargestNumberItIsComparedWith() {
        assertThat(ConditionParser.parse("profile.days_since_last_seen >= 30").numericReach("days_since_last_seen")).isEqualTo(30.0);
        assertThat(ConditionParser.parse("7 > profile.days_since_last_seen or profile.days_since_last_seen == 12.5 and profile.orders_30d == 0")
                .numericReach("days_since_last_seen")).isEqualTo(12.5);
        assertThat(ConditionParser.parse("not (profile.days_since_last_seen < -40)").numericReach("days_since_last_seen")).isEqualTo(40.0);
        assertThat(ConditionParser.parse("profile.orders_30d == 0").numericReach("days_since_last_seen")).isEqualTo(Double.NEGATIVE_INFINITY);
        // any other use of the field: no bound is known
        assertThat(ConditionParser.parse("profile.days_since_last_seen > profile.sessions_lifetime").numericReach("days_since_last_seen")).isNaN();
        assertThat(ConditionParser.parse("profile.days_since_last_seen in [1, 2]").numericReach("days_since_last_seen")).isNaN();
        assertThat(ConditionParser.parse("profile.days_since_last_seen >= 3 or profile.days_since_last_seen != profile.decay_weeks")
                .numericReach("days_since_last_seen")).isNaN();
    }

    @Test
    void aQuietUserSettlesOnceTheLastComparisonHasFlipped() {
        ThresholdEvaluator evaluator = new ThresholdEvaluator(segments("""
                kind: segments
                segments:
                  - {id: churned, when: profile.days_since_last_seen >= 30}
                  - {id: new, when: profile.days_since_first_seen < 7}
                """));
        ProfileState s = new ProfileState();
        long seen = D0 + 10 * HOUR;
        s.add(page("u1", seen));
        long horizon = seen + 700 * DAY;

        assertThat(evaluator.evaluate(s, seen)).containsExactly("new");
        long leavesNew = evaluator.nextChange(s, seen, Set.of("new"), horizon);
        assertThat(leavesNew).isEqualTo(seen + 7 * DAY);
        long churns = evaluator.nextChange(s, leavesNew, Set.of(), horizon);
        assertThat(churns).isEqualTo(seen + 30 * DAY);
        assertThat(evaluator.evaluate(s, churns)).containsExactly("churned");
        // nothing changes after that: no re-check is due before the horizon
        assertThat(evaluator.nextChange(s, churns, Set.of("churned"), horizon)).isEqualTo(Long.MAX_VALUE);
        // (a comparison with 30 can still flip from 30 to 31 days, `> 30` would; from 31 on, none can)
        assertThat(evaluator.nextBreakpoint(s, churns + 1)).isEqualTo(seen + 31 * DAY);
        assertThat(evaluator.nextBreakpoint(s, seen + 31 * DAY)).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void withoutABoundTheDaysStayBreakpoints() {
        ThresholdEvaluator evaluator = new ThresholdEvaluator(segments("""
                kind: segments
                segments:
                  - {id: odd, when: profile.days_since_last_seen > profile.sessions_lifetime}
                """));
        ProfileState s = new ProfileState();
        long seen = D0 + 10 * HOUR;
        s.add(page("u1", seen));
        long late = seen + 500 * DAY;
        assertThat(evaluator.nextBreakpoint(s, late)).isEqualTo(seen + 501 * DAY);
    }

    /**
     * The settled answer agrees with stepping through every day: for random quiet profiles and
     * thresholds, the first change after any instant is the same with and without the bound.
     */
    @Test
    void theBoundNeverHidesAChange() {
        Random r = new Random(11);
        for (int run = 0; run < 200; run++) {
            int a = 1 + r.nextInt(40), b = 1 + r.nextInt(15);
            List<ThresholdSegment> defs = segments("kind: segments\nsegments:\n"
                    + "  - {id: away, when: profile.days_since_last_seen >= " + a + "}\n"
                    + "  - {id: fresh, when: profile.days_since_first_seen < " + b + "}\n"
                    + "  - {id: between, when: [profile.days_since_last_seen > " + (a / 2) + ", profile.days_since_last_seen <= " + a + "]}\n");
            ThresholdEvaluator bounded = new ThresholdEvaluator(defs);
            ProfileState s = new ProfileState();
            long t0 = D0 + r.nextInt(24) * HOUR;
            s.add(page("u1", t0));
            long last = t0 + r.nextInt(5) * DAY + r.nextInt(24) * HOUR;
            s.add(page("u1", last));
            long from = last + r.nextInt(60) * DAY + r.nextInt(24) * HOUR;
            Set<String> in = bounded.evaluate(s, from);
            long next = bounded.nextChange(s, from, in, from + 200 * DAY);
            // step hour by hour (every breakpoint lies on an hour boundary of t0 or last, both whole hours)
            long expected = Long.MAX_VALUE;
            for (long t = Math.floorDiv(from, HOUR) * HOUR + HOUR; t <= from + 200 * DAY; t += HOUR) {
                if (!bounded.evaluate(s, t).equals(in)) {
                    expected = t;
                    break;
                }
            }
            assertThat(next).as("run %d: a=%d b=%d", run, a, b).isEqualTo(expected);
        }
    }
}
