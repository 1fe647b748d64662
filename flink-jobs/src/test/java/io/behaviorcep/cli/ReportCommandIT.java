package io.behaviorcep.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.behaviorcep.experiment.ExperimentReport;
import io.behaviorcep.experiment.ExperimentReport.Arm;
import io.behaviorcep.experiment.ExperimentReport.ArmKey;
import io.behaviorcep.experiment.OutcomeRow;
import io.behaviorcep.experiment.OutcomesTable;
import io.behaviorcep.local.EmbeddedPostgresDb;
import io.behaviorcep.sink.SqlMigrations;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * {@code report} and the {@code experiment_report} view on a real PostgreSQL with the shipped
 * migrations (V7 included), over generated outcomes whose true effect is known: 20,000 users of an
 * experiment (holdout converting at 10 %, the treated arm at 13 %, a converter's value exponential with
 * mean 40) and 20,000 users of a pattern without experiment whose alerted users convert like its global
 * holdout (10 %, no effect). A tenth of the users have a second, unconverted decision. Fixed seed.
 * Only PostgreSQL is started; the rows are inserted as the job's sink would write them.
 */
class ReportCommandIT {
    static final String SCHEMA = "report_it";
    static final Instant START = Instant.parse("2026-11-01T00:00:00Z");
    static final Instant HALF = Instant.parse("2026-11-16T00:00:00Z");
    static final long DAY_MS = Duration.ofDays(1).toMillis();
    static final double VALUE_MEAN = 40;
    static final ObjectMapper JSON = new ObjectMapper();

    static EmbeddedPostgresDb postgres;
    static final List<OutcomeRow> generated = new ArrayList<>();
    /** What the generator made, counted independently of the report: arm -> [users, converted users, users deciding since HALF]. */
    static final Map<String, long[]> truth = new HashMap<>();

