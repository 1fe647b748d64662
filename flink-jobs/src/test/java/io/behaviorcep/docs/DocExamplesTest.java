package io.behaviorcep.docs;

import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.testing.Repo;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** Every complete pattern (and segments file) shown in docs/pattern-language.md is valid: the reference cannot drift from the loader. */
class DocExamplesTest {
    @Test
    void everyCompletePatternInTheLanguageReferenceIsValid() throws Exception {
        String doc = Files.readString(Repo.root().resolve("docs/pattern-language.md"));
        Matcher m = Pattern.compile("```yaml\n(.*?)```", Pattern.DOTALL).matcher(doc);
        List<String> problems = new ArrayList<>();
        int checked = 0;
        int segmentFiles = 0;
        int policyFiles = 0;
        while (m.find()) {
            String yaml = m.group(1);
            if (yaml.startsWith("kind: segments")) {
                // a complete threshold segments file: valid, and it has segments
                PatternLoader.Result r = PatternLoader.loadString("pattern-language.md#segments", yaml);
                r.problems().forEach(p -> problems.add(p.toString()));
                if (r.ok() && r.segments().isEmpty()) problems.add("pattern-language.md#segments: no segments read");
                segmentFiles++;
                continue;
            }
            if (yaml.startsWith("kind: policy")) {
                // the messaging policy: a complete, valid policy file
                policyFiles++;
                io.behaviorcep.policy.PolicyFile.Result r = io.behaviorcep.policy.PolicyFile.parse("pattern-language.md#policy",
                        yaml.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                r.problems().forEach(p -> problems.add(p.toString()));
                continue;
            }
            if (!yaml.startsWith("id:")) continue; // fragments of a file, shown for one feature
            checked++;
            PatternLoader.Result r = PatternLoader.loadString("pattern-language.md#" + checked, yaml);
            r.problems().forEach(p -> problems.add(p.toString()));
        }
        assertThat(checked).as("complete patterns in the reference").isGreaterThanOrEqualTo(5);
        assertThat(segmentFiles).as("threshold segment files in the reference").isGreaterThanOrEqualTo(1);
        assertThat(policyFiles).as("messaging policy files in the reference").isGreaterThanOrEqualTo(1);
        assertThat(problems).isEmpty();
    }
}
