package io.behaviorcep.pattern;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static io.behaviorcep.pattern.PatternLoaderTest.assertAt;
import static io.behaviorcep.pattern.PatternLoaderTest.at;
import static io.behaviorcep.pattern.PatternLoaderTest.problem;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code examples:} of a traits file: expected trait values as of events, read with located problems. */
class TraitExamplesLoaderTest {
    static final String TRAITS = """
            kind: traits
            traits:
              - {id: cart_value, function: sum, event: Product Added, property: properties.price, since: Order Completed}
            examples:
              - name: adds sum up
                events:
                  - {at: 0m, event: Product Added, properties: {price: 20}}
                  - {at: 5m, user: bob, event: Product Added, properties: {price: 1}}
                expect:
                  traits:
                    - {at: 0m, cart_value: 20}
                    - {at: 5m, user: bob, cart_value: ~}
            """;

    static PatternLoader.Result load(String yaml) {
        return PatternLoader.loadString(PatternLoaderTest.F, yaml);
    }

    @Test
    void expectedTraitValuesAreReadPerUserAndTime() {
        PatternLoader.Result r = load(TRAITS);
        assertThat(r.problems()).isEmpty();
        TraitsFile f = r.traitsFiles().get(0);
        assertThat(f.examples).hasSize(1);
        assertThat(f.examples.get(0).traits()).containsExactly(
                new Example.ExpectedTraits(0, "user", Map.of("cart_value", "20")),
                new Example.ExpectedTraits(5 * 60_000, "bob", Map.of("cart_value", "null")));
        assertThat(f.probe().examples).isEqualTo(f.examples);
        assertThat(f.probe().alert.payload).containsExactly(Map.entry("cart_value", "${profile.traits.cart_value}"));
    }

    @Test
    void aValueOfATraitTheFileDoesNotDefineIsAProblem() {
        String yaml = TRAITS.replace("{at: 0m, cart_value: 20}", "{at: 0m, cart_valu: 20}");
        assertAt(problem(load(yaml), "'cart_valu' is not a trait of this file, did you mean 'cart_value'?"), at(yaml, "cart_valu:"));
        String noAt = TRAITS.replace("{at: 0m, cart_value: 20}", "{cart_value: 20}");
        assertAt(problem(load(noAt), "expected traits need 'at'"), at(noAt, "{cart_value: 20}"));
    }

    @Test
    void aPatternsExampleCannotExpectTraits() {
        String yaml = """
                id: a
                version: 1
                steps:
                  - {name: added, event: Product Added}
                actions: {alert: {type: t}}
                examples:
                  - name: x
                    events:
                      - {at: 0m, event: Product Added}
                    expect:
                      traits: []
                """;
        assertAt(problem(load(yaml), "'traits' expectations belong to the examples of a traits file"), at(yaml, "traits: []"));
    }
}
