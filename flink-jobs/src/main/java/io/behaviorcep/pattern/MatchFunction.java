package io.behaviorcep.pattern;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.sink.OutputJson;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.cep.functions.PatternProcessFunction;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.util.Collector;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns one Flink CEP match into a {@link PatternMatch}: when it was decided, which events it bound,
 * and the alert payload with its templates filled from those events.
 *
 * <p>Also home of the per-pattern metrics: every operator that counts something for a pattern does it
 * in {@link #patternMetrics} ({@code pattern=<id>, version=<v>}): events evaluated (the pattern's
 * input), matches and timeouts fired (here and in the engine), condition errors (the
 * conditions), alerts emitted, capped and collapsed (the actions operator).
 */
public class MatchFunction extends PatternProcessFunction<BehaviorEvent, PatternMatch> {
    public static final String EVENTS_EVALUATED = "eventsEvaluated";
    public static final String MATCHES = "matches";
    public static final String TIMEOUTS_FIRED = "timeoutsFired";
    public static final String CONDITION_ERRORS = "conditionErrors";

    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([^}]*)}");
    /** One condition-error counter per pattern group and subtask, shared by all conditions of the pattern. */
    private static final Map<MetricGroup, Counter> CONDITION_ERROR_COUNTERS = Collections.synchronizedMap(new WeakHashMap<>());

    private final PatternDefinition def;
    private transient Counter matches;
    private transient Counter timeoutsFired;

    public MatchFunction(PatternDefinition def) {
        this.def = def;
    }

    /**
     * The metric group of one pattern: key/value groups, so the web UI shows
     * {@code <operator>.pattern.<id>.version.<v>.<metric>} and Prometheus
     * {@code flink_taskmanager_job_task_operator_pattern_version_<metric>{pattern="<id>",version="<v>"}}.
     */
    public static MetricGroup patternMetrics(MetricGroup operator, String patternId, int version) {
        return operator.addGroup("pattern", patternId).addGroup("version", Integer.toString(version));
    }

    /**
     * The condition-error counter of a pattern in this operator. A pattern has many condition
     * objects (and Flink CEP opens some several times), but a metric name can be registered only
     * once per group, so they share one counter.
     */
    public static Counter conditionErrors(MetricGroup operator, String patternId, int version) {
        return CONDITION_ERROR_COUNTERS.computeIfAbsent(patternMetrics(operator, patternId, version), g -> g.counter(CONDITION_ERRORS));
    }

    @Override
    public void open(OpenContext ctx) throws Exception {
        super.open(ctx);
        MetricGroup operator = getRuntimeContext().getMetricGroup();
        MetricGroup g = patternMetrics(operator, def.id, def.version);
        matches = g.counter(MATCHES);
        timeoutsFired = g.counter(TIMEOUTS_FIRED);
        conditionErrors(operator, def.id, def.version); // registered (at 0) even if no condition ever fails
    }

    @Override
    public void processMatch(Map<String, List<BehaviorEvent>> match, Context ctx, Collector<PatternMatch> out) {
        out.collect(toMatch(def, match));
        if (matches != null) {
            matches.inc();
            // a pattern ending in an absence is decided only when its deadline passes
            if (def.trailingAbsence() != null) timeoutsFired.inc();
        }
    }

    public static PatternMatch toMatch(PatternDefinition def, Map<String, List<BehaviorEvent>> match) {
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
