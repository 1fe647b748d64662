package io.behaviorcep.cli;

import io.behaviorcep.config.JobConfig;
import io.behaviorcep.experiment.ExperimentReport;
import io.behaviorcep.experiment.OutcomeRow;
import io.behaviorcep.experiment.OutcomesTable;
import io.behaviorcep.config.JdbcSettings;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code report}: the experiment report (holdouts, variants, conversion goals) over the outcomes table (docs/experiments.md). */
@Command(name = "report", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Print the experiment report: per pattern version, experiment and arm the exposed and converted users, the conversion "
                    + "rate and value per user, and each arm's lift against the holdout with 95%% intervals and p-values "
                    + "(docs/experiments.md).",
            "Reads the outcomes table of PostgreSQL (settings as for run: --jdbc.url, --jdbc.user, --jdbc.password-env, or --config FILE), "
                    + "or a file of outcome records (--outcomes)."})
public final class ReportCommand implements Callable<Integer> {
    @Option(names = "--pattern", paramLabel = "ID", description = "only this pattern")
    String pattern;

    @Option(names = "--experiment", paramLabel = "ID", description = "only this experiment (with the global holdout of its pattern)")
    String experiment;

    @Option(names = "--since", paramLabel = "TIME", description = "only decisions at or after this time (ISO-8601, e.g. 2026-11-01T00:00:00Z or 2026-11-01)")
    String since;

    @Option(names = "--until", paramLabel = "TIME", description = "only decisions before this time")
    String until;

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "text", description = "text (default) or json")
    String format;

    @Option(names = "--outcomes", paramLabel = "FILE",
            description = "read outcome records (JSON lines, as on the outcomes topic) from this file instead of PostgreSQL")
    Path outcomes;

    /** Everything else is a job setting, checked by JobConfig (unknown keys are refused there). */
    @Unmatched
    List<String> settings = new ArrayList<>();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        OutcomesTable.Filter filter;
        JdbcSettings jdbc = null;
        try {
            if (!format.equals("text") && !format.equals("json")) throw new IllegalArgumentException("--format is text or json, not '" + format + "'");
            filter = new OutcomesTable.Filter(pattern, experiment, ReplayCommand.time(since, "--since"), ReplayCommand.time(until, "--until"));
            JobConfig config = JobConfig.fromArgs(settings.toArray(new String[0]));
            if (outcomes == null) {
                jdbc = config.jdbc();
                if (jdbc == null) throw new IllegalArgumentException("give --jdbc.url (PostgreSQL with the outcomes table) or --outcomes FILE");
            }
        } catch (IllegalArgumentException | IOException e) {
            err.println("report: " + e.getMessage());
            err.flush();
            return 2;
        }
        ExperimentReport report;
        try {
            report = outcomes != null ? fromFile(outcomes, filter) : fromTable(jdbc, filter);
        } catch (SQLException e) {
            err.println("report: reading the outcomes table failed: " + e.getMessage());
            err.flush();
            return 1;
        } catch (IllegalArgumentException | IOException e) {
            err.println("report: " + e.getMessage());
            err.flush();
            return 1;
        }
        out.print(format.equals("json") ? report.json() : report.text());
        out.flush();
        return 0;
    }

    private static ExperimentReport fromTable(JdbcSettings jdbc, OutcomesTable.Filter filter) throws SQLException {
        try (Connection c = jdbc.connect()) {
            return OutcomesTable.report(c, filter);
        }
    }

    private static ExperimentReport fromFile(Path file, OutcomesTable.Filter filter) throws IOException {
        ExperimentReport.Builder b = ExperimentReport.builder();
        OutcomeRow.readJsonLines(file, r -> {
            if (filter.test(r)) b.add(r);
        });
        return filter.narrow(b.build());
    }
}
