package io.behaviorcep.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import static org.assertj.core.api.Assertions.assertThat;

/** The command line of {@code report} without a database (ReportCommandIT runs it on one). */
class ReportCommandTest {

    @Test
    void theHelpIsFormattedAndListsTheFilters() {
        String usage = new CommandLine(new ReportCommand()).getUsageMessage(CommandLine.Help.Ansi.OFF);
        assertThat(usage).contains("95% intervals").doesNotContain("%%");
        assertThat(usage).contains("--pattern=ID", "--experiment=ID", "--since=TIME", "--until=TIME", "--format=FORMAT", "--outcomes=FILE");
    }

    @Test
    void mainHasTheCommand() {
        assertThat(new CommandLine(new Main()).getSubcommands()).containsKey("report");
    }
}
