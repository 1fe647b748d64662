package io.behaviorcep.pattern.expr;

import io.behaviorcep.event.BehaviorEvent;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.List;
import java.util.stream.Stream;

import static io.behaviorcep.pattern.expr.ConditionParserTest.ev;
import static io.behaviorcep.pattern.expr.ConditionParserTest.eval;
import static io.behaviorcep.pattern.expr.ConditionParserTest.syntaxError;
import static org.assertj.core.api.Assertions.assertThat;

/** Wildcard array paths: {@code properties.products.*.product_id}. */
class WildcardPathTest {

    /** An order with three products (flattened as the event decoder does) and some look-alike keys. */
    static final BehaviorEvent ORDER = ev("Order Completed",
            "order_id", "o1",
            "products.0.product_id", "p1", "products.0.sku", "x", "products.0.price", "10",
            "products.1.product_id", "p2", "products.1.sku", "y", "products.1.price", "25.5",
            "products.2.product_id", "p3", "products.2.sku", "x", "products.2.price", "n/a",
            "products.2.variant.price", "999",
            "products_count", "3", "productsX.0.product_id", "p9",
            "tags.0", "sale", "tags.1", "new");

    static final BehaviorEvent EMPTY_ORDER = ev("Order Completed", "order_id", "o2", "total", "0");

    @Nested
    class AnyMatch {
        @Test
        void equalityIsTrueIfSomeElementMatches() {
            assertThat(eval("properties.products.*.product_id == 'p2'", ORDER)).isTrue();
            assertThat(eval("properties.products.*.product_id == 'p4'", ORDER)).isFalse();
            assertThat(eval("'p3' == properties.products.*.product_id", ORDER)).isTrue();
        }

        @Test
        void notEqualIsExistentialToo() {
            // some product's sku is not 'x' (products.1 is 'y')
            assertThat(eval("properties.products.*.sku != 'x'", ORDER)).isTrue();
            BehaviorEvent allX = ev("o", "products.0.sku", "x", "products.1.sku", "x");
            assertThat(eval("properties.products.*.sku != 'x'", allX)).isFalse();
            // "every sku is x" and "no sku is x" via not
            assertThat(eval("not (properties.products.*.sku != 'x')", allX)).isTrue();
            assertThat(eval("not (properties.products.*.sku == 'x')", allX)).isFalse();
            assertThat(eval("not (properties.products.*.sku == 'z')", allX)).isTrue();
        }

        @Test
        void orderingComparisonsAreNumericWithANumberAndSkipNonNumericValues() {
            assertThat(eval("properties.products.*.price > 20", ORDER)).isTrue();
            assertThat(eval("properties.products.*.price > 30", ORDER)).isFalse(); // 'n/a' skipped, variant.price not read
            assertThat(eval("properties.products.*.price == 10.0", ORDER)).isTrue();
            assertThat(eval("properties.products.*.price < 10", ORDER)).isFalse();
            assertThat(eval("properties.products.*.price != 10", ORDER)).isTrue();
            assertThat(eval("5 < properties.products.*.price", ORDER)).isTrue();
            assertThat(eval("properties.products.*.sku != 1", ORDER)).isFalse(); // no numeric sku at all
        }

        @Test
        void inAndNotIn() {
            assertThat(eval("properties.products.*.product_id in ['p3', 'p7']", ORDER)).isTrue();
            assertThat(eval("properties.products.*.product_id in ['p7', 'p8']", ORDER)).isFalse();
            assertThat(eval("properties.products.*.price in [25.5]", ORDER)).isTrue();
            // some product is not in the list
            assertThat(eval("properties.products.*.product_id not in ['p1', 'p2']", ORDER)).isTrue();
            assertThat(eval("properties.products.*.product_id not in ['p1', 'p2', 'p3']", ORDER)).isFalse();
        }

        @Test
        void existsAndMatches() {
            assertThat(eval("properties.products.*.product_id exists", ORDER)).isTrue();
            assertThat(eval("properties.products.*.coupon exists", ORDER)).isFalse();
            assertThat(eval("properties.products.*.product_id matches 'p[3-5]'", ORDER)).isTrue();
            assertThat(eval("properties.products.*.product_id matches 'p[4-5]'", ORDER)).isFalse();
        }

