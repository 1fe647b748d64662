package io.behaviorcep.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class ValidateCommandTest {

    /** What {@code validate ARGS} printed on stdout and stderr, and its exit code. */
    record Run(int exit, String out, String err) {
    }

    static Run validate(String... args) {
        PrintStream out0 = System.out;
        PrintStream err0 = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int exit = new CommandLine(new ValidateCommand()).execute(args);
            return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out0);
            System.setErr(err0);
        }
    }

    @Test
    void aBinaryFileIsOneProblemAtLine1Column1NotAStackTrace(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("garbage.yaml");
        Files.write(f, new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 0x0D, (byte) 0xFF, (byte) 0xC0});
        Run r = validate(f.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out()).contains(f + ":1:1: not UTF-8 text\n")
                .contains("0 valid pattern(s), 0 threshold segment(s), 1 problem(s)");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void aBinaryFileInAFolderIsReportedBesideTheValidOnes(@TempDir Path dir) throws Exception {
        Files.write(dir.resolve("a.yaml"), new byte[] {'i', 'd', ':', ' ', (byte) 0xE9, 't', 'e', '\n'}); // Latin-1 'été'
        Files.writeString(dir.resolve("b.yaml"), """
                id: b
                version: 1
                steps:
                  - name: viewed
                    event: Product Viewed
                actions:
                  alert:
                    type: b_alert
                """);
        Run r = validate(dir.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out()).contains(dir.resolve("a.yaml") + ":1:1: not UTF-8 text\n").contains("1 valid pattern(s)");
        assertThat(r.err()).isEmpty();
    }

    /** Combinations whose runs grow exponentially are valid, with a warning at the construct; exit 0. */
    @Test
    void runsThatGrowExponentiallyAreAWarningNotAProblem(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("burst.yaml");
        Files.writeString(f, """
                id: burst
                version: 1
                steps:
                  - name: views
                    event: Product Viewed
                    times: 3..
                    loop: followed_by_any
                  - name: added
                    event: Product Added
                    contiguity: followed_by_any
                    within: 30m
                actions:
                  alert:
                    type: burst
                """);
        Run r = validate(f.toString());
        assertThat(r.exit()).isEqualTo(0);
        assertThat(r.out()).contains(f + ":7:5: warning: step 'views' repeats with loop: followed_by_any")
                .contains(f + ":10:5: warning: step 'added' is followed_by_any after the repeating step 'views'")
                .contains("engine.max-runs-per-user-pattern")
                .contains("1 valid pattern(s), 0 threshold segment(s), 0 problem(s)");
        assertThat(r.err()).isEmpty();

        // the shipped cart abandonment (followed_by_any after a single view) is quadratic at worst: no warning
        Run shipped = validate(io.behaviorcep.testing.Repo.patterns().toString());
        assertThat(shipped.exit()).isEqualTo(0);
        assertThat(shipped.out()).doesNotContain("warning");
    }
}
