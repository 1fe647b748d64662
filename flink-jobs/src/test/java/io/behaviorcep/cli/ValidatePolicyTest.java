package io.behaviorcep.cli;

import io.behaviorcep.testing.Repo;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** `validate` checks the messaging policy beside the patterns and fails on its problems. */
class ValidatePolicyTest {
    @Test
    void theShippedFolderIsValidPolicyIncluded() {
        ValidateCommandTest.Run r = ValidateCommandTest.validate(Repo.patterns().toString());
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("ok  policy  (" + Repo.patterns().resolve("policy.yaml")).contains(", 0 problem(s)");
    }

    @Test
    void aPolicyProblemFailsValidateWithItsPlace(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("policy.yaml"), """
                kind: policy
                channels:
                  - name: default
                    cap: {max: 2, per: 1 day}
                """);
        ValidateCommandTest.Run r = ValidateCommandTest.validate(dir.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.out()).contains(dir.resolve("policy.yaml") + ":4:24: cap per: '1 day' is not a duration")
                .contains("0 valid pattern(s), 0 threshold segment(s), 1 problem(s)");
    }
}
