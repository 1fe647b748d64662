package io.behaviorcep.cli;

import io.behaviorcep.config.JobConfig;
import io.behaviorcep.experiment.ExperimentReport;
import io.behaviorcep.experiment.OutcomeRow;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.pattern.PatternProblem;
import io.behaviorcep.replay.Backfill;
import io.behaviorcep.replay.EventFiles;
import io.behaviorcep.replay.EventLogFormat;
import io.behaviorcep.replay.KafkaRange;
import io.behaviorcep.replay.ReplayRunner;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Backtests pattern files on recorded history: runs them through the real job, bounded, on a local
 * Flink, and says whom they would have hit. Also compares two versions of a pattern folder, and
 * can backfill the real outputs with the results.
 */
@Command(name = "replay", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Run pattern files over recorded events (a backtest) on a local Flink: the same parsing, dedup, profile, "
                    + "patterns, caps and segments as the streaming job. Writes alerts.jsonl, segments.jsonl, dlq.jsonl "
                    + "and summary.json to --out and prints the summary.",
            "Only decided outcomes count: whatever falls after the last event of the input is reported as pending.",
            "Job settings (kafka.*, topics.*, jdbc.*, events.*, ...) follow as --key value or --config FILE."})
public final class ReplayCommand implements Callable<Integer> {
    @Option(names = "--events", paramLabel = "FILE|DIR",
            description = "recorded events: a file, or a folder searched for *.jsonl / *.ndjson (Segment JSON lines) or *.csv, each also .gz")
    Path events;

    @Option(names = "--events-format", paramLabel = "FORMAT", defaultValue = "segment",
            description = "segment (JSON lines, default), rees46 or taobao (the public shop logs, converted on the fly)")
    String eventsFormat;

    @Option(names = "--kafka-from", paramLabel = "TIME",
            description = "read the live events topic instead, from this Kafka record time (ISO-8601, e.g. 2026-11-01T00:00:00Z or 2026-11-01)")
    String kafkaFrom;

    @Option(names = "--kafka-to", paramLabel = "TIME", description = "... up to (not including) this Kafka record time (default: the latest record)")
    String kafkaTo;

    @Option(names = "--patterns", paramLabel = "DIR", defaultValue = "patterns", description = "pattern folder or file (default: ${DEFAULT-VALUE})")
    Path patterns;

    @Option(names = "--out", paramLabel = "DIR", required = true, description = "where the results go (created; result files are replaced)")
    Path out;

    @Option(names = "--compare", paramLabel = "OTHER_PATTERNS_DIR",
            description = "also run this pattern folder over the same input and print, per pattern, the users only A hits, only B hits, and both (A in OUT/a, B in OUT/b)")
    Path compare;

    @Option(names = "--to-sinks", description = "write the decided results to the real Kafka topics and PostgreSQL tables (a backfill; idempotent by id)")
    boolean toSinks;

    @Option(names = "--report", description = "also print the experiment report of the replay's decisions (OUT/outcomes.jsonl), as `report --outcomes` does")
    boolean report;

