package io.behaviorcep.action;

import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternMatch;
import io.behaviorcep.segment.Membership;
import io.behaviorcep.segment.SegmentUpdate;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Applies what pattern files say to do with a match, per user and in event-time order: one alert
 * per anchor event, caps, segment enter, exit on an event and exit by TTL.
 *
 * <p>Why a buffer: a match is decided only when the watermark passes its deadline, while an exit
 * event (an order) may arrive earlier or later over the network. Buffering both until the
 * watermark and applying them sorted by (event time, exits first, ids) makes the outcome depend
 * on the input only, never on arrival order, so a restored job reproduces the same output.
 *
 * <p>Overlapping partial matches of one anchor (several views before one add) are decided at the
 * same instant, so they always meet in one batch and are collapsed there without extra state.
 */
public class PatternActionsFunction extends KeyedProcessFunction<String, ActionInput, Alert> {
    public static final OutputTag<SegmentUpdate> SEGMENT_UPDATES = new OutputTag<>("segment-updates") {};

    private final Map<String, PatternDefinition> patterns;

    private transient ListState<ActionInput> pending;
    private transient MapState<String, Membership> memberships;
    private transient MapState<String, long[]> recentAlerts;
    private transient Counter alertsEmitted;
    private transient Counter alertsCapped;
    private transient Counter segmentEnters;
    private transient Counter segmentExits;

    public PatternActionsFunction(List<PatternDefinition> patterns) {
        this.patterns = new HashMap<>();
        for (PatternDefinition p : patterns) this.patterns.put(p.id, p);
    }

    @Override
    public void open(OpenContext ctx) {
        pending = getRuntimeContext().getListState(new ListStateDescriptor<>("pending-actions", TypeInformation.of(ActionInput.class)));
        memberships = getRuntimeContext().getMapState(new MapStateDescriptor<>("segment-memberships", Types.STRING, TypeInformation.of(Membership.class)));
        recentAlerts = getRuntimeContext().getMapState(new MapStateDescriptor<>("recent-alerts", Types.STRING, PrimitiveArrayTypeInfo.LONG_PRIMITIVE_ARRAY_TYPE_INFO));
        var metrics = getRuntimeContext().getMetricGroup();
        alertsEmitted = metrics.counter("alertsEmitted");
        alertsCapped = metrics.counter("alertsCapped");
        segmentEnters = metrics.counter("segmentEnters");
        segmentExits = metrics.counter("segmentExits");
    }

    @Override
    public void processElement(ActionInput in, Context ctx, Collector<Alert> out) throws Exception {
        pending.add(in);
        ctx.timerService().registerEventTimeTimer(in.timestamp);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<Alert> out) throws Exception {
        long watermark = Math.max(timestamp, ctx.timerService().currentWatermark());
        String user = ctx.getCurrentKey();

        List<ActionInput> due = new ArrayList<>();
        List<ActionInput> later = new ArrayList<>();
        for (ActionInput in : pending.get()) (in.timestamp <= watermark ? due : later).add(in);
        // TTL expiries are exits too, ordered with everything else by time
        for (Map.Entry<String, Membership> m : memberships.entries()) {
            if (m.getValue().expiresAt <= watermark) {
                due.add(ActionInput.exit(user, m.getKey(), SegmentUpdate.REASON_TTL, "", m.getValue().expiresAt));
            }
        }
        due.sort(Comparator.comparingLong((ActionInput a) -> a.timestamp).thenComparing(ActionInput::sortKey));

        Set<String> anchorsDone = new HashSet<>();
        for (ActionInput in : due) {
            if (in.isExit()) {
                exit(in, ctx, out);
            } else {
                PatternMatch m = in.match;
                if (anchorsDone.add(m.patternId + "|" + m.anchorId + "|" + m.detectedAt)) apply(m, ctx, out);
            }
        }
        if (later.isEmpty()) pending.clear();
        else pending.update(later);
        pruneRecentAlerts(watermark);
    }

    private void apply(PatternMatch m, OnTimerContext ctx, Collector<Alert> out) throws Exception {
        PatternDefinition def = patterns.get(m.patternId);
        if (def == null) return; // a pattern removed from the set since the match was buffered
        if (def.alert != null) {
            if (withinCap(def, m.detectedAt, ctx)) {
                out.collect(toAlert(def, m));
                alertsEmitted.inc();
            } else {
                alertsCapped.inc();
            }
        }
        if (def.segment != null && !memberships.contains(def.segment.name)) {
            long expires = m.detectedAt + def.segment.ttl.toMillis();
            memberships.put(def.segment.name, new Membership(m.detectedAt, expires, def.id));
            ctx.timerService().registerEventTimeTimer(expires);
            ctx.output(SEGMENT_UPDATES, SegmentUpdate.of(m.userKey, def.segment.name, SegmentUpdate.ENTER, def.id, m.detectedAt, expires));
            segmentEnters.inc();
        }
    }

