package io.behaviorcep.pattern;

import io.behaviorcep.pattern.expr.ConditionParser;
import io.behaviorcep.pattern.expr.ConditionSyntaxException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * Every problem of a pattern file comes back as FILE:LINE:COL with the position of the offending
 * text, and all of them at once. Expected positions are found by searching the YAML text itself, so
 * a test states "the problem is at the word 'withn'", not a pair of numbers.
 */
class PatternLoaderTest {
    static final String F = "p.yaml";

    /** A valid pattern; tests break one thing in it at a time. */
    static final String VALID = """
            id: cart-test
            version: 3
            description: a test
            steps:
              - name: viewed
                event: Product Viewed
              - name: added
                event: Product Added
                contiguity: followed_by_any
                within: 30m
                where: properties.product_id == viewed.properties.product_id
              - name: no_order
                absent:
                  event: Order Completed
                for: 15m
            actions:
              alert:
                type: cart_abandoned
                severity: high
                payload:
                  product: ${added.properties.product_id}
              segment:
                name: abandoners
                ttl: 7d
                exit_on:
                  - event: Order Completed
              cap:
                max: 1
                per: 24h
            """;

    // ------------------------------------------------------------------ helpers

    static PatternLoader.Result load(String yaml) {
        return PatternLoader.loadString(F, yaml);
    }

    /** 1-based line and column of the {@code n}-th (1-based) occurrence of {@code needle} in {@code text}. */
    static int[] at(String text, String needle, int n) {
        int idx = -1;
        for (int i = 0; i < n; i++) {
            idx = text.indexOf(needle, idx + 1);
            if (idx < 0) throw new AssertionError("'" + needle + "' occurs fewer than " + n + " times in:\n" + text);
        }
        int line = 1;
        int lineStart = 0;
        for (int i = 0; i < idx; i++) {
            if (text.charAt(i) == '\n') {
                line++;
                lineStart = i + 1;
            }
        }
        return new int[] {line, idx - lineStart + 1};
    }

    static int[] at(String text, String needle) {
        return at(text, needle, 1);
    }

    /** The single problem whose message contains {@code fragment}. */
    static PatternProblem problem(PatternLoader.Result r, String fragment) {
        List<PatternProblem> found = r.problems().stream().filter(p -> p.message().contains(fragment)).collect(Collectors.toList());
        assertThat(found).as("problems mentioning '%s' among %s", fragment, r.problems()).hasSize(1);
        return found.get(0);
    }

    static void assertAt(PatternProblem p, int[] lineCol) {
        assertThat(p.file()).isEqualTo(F);
        assertThat(new int[] {p.line(), p.column()}).as("position of %s", p).containsExactly(lineCol);
        assertThat(p.toString()).startsWith(F + ":" + lineCol[0] + ":" + lineCol[1] + ": ");
    }

    static String replace(String yaml, String from, String to) {
        assertThat(yaml).contains(from);
        return yaml.replace(from, to);
    }

    // ------------------------------------------------------------------ the valid base

    @Test
    void theBasePatternIsValid() {
        PatternLoader.Result r = load(VALID);
        assertThat(r.problems()).isEmpty();
        assertThat(r.ok()).isTrue();
        PatternDefinition p = r.orThrow().get(0);
        assertThat(p.id).isEqualTo("cart-test");
        assertThat(p.version).isEqualTo(3);
        assertThat(p.enabled).isTrue();
        assertThat(p.steps).extracting(s -> s.name).containsExactly("viewed", "added", "no_order");
        assertThat(p.steps.get(1).within).isEqualTo(Duration.ofMinutes(30));
        assertThat(p.steps.get(1).contiguity).isEqualTo(PatternDefinition.Contiguity.FOLLOWED_BY_ANY);
        assertThat(p.steps.get(1).line).isEqualTo(at(VALID, "name: added")[0]);
        assertThat(p.steps.get(2).absent).isTrue();
        assertThat(p.steps.get(2).absentFor).isEqualTo(Duration.ofMinutes(15));
        assertThat(p.alert.severity).isEqualTo("high");
        assertThat(p.alert.payload).containsEntry("product", "${added.properties.product_id}");
        assertThat(p.segment.ttl).isEqualTo(Duration.ofDays(7));
        assertThat(p.segment.exitOn).hasSize(1);
        assertThat(p.cap.per).isEqualTo(Duration.ofHours(24));
        assertThat(p.source).isEqualTo(F);
    }

