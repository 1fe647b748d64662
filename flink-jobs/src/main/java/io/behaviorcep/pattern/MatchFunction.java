package io.behaviorcep.pattern;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.sink.OutputJson;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.cep.functions.PatternProcessFunction;
import org.apache.flink.util.Collector;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns one Flink CEP match into a {@link PatternMatch}: when it was decided, which events it bound,
 * and the alert payload with its templates filled from those events.
 */
public class MatchFunction extends PatternProcessFunction<BehaviorEvent, PatternMatch> {
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([^}]*)}");
    private final PatternDefinition def;

    public MatchFunction(PatternDefinition def) {
        this.def = def;
    }

    @Override
    public void processMatch(Map<String, List<BehaviorEvent>> match, Context ctx, Collector<PatternMatch> out) {
        out.collect(toMatch(def, match));
    }

    static PatternMatch toMatch(PatternDefinition def, Map<String, List<BehaviorEvent>> match) {
        PatternDefinition.StepDefinition anchorStep = def.anchorStep();
        List<BehaviorEvent> anchorEvents = match.get(anchorStep.name);
        BehaviorEvent anchor = anchorEvents.get(anchorEvents.size() - 1);
        PatternDefinition.StepDefinition absence = def.trailingAbsence();

        PatternMatch m = new PatternMatch();
        m.patternId = def.id;
        m.patternVersion = def.version;
        m.userKey = anchor.userKey;
        m.anchorId = anchor.messageId;
        m.detectedAt = absence == null ? anchor.timestamp : anchor.timestamp + absence.absentFor.toMillis();
        m.profile = anchor.profile;

        ObjectNode matched = OutputJson.MAPPER.createObjectNode();
        List<String> ids = new ArrayList<>();
        for (PatternDefinition.StepDefinition s : def.steps) {
            List<BehaviorEvent> events = match.get(s.name);
            if (events == null || s.absent) continue;
            var arr = matched.putArray(s.name);
            for (BehaviorEvent e : events) {
                arr.addObject().put("message_id", e.messageId).put("timestamp", OutputJson.iso(e.timestamp));
                ids.add(e.messageId);
            }
        }
        ids.sort(null);
        m.eventIds = String.join(",", ids);
        m.matchedJson = matched.toString();
        m.payloadJson = def.alert == null ? "{}" : renderPayload(def.alert.payload, match).toString();
        return m;
    }

    /** A template that is exactly one placeholder keeps the value's JSON type; mixed text becomes a string. */
    static ObjectNode renderPayload(Map<String, String> templates, Map<String, List<BehaviorEvent>> match) {
        ObjectNode payload = OutputJson.MAPPER.createObjectNode();
        templates.keySet().stream().sorted().forEach(field -> {
            String template = templates.get(field);
            Matcher whole = PLACEHOLDER.matcher(template.trim());
            if (whole.matches()) {
                String v = lookup(whole.group(1).trim(), match);
                if (v == null) payload.putNull(field);
                else if (isNumber(v)) payload.put(field, new java.math.BigDecimal(v));
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
        return payload;
    }

    private static String lookup(String ref, Map<String, List<BehaviorEvent>> match) {
        int dot = ref.indexOf('.');
        if (dot < 0) return null;
        List<BehaviorEvent> events = match.get(ref.substring(0, dot));
        if (events == null || events.isEmpty()) return null;
        return events.get(events.size() - 1).field(ref.substring(dot + 1));
    }

    private static boolean isNumber(String v) {
        return v.matches("-?(0|[1-9]\\d*)(\\.\\d+)?([eE][+-]?\\d+)?");
    }
}
