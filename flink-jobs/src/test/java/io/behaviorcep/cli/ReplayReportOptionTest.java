package io.behaviorcep.cli;

import io.behaviorcep.replay.ReplayRunner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code replay --report}: the experiment report over the outcomes a replay wrote to its result folder. */
class ReplayReportOptionTest {

    static String outcome(String user, String arm, boolean holdout, boolean converted) {
        return "{\"decision_id\":\"" + arm + "-" + user + "\",\"user_id\":\"" + user + "\",\"pattern_id\":\"cart-abandonment\","
                + "\"pattern_version\":1,\"experiment_id\":null,\"arm\":\"" + arm + "\",\"holdout\":" + holdout + ","
                + "\"decided_at\":\"2026-11-21T04:00:00Z\",\"goal_event\":\"Order Completed\",\"goal_within_ms\":86400000,"
                + "\"converted\":" + converted + ",\"converted_at\":" + (converted ? "\"2026-11-21T05:00:00Z\"" : "null")
                + ",\"value\":null,\"time_to_convert_ms\":" + (converted ? "3600000" : "null") + "}";
    }

    static String print(Path dir) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ReplayCommand.printExperimentReport(dir, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void printsTheReportOfTheOutcomesFile(@TempDir Path dir) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 200; i++) lines.add(outcome("a" + i, "default", false, i < 30));
        for (int i = 0; i < 200; i++) lines.add(outcome("h" + i, "global_holdout", true, i < 20));
        Files.write(dir.resolve(ReplayRunner.OUTCOMES_FILE), lines);
        String text = print(dir);
        assertThat(text).contains("experiment report of " + dir.resolve("outcomes.jsonl"))
                .contains("pattern cart-abandonment v1, no experiment: arms against 'global_holdout'")
                .containsPattern("default\\s+200\\s+30\\s+15\\.00%\\s+\\+5\\.00 \\[");
    }

    @Test
    void saysWhyThereIsNoReport(@TempDir Path dir) throws IOException {
        assertThat(print(dir)).contains("experiment report: no " + dir.resolve("outcomes.jsonl") + " (this replay wrote no decision outcomes)");
        Files.writeString(dir.resolve(ReplayRunner.OUTCOMES_FILE), "{\"user_id\":1}\n");
        assertThat(print(dir)).contains("outcomes.jsonl:1: not an outcome: user_id must be a string");
    }

    @Test
    void replayOffersTheOption() {
        assertThat(new CommandLine(new ReplayCommand()).getCommandSpec().findOption("--report")).isNotNull();
    }
}