    @Test
    void theShippedPatternsLoadWithoutProblems() throws Exception {
        Path dir = Path.of(System.getProperty("behaviorcep.repo.root", ".."), "patterns");
        PatternLoader.Result r = PatternLoader.load(dir);
        assertThat(r.problems()).isEmpty();
        long files;
        try (var s = Files.list(dir)) {
            files = s.filter(f -> f.toString().endsWith(".yaml") || f.toString().endsWith(".yml"))
                    .filter(f -> !f.getFileName().toString().equals("policy.yaml")).count();
        }
        // every file is a pattern, except the threshold segments file (kind: segments), the traits file (kind: traits)
        // and the messaging policy (kind: policy, not read here)
        long traitFiles = r.traits().stream().map(t -> t.source).distinct().count();
        assertThat(traitFiles).isEqualTo(1);
        assertThat(r.patterns().size() + r.segmentFiles().size() + traitFiles).isEqualTo(files);
        assertThat(r.segmentFiles()).extracting(f -> Path.of(f.source).getFileName().toString()).containsExactly("segments.yaml");
        assertThat(r.patterns()).extracting(p -> p.id).contains("cart-abandonment").doesNotHaveDuplicates();
    }

    @Test
    void aMissingPathIsAProblemNotAnException() {
        PatternLoader.Result r = PatternLoader.load(Path.of("does/not/exist.yaml"));
        assertThat(r.ok()).isFalse();
        assertThat(r.problems()).hasSize(1);
        assertThat(r.problems().get(0).line()).isEqualTo(1);
        assertThatThrownBy(r::orThrow).isInstanceOf(InvalidPatternsException.class).hasMessageContaining("no such file");
    }

    // ------------------------------------------------------------------ YAML itself

    @Test
    void yamlSyntaxErrorIsPositioned() {
        String yaml = replace(VALID, "description: a test", "description: a: test");
        PatternLoader.Result r = load(yaml);
        assertThat(r.patterns()).isEmpty();
        PatternProblem p = problem(r, "YAML syntax");
        assertAt(p, at(yaml, ": test"));
    }

    @Test
    void badIndentationIsPositioned() {
        String yaml = replace(VALID, "    event: Product Added\n", "   event: Product Added\n");
        PatternProblem p = problem(load(yaml), "YAML syntax");
        assertThat(p.line()).isEqualTo(at(yaml, "   event: Product Added")[0]);
    }

    @Test
    void duplicateKeysAreRefused() {
        String yaml = replace(VALID, "version: 3\n", "version: 3\nversion: 4\n");
        PatternProblem p = problem(load(yaml), "YAML syntax");
        assertThat(p.line()).isEqualTo(at(yaml, "version: 4")[0]);
    }

    @Test
    void emptyFile() {
        PatternLoader.Result r = load("# nothing here\n");
        assertThat(r.problems()).hasSize(1);
        assertThat(r.problems().get(0).message()).contains("empty");
    }

    @Test
    void notAMapping() {
        String yaml = "- id: x\n- version: 1\n";
        PatternProblem p = problem(load(yaml), "must be a mapping");
        assertAt(p, new int[] {1, 1});
    }

    // ------------------------------------------------------------------ keys

    @Test
    void unknownKeysAreRefusedWithASuggestion() {
        String yaml = replace(replace(replace(VALID, "    within: 30m", "    withn: 30m"), "contiguity: followed_by_any", "contiguty: followed_by_any"),
                "  severity: high", "  severty: high");
        PatternLoader.Result r = load(yaml);
        assertThat(r.patterns()).isEmpty();

        PatternProblem withn = problem(r, "'withn'");
        assertAt(withn, at(yaml, "withn"));
        assertThat(withn.message()).contains("did you mean 'within'");

        PatternProblem contiguty = problem(r, "'contiguty'");
        assertAt(contiguty, at(yaml, "contiguty"));
        assertThat(contiguty.message()).contains("did you mean 'contiguity'");

        PatternProblem severty = problem(r, "'severty'");
        assertAt(severty, at(yaml, "severty"));
        assertThat(severty.message()).contains("did you mean 'severity'");
    }

