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

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class ConditionParserTest {

    // ------------------------------------------------------------------ helpers

    /** An event with properties given as key, value pairs. */
    static BehaviorEvent ev(String event, String... props) {
        BehaviorEvent e = new BehaviorEvent();
        e.type = "track";
        e.event = event;
        e.messageId = "m-" + event;
        e.userId = "u1";
        e.userKey = "u1";
        e.timestamp = 1_700_000_000_000L;
        for (int i = 0; i < props.length; i += 2) e.properties.put(props[i], props[i + 1]);
        return e;
    }

    static boolean eval(String condition, BehaviorEvent current) {
        return ConditionParser.parse(condition).test(SimpleEvalContext.of(current));
    }

    static boolean eval(String condition, EvalContext ctx) {
        return ConditionParser.parse(condition).test(ctx);
    }

    static ConditionSyntaxException syntaxError(String condition) {
        return catchThrowableOfType(ConditionSyntaxException.class, () -> ConditionParser.parse(condition));
    }

    static final BehaviorEvent PRODUCT = ev("Product Added",
            "price", "12.5", "currency", "EUR", "category", "shoes", "name", "Red Shoe",
            "member", "true", "products.0.price", "3", "sku", "abc-1", "empty", "");

    // ------------------------------------------------------------------ operators

    @Nested
    class Operators {
        @Test
        void numericComparisons() {
            assertThat(eval("properties.price == 12.5", PRODUCT)).isTrue();
            assertThat(eval("properties.price == 12.50", PRODUCT)).isTrue();
            assertThat(eval("properties.price != 12.5", PRODUCT)).isFalse();
            assertThat(eval("properties.price != 3", PRODUCT)).isTrue();
            assertThat(eval("properties.price < 13", PRODUCT)).isTrue();
            assertThat(eval("properties.price < 12.5", PRODUCT)).isFalse();
            assertThat(eval("properties.price <= 12.5", PRODUCT)).isTrue();
            assertThat(eval("properties.price > 12", PRODUCT)).isTrue();
            assertThat(eval("properties.price > 12.5", PRODUCT)).isFalse();
            assertThat(eval("properties.price >= 12.5", PRODUCT)).isTrue();
            assertThat(eval("properties.price >= 100", PRODUCT)).isFalse();
            assertThat(eval("properties.price > -1", PRODUCT)).isTrue();
            assertThat(eval("properties.price < 1.3e1", PRODUCT)).isTrue();
        }

        @Test
        void numberLiteralOnTheLeftIsNumericToo() {
            assertThat(eval("10 <= properties.price", PRODUCT)).isTrue();
            assertThat(eval("100 <= properties.price", PRODUCT)).isFalse();
            // "9" < "10" as numbers, although "9" > "10" as text
            assertThat(eval("properties.n < 10", ev("x", "n", "9"))).isTrue();
        }

        @Test
        void stringComparisons() {
            assertThat(eval("properties.currency == 'EUR'", PRODUCT)).isTrue();
            assertThat(eval("properties.currency == \"EUR\"", PRODUCT)).isTrue();
            assertThat(eval("properties.currency == 'eur'", PRODUCT)).isFalse();
            assertThat(eval("properties.currency != 'USD'", PRODUCT)).isTrue();
            assertThat(eval("properties.currency < 'F'", PRODUCT)).isTrue();
            assertThat(eval("properties.currency >= 'F'", PRODUCT)).isFalse();
            assertThat(eval("event == 'Product Added'", PRODUCT)).isTrue();
            assertThat(eval("type == 'track' and userId == 'u1' and messageId == 'm-Product Added'", PRODUCT)).isTrue();
            assertThat(eval("properties.name == 'It\\'s'", ev("x", "name", "It's"))).isTrue();
        }

        @Test
        void booleans() {
            assertThat(eval("properties.member == true", PRODUCT)).isTrue();
            assertThat(eval("properties.member == TRUE", PRODUCT)).isTrue();
            assertThat(eval("properties.member != false", PRODUCT)).isTrue();
            assertThat(eval("properties.member == false", PRODUCT)).isFalse();
            assertThat(eval("properties.member == true", ev("x", "member", "True"))).isTrue();
        }

        @Test
        void in() {
            assertThat(eval("properties.category in ['shoes', 'bags']", PRODUCT)).isTrue();
            assertThat(eval("properties.category in ['hats']", PRODUCT)).isFalse();
            assertThat(eval("properties.category not in ['hats', \"bags\"]", PRODUCT)).isTrue();
            assertThat(eval("properties.category not in ['shoes']", PRODUCT)).isFalse();
            assertThat(eval("properties.price in [1, 12.5, 'x']", PRODUCT)).isTrue();
            assertThat(eval("properties.price in [1, 2]", PRODUCT)).isFalse();
            assertThat(eval("properties.member in [true]", PRODUCT)).isTrue();
            assertThat(eval("properties.category NOT IN ['shoes']", PRODUCT)).isFalse();
        }

        @Test
        void exists() {
            assertThat(eval("properties.price exists", PRODUCT)).isTrue();
            assertThat(eval("properties.empty exists", PRODUCT)).isTrue();
            assertThat(eval("properties.coupon exists", PRODUCT)).isFalse();
            assertThat(eval("not (properties.coupon exists)", PRODUCT)).isTrue();
            assertThat(eval("context.page.url exists", PRODUCT)).isFalse();
        }

        @Test
        void matchesIsAFullMatch() {
            BehaviorEvent page = ev("x");
            page.context.put("page.url", "/sale/shoes");
            assertThat(eval("context.page.url matches '^/sale/.*'", page)).isTrue();
            assertThat(eval("context.page.url matches '/sale/.*'", page)).isTrue();
            // find() would succeed, matches() does not: the whole value must match
            assertThat(eval("context.page.url matches 'sale'", page)).isFalse();
            assertThat(eval("context.page.url matches '.*sale.*'", page)).isTrue();
            assertThat(eval("properties.sku matches '[a-z]+-\\d+'", PRODUCT)).isTrue();
            assertThat(eval("properties.missing matches '.*'", PRODUCT)).isFalse();
        }

        /**
         * Values are attacker-controlled (up to 64 KiB): a regex that backtracks exponentially in
         * java.util.regex ({@code (a+)+$} on a's followed by '!') must still be decided, as RE2's
         * automaton does in time linear in the value. The timeout only keeps a regression from
         * hanging the build; the assertions are on the results.
         */
        @Test
        @org.junit.jupiter.api.Timeout(value = 5, unit = java.util.concurrent.TimeUnit.MINUTES)
        void pathologicalRegexOnA64KiBValueIsDecided() {
            String as = "a".repeat(64 * 1024 - 1);
            assertThat(eval("properties.v matches '(a+)+$'", ev("x", "v", as + "!"))).isFalse();
            assertThat(eval("properties.v matches '(a+)+$'", ev("x", "v", as))).isTrue();
            assertThat(eval("properties.v matches '(a|aa)+b'", ev("x", "v", as + "!"))).isFalse();
            assertThat(eval("properties.v matches '(.*a){20}'", ev("x", "v", as + "!"))).isFalse();
        }

        @Test
        void nestedAndArrayPaths() {
            assertThat(eval("properties.products.0.price == 3", PRODUCT)).isTrue();
            assertThat(eval("properties.products.1.price exists", PRODUCT)).isFalse();
        }

        @Test
        void timestampIsNumeric() {
            assertThat(eval("timestamp > 1600000000000", PRODUCT)).isTrue();
            assertThat(eval("timestamp < 1600000000000", PRODUCT)).isFalse();
        }

        @Test
        void keywordsAreCaseInsensitive() {
            assertThat(eval("properties.price >= 10 AND properties.currency == 'EUR'", PRODUCT)).isTrue();
            assertThat(eval("NOT properties.price > 100 Or properties.x Exists", PRODUCT)).isTrue();
            assertThat(eval("properties.sku MATCHES 'abc.*'", PRODUCT)).isTrue();
            assertThat(ConditionParser.parse("NOT properties.a EXISTS AND properties.b == TRUE").toString())
                    .isEqualTo("not (properties.a exists) and properties.b == true");
        }

        @Test
        void twoFieldsCompareNumericallyWhenBothAreNumbers() {
            BehaviorEvent e = ev("x", "a", "10", "b", "10.0", "c", "9", "s", "abc", "t", "abc");
            assertThat(eval("properties.a == properties.b", e)).isTrue();
            assertThat(eval("properties.a != properties.b", e)).isFalse();
            assertThat(eval("properties.c < properties.a", e)).isTrue(); // numerically, not "9" > "10"
            assertThat(eval("properties.s == properties.t", e)).isTrue();
            assertThat(eval("properties.a == properties.s", e)).isFalse();
            assertThat(eval("properties.a != properties.s", e)).isTrue();
        }
    }

    // ------------------------------------------------------------------ precedence

    @Nested
    class Precedence {
        final BehaviorEvent e = ev("x", "a", "1", "b", "0", "c", "0");

        @Test
        void andBindsTighterThanOr() {
            // a or (b and c): true;  (a or b) and c would be false
            Expr x = ConditionParser.parse("properties.a == 1 or properties.b == 1 and properties.c == 1");
            assertThat(x.test(SimpleEvalContext.of(e))).isTrue();
            assertThat(x.toString()).isEqualTo("properties.a == 1 or properties.b == 1 and properties.c == 1");
            Expr y = ConditionParser.parse("properties.b == 1 and properties.c == 1 or properties.a == 1");
            assertThat(y.test(SimpleEvalContext.of(e))).isTrue();
        }

        @Test
        void parenthesesOverride() {
            Expr x = ConditionParser.parse("(properties.a == 1 or properties.b == 1) and properties.c == 1");
            assertThat(x.test(SimpleEvalContext.of(e))).isFalse();
            assertThat(x.toString()).isEqualTo("(properties.a == 1 or properties.b == 1) and properties.c == 1");
        }

        @Test
        void notBindsTighterThanAndAndOr() {
            // (not a) and b: false; not (a and b) would be true
            assertThat(eval("not properties.a == 1 and properties.b == 1", e)).isFalse();
            assertThat(eval("not (properties.a == 1 and properties.b == 1)", e)).isTrue();
            // (not b) or a
            assertThat(eval("not properties.b == 0 or properties.a == 1", e)).isTrue();
            assertThat(ConditionParser.parse("not properties.a == 1 and properties.b == 1").toString())
                    .isEqualTo("not (properties.a == 1) and properties.b == 1");
            assertThat(eval("not not properties.a == 1", e)).isTrue();
        }

        @Test
        void redundantParenthesesAreFlattened() {
            assertThat(ConditionParser.parse("((properties.a == 1)) or (properties.b == 1 or (properties.c == 1))").toString())
                    .isEqualTo("properties.a == 1 or properties.b == 1 or properties.c == 1");
        }
    }

    // ------------------------------------------------------------------ steps, profile, aggregates

    @Nested
    class Steps {
        @Test
        void stepReferenceReadsTheLastBoundEvent() {
            BehaviorEvent viewed1 = ev("Product Viewed", "product_id", "p1");
            BehaviorEvent viewed2 = ev("Product Viewed", "product_id", "p2");
            SimpleEvalContext ctx = SimpleEvalContext.of(ev("Product Added", "product_id", "p2"))
                    .withStep("viewed", viewed1, viewed2);
            Expr x = ConditionParser.parse("properties.product_id == viewed.properties.product_id");
            assertThat(x.test(ctx)).isTrue();
            assertThat(x.referencedSteps()).containsExactly("viewed");
            assertThat(x.usesProfile()).isFalse();
            assertThat(eval("viewed.event == 'Product Viewed'", ctx)).isTrue();
        }

        @Test
        void stepWithoutEventsIsMissing() {
            SimpleEvalContext ctx = SimpleEvalContext.of(PRODUCT);
            assertThat(eval("properties.sku == viewed.properties.sku", ctx)).isFalse();
            assertThat(eval("properties.sku != viewed.properties.sku", ctx)).isTrue();
            assertThat(eval("viewed.properties.sku exists", ctx)).isFalse();
        }

        @Test
        void referencedStepsAcrossTheTree() {
            Expr x = ConditionParser.parse("a.properties.x == 1 or not (sum(b.properties.p) > 2 and count(c) >= 1)"
                    + " or properties.y == a.properties.y or profile.orders_lifetime >= 1");
            assertThat(x.referencedSteps()).containsExactly("a", "b", "c");
            assertThat(x.usesProfile()).isTrue();
            assertThat(ConditionParser.parse("properties.x == 1 and type == 'track'").referencedSteps()).isEmpty();
        }

        @Test
        void fieldRefsWithColumnsAndKinds() {
            String src = "properties.price >= viewed.properties.price and sum(added.properties.price) > 1 and count(added) > 0 and profile.orders_lifetime >= 1";
            List<FieldRef> refs = ConditionParser.parse(src).fieldRefs();
            assertThat(refs).containsExactly(
                    new FieldRef("properties.price", 1, FieldRef.Kind.CURRENT, null, "properties.price", null),
                    new FieldRef("viewed.properties.price", 21, FieldRef.Kind.STEP, "viewed", "properties.price", null),
                    new FieldRef("added.properties.price", src.indexOf("added.") + 1, FieldRef.Kind.STEP, "added", "properties.price", "sum"),
                    new FieldRef("added", src.indexOf("added)") + 1, FieldRef.Kind.STEP, "added", null, "count"),
                    new FieldRef("profile.orders_lifetime", src.indexOf("profile") + 1, FieldRef.Kind.PROFILE, null, "orders_lifetime", null));
        }

        @Test
        void profileFields() {
            SimpleEvalContext ctx = SimpleEvalContext.of(PRODUCT).withProfile("orders_lifetime", "3");
            assertThat(eval("profile.orders_lifetime >= 1", ctx)).isTrue();
            assertThat(eval("profile.orders_lifetime >= 5", ctx)).isFalse();
            assertThat(eval("profile.revenue_lifetime > 0", ctx)).isFalse();
            assertThat(eval("profile.revenue_lifetime exists", ctx)).isFalse();
        }
    }

    @Nested
    class Aggregates {
        final SimpleEvalContext ctx = SimpleEvalContext.of(ev("Checkout"))
                .withStep("added",
                        ev("Product Added", "price", "10"),
                        ev("Product Added", "price", "25.5"),
                        ev("Product Added", "price", "n/a"),
                        ev("Product Added", "name", "no price"),
                        ev("Product Added", "price", "4.5"));

        @Test
        void sumAvgMinMaxSkipNonNumericValues() {
            assertThat(eval("sum(added.properties.price) == 40", ctx)).isTrue();
            assertThat(eval("sum(added.properties.price) >= 100", ctx)).isFalse();
            assertThat(eval("avg(added.properties.price) > 13.3 and avg(added.properties.price) < 13.4", ctx)).isTrue();
            assertThat(eval("min(added.properties.price) == 4.5", ctx)).isTrue();
            assertThat(eval("max(added.properties.price) == 25.5", ctx)).isTrue();
            assertThat(eval("SUM(added.properties.price) in [40, 41]", ctx)).isTrue();
        }

        @Test
        void count() {
            assertThat(eval("count(added) == 5", ctx)).isTrue();
            assertThat(eval("count(added.properties.price) == 4", ctx)).isTrue();
            assertThat(eval("count(added.properties.name) == 1", ctx)).isTrue();
            assertThat(eval("count(other) == 0", ctx)).isTrue();
        }

        @Test
        void overNoEvents() {
            assertThat(eval("sum(other.properties.price) == 0", ctx)).isTrue();
            assertThat(eval("avg(other.properties.price) > 0", ctx)).isFalse();
            assertThat(eval("avg(other.properties.price) <= 0", ctx)).isFalse();
            assertThat(eval("max(other.properties.price) != 0", ctx)).isTrue();
            assertThat(eval("min(added.properties.name) < 100", ctx)).isFalse(); // no numeric values
        }

        @Test
        void aggregateComparedWithAField() {
            SimpleEvalContext c = SimpleEvalContext.of(ev("Checkout", "total", "40.0")).withStep("added", ctx.steps().get("added").toArray(new BehaviorEvent[0]));
            assertThat(eval("properties.total == sum(added.properties.price)", c)).isTrue();
        }
    }

    // ------------------------------------------------------------------ data that does not fit

    @Nested
    class MissingAndNonNumeric {
        @ParameterizedTest
        @ValueSource(strings = {"properties.coupon == 1", "properties.coupon < 1", "properties.coupon <= 1",
                "properties.coupon > 1", "properties.coupon >= 1", "properties.coupon == 'x'",
                "properties.coupon in ['x', 1]", "properties.coupon matches '.*'", "properties.coupon exists",
                "properties.coupon == true", "properties.coupon == properties.price", "context.ip == '1.2.3.4'"})
        void missingFieldIsFalse(String condition) {
            assertThat(eval(condition, PRODUCT)).isFalse();
        }

        @ParameterizedTest
        @ValueSource(strings = {"properties.coupon != 1", "properties.coupon != 'x'", "properties.coupon not in ['x']",
                "properties.coupon != properties.price", "properties.price != properties.coupon"})
        void missingFieldIsTrueForNotEqual(String condition) {
            assertThat(eval(condition, PRODUCT)).isTrue();
        }

        @ParameterizedTest
        @ValueSource(strings = {"properties.name == 1", "properties.name != 1", "properties.name < 1", "properties.name >= 1",
                "properties.empty == 0", "properties.empty != 0", "properties.name in [1, 2]"})
        void nonNumericValueComparedWithANumberIsFalse(String condition) {
            assertThat(eval(condition, PRODUCT)).isFalse();
        }

        @ParameterizedTest
        @ValueSource(strings = {"NaN", "Infinity", "0x10", " 12", "12 ", "1e", "-", ".", "1.2.3", "12abc"})
        void textThatJavaMightParseIsNotANumber(String value) {
            BehaviorEvent e = ev("x", "v", value);
            assertThat(eval("properties.v > -1000000", e)).isFalse();
            assertThat(eval("properties.v < 1000000", e)).isFalse();
        }

        @Test
        void nullMapsAndNullEventsAreMissing() {
            BehaviorEvent e = ev("x");
            e.properties = null;
            e.context = null;
            assertThat(eval("properties.a exists or context.b exists", e)).isFalse();
            assertThat(eval("properties.a != 1", e)).isTrue();
            assertThat(eval("event == 'x'", (BehaviorEvent) null)).isFalse();
        }

        @Test
        void failuresAreFalseAndReported() {
            List<String> errors = new java.util.ArrayList<>();
            EvalContext broken = new EvalContext() {
                @Override public BehaviorEvent current() { return PRODUCT; }
                @Override public List<BehaviorEvent> step(String name) { throw new IllegalStateException("state backend down"); }
                @Override public String profileField(String name) { return null; }
                @Override public void reportError(String message) { errors.add(message); }
            };
            // would be true if the failing side were simply missing (!=), and `not` must not turn the failure into true
            assertThat(eval("viewed.properties.x != 1", broken)).isFalse();
            assertThat(eval("not (sum(added.properties.price) > 1)", broken)).isFalse();
            assertThat(errors).hasSize(2);
            assertThat(errors.get(0)).contains("viewed.properties.x != 1").contains("state backend down");
            // a context whose reportError throws, and a null context: still just false
            EvalContext worse = new EvalContext() {
                @Override public BehaviorEvent current() { throw new IllegalStateException("boom"); }
                @Override public List<BehaviorEvent> step(String name) { return List.of(); }
                @Override public String profileField(String name) { return null; }
                @Override public void reportError(String message) { throw new IllegalStateException("boom again"); }
            };
            assertThat(eval("properties.price > 1", worse)).isFalse();
            assertThat(ConditionParser.parse("properties.price > 1").test(null)).isFalse();
        }

        @Test
        void dataProblemsAreNotReportedAsErrors() {
            SimpleEvalContext ctx = SimpleEvalContext.of(PRODUCT);
            ConditionParser.parse("properties.name > 1 or properties.coupon == 2").test(ctx);
            assertThat(ctx.errors()).isEmpty();
        }

        @Test
        void eventOnlyContext() {
            assertThat(ConditionParser.parse("properties.price > 10 and viewed.properties.x != 1").test(EvalContext.of(PRODUCT))).isTrue();
        }
    }

    // ------------------------------------------------------------------ syntax errors

    static Stream<Arguments> syntaxErrors() {
        return Stream.of(
                // condition, column, message fragment
                Arguments.of("properties.price >= ", 20, "expected a value after '>=' at column 20"),
                Arguments.of("properties.price >= and properties.x exists", 21, "expected a value after '>=' but found 'and'"),
                Arguments.of("summ(added.properties.price) >= 100", 1, "unknown function 'summ' at column 1, did you mean 'sum'?"),
                Arguments.of("foo(added) > 1", 1, "the functions are sum, count, min, max, avg"),
                Arguments.of("properties.name == 'Red Shoe", 20, "unterminated string at column 20"),
                Arguments.of("properties.name == \"Red Shoe' ", 20, "unterminated string"),
                Arguments.of("context.page.url matches '^/sale/(.*'", 34, "invalid regular expression (missing closing ) for this '(')"),
                Arguments.of("context.page.url matches 'a{2,1}b'", 28, "invalid regular expression (invalid repeat count: {2,1})"),
                // constructs that need backtracking: RE2 syntax has none of them
                Arguments.of("properties.v matches '(a)\\1'", 26, "backreferences are not supported"),
                Arguments.of("properties.v matches 'x(?=a)'", 24, "lookahead and lookbehind are not supported"),
                Arguments.of("properties.v matches 'x(?!a)'", 24, "lookahead and lookbehind are not supported"),
                Arguments.of("properties.v matches 'x(?<=a)'", 24, "lookahead and lookbehind are not supported"),
                Arguments.of("properties.v matches 'x(?<!a)'", 24, "lookahead and lookbehind are not supported"),
                Arguments.of("properties.v matches 'x(?>a)'", 24, "atomic groups are not supported"),
                Arguments.of("properties.v matches 'xa*+'", 25, "possessive quantifiers are not supported"),
                Arguments.of("properties.v matches '[a-z&&[^x]]'", 27, "character class intersection (&&) is not supported"),
                Arguments.of("(properties.a == 1 or properties.b == 2", 40, "missing ')' at column 40, to close the '(' at column 1"),
                Arguments.of("properties.a == 1)", 18, "unmatched ')'"),
                Arguments.of("properties.a = 1", 14, "'=' is not an operator at column 14, use '=='"),
                Arguments.of("properties.a == 1 && properties.b == 2", 19, "use 'and'"),
                Arguments.of("!(properties.a == 1)", 1, "use 'not'"),
                Arguments.of("properties.a == 1 properties.b == 2", 19, "unexpected 'properties.b'"),
                Arguments.of("properties.a == 1 and", 22, "expected a condition after 'and' at column 22"),
                Arguments.of("not", 4, "expected a condition after 'not'"),
                Arguments.of("   ", 1, "empty condition"),
                Arguments.of("price > 10", 1, "'price' is not a field at column 1, write properties.price"),
                Arguments.of("properties > 10", 11, "'properties' needs a field name"),
                Arguments.of("properties. == 1", 12, "expected a field name after '.'"),
                Arguments.of("type.name == 'x'", 5, "'type' has no sub-fields"),
                Arguments.of("Properties.price > 1", 1, "did you mean 'properties'?"),
                Arguments.of("added.propertes.price > 1", 7, "unknown field 'propertes' of step 'added' at column 7, did you mean 'properties'?"),
                Arguments.of("profile > 1", 1, "'profile' needs a field name"),
                Arguments.of("properties.coupon exist", 19, "did you mean 'exists'?"),
                Arguments.of("properties.coupon", 18, "expected a comparison (==, !=, <, <=, >, >=, in, not in, exists, matches) after 'properties.coupon'"),
                Arguments.of("properties.coupon not exists", 19, "put it in front of the condition: not (properties.coupon exists ...)"),
                Arguments.of("properties.category in ('shoes', 'bags')", 24, "expected a list like ['a', 'b'] after 'in' but found '('"),
                Arguments.of("properties.category in [shoes]", 25, "put text in quotes: 'shoes'"),
                Arguments.of("properties.category in ['shoes' 'bags']", 33, "expected ',' or ']'"),
                Arguments.of("properties.category in ['shoes',", 33, "missing ']'"),
                Arguments.of("properties.category in []", 25, "the list is empty"),
                Arguments.of("properties.url matches /sale/", 24, "expected a quoted regular expression after 'matches'"),
                Arguments.of("sum(properties.price) > 10", 5, "works over the events of an earlier step"),
                Arguments.of("sum(added) > 10", 5, "sum() needs a field of step 'added'"),
                Arguments.of("sum(added.properties.price > 10", 28, "expected ')' to close sum("),
                Arguments.of("sum > 10", 5, "expected '(' after 'sum'"),
                Arguments.of("sum(added.properties.price) >= '100'", 32, "cannot compare sum(added.properties.price) with the string '100'"),
                Arguments.of("properties.price >= '10'", 21, "'>=' with the quoted number '10' would compare text, not numbers"),
                Arguments.of("properties.member < true", 19, "'<' cannot order true/false"),
                Arguments.of("10 exists", 1, "'exists' needs a field, not the number 10"),
                Arguments.of("properties.price > 10abc", 20, "malformed number '10abc'"),
                Arguments.of("properties.price > 1.2.3", 20, "malformed number '1.2.3'"),
                Arguments.of("properties.price > 1 # cheap", 22, "unexpected character '#'"),
                Arguments.of("properties.name == ‘x’", 20, "use a straight quote"),
                Arguments.of("properties.price * 2 > 10", 18, "arithmetic is not supported"),
                Arguments.of("properties.a == 1 and == 2", 23, "expected a condition after 'and' but found '=='"),
                Arguments.of("properties.a == 1 'x'", 19, "unexpected 'x' at column 19"),
                Arguments.of("properties.a == 10abc", 17, "malformed number '10abc' at column 17, a field path must start with a letter"));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("syntaxErrors")
    void syntaxErrorsNameTheColumn(String condition, int column, String message) {
        ConditionSyntaxException e = syntaxError(condition);
        assertThat(e).as(condition).isNotNull();
        assertThat(e.getMessage()).contains(message);
        assertThat(e.column()).as(e.getMessage()).isEqualTo(column);
        assertThat(e.getMessage()).contains("at column " + column);
        assertThat(e.reason()).doesNotContain("at column " + column + ",").isNotBlank();
        assertThat(e.source()).isEqualTo(condition);
    }

    @Test
    void exampleMessages() {
        assertThat(syntaxError("properties.price >= ").getMessage()).isEqualTo("expected a value after '>=' at column 20");
        assertThat(syntaxError("summ(added.properties.price) > 1").getMessage())
                .isEqualTo("unknown function 'summ' at column 1, did you mean 'sum'?");
        assertThat(syntaxError("x == 'abc").reason()).isEqualTo("unterminated string, add the closing '");
        assertThat(syntaxError("properties.a == 1 and").pointer())
                .isEqualTo("properties.a == 1 and\n" + " ".repeat(21) + "^");
        assertThatThrownBy(() -> ConditionParser.parse(null)).isInstanceOf(ConditionSyntaxException.class);
    }

    // ------------------------------------------------------------------ canonical form and serialization

    static final List<String> SAMPLES = List.of(
            "properties.price >= 10 and properties.currency == 'EUR'",
            "properties.product_id == viewed.properties.product_id",
            "sum(added.properties.price) >= 100",
            "properties.category in ['shoes', 'bags'] or not (context.page.url matches '^/sale/.*')",
            "properties.coupon exists",
            "profile.orders_lifetime >= 1",
            "not not (properties.a != -2.5) and (properties.b < 1e3 or properties.c not in [1, 'x', true])",
            "properties.name == 'It\\'s a \"quote\" \\\\ and \\n' or properties.sku matches '\\d+\\.\\d'",
            "count(added) > 2 and avg(added.properties.p) <= 0.001 and min(added.properties.p) > max(other.properties.p)");

    @Test
    void canonicalFormParsesBackToTheSameCondition() {
        for (String s : SAMPLES) {
            Expr x = ConditionParser.parse(s);
            Expr again = ConditionParser.parse(x.toString());
            assertThat(again.toString()).as(s).isEqualTo(x.toString());
            assertThat(again).isEqualTo(x);
        }
        assertThat(ConditionParser.parse("properties.price>=10   AND properties.c==\"EUR\"").toString())
                .isEqualTo("properties.price >= 10 and properties.c == 'EUR'");
        assertThat(ConditionParser.parse("properties.n == 10.0").toString()).isEqualTo("properties.n == 10");
        assertThat(ConditionParser.parse("properties.n == 1e-5").toString()).isEqualTo("properties.n == 1.0E-5");
    }

    @Test
    void escapesInStrings() {
        Expr x = ConditionParser.parse("properties.sku matches '\\d+-\\w' and properties.n == 'a\\\\b'");
        assertThat(x.test(SimpleEvalContext.of(ev("x", "sku", "12-a", "n", "a\\b")))).isTrue();
    }

    @Test
    void serializationRoundTrip() throws Exception {
        SimpleEvalContext ctx = SimpleEvalContext.of(ev("Checkout", "product_id", "p1", "category", "shoes"))
                .withStep("viewed", ev("Product Viewed", "product_id", "p1"))
                .withStep("added", ev("Product Added", "price", "60"), ev("Product Added", "price", "50"))
                .withProfile("orders_lifetime", "2");
        BehaviorEvent page = ctx.current();
        page.context.put("page.url", "/shop/shoes");
        String src = "properties.product_id == viewed.properties.product_id and sum(added.properties.price) >= 100"
                + " and (properties.category in ['shoes', 'bags'] or not (context.page.url matches '^/sale/.*'))"
                + " and properties.coupon not in ['X'] and profile.orders_lifetime >= 1 and count(added) == 2";
        Expr x = ConditionParser.parse(src);
        assertThat(x.test(ctx)).isTrue();

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(x);
        }
        Expr copy;
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            copy = (Expr) in.readObject();
        }
        assertThat(copy).isNotSameAs(x).isEqualTo(x);
        assertThat(copy.toString()).isEqualTo(x.toString());
        assertThat(copy.test(ctx)).isTrue();
        assertThat(copy.referencedSteps()).containsExactly("viewed", "added");
        assertThat(copy.usesProfile()).isTrue();
        page.context.put("page.url", "/sale/shoes");
        page.properties.put("category", "hats");
        assertThat(copy.test(ctx)).isFalse(); // the deserialised regex still works (full match)
        assertThat(ctx.errors()).isEmpty();
    }

    @Test
    void repeatedEvaluationGivesTheSameAnswer() {
        // evaluation keeps no state between events (its speed is measured in the benchmark, not here)
        Expr x = ConditionParser.parse("properties.price >= 10 and properties.currency == 'EUR' and properties.category in ['shoes', 'bags']");
        EvalContext ctx = EvalContext.of(PRODUCT);
        boolean first = x.test(ctx);
        for (int i = 0; i < 1_000; i++) assertThat(x.test(ctx)).isEqualTo(first);
    }
}