        @Test
        void theStarIsExactlyOneSegment() {
            // products_count, productsX.0.product_id and products.2.variant.price are not elements
            assertThat(eval("properties.products.*.product_id == 'p9'", ORDER)).isFalse();
            assertThat(eval("properties.products.*.price == 999", ORDER)).isFalse();
            assertThat(eval("properties.products.*.variant.price == 999", ORDER)).isTrue();
            // a trailing star: an array of scalars
            assertThat(eval("properties.tags.* == 'sale'", ORDER)).isTrue();
            assertThat(eval("properties.tags.* == 'old'", ORDER)).isFalse();
            assertThat(eval("count(properties.tags.*) == 2", ORDER)).isTrue();
            assertThat(eval("count(properties.products.*) == 0", ORDER)).isTrue(); // objects, no scalar at products.<i>
            // non-numeric keys are segments too
            assertThat(eval("properties.shipping.*.city == 'Lyon'", ev("o", "shipping.home.city", "Lyon"))).isTrue();
        }

        @Test
        void contextPathsAndNullValues() {
            BehaviorEvent e = ev("x", "items.0.id", "a");
            e.properties.put("items.1.id", null); // a JSON null is absent
            e.context.put("experiments.0.name", "checkout_v2");
            assertThat(eval("context.experiments.*.name == 'checkout_v2'", e)).isTrue();
            assertThat(eval("count(properties.items.*.id) == 1", e)).isTrue();
            assertThat(eval("properties.items.*.id != 'a'", e)).isFalse();
        }
    }

    @Nested
    class NoElements {
        @ParameterizedTest
        @ValueSource(strings = {"properties.products.*.sku == 'x'", "properties.products.*.sku != 'x'",
                "properties.products.*.price > 0", "properties.products.*.price != 0", "properties.products.*.price < 0",
                "properties.products.*.sku in ['x']", "properties.products.*.sku not in ['x']",
                "properties.products.*.sku exists", "properties.products.*.sku matches '.*'",
                "properties.products.*.sku == properties.order_id", "properties.products.*.sku != properties.order_id",
                "properties.products.*.sku != properties.missing", "properties.products.*.price != sum(added.properties.x)",
                "properties.products.*.sku == true", "properties.products.*.sku != false"})
        void everyPredicateIsFalse(String condition) {
            assertThat(eval(condition, EMPTY_ORDER)).isFalse();
        }

        @Test
        void notNegatesTheWholePredicate() {
            assertThat(eval("not (properties.products.*.sku == 'x')", EMPTY_ORDER)).isTrue();
            assertThat(eval("not (properties.products.*.sku exists)", EMPTY_ORDER)).isTrue();
            assertThat(eval("not (properties.products.*.sku != 'x')", EMPTY_ORDER)).isTrue();
        }

        @Test
        void nullMapsAndNullEvents() {
            BehaviorEvent e = ev("x");
            e.properties = null;
            e.context = null;
            assertThat(eval("properties.products.*.sku exists or context.a.*.b exists", e)).isFalse();
            assertThat(eval("count(properties.products.*.sku) == 0 and sum(properties.products.*.price) == 0", e)).isTrue();
            assertThat(eval("properties.products.*.sku != 'x'", (BehaviorEvent) null)).isFalse();
        }

        @Test
        void aPlainFieldOnTheOtherSideKeepsItsMissingRules() {
            // elements present, other side missing: != true, the rest false (as per element)
            assertThat(eval("properties.products.*.sku != properties.missing", ORDER)).isTrue();
            assertThat(eval("properties.products.*.sku == properties.missing", ORDER)).isFalse();
            assertThat(eval("properties.products.*.price != avg(other.properties.p)", ORDER)).isTrue();
            assertThat(eval("properties.products.*.price < avg(other.properties.p)", ORDER)).isFalse();
        }
    }

    @Nested
    class Steps {
        final BehaviorEvent firstView = ev("Product Viewed", "product_id", "p2");

        @Test
        void currentWildcardAgainstAStepField() {
            SimpleEvalContext ctx = SimpleEvalContext.of(ORDER).withStep("first_view", firstView);
            assertThat(eval("properties.products.*.product_id == first_view.properties.product_id", ctx)).isTrue();
            SimpleEvalContext other = SimpleEvalContext.of(ORDER).withStep("first_view", ev("Product Viewed", "product_id", "p7"));
            assertThat(eval("properties.products.*.product_id == first_view.properties.product_id", other)).isFalse();
            // step with no events: the plain side is missing
            assertThat(eval("properties.products.*.product_id == first_view.properties.product_id", SimpleEvalContext.of(ORDER))).isFalse();
        }

