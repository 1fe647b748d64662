package io.behaviorcep.pattern;

import org.junit.jupiter.api.Test;

import static io.behaviorcep.pattern.PatternLoaderTest.assertAt;
import static io.behaviorcep.pattern.PatternLoaderTest.at;
import static io.behaviorcep.pattern.PatternLoaderTest.load;
import static io.behaviorcep.pattern.PatternLoaderTest.problem;
import static io.behaviorcep.pattern.PatternLoaderTest.replace;
import static org.assertj.core.api.Assertions.assertThat;

/** An absence at the start ("no X in the D before the next step's event"): what loads and each problem at its place. */
class LeadingAbsenceLoaderTest {
    static final String LEADING = """
            id: checkout-cold
            version: 1
            steps:
              - name: no_view
                absent:
                  event: Product Viewed
                for: 30m
              - name: checkout
                event: Checkout Started
              - name: no_order
                absent: {event: Order Completed}
                for: 1h
            actions:
              alert: {type: cold_checkout}
            """;

    @Test
    void aLeadingAbsenceLoadsAndFlinkCepRunsTheRest() {
        PatternLoader.Result r = load(LEADING);
        assertThat(r.problems()).isEmpty();
        PatternDefinition p = r.patterns().get(0);
        assertThat(p.leadingAbsence().name).isEqualTo("no_view");
        assertThat(p.leadingAbsence().absentFor).hasMinutes(30);
        assertThat(p.anchorStep().name).isEqualTo("checkout");
        assertThat(p.trailingAbsence().name).isEqualTo("no_order");
        assertThat(CepPatternCompiler.compile(p).getPrevious().getName()).as("Flink CEP's pattern begins at the step after it").isEqualTo("checkout");
        assertThat(CepPatternCompiler.previousEventWindows(p)).containsOnlyKeys("no_order");
        assertThat(CepPatternCompiler.isRelevant(p, event("Product Viewed"))).as("the engine must see the absence's events").isTrue();
    }

    @Test
    void withoutForThePatternsWindowIsTheAbsencesWindow() {
        String yaml = replace(LEADING, "    for: 30m\n", "").replace("steps:", "within: 2h\nsteps:");
        PatternLoader.Result r = load(yaml);
        assertThat(r.problems()).isEmpty();
        assertThat(r.patterns().get(0).leadingAbsence().absentFor).isNull();
    }

    @Test
    void aLeadingAbsenceNeedsAWindow() {
        String yaml = replace(LEADING, "    for: 30m\n", "");
        assertAt(problem(load(yaml), "an 'absent' step at the start needs 'for: <duration>'"), at(yaml, "absent:"));
    }

    @Test
    void aLeadingAbsenceNeedsAStepAfterIt() {
        String yaml = LEADING.substring(0, LEADING.indexOf("  - name: checkout")) + "actions:\n  alert: {type: t}\n";
        assertAt(problem(load(yaml), "needs a step after it"), at(yaml, "name: no_view"));
    }

    @Test
    void twoLeadingAbsencesAreAProblem() {
        String yaml = replace(LEADING, "  - name: checkout\n", "  - name: no_add\n    absent: {event: Product Added}\n  - name: checkout\n");
        assertAt(problem(load(yaml), "two 'absent' steps in a row"), at(yaml, "name: no_add"));
    }

    @Test
    void theStepAfterALeadingAbsenceMustHappenAndStartsTheSequence() {
        String optional = replace(LEADING, "    event: Checkout Started\n", "    event: Checkout Started\n    optional: true\n");
        assertAt(problem(load(optional), "the step after an absence at the start cannot be optional"), at(optional, "optional"));
        String within = replace(LEADING, "    event: Checkout Started\n", "    event: Checkout Started\n    within: 5m\n");
        assertAt(problem(load(within), "'within' on the first step has nothing to measure from"), at(within, "within: 5m"));
        String contiguity = replace(LEADING, "    event: Checkout Started\n", "    event: Checkout Started\n    contiguity: next\n");
        assertAt(problem(load(contiguity), "the first step has no previous step"), at(contiguity, "contiguity"));
        String onAbsence = replace(LEADING, "    for: 30m\n", "    for: 30m\n    contiguity: next\n");
        assertAt(problem(load(onAbsence), "the first step has no previous step"), at(onAbsence, "contiguity"));
        String group = """
                id: g
                version: 1
                within: 1d
                steps:
                  - {name: no_order, absent: {event: Order Completed}, for: 1d}
                  - name: rounds
                    optional: true
                    group:
                      - {name: viewed, event: Product Viewed}
                      - {name: added, event: Product Added}
                  - {name: checkout, event: Checkout Started}
                actions: {alert: {type: t}}
                """;
        assertAt(problem(load(group), "cannot be optional"), at(group, "optional"));
    }

    @Test
    void aLeadingAbsenceCannotReferToLaterSteps() {
        String yaml = replace(LEADING, "    absent:\n      event: Product Viewed\n",
                "    absent:\n      event: Product Viewed\n      where: properties.product_id == checkout.properties.product_id\n");
        assertAt(problem(load(yaml), "refers to step 'checkout', which is not an earlier step"), at(yaml, "properties.product_id == checkout"));
    }

    private static io.behaviorcep.event.BehaviorEvent event(String name) {
        io.behaviorcep.event.BehaviorEvent e = new io.behaviorcep.event.BehaviorEvent();
        e.type = "track";
        e.event = name;
        return e;
    }
}