    @Test
    void anUnknownKeyFarFromAnyKnownOneListsTheKnownKeys() {
        String yaml = replace(VALID, "description: a test", "colour: blue");
        PatternProblem p = problem(load(yaml), "'colour'");
        assertAt(p, at(yaml, "colour"));
        assertThat(p.message()).doesNotContain("did you mean").contains("known:").contains("steps");
    }

    @Test
    void missingIdVersionStepsAndActionsAreAllReported() {
        String yaml = "description: nothing else\nowner: me\n";
        PatternLoader.Result r = load(yaml);
        assertThat(r.problems()).extracting(PatternProblem::message)
                .anyMatch(m -> m.contains("missing 'id'"))
                .anyMatch(m -> m.contains("missing 'version'"))
                .anyMatch(m -> m.contains("missing 'steps'"))
                .anyMatch(m -> m.contains("missing 'actions'"));
        // reported on the mapping that lacks them
        assertAt(problem(r, "missing 'id'"), new int[] {1, 1});
        assertAt(problem(r, "missing 'actions'"), new int[] {1, 1});
    }

    @Test
    void missingKeysOfANestedMappingPointAtThatMapping() {
        String yaml = replace(VALID, "    ttl: 7d\n", "");
        PatternProblem p = problem(load(yaml), "segment needs 'ttl'");
        assertAt(p, at(yaml, "name: abandoners"));
    }

    @Test
    void badScalarValues() {
        String yaml = replace(replace(VALID, "version: 3", "version: three"), "id: cart-test", "id: Cart Test");
        PatternLoader.Result r = load(yaml);
        assertAt(problem(r, "'version' must be a whole number"), at(yaml, "three"));
        assertAt(problem(r, "id 'Cart Test'"), at(yaml, "Cart Test"));
    }

    // ------------------------------------------------------------------ steps

    @Test
    void duplicateStepNames() {
        String yaml = replace(VALID, "name: added", "name: viewed");
        PatternLoader.Result r = load(yaml);
        PatternProblem p = problem(r, "used twice");
        assertAt(p, at(yaml, "viewed", 2));
    }

    @Test
    void unknownStepInACondition() {
        String yaml = replace(VALID, "== viewed.properties.product_id", "== viewd.properties.product_id");
        PatternProblem p = problem(load(yaml), "refers to step 'viewd'");
        assertAt(p, at(yaml, "properties.product_id == viewd"));
        assertThat(p.message()).contains("did you mean 'viewed'");
    }

    @Test
    void aConditionMayNotReferToALaterStep() {
        String yaml = replace(VALID, "    event: Product Viewed\n", "    event: Product Viewed\n    where: properties.x == added.properties.x\n");
        PatternProblem p = problem(load(yaml), "refers to step 'added'");
        assertAt(p, at(yaml, "properties.x == added"));
    }

    @Test
    void unknownStepInAPayloadTemplate() {
        String yaml = replace(VALID, "${added.properties.product_id}", "${add.properties.product_id}");
        PatternProblem p = problem(load(yaml), "refers to step 'add'");
        assertAt(p, at(yaml, "${add."));
        assertThat(p.message()).contains("did you mean 'added'");
    }

    @Test
    void aLaterStepWithoutWithin() {
        String yaml = replace(VALID, "    within: 30m\n", "");
        PatternProblem p = problem(load(yaml), "needs 'within");
        assertAt(p, at(yaml, "name: added"));
        assertThat(p.message()).contains("'added'");
    }

    @Test
    void aPatternWideWithinReplacesTheStepOne() {
        String yaml = replace(replace(VALID, "    within: 30m\n", ""), "description: a test\n", "description: a test\nwithin: 1h\n");
        PatternLoader.Result r = load(yaml);
        assertThat(r.problems()).isEmpty();
        assertThat(r.patterns().get(0).within).isEqualTo(Duration.ofHours(1));
    }

