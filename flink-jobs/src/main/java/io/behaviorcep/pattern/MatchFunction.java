package io.behaviorcep.pattern;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.util.JsonText;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Turns one match (the events each step bound) into a {@link PatternMatch}: when it was decided,
 * which events it bound, and the alert payload with its templates filled from those events.
 *
 * <p>Also home of the per-pattern metrics: every operator that counts something for a pattern does it
 * in {@link #patternMetrics} ({@code pattern=<id>, version=<v>}): events evaluated (the pattern's
 * input), matches and timeouts fired (the engine), condition errors (the conditions), alerts
 * emitted, capped and collapsed (the actions operator).
 */
public final class MatchFunction {
    public static final String EVENTS_EVALUATED = "eventsEvaluated";
    public static final String MATCHES = "matches";
    public static final String TIMEOUTS_FIRED = "timeoutsFired";
    public static final String CONDITION_ERRORS = "conditionErrors";

    /** One condition-error counter per pattern group and subtask, shared by all conditions of the pattern. */
    private static final Map<MetricGroup, Counter> CONDITION_ERROR_COUNTERS = Collections.synchronizedMap(new WeakHashMap<>());

    private MatchFunction() {}

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

    public static PatternMatch toMatch(PatternDefinition def, Map<String, List<BehaviorEvent>> match) {
        BehaviorEvent anchor = anchorEvent(def.anchorStep(), match);
        PatternDefinition.StepDefinition absence = def.trailingAbsence();

        PatternMatch m = new PatternMatch();
        m.patternId = def.id;
        m.patternVersion = def.version;
        m.userKey = anchor.userKey;
        m.anchorId = anchor.messageId;
        m.detectedAt = absence == null ? anchor.timestamp : anchor.timestamp + absence.absentFor.toMillis();
        m.profile = anchor.profile;
        m.timezone = timezone(anchor);
        render(def, match, m);
        m.payloadJson = def.alert == null ? "{}" : def.alert.template.renderJson(match, anchor.profile);
        return m;
    }

    /**
     * A partial match that Flink CEP times out at {@code timedOutAt} ({@code on_timeout}): a window's
     * end plus {@link CepPatternCompiler#INCLUSIVE}. It is detected at the window's end, the last
     * instant at which the awaited event would still have counted, as an absence at the end is
     * detected at the end of its {@code for}. Its anchor is its latest bound event: the partial
     * matches that bound the same last event and time out at the same instant are one alert, as
     * overlapping matches of one anchor are.
     */
    public static PatternMatch toTimedOutMatch(PatternDefinition def, Map<String, List<BehaviorEvent>> partial, long timedOutAt) {
        BehaviorEvent last = null;
        for (List<BehaviorEvent> events : partial.values()) {
            for (BehaviorEvent e : events) if (last == null || e.timestamp >= last.timestamp) last = e;
        }
        PatternMatch m = new PatternMatch();
        m.patternId = def.id;
        m.patternVersion = def.version;
        m.userKey = last.userKey;
        m.anchorId = "timeout:" + last.messageId;
        m.detectedAt = timedOutAt - CepPatternCompiler.INCLUSIVE.toMillis();
        m.profile = last.profile;
        m.timedOut = true;
        m.timezone = timezone(last);
        render(def, partial, m);
        m.payloadJson = def.onTimeout().alert.template.renderJson(partial, last.profile);
        return m;
    }

    /** The last event of the anchor step; of a group, the latest event any of its steps bound in the match. */
    static BehaviorEvent anchorEvent(PatternDefinition.StepDefinition anchorStep, Map<String, List<BehaviorEvent>> match) {
        if (!anchorStep.isGroup()) {
            List<BehaviorEvent> events = match.get(anchorStep.name);
            return events.get(events.size() - 1);
        }
        BehaviorEvent anchor = null;
        for (PatternDefinition.StepDefinition s : anchorStep.group) {
            List<BehaviorEvent> events = match.get(s.name);
            if (events == null || s.absent) continue;
            BehaviorEvent last = events.get(events.size() - 1);
            // ties in time: the step written later is the later event of a repetition
            if (anchor == null || last.timestamp >= anchor.timestamp) anchor = last;
        }
        return anchor;
    }

    /** The event's {@code context.timezone} as sent (untrusted: the messaging policy validates it), or null. */
    private static String timezone(BehaviorEvent e) {
        return e.context == null ? null : e.context.get("timezone");
    }

    /** Whether every bound event was replayed by identity stitching, and the match decided no later than their link. */
    private static boolean decidedBeforeTheirLink(Map<String, List<BehaviorEvent>> match, long detectedAt) {
        boolean any = false;
        for (List<BehaviorEvent> events : match.values()) {
            for (BehaviorEvent e : events) {
                if (!e.stitched() || detectedAt > e.stitchedAt) return false;
                any = true;
            }
        }
        return any;
    }

    /** {@link PatternMatch#matchedJson} and {@link PatternMatch#eventIds} of the bound events. */
    private static void render(PatternDefinition def, Map<String, List<BehaviorEvent>> match, PatternMatch m) {
        // written as text, not as a JSON tree: a match is built on the engine's hot path
        StringBuilder matched = new StringBuilder(128).append('{');
        List<String> ids = new ArrayList<>();
        for (PatternDefinition.StepDefinition s : def.flatSteps()) {
            List<BehaviorEvent> events = match.get(s.name);
            if (events == null || s.absent) continue;
            if (matched.length() > 1) matched.append(',');
            JsonText.appendQuoted(matched, s.name).append(":[");
            for (int i = 0; i < events.size(); i++) {
                BehaviorEvent e = events.get(i);
                if (i > 0) matched.append(',');
                matched.append("{\"message_id\":");
                if (e.messageId == null) matched.append("null");
                else JsonText.appendQuoted(matched, e.messageId);
                matched.append(",\"timestamp\":\"").append(JsonText.iso(e.timestamp)).append("\"}");
                ids.add(e.messageId);
            }
            matched.append(']');
        }
        ids.sort(null);
        m.eventIds = String.join(",", ids);
        m.sentUnderAnonymousId = decidedBeforeTheirLink(match, m.detectedAt);
        m.matchedJson = matched.append('}').toString();
    }
}
