package io.behaviorcep.pattern;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.output.OutputJson;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A match's {@code matched} and {@code payload} JSON are written as text on the engine's hot path;
 * they must be exactly what the JSON-tree rendering (kept here as the reference) printed: same
 * escaping, same number forms, same field order, on every shipped pattern and random values.
 */
class MatchRenderingDifferentialTest {
    private static final String ALPHABET = "abcXYZ019 -_.,:/\\\"'{}$\t\n\r\u0000\u001f\u007fé東😀";

    @Test
    void textRenderingEqualsTheTreeRenderingOnEveryShippedPatternAndRandomValues() throws Exception {
        List<PatternDefinition> patterns = new ArrayList<>();
        // the folder as one: a pattern may read a trait of the folder's traits file
        patterns.addAll(PatternLoader.load(Path.of("../patterns")).orThrow());
        patterns.addAll(PatternLoader.loadString("templates.yaml", """
                id: templates
                version: 1
                steps:
                  - name: viewed
                    event: Product Viewed
                  - name: added
                    event: Product Added
                    contiguity: followed_by_any
                    within: 30m
                actions:
                  alert:
                    type: templates
                    payload:
                      whole_number: "${added.properties.v}"
                      padded: "  ${viewed.properties.v}  "
                      mixed: "x ${added.properties.v} y ${viewed.properties.w} ${added.properties.missing}"
                      no_dot: "${added}"
                      literal: "plain \\"quoted\\" text"
                      id: "${viewed.messageId}"
                      ts: "${added.timestamp}"
                """).orThrow());
        assertThat(patterns).hasSizeGreaterThan(4);

        SplittableRandom r = new SplittableRandom(20261123);
        int compared = 0;
        for (PatternDefinition def : patterns) {
            for (int i = 0; i < 2_000; i++) {
                Map<String, List<BehaviorEvent>> match = new HashMap<>();
                for (PatternDefinition.StepDefinition s : def.steps) {
                    if (r.nextInt(10) == 0) continue;                 // a step that bound nothing
                    List<BehaviorEvent> events = new ArrayList<>();
                    int n = r.nextInt(4);                             // 0: bound, but empty
                    for (int k = 0; k < n; k++) events.add(randomEvent(r));
                    match.put(s.name, events);
                }
                List<BehaviorEvent> anchor = match.computeIfAbsent(def.anchorStep().name, k -> new ArrayList<>());
                if (anchor.isEmpty()) anchor.add(randomEvent(r));

                PatternMatch m = MatchFunction.toMatch(def, match);
                assertThat(m.matchedJson).as(def.id).isEqualTo(treeMatched(def, match));
                assertThat(m.payloadJson).as(def.id).isEqualTo(def.alert == null ? "{}" : treePayload(def.alert.payload, match));
                OutputJson.MAPPER.readTree(m.matchedJson);                // and both are JSON
                OutputJson.MAPPER.readTree(m.payloadJson);
                compared++;
            }
        }
        assertThat(compared).isGreaterThan(10_000);
    }

    private static BehaviorEvent randomEvent(SplittableRandom r) {
        BehaviorEvent e = new BehaviorEvent();
        e.messageId = randomText(r);
        e.userKey = "u";
        e.type = "track";
        e.event = "Product Added";
        e.timestamp = r.nextLong(0, 4_102_444_800_000L);
        for (String k : List.of("v", "w", "price", "product_id", "name", "sku", "revenue", "order_id", "url", "currency")) {
            if (r.nextInt(4) == 0) continue;
            e.properties.put(k, randomValue(r));
        }
        return e;
    }

    private static String randomValue(SplittableRandom r) {
        switch (r.nextInt(6)) {
            case 0: return Integer.toString(r.nextInt(-1000, 1000));
            case 1: return r.nextInt(100) + "." + r.nextInt(1000);
            case 2: return List.of("1e3", "-0", "0.0", "1E-7", "12345678901234567890123", "01", "1.", ".5", "-", "+1").get(r.nextInt(10));
            case 3: return "";
            default: return randomText(r);
        }
    }

    private static String randomText(SplittableRandom r) {
        StringBuilder sb = new StringBuilder();
        int n = r.nextInt(12);
        for (int i = 0; i < n; i++) sb.appendCodePoint(ALPHABET.codePointAt(ALPHABET.offsetByCodePoints(0, r.nextInt(ALPHABET.codePointCount(0, ALPHABET.length())))));
        return sb.toString();
    }

    // --- the reference: the JSON-tree rendering as it was --------------------------------------------

    private static String treeMatched(PatternDefinition def, Map<String, List<BehaviorEvent>> match) {
        ObjectNode matched = OutputJson.MAPPER.createObjectNode();
        for (PatternDefinition.StepDefinition s : def.steps) {
            List<BehaviorEvent> events = match.get(s.name);
            if (events == null || s.absent) continue;
            var arr = matched.putArray(s.name);
            for (BehaviorEvent e : events) arr.addObject().put("message_id", e.messageId).put("timestamp", OutputJson.iso(e.timestamp));
        }
        return matched.toString();
    }

    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([^}]*)}");

    private static String treePayload(Map<String, String> templates, Map<String, List<BehaviorEvent>> match) {
        ObjectNode payload = OutputJson.MAPPER.createObjectNode();
        templates.keySet().stream().sorted().forEach(field -> {
            String template = templates.get(field);
            Matcher whole = PLACEHOLDER.matcher(template.trim());
            if (whole.matches()) {
                String v = lookup(whole.group(1).trim(), match);
                if (v == null) payload.putNull(field);
                else if (v.matches("-?(0|[1-9]\\d*)(\\.\\d+)?([eE][+-]?\\d+)?")) payload.put(field, new java.math.BigDecimal(v));
                else payload.put(field, v);
                return;
            }
            Matcher mt = PLACEHOLDER.matcher(template);
            StringBuilder sb = new StringBuilder();
            while (mt.find()) {
                String v = lookup(mt.group(1).trim(), match);
                mt.appendReplacement(sb, Matcher.quoteReplacement(v == null ? "" : v));
            }
            mt.appendTail(sb);
            payload.put(field, sb.toString());
        });
        return payload.toString();
    }

    private static String lookup(String ref, Map<String, List<BehaviorEvent>> match) {
        int dot = ref.indexOf('.');
        if (dot < 0) return null;
        List<BehaviorEvent> events = match.get(ref.substring(0, dot));
        if (events == null || events.isEmpty()) return null;
        return events.get(events.size() - 1).field(ref.substring(dot + 1));
    }
}