    @ParameterizedTest
    @ValueSource(strings = {"-5m", "0s", "15 minutes", "5", "m", "1.5h", "0ms"})
    void badDurationsArePositionedAtTheValue(String bad) {
        String yaml = replace(VALID, "within: 30m", "within: " + bad);
        PatternLoader.Result r = load(yaml);
        assertThat(r.problems()).hasSize(1);
        PatternProblem p = r.problems().get(0);
        assertAt(p, at(yaml, bad + "\n"));
        assertThat(p.message()).contains(bad);
    }

    @Test
    void everyDurationFieldIsChecked() {
        String yaml = replace(replace(replace(VALID, "for: 15m", "for: 0m"), "ttl: 7d", "ttl: -7d"), "per: 24h", "per: a day");
        PatternLoader.Result r = load(yaml);
        assertThat(r.problems()).hasSize(3);
        int[] forAt = at(yaml, "for: 0m");
        assertAt(problem(r, "'0m'"), new int[] {forAt[0], forAt[1] + "for: ".length()});
        assertAt(problem(r, "'-7d'"), at(yaml, "-7d"));
        assertAt(problem(r, "'a day'"), at(yaml, "a day"));
    }

    @Test
    void absentWithoutFor() {
        String yaml = replace(VALID, "    for: 15m\n", "");
        PatternProblem p = problem(load(yaml), "needs 'for");
        assertAt(p, at(yaml, "absent:"));
    }

    @Test
    void absentAsTheFirstStepNeedsAWindowAndStartsTheSequenceWithTheNextStep() {
        String yaml = replace(VALID, """
                  - name: viewed
                    event: Product Viewed
                """, """
                  - name: nothing_first
                    absent:
                      event: Order Completed
                  - name: viewed
                    event: Product Viewed
                    within: 1h
                """);
        // an absence at the start is judged in a window before the next step, which then is the first step
        PatternLoader.Result r = load(yaml);
        assertAt(problem(r, "an 'absent' step at the start needs 'for: <duration>'"), at(yaml, "absent:"));
        assertAt(problem(r, "'within' on the first step has nothing to measure from"), at(yaml, "within: 1h"));
    }

    @Test
    void forOnAPositiveStepSuggestsWithin() {
        String yaml = replace(VALID, "    within: 30m", "    for: 30m");
        PatternLoader.Result r = load(yaml);
        PatternProblem p = problem(r, "'for' belongs to an 'absent' step");
        assertAt(p, at(yaml, "for: 30m"));
        assertThat(p.message()).contains("did you mean 'within'");
    }

    @Test
    void badContiguityWithSuggestion() {
        String yaml = replace(VALID, "followed_by_any", "followed_by_anny");
        PatternProblem p = problem(load(yaml), "contiguity 'followed_by_anny'");
        assertAt(p, at(yaml, "followed_by_anny"));
        assertThat(p.message()).contains("did you mean 'followed_by_any'");
    }

    // ------------------------------------------------------------------ actions

    @Test
    void badSeverity() {
        String yaml = replace(VALID, "severity: high", "severity: hihg");
        PatternProblem p = problem(load(yaml), "severity 'hihg'");
        assertAt(p, at(yaml, "hihg"));
        assertThat(p.message()).contains("did you mean 'high'");
    }

    @Test
    void actionsNeedAnAlertOrASegment() {
        String yaml = VALID.substring(0, VALID.indexOf("actions:")) + "actions:\n  cap:\n    max: 1\n    per: 1h\n";
        PatternLoader.Result r = load(yaml);
        assertAt(problem(r, "needs an 'alert' or a 'segment'"), at(yaml, "cap:"));
        assertAt(problem(r, "'cap' limits alerts"), at(yaml, "cap:"));
    }

    @Test
    void capMaxMustBePositive() {
        String yaml = replace(VALID, "max: 1", "max: 0");
        assertAt(problem(load(yaml), "cap max"), at(yaml, "0\n    per"));
    }

