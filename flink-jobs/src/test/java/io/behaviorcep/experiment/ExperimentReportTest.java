package io.behaviorcep.experiment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.behaviorcep.experiment.ExperimentReport.Arm;
import io.behaviorcep.experiment.ExperimentReport.ArmKey;
import io.behaviorcep.experiment.ExperimentReport.Group;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class ExperimentReportTest {
    static final Instant T0 = Instant.parse("2026-11-21T04:00:00Z");
    int ids;

    OutcomeRow row(String user, String pattern, String experiment, String arm, boolean holdout, boolean converted, Double value) {
        return new OutcomeRow("d" + ids++, user, pattern, 1, experiment, arm, holdout, T0.plusSeconds(ids), "Order Completed", 86_400_000L,
                converted, converted ? T0.plusSeconds(ids + 60) : null, converted ? value : null, converted ? 60_000L : null);
    }

    /** {@code users} users in an arm of which the first {@code converters} convert with value {@code value}. */
    List<OutcomeRow> arm(String pattern, String experiment, String arm, boolean holdout, int users, int converters, double value) {
        List<OutcomeRow> rows = new ArrayList<>();
        for (int i = 0; i < users; i++) {
            rows.add(row(arm + "-u" + i, pattern, experiment, arm, holdout, i < converters, value));
        }
        return rows;
    }

    @Test
    void countsDistinctUsersAndSumsAUsersValuesOverTheirConvertedDecisions() {
        List<OutcomeRow> rows = new ArrayList<>();
        rows.add(row("alice", "p", "e", "a", false, false, null));
        rows.add(row("alice", "p", "e", "a", false, true, 30.0));
        rows.add(row("alice", "p", "e", "a", false, true, 10.0));
        rows.add(row("bob", "p", "e", "a", false, false, null));
        rows.add(row("carol", "p", "e", "a", false, true, null)); // converted, goal event without value
        rows.add(row("dave", "p", "e", "holdout", true, true, 5.0));
        rows.add(row("erin", "p", "e", "holdout", true, false, null));
        ExperimentReport report = ExperimentReport.of(rows);

        assertThat(report.groups()).hasSize(1);
        Map<String, Arm> arms = ExperimentReport.armsByName(report.groups().get(0));
        assertThat(arms.keySet()).containsExactly("holdout", "a");
        Arm a = arms.get("a");
        assertThat(a.exposed()).isEqualTo(3);
        assertThat(a.converted()).isEqualTo(2);
        assertThat(a.rate()).isCloseTo(2 / 3.0, within(1e-12));
        assertThat(a.valuePerUser()).isCloseTo(40 / 3.0, within(1e-12));
        // per-user values 40, 0, 0
        assertThat(a.values().variance()).isCloseTo((Math.pow(40 - 40 / 3.0, 2) + 2 * Math.pow(40 / 3.0, 2)) / 2, within(1e-9));
        assertThat(a.control().arm()).isEqualTo("holdout");
        assertThat(a.conversion().absoluteLift()).isCloseTo(2 / 3.0 - 0.5, within(1e-12));
        assertThat(a.value().difference()).isCloseTo(40 / 3.0 - 2.5, within(1e-12));
        Arm holdout = arms.get("holdout");
        assertThat(holdout.holdout()).isTrue();
        assertThat(holdout.control()).isNull();
        assertThat(holdout.conversion()).isNull();
    }

    @Test
    void armsAreComparedWithTheExperimentsHoldoutArmAndTheGlobalHoldoutToo() {
        List<OutcomeRow> rows = new ArrayList<>();
        rows.addAll(arm("p", "e", "control", true, 1_000, 100, 10));
        rows.addAll(arm("p", "e", "subject-b", false, 1_000, 150, 10));
        rows.addAll(arm("p", "e", ExperimentReport.GLOBAL_HOLDOUT, true, 1_000, 100, 10));
        Group g = ExperimentReport.of(rows).groups().get(0);
        assertThat(g.control().arm()).isEqualTo("control");
        assertThat(g.arms()).extracting(a -> a.key().arm()).containsExactly("control", ExperimentReport.GLOBAL_HOLDOUT, "subject-b");
        Map<String, Arm> arms = ExperimentReport.armsByName(g);
        assertThat(arms.get("subject-b").conversion().relativeLift()).isCloseTo(0.5, within(1e-12));
        assertThat(arms.get("subject-b").conversion().pValue()).isLessThan(0.01);
        // the global holdout against the experiment's own holdout is an A/A comparison
        assertThat(arms.get(ExperimentReport.GLOBAL_HOLDOUT).conversion().absoluteLift()).isZero();
        assertThat(g.arms()).allSatisfy(a -> assertThat(a.warnings()).isEmpty());
    }

    @Test
    void withoutAHoldoutArmTheGlobalHoldoutOfTheExperimentOrElseOfThePatternIsTheControl() {
        List<OutcomeRow> rows = new ArrayList<>();
        // pattern q: a plain pattern (no experiment) with the global holdout
        rows.addAll(arm("q", null, "default", false, 500, 60, 1));
        rows.addAll(arm("q", null, ExperimentReport.GLOBAL_HOLDOUT, true, 500, 50, 1));
        // pattern r: an experiment without a holdout arm; its global holdout users carry no experiment id
        rows.addAll(arm("r", "e2", "a", false, 500, 70, 1));
        rows.addAll(arm("r", "e2", "b", false, 500, 40, 1));
        rows.addAll(arm("r", null, ExperimentReport.GLOBAL_HOLDOUT, true, 500, 50, 1));
        ExperimentReport report = ExperimentReport.of(rows);

        assertThat(report.groups()).extracting(g -> g.key().patternId() + "/" + g.key().experimentId())
                .containsExactly("q/null", "r/e2"); // r's global holdout is shown as the control of e2, not on its own
        Group q = report.groups().get(0);
        assertThat(q.control()).isEqualTo(new ArmKey("q", 1, null, ExperimentReport.GLOBAL_HOLDOUT));
        assertThat(ExperimentReport.armsByName(q).get("default").conversion().absoluteLift()).isCloseTo(0.02, within(1e-12));
        Group r = report.groups().get(1);
        assertThat(r.control()).isEqualTo(new ArmKey("r", 1, null, ExperimentReport.GLOBAL_HOLDOUT));
        assertThat(r.arms()).extracting(a -> a.key().arm()).containsExactly(ExperimentReport.GLOBAL_HOLDOUT, "a", "b");
        assertThat(r.arms().get(0).exposed()).isEqualTo(500);
        assertThat(ExperimentReport.armsByName(r).get("b").conversion().absoluteLift()).isCloseTo(-0.02, within(1e-12));
        assertThat(report.text()).contains("against 'global_holdout' (the pattern's global holdout, no experiment)");
    }

    @Test
    void anExperimentFilterKeepsTheBorrowedGlobalHoldoutAsControlOnly() {
        List<OutcomeRow> rows = new ArrayList<>();
        rows.addAll(arm("q", null, "default", false, 200, 20, 1));
        rows.addAll(arm("q", null, ExperimentReport.GLOBAL_HOLDOUT, true, 200, 20, 1));
        rows.addAll(arm("r", "e2", "a", false, 200, 30, 1));
        rows.addAll(arm("r", "e3", "a", false, 200, 30, 1));
        rows.addAll(arm("r", null, ExperimentReport.GLOBAL_HOLDOUT, true, 200, 20, 1));
        OutcomesTable.Filter filter = new OutcomesTable.Filter(null, "e2", null, null);
        ExperimentReport.Builder b = ExperimentReport.builder();
        rows.stream().filter(filter::test).forEach(b::add);
        ExperimentReport report = filter.narrow(b.build());
        assertThat(report.groups()).hasSize(1);
        Group e2 = report.groups().get(0);
        assertThat(e2.key()).isEqualTo(new ExperimentReport.GroupKey("r", 1, "e2"));
        assertThat(e2.arms()).extracting(a -> a.key().arm()).containsExactly(ExperimentReport.GLOBAL_HOLDOUT, "a");
        assertThat(e2.arms().get(1).conversion().absoluteLift()).isCloseTo(0.05, within(1e-12));
        // the filter by time: since inclusive, until exclusive
        OutcomeRow first = rows.get(0);
        assertThat(new OutcomesTable.Filter(null, null, first.decidedAt(), null).test(first)).isTrue();
        assertThat(new OutcomesTable.Filter(null, null, null, first.decidedAt()).test(first)).isFalse();
        assertThat(new OutcomesTable.Filter("r", null, null, null).test(first)).isFalse();
    }

    @Test
    void smallSamplesAndArmsWithoutControlAreWarnedAbout() {
        List<OutcomeRow> rows = new ArrayList<>();
        rows.addAll(arm("small", "e", "holdout", true, 99, 5, 1));
        rows.addAll(arm("small", "e", "a", false, 120, 8, 1));
        rows.addAll(arm("rare", "e", "holdout", true, 5_000, 3, 1));
        rows.addAll(arm("rare", "e", "a", false, 5_000, 9, 1));
        rows.addAll(arm("alone", null, "default", false, 2_000, 300, 1));
        rows.addAll(arm("fine", "e", "holdout", true, 1_000, 100, 1));
        rows.addAll(arm("fine", "e", "a", false, 1_000, 110, 1));
        ExperimentReport report = ExperimentReport.of(rows);

        Map<String, Arm> small = ExperimentReport.armsByName(report.groups().stream().filter(g -> g.key().patternId().equals("small")).findFirst().orElseThrow());
        assertThat(small.get("holdout").warnings()).containsExactly("only 99 exposed user(s), fewer than 100");
        assertThat(small.get("a").warnings()).anyMatch(w -> w.contains("expected conversions")).anyMatch(w -> w.contains("control 'holdout' has only 99"));
        Arm rare = ExperimentReport.armsByName(report.groups().stream().filter(g -> g.key().patternId().equals("rare")).findFirst().orElseThrow()).get("a");
        // pooled 12 / 10,000: 6 expected conversions per arm
        assertThat(rare.warnings()).containsExactly("only 6.0 expected conversions or non-conversions in an arm at the pooled rate, fewer than 10");
        Arm alone = report.groups().stream().filter(g -> g.key().patternId().equals("alone")).findFirst().orElseThrow().arms().get(0);
        assertThat(alone.warnings()).containsExactly("no holdout arm to compare with");
        assertThat(alone.conversion()).isNull();
        Group fine = report.groups().stream().filter(g -> g.key().patternId().equals("fine")).findFirst().orElseThrow();
        assertThat(fine.arms()).allSatisfy(a -> assertThat(a.warnings()).isEmpty());
        assertThat(report.text()).contains("! a: only 6.0 expected conversions").contains("no holdout arm, nothing compared");
    }

    @Test
    void theTextTableShowsRatesLiftsAndPValues() {
        List<OutcomeRow> rows = new ArrayList<>();
        rows.addAll(arm("cart", "subject", "holdout", true, 10_000, 1_000, 20));
        rows.addAll(arm("cart", "subject", "a", false, 10_000, 1_300, 20));
        String text = ExperimentReport.of(rows).text();
        assertThat(text).contains("pattern cart v1, experiment subject: arms against 'holdout'");
        assertThat(text).containsPattern("holdout \\(control\\)\\s+10,000\\s+1,000\\s+10\\.00%\\s+-\\s+-\\s+-\\s+2\\.00\\s+-\\s+-\\n");
        // 13 % against 10 %: +3 points, +30 %; value per user 0.13 * 20 = 2.60 against 2.00
        assertThat(text).containsPattern("a\\s+10,000\\s+1,300\\s+13\\.00%\\s+\\+3\\.00 \\[\\+2\\.\\d\\d, \\+3\\.\\d\\d\\]\\s+\\+30\\.0% \\[\\+\\d\\d\\.\\d%, \\+\\d\\d\\.\\d%\\]\\s+<0\\.0001\\s+2\\.60\\s+\\+0\\.60 \\[");
    }

    @Test
    void theJsonHasEveryFigureAndNullWhereOneIsNotDefined() throws IOException {
        List<OutcomeRow> rows = new ArrayList<>();
        rows.addAll(arm("p", "e", "holdout", true, 200, 0, 0));
        rows.addAll(arm("p", "e", "a", false, 200, 20, 7.5));
        JsonNode json = new ObjectMapper().readTree(ExperimentReport.of(rows).json());
        assertThat(json.get("confidence").asDouble()).isEqualTo(0.95);
        JsonNode group = json.get("groups").get(0);
        assertThat(group.get("pattern_id").asText()).isEqualTo("p");
        assertThat(group.get("pattern_version").asInt()).isEqualTo(1);
        assertThat(group.get("experiment_id").asText()).isEqualTo("e");
        assertThat(group.get("control").get("arm").asText()).isEqualTo("holdout");
        JsonNode holdout = group.get("arms").get(0);
        assertThat(holdout.get("arm").asText()).isEqualTo("holdout");
        assertThat(holdout.get("conversion").isNull()).isTrue();
        JsonNode a = group.get("arms").get(1);
        assertThat(a.get("exposed").asLong()).isEqualTo(200);
        assertThat(a.get("converted").asLong()).isEqualTo(20);
        assertThat(a.get("rate").asDouble()).isEqualTo(0.1);
        assertThat(a.get("value_per_user").asDouble()).isEqualTo(0.75);
        JsonNode conversion = a.get("conversion");
        assertThat(conversion.get("absolute_lift").asDouble()).isEqualTo(0.1);
        assertThat(conversion.get("absolute_lift_ci")).hasSize(2);
        assertThat(conversion.get("relative_lift").isNull()).isTrue(); // over a 0 % control rate
        assertThat(conversion.get("relative_lift_ci").isNull()).isTrue();
        assertThat(conversion.get("p_value").asDouble()).isBetween(0.0, 0.001);
        JsonNode value = a.get("value");
        assertThat(value.get("difference").asDouble()).isCloseTo(0.75, within(1e-12));
        assertThat(value.get("df").asDouble()).isCloseTo(199, within(1e-9)); // the control has no spread: all from the treated arm
        assertThat(a.get("warnings")).isEmpty();
    }

    @Test
    void anEmptyReportSaysSo() {
        ExperimentReport report = ExperimentReport.of(List.of());
        assertThat(report.isEmpty()).isTrue();
        assertThat(report.text()).isEqualTo("no outcomes\n");
    }

    @Test
    void readsOutcomesFromTheTopicsJsonAndNamesTheLineOfABadOne(@TempDir Path dir) throws IOException {
        String good = "{\"decision_id\":\"a1\",\"user_id\":\"u1\",\"pattern_id\":\"cart\",\"pattern_version\":2,\"experiment_id\":null,"
                + "\"arm\":\"default\",\"holdout\":false,\"decided_at\":\"2026-11-21T04:00:00Z\",\"goal_event\":\"Order Completed\","
                + "\"goal_within_ms\":86400000,\"converted\":true,\"converted_at\":\"2026-11-21T05:00:00.250Z\",\"value\":42.5,"
                + "\"time_to_convert_ms\":3600250}";
        OutcomeRow r = OutcomeRow.fromJson(good);
        assertThat(r).isEqualTo(new OutcomeRow("a1", "u1", "cart", 2, null, "default", false, T0, "Order Completed", 86_400_000L, true,
                Instant.parse("2026-11-21T05:00:00.250Z"), 42.5, 3_600_250L));
        assertThat(r.countedValue()).isEqualTo(42.5);

        Path file = dir.resolve("outcomes.jsonl");
        Files.writeString(file, good + "\n\n" + good.replace("\"holdout\":false", "\"holdout\":\"no\"") + "\n");
        List<OutcomeRow> read = new ArrayList<>();
        assertThatThrownBy(() -> OutcomeRow.readJsonLines(file, read::add))
                .hasMessage(file + ":3: not an outcome: holdout must be true or false");
        assertThat(read).hasSize(1);
        assertThatThrownBy(() -> OutcomeRow.fromJson("{\"user_id\":\"u\"}")).hasMessageContaining("pattern_version is missing");
        assertThatThrownBy(() -> OutcomeRow.fromJson("[1]")).hasMessageContaining("not a JSON object");
        assertThatThrownBy(() -> OutcomeRow.fromJson(good.replace("2026-11-21T04:00:00Z", "yesterday"))).hasMessageContaining("decided_at 'yesterday'");
    }

    @Test
    void aValueOfAnUnconvertedOrNonFiniteDecisionCountsAsZero() {
        OutcomeRow notConverted = new OutcomeRow("d", "u", "p", 1, null, "default", false, T0, "g", 1, false, null, 9.0, null);
        OutcomeRow nan = new OutcomeRow("d", "u", "p", 1, null, "default", false, T0, "g", 1, true, T0, Double.NaN, 1L);
        assertThat(notConverted.countedValue()).isZero();
        assertThat(nan.countedValue()).isZero();
    }
}