    @Option(names = "--parallelism", paramLabel = "N", description = "default: the number of cores")
    Integer parallelism;

    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "auto",
            description = "batch (sorted, spills to disk), streaming (all in memory; needed by threshold segments) "
                    + "or auto (default: batch unless the folder has threshold segments)")
    String mode;

    @Option(names = "--progress", paramLabel = "HOW", defaultValue = "auto",
            description = "auto (a bar on a terminal, lines otherwise), bar, lines or none")
    String progress;

    /** Everything else is a job setting, checked by JobConfig (unknown keys are refused there). */
    @Unmatched
    List<String> settings = new ArrayList<>();

    private final PrintStream stdout;
    private final PrintStream stderr;

    public ReplayCommand() {
        this(System.out, System.err);
    }

    /** Output to the given streams: the summary to {@code stdout}, progress and problems to {@code stderr}. */
    public ReplayCommand(PrintStream stdout, PrintStream stderr) {
        this.stdout = stdout;
        this.stderr = stderr;
    }

    @Override
    public Integer call() throws Exception {
        JobConfig config;
        ReplayRunner.Input input;
        ReplayRunner.Mode runMode;
        try {
            config = JobConfig.fromArgs(settings.toArray(new String[0]));
            input = input(config);
            runMode = switch (mode) {
                case "auto" -> ReplayRunner.Mode.AUTO;
                case "batch" -> ReplayRunner.Mode.BATCH;
                case "streaming" -> ReplayRunner.Mode.STREAMING;
                default -> throw new IllegalArgumentException("--mode is auto, batch or streaming, not '" + mode + "'");
            };
            if (toSinks && compare != null) throw new IllegalArgumentException("--to-sinks writes one result: leave out --compare");
            if (toSinks && config.bootstrapServers().isBlank()) {
                throw new IllegalArgumentException("--to-sinks needs --kafka.bootstrap-servers (and --jdbc.url for PostgreSQL)");
            }
        } catch (IllegalArgumentException | java.io.IOException | java.io.UncheckedIOException e) {
            stderr.println("replay: " + e.getMessage());
            return 2;
        }
        PatternLoader.Result a = load(patterns);
        if (a == null) return 1;
        PatternLoader.Result b = compare == null ? null : load(compare);
        if (compare != null && b == null) return 1;

        ReplayRunner.Options o = new ReplayRunner.Options();
        o.input = input;
        o.patterns = a.patterns();
        o.segments = a.segments();
        o.traits = a.traits();
        o.patternsLabel = patterns.toString();
        o.out = out;
        o.config = config;
        o.mode = runMode;
        if (parallelism != null) o.parallelism = parallelism;
        else if (config.parallelism() != null) o.parallelism = config.parallelism();
        boolean terminal = switch (progress) {
            case "bar" -> true;
            case "lines", "none" -> false;
            default -> System.console() != null;
        };
        o.progress = "none".equals(progress) ? null : stderr;
        o.terminal = terminal;
        try {
            ReplayRunner.mode(o);
            if (b != null) {
                ReplayRunner.Options ob = o.copy();
                ob.segments = b.segments();
                ob.traits = b.traits();
                ob.patternsLabel = compare.toString();
                ReplayRunner.mode(ob);
            }
        } catch (IllegalArgumentException e) {
            stderr.println("replay: " + e.getMessage());
            return 2;
        }

        if (compare != null) {
            ReplayRunner.Comparison c = ReplayRunner.compare(o, b.patterns(), b.segments(), b.traits(), compare.toString());
            stdout.println(c.a().summary.table());
            stdout.println(c.b().summary.table());
            stdout.print(c.table(patterns.toString(), compare.toString()));
            stdout.println("\nresults in " + out.resolve("a") + " and " + out.resolve("b") + ", users per pattern in " + out.resolve("compare.json"));
            if (report) {
                printExperimentReport(out.resolve("a"), stdout);
                printExperimentReport(out.resolve("b"), stdout);
            }
            return 0;
        }
        ReplayRunner.Result r = ReplayRunner.run(o);
        stdout.print(r.summary.table());
        stdout.println("\nresults in " + out + ": alerts.jsonl, segments.jsonl, dlq.jsonl, summary.json");
        if (report) printExperimentReport(out, stdout);
        if (toSinks) {
            Backfill.Written w = Backfill.write(config, out, o.parallelism);
            stdout.println("backfilled " + w.alerts() + " alert(s) to " + config.alertsTopic() + " and " + w.segmentUpdates()
                    + " segment update(s) to " + config.segmentsTopic()
                    + (config.jdbc() == null ? " (no jdbc.url: PostgreSQL not written)" : " and PostgreSQL"));
        }
        return 0;
    }

    private ReplayRunner.Input input(JobConfig config) {
        boolean kafka = kafkaFrom != null || kafkaTo != null;
        if (kafka == (events != null)) {
            throw new IllegalArgumentException("give either --events FILE|DIR or a Kafka range (--kafka-from and/or --kafka-to)");
        }
        if (events != null) {
            EventLogFormat format = EventLogFormat.parse(eventsFormat);
            EventFiles files = EventFiles.of(events, format);
            if (format == EventLogFormat.SEGMENT && files.files().stream().anyMatch(f -> f.toString().matches(".*\\.csv(\\.gz)?$"))) {
                throw new IllegalArgumentException(events + " is CSV: say which log it is with --events-format rees46|taobao");
            }
            return ReplayRunner.Input.of(files);
        }
        return ReplayRunner.Input.of(new KafkaRange(config, time(kafkaFrom, "--kafka-from"), time(kafkaTo, "--kafka-to")));
    }

    /** The experiment report over {@link ReplayRunner#OUTCOMES_FILE} of a replay's result folder, or why there is none. */
    static void printExperimentReport(Path resultDir, PrintStream to) throws IOException {
        Path file = resultDir.resolve(ReplayRunner.OUTCOMES_FILE);
        to.println();
        if (!Files.exists(file)) {
            to.println("experiment report: no " + file + " (this replay wrote no decision outcomes)");
            return;
        }
        ExperimentReport.Builder b = ExperimentReport.builder();
        try {
            OutcomeRow.readJsonLines(file, b::add);
        } catch (IllegalArgumentException e) {
            to.println("experiment report: " + e.getMessage());
            return;
        }
        to.println("experiment report of " + file + ":");
        to.print(b.build().text());
    }

    public static Instant time(String s, String option) {
        if (s == null) return null;
        try {
            return Instant.parse(s);
        } catch (DateTimeParseException e) {
            // not an instant: try a local offset, then a date
        }
        try {
            return OffsetDateTime.parse(s).toInstant();
        } catch (DateTimeParseException e) {
            // try a date
        }
        try {
            return LocalDate.parse(s).atStartOfDay().toInstant(ZoneOffset.UTC);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(option + " '" + s + "' is not a time: write 2026-11-01T00:00:00Z or 2026-11-01");
        }
    }

    private PatternLoader.Result load(Path dir) {
        PatternLoader.Result r = PatternLoader.load(dir);
        if (!r.ok()) {
            for (PatternProblem p : r.problems()) stderr.println(p);
            stderr.println("fix the problems above first (see `validate`)");
            return null;
        }
        if (r.patterns().stream().noneMatch(p -> p.enabled) && r.segments().stream().noneMatch(x -> x.enabled)) {
            stderr.println("no enabled pattern or segment in " + dir);
            return null;
        }
        return r;
    }
}
