package io.behaviorcep.action;

import io.behaviorcep.engine.ActionInput;
import io.behaviorcep.experiment.Arm;
import io.behaviorcep.experiment.Experiments;
import io.behaviorcep.experiment.GoalTracker;
import io.behaviorcep.experiment.Outcome;
import io.behaviorcep.experiment.PendingDecision;
import io.behaviorcep.output.Alert;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternMatch;
import io.behaviorcep.segment.Membership;
import io.behaviorcep.segment.SegmentUpdate;
import io.behaviorcep.output.OutputJson;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * The per-user decisions of the actions operator, free of Flink so they can be tested with plain
 * maps: which buffered inputs are due, in which order they apply, one alert per anchor, caps,
 * segment enter and exit (by event and by TTL), suppression and erasure. {@link PatternActionsFunction}
 * backs {@link UserState} with keyed state and {@link Effects} with its outputs and timers.
 *
 * <p>Inputs apply sorted by (event time, {@link ActionInput#sortKey}), so the outcome depends on the
 * input only, never on arrival order or on how far the watermark jumped at once.
 */
public final class UserActions {

    /** The pattern versions a match or an exit may refer to. */
    public interface PatternVersions {
        /** The version a match was found by, falling back to the newest known version; null when unknown. */
        PatternDefinition version(String patternId, int version);

        /** The newest known version of a pattern, or null when it is unknown or deleted. */
        PatternDefinition latest(String patternId);
    }

    /** One user's state; the operator backs it with keyed state (hence the checked exceptions). */
    public interface UserState {
        Iterable<ActionInput> pending() throws Exception;

        /** Keeps only these inputs for a later watermark (none: clear). */
        void replacePending(List<ActionInput> inputs) throws Exception;

        Iterable<Map.Entry<String, Membership>> memberships() throws Exception;

        Membership membership(String segment) throws Exception;

        void putMembership(String segment, Membership membership) throws Exception;

        void removeMembership(String segment) throws Exception;

        /** Per pattern id, the times of the alerts that still count against its cap. */
        Iterable<Map.Entry<String, long[]>> recentAlerts() throws Exception;

        long[] recentAlerts(String patternId) throws Exception;

        void putRecentAlerts(String patternId, long[] times) throws Exception;

        void removeRecentAlerts(String patternId) throws Exception;

        void clearRecentAlerts() throws Exception;

        boolean suppressed() throws Exception;

        /** Suppressed, or not (clears it). */
        void suppressed(boolean suppressed) throws Exception;

        /** The newest erasure of the user, or null. */
        Long erasedAt() throws Exception;

        /** The newest erasure, or null to clear it. */
        void erasedAt(Long at) throws Exception;

        /** The user's decisions whose goal is still open ({@link GoalTracker}); null: outcomes are not tracked. */
        default GoalTracker.State openDecisions() {
            return null;
        }
    }

    /** What the decisions produce: outputs, timer requests, and the handling of a failed input. */
    public interface Effects {
        void alert(Alert alert);

        void segmentUpdate(SegmentUpdate update);

        /** A decision's goal decided (docs/contracts.md, "Outcomes"). */
        default void outcome(Outcome outcome) {
        }

        void registerTimer(long timestamp);

        void deleteTimer(long timestamp);

        /** Called before each input is applied: a seam for tests to make one fail. */
        default void beforeApply(ActionInput in) {
        }

        /** An input that threw: contained as a dead letter when it is the input's fault, else rethrown. */
        void failed(RuntimeException ex, ActionInput in);
    }

    /** What the operator counts as metrics. */
    public interface Counts {
        void alertEmitted(PatternDefinition def);

        void alertCapped(PatternDefinition def);

        /** An overlapping match of an anchor that already had its outcome. */
        void matchCollapsed(PatternDefinition def);

        void alertSuppressed();

        void matchErased();

        void segmentEntered(String segment);

        void segmentExited(String segment);

        /** A decision whose alert was held back: the user is in a holdout (the pattern's or the global one). */
        default void decisionHeldOut(PatternDefinition def) {
        }

        /** A decision not recorded: the user had {@link GoalTracker#MAX_OPEN_DECISIONS} open already. */
        default void decisionOverflowed(PatternDefinition def) {
        }

        /**
         * A match of events identity stitching replayed, decided no later than the link: its alert went
         * out under the anonymous id, so it counts for the cap without being sent again.
         */
        default void alertSentUnderAnonymousId(PatternDefinition def) {
        }
    }

    // ---- messaging policy hook (io.behaviorcep.policy, issue #19) ----
    /**
     * The messaging policy between the patterns' caps and the alerts output ({@link PolicyGate}); null:
     * every alert goes out. Called in event-time order with the inputs.
     */
    public interface AlertGate {
        /** An alert the patterns raised (after their caps); {@code timezone}: the event's context.timezone, or null. */
        void offer(Alert alert, String timezone);

        /** The next input is at {@code at}: alerts offered at an earlier instant are decided now. */
        void advance(long at);

        void suppressed(long at);

        void erased(long at);

        /** The batch is done up to {@code watermark}. */
        void finish(long watermark);
    }

    private static void emit(Alert alert, String timezone, Effects effects, AlertGate gate) {
        if (gate == null) effects.alert(alert);
        else gate.offer(alert, timezone);
    }
    // ---- end of the messaging policy hook ----

    private final PatternVersions patterns;
    /** How long after an erasure matches binding earlier events are dropped: the longest span a match can have. */
    private final long erasureMarkerMillis;
    private final Counts counts;

    /** The global holdout; experiments and goals themselves are the patterns'. */
    private final Experiments experiments;

    public UserActions(PatternVersions patterns, long erasureMarkerMillis, Counts counts) {
        this(patterns, erasureMarkerMillis, counts, Experiments.NONE);
    }

    public UserActions(PatternVersions patterns, long erasureMarkerMillis, Counts counts, Experiments experiments) {
        this.patterns = patterns;
        this.erasureMarkerMillis = erasureMarkerMillis;
        this.counts = counts;
        this.experiments = experiments;
    }

    /** Applies every pending input and TTL expiry of {@code user} up to {@code watermark}, in order. */
    public void decide(String user, long watermark, UserState state, Effects effects) throws Exception {
        decide(user, watermark, state, effects, null);
    }

    /** As {@link #decide(String, long, UserState, Effects)}, with alerts going through {@code gate} (null: none). */
    public void decide(String user, long watermark, UserState state, Effects effects, AlertGate gate) throws Exception {
        List<ActionInput> due = new ArrayList<>();
        List<ActionInput> later = new ArrayList<>();
        for (ActionInput in : state.pending()) (in.timestamp() <= watermark ? due : later).add(in);
        // TTL expiries are exits too, ordered with everything else by time
        for (Map.Entry<String, Membership> m : state.memberships()) {
            if (m.getValue().expiresAt <= watermark) {
                due.add(new ActionInput.SegmentExit(user, m.getKey(), SegmentUpdate.REASON_TTL, "", m.getValue().expiresAt, null));
            }
        }
        // a queue, not a sorted list: a membership entered in this batch may also expire in it, and
        // that expiry must take its place in time, or the outcome would depend on how far the
        // watermark jumped at once
        PriorityQueue<ActionInput> queue = new PriorityQueue<>(
                Comparator.comparingLong(ActionInput::timestamp).thenComparing(ActionInput::sortKey));
        queue.addAll(due);

        Set<String> anchorsDone = new HashSet<>();
        while (!queue.isEmpty()) {
            ActionInput in = queue.poll();
            // one input that fails is a dead letter; the others of the batch are still applied
            try {
                if (gate != null) gate.advance(in.timestamp());
                effects.beforeApply(in);
                if (in instanceof ActionInput.PrivacySignal signal) {
                    control(signal, state, effects, gate);
                } else if (in instanceof ActionInput.SegmentExit exit) {
                    exit(exit, state, effects, gate);
                } else if (in instanceof ActionInput.Matched matched) {
                    PatternMatch m = matched.match();
                    if (anchorsDone.add(m.patternId + "|" + m.anchorId + "|" + m.detectedAt)) {
                        Membership entered = apply(m, state, effects, gate);
                        if (entered != null && entered.expiresAt <= watermark) {
                            queue.add(new ActionInput.SegmentExit(user, patterns.version(m.patternId, m.patternVersion).segment.name,
                                    SegmentUpdate.REASON_TTL, "", entered.expiresAt, null));
                        }
                    } else {
                        PatternDefinition def = patterns.version(m.patternId, m.patternVersion);
                        if (def != null) counts.matchCollapsed(def);
                    }
                } else if (in instanceof ActionInput.GoalReached goal) {
                    GoalTracker.State open = state.openDecisions();
                    if (open != null) GoalTracker.goal(goal.timestamp(), goal.valueByGoalKey(), open, goalOutput(effects));
                }
            } catch (RuntimeException ex) {
                effects.failed(ex, in);
            }
        }
        if (gate != null) gate.finish(watermark);
        GoalTracker.State open = state.openDecisions();
        if (open != null) GoalTracker.expire(watermark, open, goalOutput(effects));
        state.replacePending(later);
        pruneRecentAlerts(watermark, state);
        Long erased = state.erasedAt();
        if (erased != null && erased + erasureMarkerMillis <= watermark) state.erasedAt(null);
    }

    private void control(ActionInput.PrivacySignal in, UserState state, Effects effects, AlertGate gate) throws Exception {
        switch (in.signal()) {
            case SUPPRESS -> {
                state.suppressed(true);
                if (gate != null) gate.suppressed(in.timestamp());
                exitAll(in.userKey(), in.timestamp(), SegmentUpdate.REASON_SUPPRESSED, state, effects);
                forgetDecisions(state);
            }
            case UNSUPPRESS -> state.suppressed(false);
            case ERASE, RETIRE -> {
                // a retired anonymous id (identity stitching) goes as an erased one, its memberships with
                // reason merged: its events are replayed under its user, so nothing pending of it may come out
                exitAll(in.userKey(), in.timestamp(), in.signal() == ActionInput.Signal.RETIRE ? SegmentUpdate.REASON_MERGED
                        : SegmentUpdate.REASON_ERASED, state, effects);
                state.clearRecentAlerts();
                if (gate != null) gate.erased(in.timestamp());
                forgetDecisions(state);
                // pending inputs are decided later than the erasure; those binding earlier events are
                // dropped as they come due (erasedAt), the others are the user's new behaviour
                Long previous = state.erasedAt();
                state.erasedAt(previous == null ? in.timestamp() : Math.max(previous, in.timestamp()));
                effects.registerTimer(in.timestamp() + erasureMarkerMillis);
            }
        }
    }

    /** Every membership ends now, whatever its TTL. */
    private void exitAll(String user, long at, String reason, UserState state, Effects effects) throws Exception {
        List<String> segments = new ArrayList<>();
        for (Map.Entry<String, Membership> m : state.memberships()) segments.add(m.getKey());
        segments.sort(null);
        for (String segment : segments) {
            Membership current = state.membership(segment);
            state.removeMembership(segment);
            if (!timerStillNeeded(current.expiresAt, state)) effects.deleteTimer(current.expiresAt);
            effects.segmentUpdate(SegmentUpdate.of(user, segment, SegmentUpdate.EXIT, reason, at, 0L));
            counts.segmentExited(segment);
        }
    }

    /** Whether the match binds an event at or before the user's erasure (only then it is dropped). */
    private static boolean bindsErasedEvents(PatternMatch m, Long erased) throws Exception {
        if (erased == null) return false;
        JsonNode matched = OutputJson.MAPPER.readTree(m.matchedJson);
        for (JsonNode events : matched) {
            for (JsonNode e : events) {
                JsonNode ts = e.get("timestamp");
                if (ts == null || Instant.parse(ts.asText()).toEpochMilli() <= erased) return true;
            }
        }
        return false;
    }

    /** @return the membership the match entered, or null */
    private Membership apply(PatternMatch m, UserState state, Effects effects, AlertGate gate) throws Exception {
        PatternDefinition def = patterns.version(m.patternId, m.patternVersion);
        if (def == null) return null; // a pattern removed from the set since the match was buffered
        if (bindsErasedEvents(m, state.erasedAt())) {
            counts.matchErased();
            return null;
        }
        if (m.timedOut) return applyTimedOut(def, m, state, effects, gate);
        if (state.suppressed()) {
            if (def.alert != null) counts.alertSuppressed();
            return null;
        }
        if (def.alert != null) {
            if (withinCap(def, m.detectedAt, state, effects)) {
                if (m.sentUnderAnonymousId) counts.alertSentUnderAnonymousId(def); // counts for the cap, is not sent again
                else decideAlert(def, m, state, effects, gate);
            } else {
                counts.alertCapped(def);
            }
        }
        if (def.segment != null && state.membership(def.segment.name) == null) {
            long expires = m.detectedAt + def.segment.ttl.toMillis();
            Membership entered = new Membership(m.detectedAt, expires, def.id);
            state.putMembership(def.segment.name, entered);
            effects.registerTimer(expires);
            effects.segmentUpdate(SegmentUpdate.of(m.userKey, def.segment.name, SegmentUpdate.ENTER, def.id, m.detectedAt, expires));
            counts.segmentEntered(def.segment.name);
            return entered;
        }
        return null;
    }

    /**
     * The alert of a match that passed caps: sent, or held back for a user in a holdout (the
     * pattern's experiment arm or the global one); either way, with a goal, the decision is kept
     * until its goal is decided. Holdout decisions count against caps as alerts do.
     */
    private void decideAlert(PatternDefinition def, PatternMatch m, UserState state, Effects effects, AlertGate gate) throws Exception {
        Arm arm = Arm.of(def, m.userKey, experiments);
        Alert alert = toAlert(def, m);
        if (arm.experimentId() != null && !arm.holdout()) {
            alert.experimentId = arm.experimentId();
            alert.arm = arm.name();
            alert.alertType = arm.pattern().alert.type;
        }
        if (arm.holdout()) {
            counts.decisionHeldOut(def);
        } else {
            emit(alert, m.timezone, effects, gate);
            counts.alertEmitted(def);
        }
        GoalTracker.State open = state.openDecisions();
        PendingDecision decision = PendingDecision.of(alert.alertId, m.userKey, def, arm, m.detectedAt);
        if (open != null && decision != null && !GoalTracker.open(decision, open, goalOutput(effects))) counts.decisionOverflowed(def);
    }

    /** An opted-out or erased user is in no arm: their open decisions go without an outcome. */
    private static void forgetDecisions(UserState state) throws Exception {
        GoalTracker.State open = state.openDecisions();
        if (open != null) open.clear();
    }

    private static GoalTracker.Output goalOutput(Effects effects) {
        return new GoalTracker.Output() {
            @Override
            public void outcome(Outcome o) {
                effects.outcome(o);
            }

            @Override
            public void registerTimer(long at) {
                effects.registerTimer(at);
            }
        };
    }

    /** A timed-out partial match raises the {@code on_timeout} alert, under the pattern's cap; it enters no segment. */
    private Membership applyTimedOut(PatternDefinition def, PatternMatch m, UserState state, Effects effects, AlertGate gate) throws Exception {
        if (def.onTimeout() == null) return null; // a version without on_timeout cannot have emitted it
        if (state.suppressed()) {
            counts.alertSuppressed();
            return null;
        }
        if (withinCap(def, m.detectedAt, state, effects)) {
            if (m.sentUnderAnonymousId) {
                counts.alertSentUnderAnonymousId(def);
            } else {
                emit(timedOutAlert(def, m), m.timezone, effects, gate);
                counts.alertEmitted(def);
            }
        } else {
            counts.alertCapped(def);
        }
        return null;
    }

    private void exit(ActionInput.SegmentExit in, UserState state, Effects effects, AlertGate gate) throws Exception {
        Membership current = state.membership(in.segment());
        if (current == null) return;
        boolean byTtl = SegmentUpdate.REASON_TTL.equals(in.patternId());
        if (byTtl && current.expiresAt != in.timestamp()) return;
        // an exit event from before the enter (or at its millisecond: exits sort first) that reaches
        // us late does not end it; in order it would have been applied before the enter
        if (!byTtl && in.timestamp() <= current.enteredAt) return;
        state.removeMembership(in.segment());
        if (!byTtl && !timerStillNeeded(current.expiresAt, state)) effects.deleteTimer(current.expiresAt);
        effects.segmentUpdate(SegmentUpdate.of(in.userKey(), in.segment(), SegmentUpdate.EXIT, in.patternId(), in.timestamp(), 0L));
        counts.segmentExited(in.segment());
        PatternDefinition def = byTtl ? null : patterns.latest(in.patternId());
        if (def != null && def.segment != null && def.segment.exitAlert != null) {
            emit(exitAlert(def, in), null, effects, gate);
            counts.alertEmitted(def);
        }
    }

    /**
     * Timers are per key and timestamp, so the TTL timer of a membership may also be the timer of a
     * pending input, of a cap window or of another segment's membership at that same instant.
     */
    private boolean timerStillNeeded(long ts, UserState state) throws Exception {
        Long erased = state.erasedAt();
        if (erased != null && erased + erasureMarkerMillis == ts) return true;
        for (ActionInput in : state.pending()) if (in.timestamp() == ts) return true;
        GoalTracker.State open = state.openDecisions();
        if (open != null && GoalTracker.closesAt(ts, open)) return true;
        for (Map.Entry<String, Membership> m : state.memberships()) if (m.getValue().expiresAt == ts) return true;
        for (Map.Entry<String, long[]> e : state.recentAlerts()) {
            PatternDefinition def = patterns.latest(e.getKey());
            if (def == null || def.cap == null) continue;
            for (long t : e.getValue()) if (t + def.cap.per.toMillis() == ts) return true;
        }
        return false;
    }

    /** At most {@code cap.max} alerts of one pattern per user in any {@code cap.per} of event time. */
    private static boolean withinCap(PatternDefinition def, long at, UserState state, Effects effects) throws Exception {
        if (def.cap == null) return true;
        long per = def.cap.per.toMillis();
        long[] times = state.recentAlerts(def.id);
        int inWindow = 0;
        if (times != null) for (long t : times) if (t > at - per) inWindow++;
        if (inWindow >= def.cap.max) return false;
        long[] kept = new long[inWindow + 1];
        int i = 0;
        if (times != null) for (long t : times) if (t > at - per) kept[i++] = t;
        kept[i] = at;
        state.putRecentAlerts(def.id, kept);
        effects.registerTimer(at + per);
        return true;
    }

    private void pruneRecentAlerts(long watermark, UserState state) throws Exception {
        List<String> empty = new ArrayList<>();
        for (Map.Entry<String, long[]> e : state.recentAlerts()) {
            PatternDefinition def = patterns.latest(e.getKey());
            long per = def == null || def.cap == null ? 0 : def.cap.per.toMillis();
            boolean anyLive = false;
            for (long t : e.getValue()) if (t + per > watermark) anyLive = true;
            if (!anyLive) empty.add(e.getKey());
        }
        for (String k : empty) state.removeRecentAlerts(k);
    }

    /** The alert a segment raises when an event ends membership ("reactivated"): it binds that one event. */
    static Alert exitAlert(PatternDefinition def, ActionInput.SegmentExit in) {
        Alert a = new Alert();
        a.alertId = alertId(def.id, def.version, in.userKey(), "exit:" + in.eventId());
        a.patternId = def.id;
        a.patternVersion = def.version;
        a.alertType = def.segment.exitAlert.type;
        a.severity = def.segment.exitAlert.severity;
        a.userId = in.userKey();
        a.detectedAt = in.timestamp();
        a.matchedJson = "{\"exit\":[{\"message_id\":" + OutputJson.MAPPER.valueToTree(in.eventId())
                + ",\"timestamp\":\"" + OutputJson.iso(in.timestamp()) + "\"}]}";
        a.payloadJson = "{}";
        a.profile = in.profile();
        return a;
    }

    static Alert toAlert(PatternDefinition def, PatternMatch m) {
        Alert a = new Alert();
        a.alertId = alertId(def.id, def.version, m.userKey, m.eventIds);
        a.patternId = def.id;
        a.patternVersion = def.version;
        a.alertType = def.alert == null ? null : def.alert.type;
        a.severity = def.alert == null ? null : def.alert.severity;
        a.userId = m.userKey;
        a.detectedAt = m.detectedAt;
        a.matchedJson = m.matchedJson;
        a.payloadJson = m.payloadJson;
        a.profile = m.profile;
        return a;
    }

    /** The {@code on_timeout} alert: the events bound before the timeout; its id differs from any match's of the same events. */
    static Alert timedOutAlert(PatternDefinition def, PatternMatch m) {
        Alert a = toAlert(def, m);
        a.alertId = alertId(def.id, def.version, m.userKey, "timeout:" + m.eventIds);
        a.alertType = def.onTimeout().alert.type;
        a.severity = def.onTimeout().alert.severity;
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
