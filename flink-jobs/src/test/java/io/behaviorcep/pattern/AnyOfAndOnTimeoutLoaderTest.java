package io.behaviorcep.pattern;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.expr.SimpleEvalContext;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static io.behaviorcep.pattern.PatternLoaderTest.assertAt;
import static io.behaviorcep.pattern.PatternLoaderTest.at;
import static io.behaviorcep.pattern.PatternLoaderTest.load;
import static io.behaviorcep.pattern.PatternLoaderTest.problem;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code any_of} (a step's alternatives) and {@code on_timeout} (timed-out partial matches): what loads, what it means, and each problem at its place. */
class AnyOfAndOnTimeoutLoaderTest {

    static final String ANY_OF = """
            id: interest
            version: 1
            steps:
              - name: viewed
                event: Product Viewed
              - name: saved
                any_of:
                  - event: Product Added
                    where: properties.product_id == viewed.properties.product_id
                  - event: Product Added to Wishlist
                  - type: page
                    where: context.page.path == '/wishlist'
                where: properties.price >= 10
                within: 30m
            actions:
              alert:
                type: product_interest
            """;

    static final String ON_TIMEOUT = """
            id: pricing
            version: 1
            steps:
              - name: pricing
                type: page
              - name: gap
                absent:
                  event: Order Completed
              - name: signed_up
                event: Signed Up
                within: 1d
            on_timeout:
              reached: pricing
              alert:
                type: pricing_no_signup
                severity: high
                payload:
                  url: ${pricing.context.page.url}
            """;

    private static BehaviorEvent event(String type, String name, Map<String, String> properties) {
        BehaviorEvent e = new BehaviorEvent();
        e.messageId = "m";
        e.type = type;
        e.event = name;
        e.properties.putAll(properties);
        return e;
    }

    @Test
    void anyOfMatchesWhenOneAlternativeMatchesAndTheCommonConditionsHold() {
        PatternLoader.Result r = load(ANY_OF);
        assertThat(r.problems()).isEmpty();
        EventMatcher saved = r.patterns().get(0).steps.get(1).matcher;
        assertThat(saved.alternatives).hasSize(3);
        BehaviorEvent wishlist = event("track", "Product Added to Wishlist", Map.of("price", "12"));
        BehaviorEvent cheapWishlist = event("track", "Product Added to Wishlist", Map.of("price", "5"));
        BehaviorEvent wishlistPage = event("page", "Wishlist", Map.of("price", "50"));
        wishlistPage.context.put("page.path", "/wishlist");
        BehaviorEvent otherPage = event("page", "Home", Map.of("price", "50"));
        otherPage.context.put("page.path", "/");
        BehaviorEvent order = event("track", "Order Completed", Map.of("price", "50"));
        assertThat(saved.matches(wishlist, SimpleEvalContext.of(wishlist))).isTrue();
        assertThat(saved.matches(wishlistPage, SimpleEvalContext.of(wishlistPage))).isTrue();
        assertThat(saved.matches(cheapWishlist, SimpleEvalContext.of(cheapWishlist))).as("the step's own where holds on top").isFalse();
        assertThat(saved.matches(otherPage, SimpleEvalContext.of(otherPage))).as("the alternative's where").isFalse();
        assertThat(saved.matches(order, SimpleEvalContext.of(order))).isFalse();
        assertThat(saved.matchesKind(order)).isFalse();
        assertThat(saved.matchesKind(wishlist)).isTrue();
        assertThat(saved.needsStepContext()).as("an alternative refers to an earlier step").isTrue();
    }

    @Test
    void anyOfIsAlsoAnAbsence() {
        String yaml = """
                id: a
                version: 1
                steps:
                  - {name: added, event: Product Added}
                  - name: none
                    absent:
                      any_of: [{event: Order Completed}, {event: Checkout Started}]
                    for: 15m
                actions: {alert: {type: t}}
                """;
        PatternLoader.Result r = load(yaml);
        assertThat(r.problems()).isEmpty();
        assertThat(r.patterns().get(0).steps.get(1).matcher.alternatives).hasSize(2);
    }

    @Test
    void anyOfWithTheStepsOwnEventIsAProblemAtThatKey() {
        String yaml = PatternLoaderTest.replace(ANY_OF, "  - name: saved\n", "  - name: saved\n    event: Product Added\n");
        assertAt(problem(load(yaml), "'event' and 'any_of' do not go together"), at(yaml, "event: Product Added\n    any_of"));
    }

    @Test
    void anyOfNeedsTwoAlternatives() {
        String yaml = """
                id: a
                version: 1
                steps:
                  - name: one
                    any_of: [{event: Product Added}]
                actions: {alert: {type: t}}
                """;
        assertAt(problem(load(yaml), "'any_of' is a list of two or more alternatives"), at(yaml, "[{event"));
    }

    @Test
    void anAlternativeTakesEventTypeAndWhereOnly() {
        String yaml = PatternLoaderTest.replace(ANY_OF, "  - event: Product Added to Wishlist\n",
                "  - event: Product Added to Wishlist\n                within: 5m\n".replace("                ", "        "));
        PatternLoader.Result r = load(yaml);
        assertAt(problem(r, "unknown key 'within' in any_of alternative"), at(yaml, "within: 5m"));
    }

    @Test
    void anAlternativeNeedsAnEventOrAType() {
        String yaml = PatternLoaderTest.replace(ANY_OF, "  - event: Product Added to Wishlist\n", "  - where: properties.price > 1\n");
        assertAt(problem(load(yaml), "'any_of alternative' needs 'event' or 'type'"), at(yaml, "where: properties.price > 1"));
    }

    @Test
    void anAlternativesConditionMayOnlyReferToEarlierSteps() {
        String yaml = PatternLoaderTest.replace(ANY_OF, "viewed.properties.product_id", "later.properties.product_id");
        assertAt(problem(load(yaml), "refers to step 'later', which is not an earlier step"), at(yaml, "properties.product_id == later"));
    }

    @Test
    void anAbsentStepTakesAnyOfInsideAbsent() {
        String yaml = """
                id: a
                version: 1
                steps:
                  - {name: added, event: Product Added}
                  - name: none
                    any_of: [{event: Order Completed}, {event: Checkout Started}]
                    absent: {event: Order Completed}
                    for: 15m
                actions: {alert: {type: t}}
                """;
        assertAt(problem(load(yaml), "move 'any_of' there"), at(yaml, "any_of"));
    }

    @Test
    void onTimeoutLoadsAndReplacesActions() {
        PatternLoader.Result r = load(ON_TIMEOUT);
        assertThat(r.problems()).isEmpty();
        PatternDefinition p = r.patterns().get(0);
        assertThat(p.alert).isNull();
        assertThat(p.onTimeout().reached).isEqualTo("pricing");
        assertThat(p.onTimeout().alert.type).isEqualTo("pricing_no_signup");
        assertThat(p.onTimeout().alert.severity).isEqualTo("high");
        assertThat(p.onTimeout().alert.payload).containsEntry("url", "${pricing.context.page.url}");
    }

    @Test
    void withoutOnTimeoutOrActionsAPatternDoesNothingAndThatIsAProblem() {
        String yaml = ON_TIMEOUT.substring(0, ON_TIMEOUT.indexOf("on_timeout:"));
        assertThat(problem(load(yaml), "missing 'actions'")).isNotNull();
    }

    @Test
    void reachedMustBeAStepThatBindsAnEvent() {
        String unknown = PatternLoaderTest.replace(ON_TIMEOUT, "reached: pricing", "reached: pricng");
        assertAt(problem(load(unknown), "'reached' refers to step 'pricng', which this pattern does not have, did you mean 'pricing'"),
                at(unknown, "pricng"));
        String absence = PatternLoaderTest.replace(ON_TIMEOUT, "reached: pricing", "reached: gap");
        assertAt(problem(load(absence), "'gap' is an absence"), at(absence, "gap\n  alert"));
    }

    @Test
    void onTimeoutNeedsAnAlertOfItsOwnType() {
        String noAlert = ON_TIMEOUT.substring(0, ON_TIMEOUT.indexOf("  alert:"));
        assertAt(problem(load(noAlert), "'on_timeout' needs an 'alert'"), at(noAlert, "reached"));
        String sameType = ON_TIMEOUT + "actions:\n  alert: {type: pricing_no_signup}\n";
        assertAt(problem(load(sameType), "needs a type of its own"), at(sameType, "reached"));
        String unknownKey = PatternLoaderTest.replace(ON_TIMEOUT, "  reached: pricing\n", "  reached: pricing\n  segment: {name: x}\n");
        assertAt(problem(load(unknownKey), "unknown key 'segment' in on_timeout"), at(unknownKey, "segment"));
    }

    @Test
    void onTimeoutNeedsPartialMatchesThatCanTimeOut() {
        String yaml = """
                id: a
                version: 1
                steps:
                  - {name: only, event: Signed Up}
                on_timeout:
                  alert: {type: t}
                """;
        assertAt(problem(load(yaml), "'on_timeout' needs partial matches that can time out"), at(yaml, "on_timeout"));
        String withWindow = yaml.replace("steps:", "within: 1h\nsteps:").replace("{name: only, event: Signed Up}",
                "{name: only, event: Signed Up, times: 2}");
        assertThat(load(withWindow).problems()).isEmpty();
    }
}