    // ------------------------------------------------------------------ conditions

    static int conditionErrorColumn(String condition) {
        ConditionSyntaxException e = catchThrowableOfType(ConditionSyntaxException.class, () -> ConditionParser.parse(condition));
        assertThat(e).as("'%s' should not parse", condition).isNotNull();
        return e.column();
    }

    @Test
    void conditionSyntaxErrorInAPlainScalarPointsIntoTheCondition() {
        String condition = "properties.price >= @5";
        int col = conditionErrorColumn(condition);
        assertThat(condition.charAt(col - 1)).as("the parser points at the offending '@'").isEqualTo('@');

        String yaml = replace(VALID, "where: properties.product_id == viewed.properties.product_id", "where: " + condition);
        PatternProblem p = problem(load(yaml), "");
        assertAt(p, at(yaml, "@5"));
    }

    /** Regexes run on attacker-controlled values in linear time (RE2): constructs that need backtracking are refused when loading. */
    @Test
    void regexConstructsThatNeedBacktrackingArePositionedProblems() {
        String yaml = replace(VALID, "where: properties.product_id == viewed.properties.product_id",
                "where: context.page.url matches '(sale)/\\1' or context.page.url matches 'x(?!y)'");
        PatternLoader.Result r = load(yaml);
        assertAt(problem(r, "backreferences are not supported"), at(yaml, "\\1"));
        assertThat(r.patterns()).isEmpty();

        yaml = replace(VALID, "where: properties.product_id == viewed.properties.product_id", "where: context.page.url matches 'x(?!y)'");
        assertAt(problem(load(yaml), "lookahead and lookbehind are not supported"), at(yaml, "(?!"));
    }

    @Test
    void conditionSyntaxErrorInADoubleQuotedScalarPointsIntoTheCondition() {
        String yaml = replace(VALID, "where: properties.product_id == viewed.properties.product_id", "where: \"properties.price >= @5\"");
        PatternProblem p = problem(load(yaml), "");
        assertAt(p, at(yaml, "@5"));
    }

    @Test
    void conditionSyntaxErrorInASingleQuotedListItemPointsIntoTheCondition() {
        String yaml = replace(VALID, "    where: properties.product_id == viewed.properties.product_id",
                "    where:\n      - properties.price > 1\n      - 'properties.currency == \"EUR\" and and'");
        PatternProblem p = problem(load(yaml), "");
        assertThat(p.line()).isEqualTo(at(yaml, "and and")[0]);
        // the column falls inside the quoted condition, on or after the second 'and'
        int lineStart = yaml.lastIndexOf('\n', yaml.indexOf("and and")) + 1;
        String line = yaml.substring(lineStart, yaml.indexOf('\n', lineStart));
        assertThat(p.column()).isGreaterThan(line.indexOf("'") + 1).isLessThanOrEqualTo(line.length());
        int expected = line.indexOf("'") + 1 + 1 + conditionErrorColumn("properties.currency == \"EUR\" and and") - 1;
        assertThat(p.column()).isEqualTo(expected);
    }

    @Test
    void conditionSyntaxErrorInAFlowSequencePointsIntoTheCondition() {
        String yaml = replace(VALID, "where: properties.product_id == viewed.properties.product_id",
                "where: [properties.price > 1, properties.x == @]");
        assertAt(problem(load(yaml), ""), at(yaml, "@]"));
    }

    @Test
    void conditionSyntaxErrorInABlockScalarPointsIntoTheCondition() {
        String yaml = replace(VALID, "    where: properties.product_id == viewed.properties.product_id",
                "    where: >-\n      properties.price >= @5");
        assertAt(problem(load(yaml), ""), at(yaml, "@5"));
    }

    @Test
    void conditionSyntaxErrorAfterAParameterPointsIntoTheCondition() {
        String yaml = replace(VALID, "description: a test\n", "description: a test\nparams:\n  min: 1000000\n");
        yaml = replace(yaml, "where: properties.product_id == viewed.properties.product_id", "where: properties.price >= ${params.min} and @");
        assertAt(problem(load(yaml), ""), at(yaml, "@\n"));
    }

