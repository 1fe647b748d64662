package io.behaviorcep.pattern;

import io.behaviorcep.event.BehaviorEvent;

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