        @Test
        void wildcardOnAStepReadsTheStepsLastEvent() {
            BehaviorEvent cart1 = ev("Cart Viewed", "products.0.product_id", "p1");
            BehaviorEvent cart2 = ev("Cart Viewed", "products.0.product_id", "p5", "products.1.product_id", "p2");
            SimpleEvalContext ctx = SimpleEvalContext.of(firstView).withStep("cart", cart1, cart2);
            assertThat(eval("cart.properties.products.*.product_id == properties.product_id", ctx)).isTrue();
            assertThat(eval("cart.properties.products.*.product_id == 'p1'", ctx)).isFalse(); // only in cart1
            assertThat(eval("cart.properties.products.*.product_id exists", SimpleEvalContext.of(firstView))).isFalse();
            assertThat(eval("cart.properties.products.*.product_id != 'z'", SimpleEvalContext.of(firstView))).isFalse();
            Expr x = ConditionParser.parse("cart.properties.products.*.product_id == properties.product_id");
            assertThat(x.referencedSteps()).containsExactly("cart");
        }

        @Test
        void twoWildcardSidesAreTrueIfSomePairSatisfiesIt() {
            BehaviorEvent cart = ev("Cart Viewed", "products.0.product_id", "p7", "products.1.product_id", "p3");
            SimpleEvalContext ctx = SimpleEvalContext.of(ORDER).withStep("cart", cart);
            String same = "properties.products.*.product_id == cart.properties.products.*.product_id";
            assertThat(eval(same, ctx)).isTrue(); // p3 is in both
            cart.properties.put("products.1.product_id", "p8");
            assertThat(eval(same, ctx)).isFalse();
            assertThat(eval("properties.products.*.product_id != cart.properties.products.*.product_id", ctx)).isTrue();
            // numeric when both values are numbers, as for two plain fields
            BehaviorEvent limits = ev("Limits", "caps.0.max", "9", "caps.1.max", "26");
            SimpleEvalContext c2 = SimpleEvalContext.of(ORDER).withStep("limits", limits);
            assertThat(eval("properties.products.*.price > limits.properties.caps.*.max", c2)).isTrue(); // 10 > 9
            assertThat(eval("properties.products.*.price > 100 or properties.products.*.price >= limits.properties.caps.*.max and properties.products.*.price > 26", c2)).isFalse();
            // one side without values: false, whatever the operator
            SimpleEvalContext none = SimpleEvalContext.of(ORDER);
            assertThat(eval("properties.products.*.product_id != cart.properties.products.*.product_id", none)).isFalse();
            assertThat(eval("properties.tags.* != properties.products.*.product_id", SimpleEvalContext.of(EMPTY_ORDER))).isFalse();
        }
    }

    @Nested
    class Aggregates {
        @Test
        void overTheElementsOfTheCurrentEvent() {
            assertThat(eval("sum(properties.products.*.price) == 35.5", ORDER)).isTrue();
            assertThat(eval("count(properties.products.*.price) == 3", ORDER)).isTrue(); // counts present values, numeric or not
            assertThat(eval("count(properties.products.*.product_id) == 3", ORDER)).isTrue();
            assertThat(eval("min(properties.products.*.price) == 10 and max(properties.products.*.price) == 25.5", ORDER)).isTrue();
            assertThat(eval("avg(properties.products.*.price) == 17.75", ORDER)).isTrue();
            assertThat(eval("properties.total == sum(properties.products.*.price)", ev("x", "total", "35.5",
                    "products.0.price", "30", "products.1.price", "5.5"))).isTrue();
        }

        @Test
        void overNoElements() {
            assertThat(eval("sum(properties.products.*.price) == 0", EMPTY_ORDER)).isTrue();
            assertThat(eval("count(properties.products.*.price) == 0", EMPTY_ORDER)).isTrue();
            assertThat(eval("avg(properties.products.*.price) >= 0", EMPTY_ORDER)).isFalse();
            assertThat(eval("max(properties.products.*.price) != 0", EMPTY_ORDER)).isTrue(); // missing, like a plain aggregate
        }

        @Test
        void overTheElementsOfEveryEventOfAStep() {
            SimpleEvalContext ctx = SimpleEvalContext.of(ev("Checkout"))
                    .withStep("added",
                            ev("Product Added", "products.0.price", "10", "products.1.price", "5"),
                            ev("Product Added", "products.0.price", "20"),
                            ev("Product Added", "price", "1000"),
                            ev("Product Added", "products.0.price", "free"));
            assertThat(eval("sum(added.properties.products.*.price) == 35", ctx)).isTrue();
            assertThat(eval("count(added.properties.products.*.price) == 4", ctx)).isTrue();
            assertThat(eval("min(added.properties.products.*.price) == 5", ctx)).isTrue();
            assertThat(eval("max(added.properties.products.*.price) == 20", ctx)).isTrue();
            assertThat(eval("sum(other.properties.products.*.price) == 0 and count(other.properties.products.*.price) == 0", ctx)).isTrue();
            assertThat(eval("count(added) == 4 and count(added.properties.price) == 1", ctx)).isTrue(); // plain forms unchanged
            assertThat(ctx.errors()).isEmpty();
        }
    }

