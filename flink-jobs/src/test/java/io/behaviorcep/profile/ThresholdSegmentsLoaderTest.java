package io.behaviorcep.profile;

import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.pattern.PatternProblem;
import io.behaviorcep.pattern.ThresholdSegment;
import io.behaviorcep.testing.Repo;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Threshold segment files ({@code kind: segments}, or {@code segments.yaml}) through the pattern
 * loader: routed, not read as patterns; every problem reported at once as FILE:LINE:COL.
 */
class ThresholdSegmentsLoaderTest {

    static List<String> problems(PatternLoader.Result r) {
        return r.problems().stream().map(PatternProblem::toString).toList();
    }

    @Test
    void theShippedFolderHasNinePatternsAndTheThresholdSegments() {
        PatternLoader.Result r = PatternLoader.load(Repo.patterns());
        assertThat(r.problems()).isEmpty();
        assertThat(r.patterns()).hasSize(9);
        assertThat(r.segments()).extracting(s -> s.id)
                .containsExactly("engaged", "new", "churned", "frequent_viewers", "casual_browsers", "high_value");
        assertThat(r.segmentFiles()).hasSize(1);
        assertThat(r.segmentFiles().get(0).examples).hasSizeGreaterThanOrEqualTo(9);
        ThresholdSegment highValue = r.segments().get(5);
        assertThat(highValue.when).extracting(Object::toString).containsExactly("profile.revenue_30d > 500");
    }

    @Test
    void aFileIsASegmentsFileByItsKindOrByItsName(@TempDir Path dir) throws Exception {
        String body = """
                segments:
                  - id: engaged
                    when: profile.sessions_7d > 5
                """;
        Files.writeString(dir.resolve("segments.yaml"), body);
        Files.writeString(dir.resolve("lifecycle.yaml"), "kind: segments\n" + body.replace("engaged", "loyal"));
        Files.writeString(dir.resolve("a-pattern.yaml"), """
                kind: pattern
                id: a-pattern
                version: 1
                steps:
                  - {name: add, event: Product Added}
                actions:
                  alert: {type: added}
                """);
        PatternLoader.Result r = PatternLoader.load(dir);
        assertThat(problems(r)).isEmpty();
        assertThat(r.patterns()).extracting(p -> p.id).containsExactly("a-pattern");
        assertThat(r.segments()).extracting(s -> s.id).containsExactlyInAnyOrder("engaged", "loyal");
    }

    @Test
    void everyProblemOfASegmentsFileAtOnceWithItsPosition() {
        String yaml = """
                kind: segments
                params:
                  min: 3
                segments:
                  - id: engaged
                    whne: profile.sessions_7d > 5
                  - id: Engaged
                    when: profile.sessions_7d > 5
                  - id: buyers
                    when:
                      - profile.orders_30d >= 1
                      - properties.price > 10
                  - id: ttl
                    when: profile.sesions_7d > ${params.min}
                  - id: buyers
                    when: profile.orders_30d >= ${params.mni}
                  - id: broken
                    when: profile.orders_30d >=
                examples:
                  - name: expects an alert
                    events:
                      - {at: 0m, event: Order Completed}
                    expect:
                      alerts: [{at: 0m}]
                """;
        PatternLoader.Result r = PatternLoader.loadString("segments.yaml", yaml);
        assertThat(problems(r)).containsExactly(
                "segments.yaml:5:5: segment 'engaged' needs 'when': conditions over the profile, e.g. profile.sessions_7d > 5",
                "segments.yaml:6:5: unknown key 'whne' in segment, did you mean 'when'?",
                "segments.yaml:7:9: segment id 'Engaged' must be lowercase letters, digits and '_', starting with a letter (it is the segment's name)",
                "segments.yaml:12:9: 'properties.price' is a field of an event; a segment condition reads only the user's profile"
                        + " (profile.<field>), because it is also decided when no event arrives",
                "segments.yaml:13:9: 'ttl' is a reason the job gives segment updates itself (ttl, suppressed, erased); choose another id",
                "segments.yaml:14:11: unknown profile field 'sesions_7d', did you mean 'sessions_7d'? (profile fields are listed in docs/pattern-language.md)",
                "segments.yaml:15:9: segment id 'buyers' is used twice in this file (first on line 9)",
                "segments.yaml:16:11: unknown parameter 'mni'; declare it under 'params:', did you mean 'min'?",
                "segments.yaml:18:32: expected a value after '>='",
                "segments.yaml:20:1: example 'expects an alert' expects alerts, but threshold segments raise none; expect 'segments:'");
        assertThat(r.segmentFiles()).isEmpty();
        assertThat(r.patterns()).isEmpty();
    }

    @Test
    void aSegmentNameHasOneDefinitionAcrossFilesAndPatterns() {
        Map<String, String> files = new LinkedHashMap<>();
        files.put("cart.yaml", """
                id: cart
                version: 1
                steps:
                  - {name: add, event: Product Added}
                actions:
                  segment: {name: shoppers, ttl: 1d}
                """);
        files.put("a.yaml", """
                kind: segments
                segments:
                  - {id: shoppers, when: profile.adds_30d >= 1}
                  - {id: loyal, when: profile.orders_lifetime >= 3}
                  - {id: cart, when: profile.adds_30d >= 2}
                """);
        files.put("b.yaml", """
                kind: segments
                segments:
                  - {id: loyal, when: profile.orders_lifetime >= 5}
                """);
        PatternLoader.Result r = PatternLoader.loadAll(files);
        assertThat(problems(r)).containsExactly(
                "a.yaml:3:10: segment 'shoppers' is already the segment of a pattern (cart.yaml); a segment has one definition",
                "a.yaml:5:10: 'cart' is already a pattern id (cart.yaml); segment updates name their cause by id, so it must be unique",
                "b.yaml:3:10: duplicate threshold segment id 'loyal', also defined in a.yaml");
    }

    @Test
    void anUnknownKindAndAnUnknownProfileFieldInAPattern() {
        PatternLoader.Result r = PatternLoader.loadString("p.yaml", """
                kind: segmnets
                id: p
                version: 1
                steps:
                  - name: order
                    event: Order Completed
                    where: profile.orders_lifetim >= 1
                actions:
                  alert: {type: x}
                """);
        assertThat(problems(r)).containsExactly(
                "p.yaml:1:7: kind 'segmnets' is not 'pattern', 'segments' or 'traits', did you mean 'segments'?",
                "p.yaml:7:12: unknown profile field 'orders_lifetim', did you mean 'orders_lifetime'? (profile fields are listed in docs/pattern-language.md)");
    }

    @Test
    void everyProfileFieldIsKnownToConditions() {
        for (String f : ProfileSnapshot.FIELDS) {
            PatternLoader.Result r = PatternLoader.loadString("segments.yaml", "kind: segments\nsegments:\n  - {id: s, when: profile." + f + " >= 0}\n");
            assertThat(problems(r)).as(f).isEmpty();
            assertThat(new ProfileSnapshot().field(f)).as(f).isNotNull();
            assertThat(ProfileSnapshot.timeDependence(f)).as(f).isNotNull();
        }
    }
}
