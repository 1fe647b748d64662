package io.behaviorcep.pattern;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.reload.PatternSetDiff;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.behaviorcep.pattern.PatternLoaderTest.assertAt;
import static io.behaviorcep.pattern.PatternLoaderTest.at;
import static io.behaviorcep.pattern.PatternLoaderTest.load;
import static io.behaviorcep.pattern.PatternLoaderTest.problem;
import static io.behaviorcep.pattern.PatternLoaderTest.replace;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code group:} (steps repeated together, Flink CEP's GroupPattern): what loads, what it means, and each problem at its place. */
class StepGroupLoaderTest {

    static final String GROUP = """
            id: browse-twice
            version: 1
            steps:
              - name: started
                event: Checkout Started
              - name: browse
                times: 2
                within: 1d
                group:
                  - name: viewed
                    event: Product Viewed
                  - name: added
                    event: Product Added
                    where: properties.product_id == viewed.properties.product_id
                    within: 1h
              - name: ordered
                event: Order Completed
                where: properties.total > 0 and added.properties.price > 0
                within: 1d
            actions:
              alert:
                type: t
                payload:
                  product: ${added.properties.product_id}
            """;

    @Test
    void aGroupLoadsWithItsStepsInPlace() {
        PatternLoader.Result r = load(GROUP);
        assertThat(r.problems()).isEmpty();
        PatternDefinition p = r.patterns().get(0);
        assertThat(p.steps).extracting(s -> s.name).containsExactly("started", "browse", "ordered");
        PatternDefinition.StepDefinition browse = p.steps.get(1);
        assertThat(browse.isGroup()).isTrue();
        assertThat(browse.quantifier.min).isEqualTo(2);
        assertThat(browse.quantifier.max).isEqualTo(2);
        assertThat(browse.group).extracting(s -> s.name).containsExactly("viewed", "added");
        assertThat(p.flatSteps()).extracting(s -> s.name).containsExactly("started", "viewed", "added", "ordered");
        assertThat(p.anchorStep().name).isEqualTo("ordered");
    }

    @Test
    void theGroupsWindowIsItsFirstStepsAndEveryOtherStepKeepsItsOwn() {
        PatternDefinition p = load(GROUP).patterns().get(0);
        assertThat(CepPatternCompiler.previousEventWindows(p)).containsOnly(
                Map.entry("viewed", 86_400_001L), Map.entry("added", 3_600_001L), Map.entry("ordered", 86_400_001L));
    }

    @Test
    void aGroupIsNoStepOfItsOwnInTheShapeKeepCompares() {
        PatternDefinition p = load(GROUP).patterns().get(0);
        assertThat(PatternSetDiff.stepShape(p)).isEqualTo("started, browse group [viewed, added] 2..2, ordered");
    }

    @Test
    void aGroupPatternSeesEveryEventSinceFlinkCepCopiesItsRunsOnEventsNoStepTakes() {
        assertThat(CepPatternCompiler.canPreFilter(load(GROUP).patterns().get(0))).isFalse();
        BehaviorEvent added = new BehaviorEvent();
        added.type = "track";
        added.event = "Product Added";
        assertThat(CepPatternCompiler.isRelevant(load(GROUP).patterns().get(0), added)).as("a step inside the group takes it").isTrue();
    }

    @Test
    void aMatchRendersTheEventsOfTheStepsInsideTheGroup() {
        PatternDefinition p = load(GROUP).patterns().get(0);
        Map<String, List<BehaviorEvent>> match = new LinkedHashMap<>();
        match.put("started", List.of(event("c", 1_000)));
        match.put("viewed", List.of(event("v1", 2_000), event("v2", 4_000)));
        match.put("added", List.of(event("a1", 3_000), event("a2", 5_000)));
        match.put("ordered", List.of(event("o", 6_000)));
        PatternMatch m = MatchFunction.toMatch(p, match);
        assertThat(m.anchorId).isEqualTo("o");
        assertThat(m.eventIds).isEqualTo("a1,a2,c,o,v1,v2");
        assertThat(m.matchedJson).contains("\"viewed\":[{\"message_id\":\"v1\"").contains("\"added\":[{\"message_id\":\"a1\"");
        assertThat(m.payloadJson).contains("\"product\":\"pa2\"");
    }

    @Test
    void aGroupAtTheEndIsAnchoredOnTheLatestEventOfItsSteps() {
        String yaml = GROUP.substring(0, GROUP.indexOf("  - name: ordered")) + GROUP.substring(GROUP.indexOf("actions:"));
        PatternDefinition p = load(yaml).patterns().get(0);
        Map<String, List<BehaviorEvent>> match = new LinkedHashMap<>();
        match.put("started", List.of(event("c", 1_000)));
        match.put("viewed", List.of(event("v1", 2_000), event("v2", 4_000)));
        match.put("added", List.of(event("a1", 3_000), event("a2", 5_000)));
        PatternMatch m = MatchFunction.toMatch(p, match);
        assertThat(m.anchorId).isEqualTo("a2");
        assertThat(m.detectedAt).isEqualTo(5_000);
    }

    private static BehaviorEvent event(String id, long ts) {
        BehaviorEvent e = new BehaviorEvent();
        e.messageId = id;
        e.userKey = "u";
        e.timestamp = ts;
        e.type = "track";
        e.properties.put("product_id", "p" + id);
        return e;
    }

    @Test
    void stepsAfterTheGroupMayReferToStepsInsideItButNotToTheGroup() {
        String yaml = replace(GROUP, "added.properties.price > 0", "browse.properties.price > 0");
        assertAt(problem(load(yaml), "refers to step 'browse', which is not an earlier step"), at(yaml, "properties.total > 0 and browse"));
        String template = replace(GROUP, "${added.properties.product_id}", "${browse.properties.product_id}");
        assertAt(problem(load(template), "template ${browse.properties.product_id} refers to step 'browse'"), at(template, "${browse"));
    }

    @Test
    void aGroupNeedsTwoOrMoreSteps() {
        String one = GROUP.substring(0, GROUP.indexOf("      - name: added")) + GROUP.substring(GROUP.indexOf("  - name: ordered"))
                .replace("added.properties.price > 0", "viewed.properties.price > 0").replace("${added.", "${viewed.");
        assertAt(problem(load(one), "'group' is a list of two or more steps"), at(one, "- name: viewed"));
        String empty = GROUP.substring(0, GROUP.indexOf("    group:\n")) + "    group: []\n" + GROUP.substring(GROUP.indexOf("  - name: ordered"))
                .replace("added.properties.price > 0", "started.properties.price > 0").replace("${added.", "${started.");
        assertAt(problem(load(empty), "'group' is a list of two or more steps"), at(empty, "[]"));
    }

    @Test
    void groupsDoNotNest() {
        String yaml = replace(GROUP, "      - name: viewed\n        event: Product Viewed\n",
                "      - name: inner\n        group:\n          - {name: viewed, event: Product Viewed}\n          - {name: again, event: Product Viewed}\n");
        assertAt(problem(load(yaml), "a group inside a group is not supported"), at(yaml, "group:", 2));
    }

    @Test
    void theFirstStepOfAGroupTakesTheGroupsWindowAndContiguity() {
        String within = replace(GROUP, "        event: Product Viewed\n", "        event: Product Viewed\n        within: 5m\n");
        assertAt(problem(load(within), "put 'within' on the group"), at(within, "within: 5m"));
        String contiguity = replace(GROUP, "        event: Product Viewed\n", "        event: Product Viewed\n        contiguity: next\n");
        assertAt(problem(load(contiguity), "put 'contiguity' on the group"), at(contiguity, "contiguity: next"));
    }

    @Test
    void stepsInsideAGroupNeedWindowsLikeAnyOtherStep() {
        String yaml = replace(GROUP, "        where: properties.product_id == viewed.properties.product_id\n        within: 1h\n",
                "        where: properties.product_id == viewed.properties.product_id\n");
        assertAt(problem(load(yaml), "step 'added' needs 'within: <duration>'"), at(yaml, "name: added"));
        String groupWithout = replace(GROUP, "    within: 1d\n    group:", "    group:");
        assertAt(problem(load(groupWithout), "group 'browse' needs 'within: <duration>'"), at(groupWithout, "name: browse"));
    }

    @Test
    void aRepeatedGroupAtTheStartNeedsThePatternsWindow() {
        String yaml = """
                id: a
                version: 1
                steps:
                  - name: browse
                    one_or_more: true
                    group:
                      - {name: viewed, event: Product Viewed}
                      - {name: added, event: Product Added, within: 1h}
                actions: {alert: {type: t}}
                """;
        assertAt(problem(load(yaml), "a repeated group at the start needs 'within'"), at(yaml, "name: browse"));
        assertThat(load(yaml.replace("steps:", "within: 1d\nsteps:")).problems()).isEmpty();
        PatternLoader.Result between = load(yaml.replace("    one_or_more: true\n", "    one_or_more: true\n    within: 1d\n"));
        assertThat(between.problems()).isEmpty();
        assertThat(CepPatternCompiler.previousEventWindows(between.patterns().get(0))).containsEntry("viewed", 86_400_001L);
        String once = yaml.replace("    one_or_more: true\n", "    within: 1d\n");
        assertAt(problem(load(once), "this group does not repeat"), at(once, "within: 1d"));
    }

    @Test
    void whatFlinkCepRejectsOrDropsInAGroupIsAProblemAtItsKey() {
        String greedy = replace(GROUP, "    times: 2\n", "    times: 2..\n    greedy: true\n");
        assertAt(problem(load(greedy), "'greedy' does not apply to a group: Flink CEP rejects it"), at(greedy, "greedy"));
        String until = replace(GROUP, "    times: 2\n", "    one_or_more: true\n    until: {event: Order Completed}\n");
        assertAt(problem(load(until), "'until' does not apply to a group"), at(until, "until"));
        String event = replace(GROUP, "    times: 2\n", "    times: 2\n    event: Product Viewed\n");
        assertAt(problem(load(event), "'event' does not apply to a group"), at(event, "event: Product Viewed\n    within"));
        String absentAtEnd = replace(GROUP, "        within: 1h\n", "        within: 1h\n      - name: none\n        absent: {event: Page}\n");
        assertAt(problem(load(absentAtEnd), "an 'absent' step in a group goes between two of its steps"), at(absentAtEnd, "name: none"));
        String skipInside = replace(GROUP, "steps:\n", "after_match: {skip_to_first: viewed}\nsteps:\n");
        assertAt(problem(load(skipInside), "after_match cannot skip to step 'viewed' inside a group"), at(skipInside, "{skip_to_first"));
        String unknown = replace(GROUP, "    times: 2\n", "    times: 2\n    repeat: 3\n");
        assertAt(problem(load(unknown), "unknown key 'repeat' in step"), at(unknown, "repeat"));
    }

    @Test
    void aGroupRepeatingInEveryCombinationIsWarnedAboutAtItsLoopKey() {
        String yaml = replace(GROUP, "    times: 2\n", "    times: 2\n    loop: followed_by_any\n");
        PatternLoader.Result r = load(yaml);
        assertThat(r.problems()).isEmpty();
        PatternDefinition p = r.patterns().get(0);
        p.text(yaml);
        assertThat(PatternWarnings.of(p)).singleElement().satisfies(w -> {
            assertThat(w.message()).startsWith("warning: group 'browse' repeats with loop: followed_by_any");
            assertThat(new int[] {w.line(), w.column()}).containsExactly(at(yaml, "loop:"));
        });
        assertThat(PatternWarnings.of(load(GROUP).patterns().get(0))).isEmpty();
    }

    @Test
    void anAbsenceBetweenTwoStepsOfAGroupLoads() {
        String yaml = replace(GROUP, "      - name: added\n", "      - name: no_page\n        absent: {event: Page}\n      - name: added\n");
        PatternLoader.Result r = load(yaml);
        assertThat(r.problems()).isEmpty();
        assertThat(r.patterns().get(0).flatSteps()).extracting(s -> s.name).containsExactly("started", "viewed", "no_page", "added", "ordered");
    }

    @Test
    void namesAreUniqueAcrossGroupsAndTheirSteps() {
        String yaml = replace(GROUP, "  - name: ordered\n", "  - name: viewed\n");
        yaml = yaml.replace("properties.total > 0 and ", "");
        assertAt(problem(load(yaml), "step name 'viewed' is used twice"), at(yaml, "viewed", 3));
        String groupName = replace(GROUP, "  - name: browse\n", "  - name: started\n");
        assertAt(problem(load(groupName), "step name 'started' is used twice"), at(groupName, "started", 2));
    }
}