    @Nested
    class FieldRefs {
        @Test
        void wildcardRefsAreFlagged() {
            String src = "properties.products.*.product_id == first_view.properties.product_id"
                    + " and sum(properties.products.*.price) > 10 and count(added.properties.products.*.sku) > 1"
                    + " and first_view.context.items.*.id exists and properties.price > 1";
            List<FieldRef> refs = ConditionParser.parse(src).fieldRefs();
            assertThat(refs).containsExactly(
                    new FieldRef("properties.products.*.product_id", 1, FieldRef.Kind.CURRENT, null, "properties.products.*.product_id", null),
                    new FieldRef("first_view.properties.product_id", src.indexOf("first_view") + 1, FieldRef.Kind.STEP, "first_view", "properties.product_id", null),
                    new FieldRef("properties.products.*.price", src.indexOf("sum(") + 5, FieldRef.Kind.CURRENT, null, "properties.products.*.price", "sum"),
                    new FieldRef("added.properties.products.*.sku", src.indexOf("added") + 1, FieldRef.Kind.STEP, "added", "properties.products.*.sku", "count"),
                    new FieldRef("first_view.context.items.*.id", src.indexOf("first_view.context") + 1, FieldRef.Kind.STEP, "first_view", "context.items.*.id", null),
                    new FieldRef("properties.price", src.lastIndexOf("properties.price") + 1, FieldRef.Kind.CURRENT, null, "properties.price", null));
            assertThat(refs).extracting(FieldRef::wildcard).containsExactly(true, false, true, true, true, false);
            assertThat(ConditionParser.parse(src).referencedSteps()).containsExactly("first_view", "added");
            assertThat(ConditionParser.parse("count(added) > 1 and profile.x == 1").fieldRefs())
                    .extracting(FieldRef::wildcard).containsExactly(false, false);
        }

        @Test
        void matchesField() {
            FieldRef r = ConditionParser.parse("v.properties.products.*.price > 1").fieldRefs().get(0);
            assertThat(r.matchesField("properties.products.0.price")).isTrue();
            assertThat(r.matchesField("properties.products.abc.price")).isTrue();
            assertThat(r.matchesField("properties.products..price")).isFalse();
            assertThat(r.matchesField("properties.products.0.variant.price")).isFalse();
            assertThat(r.matchesField("properties.products.price")).isFalse();
            assertThat(r.matchesField("context.products.0.price")).isFalse();
            FieldRef plain = ConditionParser.parse("properties.price > 1").fieldRefs().get(0);
            assertThat(plain.matchesField("properties.price")).isTrue();
            assertThat(plain.matchesField("properties.prices")).isFalse();
            FieldRef trailing = ConditionParser.parse("properties.tags.* == 'a'").fieldRefs().get(0);
            assertThat(trailing.matchesField("properties.tags.3")).isTrue();
            assertThat(trailing.matchesField("properties.tags.3.x")).isFalse();
        }
    }

    // ------------------------------------------------------------------ syntax errors