    private void exit(ActionInput in, OnTimerContext ctx, Collector<Alert> out) throws Exception {
        Membership current = memberships.get(in.exitSegment);
        if (current == null) return;
        boolean byTtl = SegmentUpdate.REASON_TTL.equals(in.exitPatternId);
        if (byTtl && current.expiresAt != in.timestamp) return;
        memberships.remove(in.exitSegment);
        if (!byTtl) ctx.timerService().deleteEventTimeTimer(current.expiresAt);
        ctx.output(SEGMENT_UPDATES, SegmentUpdate.of(in.userKey, in.exitSegment, SegmentUpdate.EXIT, in.exitPatternId, in.timestamp, 0L));
        segmentExits.inc();
        PatternDefinition def = byTtl ? null : patterns.get(in.exitPatternId);
        if (def != null && def.segment != null && def.segment.exitAlert != null) {
            out.collect(exitAlert(def, in));
            alertsEmitted.inc();
        }
    }

    /** The alert a segment raises when an event ends membership ("reactivated"): it binds that one event. */
    static Alert exitAlert(PatternDefinition def, ActionInput in) {
        Alert a = new Alert();
        a.alertId = alertId(def.id, def.version, in.userKey, "exit:" + in.exitEventId);
        a.patternId = def.id;
        a.patternVersion = def.version;
        a.alertType = def.segment.exitAlert.type;
        a.severity = def.segment.exitAlert.severity;
        a.userId = in.userKey;
        a.detectedAt = in.timestamp;
        a.matchedJson = "{\"exit\":[{\"message_id\":" + io.behaviorcep.sink.OutputJson.MAPPER.valueToTree(in.exitEventId)
                + ",\"timestamp\":\"" + io.behaviorcep.sink.OutputJson.iso(in.timestamp) + "\"}]}";
        a.payloadJson = "{}";
        a.profile = in.exitProfile;
        return a;
    }

    /** At most {@code cap.max} alerts of one pattern per user in any {@code cap.per} of event time. */
    private boolean withinCap(PatternDefinition def, long at, OnTimerContext ctx) throws Exception {
        if (def.cap == null) return true;
        long per = def.cap.per.toMillis();
        long[] times = recentAlerts.get(def.id);
        int inWindow = 0;
        if (times != null) for (long t : times) if (t > at - per) inWindow++;
        if (inWindow >= def.cap.max) return false;
        long[] kept = new long[inWindow + 1];
        int i = 0;
        if (times != null) for (long t : times) if (t > at - per) kept[i++] = t;
        kept[i] = at;
        recentAlerts.put(def.id, kept);
        ctx.timerService().registerEventTimeTimer(at + per);
        return true;
    }

    private void pruneRecentAlerts(long watermark) throws Exception {
        List<String> empty = new ArrayList<>();
        for (Map.Entry<String, long[]> e : recentAlerts.entries()) {
            PatternDefinition def = patterns.get(e.getKey());
            long per = def == null || def.cap == null ? 0 : def.cap.per.toMillis();
            boolean anyLive = false;
            for (long t : e.getValue()) if (t + per > watermark) anyLive = true;
            if (!anyLive) empty.add(e.getKey());
        }
        for (String k : empty) recentAlerts.remove(k);
    }

    static Alert toAlert(PatternDefinition def, PatternMatch m) {
        Alert a = new Alert();
        a.alertId = alertId(def.id, def.version, m.userKey, m.eventIds);
        a.patternId = def.id;
        a.patternVersion = def.version;
        a.alertType = def.alert.type;
        a.severity = def.alert.severity;
        a.userId = m.userKey;
        a.detectedAt = m.detectedAt;
        a.matchedJson = m.matchedJson;
        a.payloadJson = m.payloadJson;
        a.profile = m.profile;
        return a;
    }

    /** sha-256 of pattern, version, user and the sorted matched event ids; the first 128 bits in hex. */
    public static String alertId(String patternId, int version, String user, String eventIds) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            byte[] h = d.digest((patternId + "\n" + version + "\n" + user + "\n" + eventIds).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
