package io.behaviorcep.pattern;

import io.behaviorcep.output.Alert;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.output.OutputJson;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class PayloadTemplateTest {

    private static BehaviorEvent event(String id, Map<String, String> props) {
        BehaviorEvent e = new BehaviorEvent();
        e.messageId = id;
        e.type = "track";
        e.event = "Product Added";
        e.properties.putAll(props);
        return e;
    }

    @Test
    void rendersTypedValuesTextAndMissingValues() {
        PayloadTemplate t = PayloadTemplate.compile(Map.of(
                "price", " ${added.properties.price} ",
                "sku", "${added.properties.sku}",
                "text", "cart ${added.properties.sku} at ${added.properties.price}${added.properties.none}!",
                "missing", "${added.properties.none}",
                "nodot", "${added}",
                "literal", "no placeholders",
                "empty", "",
                "last", "${viewed.messageId}"));
        Map<String, List<BehaviorEvent>> match = Map.of(
                "viewed", List.of(event("v1", Map.of()), event("v2", Map.of())),
                "added", List.of(event("a1", Map.of("price", "19.90", "sku", "007"))));

        assertThat(t.renderJson(match)).isEqualTo(
                "{\"empty\":\"\",\"last\":\"v2\",\"literal\":\"no placeholders\",\"missing\":null,\"nodot\":null,"
                        + "\"price\":19.90,\"sku\":\"007\",\"text\":\"cart 007 at 19.90!\"}");
    }

    @Test
    void profileFieldsAndTraitsComeFromTheProfileTheAlertCarries() {
        PayloadTemplate t = PayloadTemplate.compile(Map.of(
                "cart", "${profile.traits.cart_value}",
                "orders", "${profile.orders_lifetime}",
                "text", "cart of ${profile.traits.cart_value}",
                "none", "${profile.traits.undefined_here}"));
        io.behaviorcep.event.ProfileSnapshot p = new io.behaviorcep.event.ProfileSnapshot();
        p.ordersLifetime = 3;
        p.traitIds = new String[] {"cart_value"};
        p.traitValues = new String[] {"120.5"};
        Map<String, List<BehaviorEvent>> match = Map.of("added", List.of(event("a1", Map.of())));
        assertThat(t.renderJson(match, p)).isEqualTo("{\"cart\":120.5,\"none\":null,\"orders\":3,\"text\":\"cart of 120.5\"}");
        assertThat(t.renderJson(match)).as("no profile").isEqualTo("{\"cart\":null,\"none\":null,\"orders\":null,\"text\":\"cart of \"}");
        // a step named profile wins over the profile
        Map<String, List<BehaviorEvent>> withStep = Map.of("profile", List.of(event("s1", Map.of("x", "1"))));
        assertThat(PayloadTemplate.compile(Map.of("x", "${profile.properties.x}")).renderJson(withStep, p)).isEqualTo("{\"x\":1}");
    }

    /**
     * Issue 15: a browser may send any number-like string. Rendering never throws (a pending match
     * would fail the job on every restore), and what it writes as a number is one every JSON reader
     * takes: at most 1,000 characters (Jackson's default maxNumberLength) and within a double's range.
     * Anything else stays the string it was.
     */
    @Test
    void numberLikeTextBeyondJsonLimitsStaysAString() throws Exception {
        PayloadTemplate t = PayloadTemplate.compile(Map.of("price", "${added.properties.price}"));
        String manyDigits = "9".repeat(1_001);
        for (String v : List.of("1e99999999999", "-1E+99999999999", "0e99999999999", "1e-99999999999", "1e999999999", "1e309",
                "1e-400", manyDigits, "1" + "0".repeat(997) + "e5")) {
            String json = t.renderJson(Map.of("added", List.of(event("a1", Map.of("price", v)))));
            JsonNode price = OutputJson.MAPPER.readTree(json).get("price");
            assertThat(price.isTextual()).as(v).isTrue();
            assertThat(price.textValue()).as(v).isEqualTo(v);
            // and the alert around it is written too
            Alert a = new Alert();
            a.payloadJson = json;
            assertThat(OutputJson.alert(a).get("payload").get("price").textValue()).as(v).isEqualTo(v);
        }
        for (String v : List.of("1e308", "-2.5e-300", "0." + "0".repeat(300) + "1".repeat(698), "1" + "0".repeat(300), "0", "-0.0e0", "19.90")) {
            JsonNode price = OutputJson.MAPPER.readTree(t.renderJson(Map.of("added", List.of(event("a1", Map.of("price", v)))))).get("price");
            assertThat(price.isNumber()).as(v).isTrue();
        }
    }

    @Test
    void numbersAreExactlyJsonNumbers() {
        String regex = "-?(0|[1-9]\\d*)(\\.\\d+)?([eE][+-]?\\d+)?";
        for (String s : List.of("0", "-0", "12", "012", "1.", ".5", "1.5", "1e5", "1E+5", "1e-", "-", "", "1.5e3x", "١٢", "+1", "0.0e0"))
            assertThat(PayloadTemplate.isNumber(s)).as(s).isEqualTo(s.matches(regex));
        SplittableRandom r = new SplittableRandom(7);
        String alphabet = "0123456789-+.eE x";
        for (int i = 0; i < 200_000; i++) {
            StringBuilder sb = new StringBuilder();
            int n = r.nextInt(8);
            for (int k = 0; k < n; k++) sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
            String s = sb.toString();
            assertThat(PayloadTemplate.isNumber(s)).as(s).isEqualTo(s.matches(regex));
        }
    }
}