    static Stream<Arguments> syntaxErrors() {
        return Stream.of(
                Arguments.of("properties.products.*.options.*.id == 'x'", 31, "only one '*' is allowed in a path"),
                Arguments.of("v.properties.a.*.b.*.c.* exists", 20, "only one '*' is allowed in a path"),
                Arguments.of("properties.*.price > 1", 12, "'*' cannot be the first segment after 'properties'"),
                Arguments.of("properties.* == 'x'", 12, "'*' cannot be the first segment after 'properties'"),
                Arguments.of("context.*.id exists", 9, "'*' cannot be the first segment after 'context'"),
                Arguments.of("first_view.properties.*.id == 'x'", 23, "'*' cannot be the first segment after 'properties'"),
                Arguments.of("sum(added.properties.*) > 1", 22, "'*' cannot be the first segment after 'properties'"),
                Arguments.of("sum(properties.*.price) > 1", 16, "'*' cannot be the first segment after 'properties'"),
                Arguments.of("first_view.*.product_id == 'x'", 12, "'*' cannot stand for the event field of step 'first_view'"),
                Arguments.of("profile.orders.* > 1", 16, "'*' is not supported in profile fields"),
                Arguments.of("event.* == 'x'", 6, "'event' has no sub-fields"),
                Arguments.of("properties.products.*x.id == 'x'", 21, "'*' must be a whole path segment"),
                Arguments.of("properties.products.** == 'x'", 21, "'*' must be a whole path segment"),
                Arguments.of("*.price > 1", 1, "a path cannot start with '*'"),
                Arguments.of("properties.price * 2 > 10", 18, "arithmetic is not supported"),
                Arguments.of("sum(properties.price) > 10", 5, "or over the elements of an array of this event: sum(properties.products.*.price)"),
                Arguments.of("properties.products.*.price > '10'", 31, "would compare text, not numbers"),
                Arguments.of("sum(properties.products.*.price) == 'x'", 37, "cannot compare sum(properties.products.*.price) with the string 'x'"));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("syntaxErrors")
    void syntaxErrorsNameTheColumn(String condition, int column, String message) {
        ConditionSyntaxException e = syntaxError(condition);
        assertThat(e).as(condition).isNotNull();
        assertThat(e.getMessage()).contains(message);
        assertThat(e.column()).as(e.getMessage()).isEqualTo(column);
        assertThat(e.source()).isEqualTo(condition);
    }

    // ------------------------------------------------------------------ canonical form, serialization, cost

    static final String SAMPLE = "properties.products.*.product_id == first_view.properties.product_id"
            + " and sum(added.properties.products.*.price) >= 30 and count(properties.products.*.sku) == 3"
            + " and properties.products.*.sku not in ['x'] and not (properties.products.*.coupon exists)"
            + " and properties.tags.* matches 's.*' and properties.products.*.product_id == cart.properties.products.*.product_id";

    SimpleEvalContext sampleContext() {
        return SimpleEvalContext.of(ORDER)
                .withStep("first_view", ev("Product Viewed", "product_id", "p3"))
                .withStep("added", ev("Product Added", "products.0.price", "20"), ev("Product Added", "products.0.price", "10"))
                .withStep("cart", ev("Cart Viewed", "products.0.product_id", "p9", "products.1.product_id", "p1"));
    }

    @Test
    void canonicalFormParsesBack() {
        Expr x = ConditionParser.parse(SAMPLE);
        assertThat(x.toString()).isEqualTo(SAMPLE);
        assertThat(ConditionParser.parse(x.toString())).isEqualTo(x);
        assertThat(x.test(sampleContext())).isTrue();
    }

    @Test
    void serializationRoundTrip() throws Exception {
        Expr x = ConditionParser.parse(SAMPLE);
        SimpleEvalContext ctx = sampleContext();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(x);
        }
        Expr copy;
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            copy = (Expr) in.readObject();
        }
        assertThat(copy).isNotSameAs(x).isEqualTo(x);
        assertThat(copy.test(ctx)).isTrue();
        assertThat(copy.fieldRefs()).isEqualTo(x.fieldRefs());
        assertThat(copy.referencedSteps()).containsExactly("first_view", "added", "cart");
        // the deserialised prefix/suffix still select the right keys
        SimpleEvalContext other = ctx.withStep("first_view", ev("Product Viewed", "product_id", "p9"));
        assertThat(copy.test(other)).isFalse();
        assertThat(ConditionParser.parse("properties.products.*.price > 25").test(ctx)).isTrue();
        Expr price;
        bytes.reset();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(ConditionParser.parse("properties.products.*.price > 25"));
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            price = (Expr) in.readObject();
        }
        assertThat(price.test(ctx)).isTrue();
        assertThat(price.test(SimpleEvalContext.of(EMPTY_ORDER))).isFalse();
        assertThat(ctx.errors()).isEmpty();
    }

    @Test
    void wildcardOverAHundredKeysFindsNothingThatIsNotThere() {
        BehaviorEvent big = ev("Order Completed");
        for (int i = 0; i < 50; i++) {
            big.properties.put("products." + i + ".product_id", "p" + i);
            big.properties.put("products." + i + ".price", String.valueOf(i));
        }
        Expr x = ConditionParser.parse("properties.products.*.product_id == 'nope' or sum(properties.products.*.price) < 0");
        EvalContext ctx = EvalContext.of(big);
        assertThat(x.test(ctx)).isFalse();
        Expr y = ConditionParser.parse("properties.products.*.product_id == 'p49' and sum(properties.products.*.price) == 1225");
        assertThat(y.test(ctx)).isTrue();
    }
}