    // ------------------------------------------------------------------ all at once

    @Test
    void allProblemsOfAFileAreReportedAtOnceInOrder() {
        String yaml = """
                id: many-problems
                version: 0
                steps:
                  - name: viewed
                    event: Product Viewed
                  - name: viewed
                    event: Product Added
                    withn: 30m
                  - name: gone
                    absent:
                      event: Order Completed
                actions:
                  alert:
                    type: t
                    severity: urgent
                    payload:
                      x: ${nope.properties.x}
                  segment:
                    name: s
                    ttl: 0s
                """;
        PatternLoader.Result r = load(yaml);
        assertThat(r.patterns()).isEmpty();
        assertThat(r.problems()).hasSizeGreaterThanOrEqualTo(7);
        assertAt(problem(r, "version must be 1 or more"), at(yaml, "0\n"));
        assertAt(problem(r, "used twice"), at(yaml, "viewed", 2));
        assertAt(problem(r, "'withn'"), at(yaml, "withn"));
        assertAt(problem(r, "needs 'within"), at(yaml, "name: viewed", 2));
        assertAt(problem(r, "needs 'for"), at(yaml, "absent:"));
        assertAt(problem(r, "severity 'urgent'"), at(yaml, "urgent"));
        assertAt(problem(r, "step 'nope'"), at(yaml, "${nope"));
        assertAt(problem(r, "'0s'"), at(yaml, "0s"));
        // sorted by position
        assertThat(r.problems()).isSortedAccordingTo(PatternProblem::compareTo);
        assertThatThrownBy(r::orThrow).isInstanceOf(InvalidPatternsException.class)
                .hasMessageContaining(r.problems().size() + " problem(s)")
                .hasMessageContaining(F + ":" + at(yaml, "withn")[0] + ":" + at(yaml, "withn")[1] + ":");
    }

    @Test
    void duplicatePatternIdsAcrossFiles() {
        Map<String, String> files = new LinkedHashMap<>();
        files.put("a.yaml", VALID);
        String second = "# the same id again\n" + VALID;
        files.put("b.yaml", second);
        PatternLoader.Result r = PatternLoader.loadAll(files);
        assertThat(r.problems()).hasSize(1);
        PatternProblem p = r.problems().get(0);
        assertThat(p.file()).isEqualTo("b.yaml");
        assertThat(new int[] {p.line(), p.column()}).containsExactly(at(second, "cart-test"));
        assertThat(p.message()).contains("duplicate pattern id 'cart-test'").contains("a.yaml");
        // the first one is still usable; the set as a whole is not
        assertThat(r.patterns()).extracting(d -> d.id).containsExactly("cart-test");
        assertThat(r.ok()).isFalse();
    }

    @Test
    void aBrokenFileStillCountsForDuplicateIds() {
        Map<String, String> files = new LinkedHashMap<>();
        files.put("a.yaml", VALID);
        files.put("b.yaml", replace(VALID, "severity: high", "severity: loud"));
        PatternLoader.Result r = PatternLoader.loadAll(files);
        assertThat(r.problems()).extracting(PatternProblem::file).containsExactly("b.yaml", "b.yaml");
        assertThat(r.problems()).extracting(PatternProblem::message)
                .anyMatch(m -> m.contains("duplicate pattern id"))
                .anyMatch(m -> m.contains("severity 'loud'"));
    }

    @Test
    void problemsOfSeveralFilesAreAllReported() {
        Map<String, String> files = new LinkedHashMap<>();
        files.put("b.yaml", replace(VALID, "id: cart-test", "id: b-test").replace("within: 30m", "within: 30 min"));
        files.put("a.yaml", replace(VALID, "id: cart-test", "id: a-test").replace("severity: high", "severity: meh"));
        PatternLoader.Result r = PatternLoader.loadAll(files);
        assertThat(r.problems()).extracting(PatternProblem::file).containsExactly("a.yaml", "b.yaml");
        assertThat(r.patterns()).isEmpty();
    }
}