    @BeforeAll
    static void start() throws SQLException {
        postgres = EmbeddedPostgresDb.start();
        try (Connection c = postgres.connect()) {
            assertThat(SqlMigrations.apply(c, SCHEMA)).contains("7");
            assertThat(SqlMigrations.apply(c, SCHEMA)).isEmpty();
        }
        SplittableRandom random = new SplittableRandom(20261117);
        generate(random, "cart-abandonment", 2, "subject-line", "holdout", true, 10_000, 0.10);
        generate(random, "cart-abandonment", 2, "subject-line", "urgent", false, 10_000, 0.13);
        generate(random, "checkout-abandonment", 1, null, "default", false, 10_000, 0.10);
        generate(random, "checkout-abandonment", 1, null, ExperimentReport.GLOBAL_HOLDOUT, true, 10_000, 0.10);
        try (Connection c = schema(); PreparedStatement ps = c.prepareStatement("INSERT INTO outcomes (decision_id, user_id, pattern_id, "
                + "pattern_version, experiment_id, arm, holdout, decided_at, goal_event, goal_within_ms, converted, converted_at, value, "
                + "time_to_convert_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            c.setAutoCommit(false);
            for (OutcomeRow r : generated) {
                ps.setString(1, r.decisionId());
                ps.setString(2, r.userId());
                ps.setString(3, r.patternId());
                ps.setInt(4, r.patternVersion());
                ps.setString(5, r.experimentId());
                ps.setString(6, r.arm());
                ps.setBoolean(7, r.holdout());
                ps.setTimestamp(8, Timestamp.from(r.decidedAt()));
                ps.setString(9, r.goalEvent());
                ps.setLong(10, r.goalWithinMs());
                ps.setBoolean(11, r.converted());
                ps.setTimestamp(12, r.convertedAt() == null ? null : Timestamp.from(r.convertedAt()));
                ps.setObject(13, r.value());
                ps.setObject(14, r.timeToConvertMs());
                ps.addBatch();
            }
            ps.executeBatch();
            c.commit();
        }
    }

    /** {@code users} users of one arm, each converting with probability {@code rate}. */
    static void generate(SplittableRandom random, String pattern, int version, String experiment, String arm, boolean holdout, int users, double rate) {
        long[] t = truth.computeIfAbsent(pattern + "/" + arm, k -> new long[3]);
        for (int i = 0; i < users; i++) {
            String user = pattern + "-" + arm + "-" + i;
            boolean converts = random.nextDouble() < rate;
            Instant decided = START.plusMillis((long) (random.nextDouble() * 29 * DAY_MS));
            boolean second = random.nextDouble() < 0.1;
            Instant secondDecided = decided.plusMillis(DAY_MS / 2);
            t[0]++;
            if (converts) t[1]++;
            if (!decided.isBefore(HALF) || (second && !secondDecided.isBefore(HALF))) t[2]++;
            Double value = converts ? -VALUE_MEAN * Math.log(1 - random.nextDouble()) : null;
            generated.add(new OutcomeRow(user + "-1", user, pattern, version, experiment, arm, holdout, decided, "Order Completed", DAY_MS,
                    converts, converts ? decided.plusSeconds(600) : null, value, converts ? 600_000L : null));
            if (second) {
                generated.add(new OutcomeRow(user + "-2", user, pattern, version, experiment, arm, holdout, secondDecided, "Order Completed",
                        DAY_MS, false, null, null, null));
            }
        }
    }

    @AfterAll
    static void stop() {
        if (postgres != null) postgres.close();
    }

    static Connection schema() throws SQLException {
        return DriverManager.getConnection(postgres.jdbcUrl(SCHEMA), postgres.user(), postgres.password());
    }

    record Run(int code, String out, String err) {}

    static Run report(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = new CommandLine(new ReportCommand());
        cmd.setOut(new PrintWriter(out));
        cmd.setErr(new PrintWriter(err));
        int code = cmd.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    static String[] withDatabase(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--jdbc.url", postgres.jdbcUrl(SCHEMA), "--jdbc.user", postgres.user()));
        return all.toArray(new String[0]);
    }

    static JsonNode arm(JsonNode report, String pattern, String arm) {
        for (JsonNode g : report.get("groups")) {
            if (!g.get("pattern_id").asText().equals(pattern)) continue;
            for (JsonNode a : g.get("arms")) {
                if (a.get("arm").asText().equals(arm)) return a;
            }
        }
        throw new AssertionError("no arm " + pattern + "/" + arm + " in " + report);
    }

    static void assertContains(JsonNode interval, double value) {
        assertThat(interval.get(0).asDouble()).as("low of %s", interval).isLessThanOrEqualTo(value);
        assertThat(interval.get(1).asDouble()).as("high of %s", interval).isGreaterThanOrEqualTo(value);
    }

    /** Equal JSON but for the last bits of sums that PostgreSQL and Java add up in different orders. */
    static void assertSameFigures(JsonNode a, JsonNode b, String path) {
        if (a.isNumber() && b.isNumber()) {
            assertThat(a.asDouble()).as(path).isCloseTo(b.asDouble(), within(1e-9 * Math.max(1, Math.abs(b.asDouble()))));
        } else if (a.isContainerNode() && b.isContainerNode()) {
            assertThat(a.size()).as(path).isEqualTo(b.size());
            if (a.isArray()) {
                for (int i = 0; i < a.size(); i++) assertSameFigures(a.get(i), b.get(i), path + "[" + i + "]");
            } else {
                assertThat(iterable(a.fieldNames())).as(path).containsExactlyElementsOf(iterable(b.fieldNames()));
                a.fieldNames().forEachRemaining(f -> assertSameFigures(a.get(f), b.get(f), path + "." + f));
            }
        } else {
            assertThat(a).as(path).isEqualTo(b);
        }
    }

    static List<String> iterable(java.util.Iterator<String> names) {
        List<String> l = new ArrayList<>();
        names.forEachRemaining(l::add);
        return l;
    }

    @Test
    void aTrueLiftIsFoundWithAnIntervalAroundIt() throws Exception {
        Run r = report(withDatabase("--pattern", "cart-abandonment", "--format", "json"));
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode json = JSON.readTree(r.out());
        assertThat(json.get("groups")).hasSize(1);
        assertThat(json.get("groups").get(0).get("control").get("arm").asText()).isEqualTo("holdout");
        JsonNode urgent = arm(json, "cart-abandonment", "urgent");
        assertThat(urgent.get("exposed").asLong()).isEqualTo(10_000);
        assertThat(urgent.get("converted").asLong()).isEqualTo(truth.get("cart-abandonment/urgent")[1]);
        JsonNode conversion = urgent.get("conversion");
        assertContains(conversion.get("absolute_lift_ci"), 0.13 - 0.10);
        assertContains(conversion.get("relative_lift_ci"), 0.13 / 0.10 - 1);
        assertThat(conversion.get("absolute_lift_ci").get(0).asDouble()).isPositive();
        assertThat(conversion.get("p_value").asDouble()).isLessThan(1e-6);
        JsonNode value = urgent.get("value");
        // value per user: rate × mean value, 5.2 against 4.0
        assertContains(value.get("difference_ci"), (0.13 - 0.10) * VALUE_MEAN);
        assertThat(value.get("p_value").asDouble()).isLessThan(0.01);
        assertThat(urgent.get("warnings")).isEmpty();
    }

    @Test
    void withoutATrueLiftTheIntervalsHoldZero() throws Exception {
        Run r = report(withDatabase("--pattern", "checkout-abandonment", "--format", "json"));
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode json = JSON.readTree(r.out());
        assertThat(json.get("groups").get(0).get("control").get("arm").asText()).isEqualTo(ExperimentReport.GLOBAL_HOLDOUT);
        JsonNode alerted = arm(json, "checkout-abandonment", "default");
        assertContains(alerted.get("conversion").get("absolute_lift_ci"), 0);
        assertContains(alerted.get("conversion").get("relative_lift_ci"), 0);
        assertContains(alerted.get("value").get("difference_ci"), 0);
        assertThat(alerted.get("conversion").get("p_value").asDouble()).isGreaterThan(0.05);
    }

    @Test
    void theViewAndTheReportAgreeOnTheSameRows() throws SQLException {
        List<OutcomeRow> stored = new ArrayList<>();
        Map<ArmKey, Object[]> view = new HashMap<>();
        try (Connection c = schema()) {
            try (ResultSet rs = c.createStatement().executeQuery("SELECT decision_id, user_id, pattern_id, pattern_version, experiment_id, arm, "
                    + "holdout, decided_at, goal_event, goal_within_ms, converted, converted_at, value, time_to_convert_ms FROM outcomes")) {
                while (rs.next()) {
                    Timestamp convertedAt = rs.getTimestamp(12);
                    stored.add(new OutcomeRow(rs.getString(1), rs.getString(2), rs.getString(3), rs.getInt(4), rs.getString(5), rs.getString(6),
                            rs.getBoolean(7), rs.getTimestamp(8).toInstant(), rs.getString(9), rs.getLong(10), rs.getBoolean(11),
                            convertedAt == null ? null : convertedAt.toInstant(), (Double) rs.getObject(13), (Long) rs.getObject(14)));
                }
            }
            try (ResultSet rs = c.createStatement().executeQuery("SELECT pattern_id, pattern_version, experiment_id, arm, holdout, exposed, converted, "
                    + "rate, value_per_user, first_decided_at, last_decided_at FROM experiment_report")) {
                while (rs.next()) {
                    view.put(new ArmKey(rs.getString(1), rs.getInt(2), rs.getString(3), rs.getString(4)),
                            new Object[] {rs.getBoolean(5), rs.getLong(6), rs.getLong(7), rs.getDouble(8), rs.getDouble(9)});
                }
            }
        }
        assertThat(stored).hasSameSizeAs(generated);
        ExperimentReport fromRows = ExperimentReport.of(stored);
        ExperimentReport fromTable;
        try (Connection c = schema()) {
            fromTable = OutcomesTable.report(c, OutcomesTable.Filter.ALL);
            assertThat(c.getAutoCommit()).isTrue();
        }
        assertThat(view).hasSize(4);
        view.forEach((key, v) -> {
            long[] t = truth.get(key.patternId() + "/" + key.arm());
            for (ExperimentReport report : List.of(fromRows, fromTable)) {
                Arm a = report.arm(key).orElseThrow();
                assertThat(a.holdout()).as("holdout of %s", key).isEqualTo(v[0]);
                assertThat(a.exposed()).as("exposed of %s", key).isEqualTo(v[1]).isEqualTo(t[0]);
                assertThat(a.converted()).as("converted of %s", key).isEqualTo(v[2]).isEqualTo(t[1]);
                assertThat(a.rate()).isCloseTo((Double) v[3], within(1e-12));
                assertThat(a.valuePerUser()).isCloseTo((Double) v[4], within(1e-9));
            }
        });
        assertSameFigures(JSON.valueToTree(fromTable.toJson()), JSON.valueToTree(fromRows.toJson()), "report");
    }

    @Test
    void theTextReportFiltersByTimeAndPattern() {
        Run r = report(withDatabase("--since", HALF.toString()));
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("pattern cart-abandonment v2, experiment subject-line: arms against 'holdout'")
                .contains("pattern checkout-abandonment v1, no experiment: arms against 'global_holdout'");
        long urgentSince = truth.get("cart-abandonment/urgent")[2];
        assertThat(urgentSince).isBetween(4_000L, 7_000L);
        assertThat(r.out()).containsPattern("\\n  urgent\\s+" + String.format(java.util.Locale.ROOT, "%,d", urgentSince) + "\\s");

        Run experiment = report(withDatabase("--experiment", "subject-line"));
        assertThat(experiment.code()).as(experiment.err()).isZero();
        assertThat(experiment.out()).contains("experiment subject-line").doesNotContain("checkout-abandonment");

        // four hours of decisions: about 57 users per arm
        Run one = report(withDatabase("--pattern", "checkout-abandonment", "--until", "2026-11-01T04:00:00Z"));
        assertThat(one.code()).as(one.err()).isZero();
        assertThat(one.out()).doesNotContain("cart-abandonment").contains("checkout-abandonment")
                .containsPattern("! default: only \\d\\d exposed user\\(s\\), fewer than 100")
                .containsPattern("! global_holdout: only \\d\\d exposed user\\(s\\), fewer than 100");
    }

    @Test
    void aFileOfOutcomeRecordsGivesTheSameReportAsTheTable(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("outcomes.jsonl");
        List<String> lines = new ArrayList<>();
        for (OutcomeRow r : generated) {
            Map<String, Object> m = new java.util.LinkedHashMap<>();
            m.put("decision_id", r.decisionId());
            m.put("user_id", r.userId());
            m.put("pattern_id", r.patternId());
            m.put("pattern_version", r.patternVersion());
            m.put("experiment_id", r.experimentId());
            m.put("arm", r.arm());
            m.put("holdout", r.holdout());
            m.put("decided_at", r.decidedAt().toString());
            m.put("goal_event", r.goalEvent());
            m.put("goal_within_ms", r.goalWithinMs());
            m.put("converted", r.converted());
            m.put("converted_at", r.convertedAt() == null ? null : r.convertedAt().toString());
            m.put("value", r.value());
            m.put("time_to_convert_ms", r.timeToConvertMs());
            lines.add(JSON.writeValueAsString(m));
        }
        Files.write(file, lines);
        Run fromFile = report("--outcomes", file.toString(), "--since", "2026-11-10", "--format", "json");
        Run fromTable = report(withDatabase("--since", "2026-11-10", "--format", "json"));
        assertThat(fromFile.code()).as(fromFile.err()).isZero();
        assertThat(fromTable.code()).as(fromTable.err()).isZero();
        assertThat(JSON.readTree(fromFile.out()).get("groups")).hasSize(2);
        assertSameFigures(JSON.readTree(fromFile.out()), JSON.readTree(fromTable.out()), "report");
    }

    @Test
    void problemsWithTheCommandLineOrTheDatabaseAreSaid() {
        Run noDb = report("--pattern", "x");
        assertThat(noDb.code()).isEqualTo(2);
        assertThat(noDb.err()).contains("give --jdbc.url");
        Run unknown = report(withDatabase("--jdbc.urll", "x"));
        assertThat(unknown.code()).isEqualTo(2);
        assertThat(unknown.err()).contains("unknown setting 'jdbc.urll'");
        Run badTime = report(withDatabase("--since", "last week"));
        assertThat(badTime.code()).isEqualTo(2);
        assertThat(badTime.err()).contains("--since 'last week' is not a time");
        Run badFormat = report(withDatabase("--format", "csv"));
        assertThat(badFormat.code()).isEqualTo(2);
        Run noTable = report("--jdbc.url", postgres.jdbcUrl("public"), "--jdbc.user", postgres.user());
        assertThat(noTable.code()).isEqualTo(1);
        assertThat(noTable.err()).contains("reading the outcomes table failed");
        Run nothing = report(withDatabase("--pattern", "no-such-pattern"));
        assertThat(nothing.code()).isZero();
        assertThat(nothing.out()).isEqualTo("no outcomes\n");
        assertThat(new CommandLine(new Main()).getSubcommands()).containsKey("report");
    }
}
