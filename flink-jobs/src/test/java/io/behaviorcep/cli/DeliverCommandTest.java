package io.behaviorcep.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class DeliverCommandTest {
    private static String[] run(String... args) {
        StringWriter out = new StringWriter();
        CommandLine cmd = new CommandLine(new DeliverCommand());
        cmd.setOut(new PrintWriter(out));
        int code = cmd.execute(args);
        return new String[] {Integer.toString(code), out.toString()};
    }

    @Test
    void checkPrintsEveryProblemWithItsLocationAndFailsOrNamesTheDestinations(@TempDir Path dir) throws Exception {
        Path bad = Files.writeString(dir.resolve("bad.yaml"), "destinations:\n  - name: crm\n    url: https://x.example\n    signing_secret_env: S\n    timout: 5s\n");
        String[] r = run("--check", "--destinations", bad.toString());
        assertThat(r[0]).isEqualTo("1");
        assertThat(r[1]).isEqualTo(bad + ":5:5: unknown key 'timout' in destination, did you mean 'timeout'?\n");

        Path good = Files.writeString(dir.resolve("good.yaml"), "destinations:\n  - name: crm\n    url: https://x.example\n    signing_secret_env: S\n");
        r = run("--check", "--destinations", good.toString());
        assertThat(r[0]).isEqualTo("0");
        assertThat(r[1]).isEqualTo(good + ": 1 destination(s): crm\n");
    }

    @Test
    void theDeliverCommandIsListedByMain() {
        assertThat(new CommandLine(new Main()).getSubcommands()).containsKey("deliver");
    }
}
