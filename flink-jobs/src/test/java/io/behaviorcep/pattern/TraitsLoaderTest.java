package io.behaviorcep.pattern;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Traits files ({@code kind: traits}) and references to traits: every problem at once, as FILE:LINE:COL. */
class TraitsLoaderTest {

    static List<String> problems(Map<String, String> files) {
        return PatternLoader.loadAll(files).problems().stream().map(PatternProblem::toString).toList();
    }

    static final String PATTERN = """
            id: big-cart
            version: 1
            steps:
              - name: added
                event: Product Added
                where: profile.traits.cart_valu > 100
            actions:
              alert:
                type: big_cart
                payload:
                  value: ${profile.traits.cart_value}
                  lifetime: ${profile.orders_lifetim}
            """;

    @Test
    void aValidTraitsFileIsReadByItsKindOrItsName() {
        Map<String, String> files = new LinkedHashMap<>();
        files.put("p/traits.yaml", """
                traits:
                  - id: cart_value
                    function: sum
                    event: Product Added
                    property: properties.price
                    since: Order Completed
                """);
        files.put("p/more.yaml", """
                kind: traits
                params: {min: 10}
                traits:
                  - {id: views_24h, function: count, event: Product Viewed, window: 24h, where: "properties.price >= ${params.min}"}
                  - {id: categories_90d, function: distinct_count, event: "*", property: properties.category, window: 90d}
                """);
        PatternLoader.Result r = PatternLoader.loadAll(files);
        assertThat(r.problems()).isEmpty();
        assertThat(r.patterns()).isEmpty();
        assertThat(r.traits()).extracting(TraitDefinition::toString).containsExactly(
                "Trait{cart_value = sum(Product Added.properties.price) since last Order Completed}",
                "Trait{views_24h = count(Product Viewed) where [properties.price >= 10] over 86400000ms}",
                "Trait{categories_90d = distinct_count(*.properties.category) over 7776000000ms}");
        assertThat(r.traits().get(1).bucketMillis()).isEqualTo(TraitDefinition.HOUR);
        assertThat(r.traits().get(1).buckets()).isEqualTo(24);
        assertThat(r.traits().get(2).buckets()).isEqualTo(90);
    }

    @Test
    void everyProblemOfATraitIsReportedWithItsPosition() {
        String traits = """
                kind: traits
                traits:
                  - id: a
                    function: summ
                    event: Product Added
                    property: properties.price
                    since: Order Completed
                  - id: b
                    function: sum
                    event: Product Added
                    window: 30m
                  - id: c
                    function: count
                    event: Product Added
                    property: properties.price
                    window: 91d
                  - id: d
                    function: max
                    event: Product Added
                    property: viewed.properties.price
                    window: 90m
                  - id: e
                    function: count
                    event: Product Added
                    window: 3d12h
                    since: Order Completed
                  - id: f
                    function: count
                    event: Product Added
                    where: profile.orders_lifetime > 1
                  - id: a
                    function: count
                    event: Order Completed
                    window: 1h
                  - id: Bad
                    functio: count
                """;
        assertThat(problems(Map.of("t.yaml", traits))).containsExactly(
                "t.yaml:4:15: unknown function 'summ', did you mean 'sum'? (one of count, distinct_count, first, last, max, min, sum)",
                "t.yaml:8:5: trait 'b' with function sum needs 'property': the event field it reads, e.g. property: properties.price",
                "t.yaml:11:13: window '30m' must be from 1h to 90d",
                "t.yaml:15:5: count counts events and reads no property; remove 'property' or use another function",
                "t.yaml:16:13: window '91d' must be from 1h to 90d",
                "t.yaml:20:15: property 'viewed.properties.price' must be a field of the event such as properties.price (no step, profile or '*')",
                "t.yaml:21:13: window '90m' must be whole hours (windows up to 2d are kept in hourly buckets)",
                "t.yaml:26:5: trait 'e' needs exactly one of 'window' (1h to 90d, e.g. window: 7d) or 'since' (an event name: the trait starts"
                        + " afresh at the user's last one, e.g. since: Order Completed)",
                "t.yaml:27:5: trait 'f' needs exactly one of 'window' (1h to 90d, e.g. window: 7d) or 'since' (an event name: the trait starts"
                        + " afresh at the user's last one, e.g. since: Order Completed)",
                "t.yaml:30:12: 'profile.orders_lifetime': a trait's 'where' reads only the event it takes (properties.*, context.*, ...), not the profile or steps",
                "t.yaml:31:9: trait id 'a' is used twice in this file (first on line 3)",
                "t.yaml:35:5: missing 'function'",
                "t.yaml:35:5: missing 'event'",
                "t.yaml:35:5: trait 'Bad' needs exactly one of 'window' (1h to 90d, e.g. window: 7d) or 'since' (an event name: the trait starts"
                        + " afresh at the user's last one, e.g. since: Order Completed)",
                "t.yaml:35:9: trait id 'Bad' must be lowercase letters, digits and '_', starting with a letter (it is read as profile.traits.Bad)",
                "t.yaml:36:5: unknown key 'functio' in trait, did you mean 'function'?");
    }

    @Test
    void aTraitThatNoFileDefinesIsAProblemWhereItIsRead() {
        String traits = """
                kind: traits
                traits:
                  - {id: cart_value, function: sum, event: Product Added, property: properties.price, since: Order Completed}
                """;
        String segments = """
                kind: segments
                segments:
                  - id: big_cart
                    when: profile.traits.cart_vlaue >= 200
                """;
        assertThat(problems(Map.of("p/traits.yaml", traits, "p/big-cart.yaml", PATTERN, "p/segments.yaml", segments))).containsExactly(
                "p/big-cart.yaml:6:27: unknown trait 'cart_valu', did you mean 'cart_value'? (traits are defined in the traits file, kind: traits)",
                "p/big-cart.yaml:12:17: template ${profile.orders_lifetim}: unknown profile field 'orders_lifetim', did you mean 'orders_lifetime'?"
                        + " (profile fields are listed in docs/pattern-language.md)",
                "p/segments.yaml:4:26: unknown trait 'cart_vlaue', did you mean 'cart_value'? (traits are defined in the traits file, kind: traits)");
        assertThat(problems(Map.of("p/big-cart.yaml", PATTERN.replace("cart_valu >", "cart_value >")))).containsExactly(
                "p/big-cart.yaml:6:27: unknown trait 'cart_value' (no traits file defines any: add one with kind: traits)",
                "p/big-cart.yaml:11:14: unknown trait 'cart_value' (no traits file defines any: add one with kind: traits)",
                "p/big-cart.yaml:12:17: template ${profile.orders_lifetim}: unknown profile field 'orders_lifetim', did you mean 'orders_lifetime'?"
                        + " (profile fields are listed in docs/pattern-language.md)");
    }

    @Test
    void aTraitIdIsUniqueAcrossFiles() {
        String one = "kind: traits\ntraits:\n  - {id: n, function: count, event: A, window: 1h}\n";
        Map<String, String> files = new LinkedHashMap<>();
        files.put("p/a.yaml", one);
        files.put("p/b.yaml", one);
        assertThat(problems(files)).containsExactly(
                "p/b.yaml:3:10: duplicate trait id 'n', also defined in p/a.yaml");
    }
}
