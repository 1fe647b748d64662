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
}
