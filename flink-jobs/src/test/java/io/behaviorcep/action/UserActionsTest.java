package io.behaviorcep.action;

import io.behaviorcep.engine.ActionInput;
import io.behaviorcep.output.Alert;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternMatch;
import io.behaviorcep.segment.Membership;
import io.behaviorcep.segment.SegmentUpdate;
import io.behaviorcep.output.OutputJson;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.behaviorcep.action.PatternActionsFunctionTest.DAY;
import static io.behaviorcep.action.PatternActionsFunctionTest.HOUR;
import static io.behaviorcep.action.PatternActionsFunctionTest.MIN;
import static io.behaviorcep.action.PatternActionsFunctionTest.PID;
import static io.behaviorcep.action.PatternActionsFunctionTest.SEGMENT;
import static io.behaviorcep.action.PatternActionsFunctionTest.T;
import static io.behaviorcep.action.PatternActionsFunctionTest.TTL;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The actions' decisions without Flink: state in maps, outputs and timers in lists. Uses the shipped
 * cart-abandonment definition (alert, segment with a 7-day TTL and exit on Order Completed, cap 1 per 24 h).
 */
class UserActionsTest {
    static final String USER = "u1";
    static final long ERASURE_MARKER = 2 * HOUR;

    final PatternDefinition cart = PatternActionsFunctionTest.cartAbandonment();
    final InMemoryState state = new InMemoryState();
    final Recorded out = new Recorded();
    final Map<String, Integer> counted = new HashMap<>();
    final UserActions actions = new UserActions(new UserActions.PatternVersions() {
        @Override
        public PatternDefinition version(String patternId, int version) {
            return latest(patternId);
        }

        @Override
        public PatternDefinition latest(String patternId) {
            return patternId.equals(PID) ? cart : null;
        }
    }, ERASURE_MARKER, new UserActions.Counts() {
        @Override
        public void alertEmitted(PatternDefinition def) {
            count("alertsEmitted");
        }

        @Override
        public void alertCapped(PatternDefinition def) {
            count("alertsCapped");
        }

        @Override
        public void matchCollapsed(PatternDefinition def) {
            count("matchesCollapsed");
        }

        @Override
        public void alertSuppressed() {
            count("alertsSuppressed");
        }

        @Override
        public void matchErased() {
            count("matchesErased");
        }

        @Override
        public void segmentEntered(String segment) {
            count("segmentEnters");
        }

        @Override
        public void segmentExited(String segment) {
            count("segmentExits");
        }
    });

    void count(String name) {
        counted.merge(name, 1, Integer::sum);
    }

    int counted(String name) {
        return counted.getOrDefault(name, 0);
    }

    /** Buffers an input as the operator does, and decides the user up to {@code watermark}. */
    void decide(long watermark, ActionInput... inputs) throws Exception {
        state.pending.addAll(List.of(inputs));
        actions.decide(USER, watermark, state, out);
    }

    static ActionInput match(String viewId, String addId, long detectedAt) {
        return new ActionInput.Matched(PatternActionsFunctionTest.match(USER, viewId, addId, detectedAt));
    }

    /** A match whose bound events happened at {@code viewedAt} and {@code addedAt}. */
    static ActionInput matchOfEventsAt(String viewId, long viewedAt, String addId, long addedAt) {
        PatternMatch m = PatternActionsFunctionTest.match(USER, viewId, addId, addedAt + 15 * MIN);
        m.matchedJson = "{\"viewed\":[{\"message_id\":\"" + viewId + "\",\"timestamp\":\"" + OutputJson.iso(viewedAt) + "\"}],"
                + "\"added\":[{\"message_id\":\"" + addId + "\",\"timestamp\":\"" + OutputJson.iso(addedAt) + "\"}]}";
        return new ActionInput.Matched(m);
    }

    static ActionInput orderCompleted(String eventId, long at) {
        return new ActionInput.SegmentExit(USER, SEGMENT, PID, eventId, at, null);
    }

    static ActionInput signal(ActionInput.Signal signal, long at) {
        return new ActionInput.PrivacySignal(USER, signal, at);
    }

    List<String> updates() {
        return out.updates.stream().map(u -> u.action + " " + u.segment + " " + u.reason + " @" + (u.at - T)).toList();
    }

    @Test
    void aCapAllowsOneAlertPerWindowAndAnotherOnceTheWindowHasPassed() throws Exception {
        decide(T + 2 * HOUR, match("v1", "a1", T), match("v2", "a2", T + HOUR));
        assertThat(out.alerts).extracting(a -> a.alertId).containsExactly(UserActions.alertId(PID, 1, USER, "a1,v1"));
        assertThat(counted("alertsCapped")).isEqualTo(1);
        assertThat(out.registered).contains(T + DAY);
        assertThat(state.recentAlerts.get(PID)).containsExactly(T);

        decide(T + DAY + 2 * HOUR, match("v3", "a3", T + DAY + HOUR));
        assertThat(out.alerts).extracting(a -> a.detectedAt).containsExactly(T, T + DAY + HOUR);
        assertThat(state.recentAlerts.get(PID)).containsExactly(T + DAY + HOUR);
        assertThat(counted("alertsEmitted")).isEqualTo(2);
    }

    @Test
    void overlappingMatchesOfOneAnchorBecomeOneAlertAndOneEnter() throws Exception {
        decide(T, match("v1", "a1", T), match("v2", "a1", T));
        assertThat(out.alerts).hasSize(1);
        assertThat(updates()).containsExactly("enter " + SEGMENT + " " + PID + " @0");
        assertThat(counted("matchesCollapsed")).isEqualTo(1);
        assertThat(counted("alertsCapped")).isZero();
    }

    @Test
    void anOrderAfterTheEnterEndsTheMembershipAndItsTimer() throws Exception {
        decide(T, match("v1", "a1", T));
        assertThat(state.memberships.get(SEGMENT).expiresAt).isEqualTo(T + TTL);
        assertThat(out.registered).contains(T + TTL);

        decide(T + HOUR, orderCompleted("o1", T + HOUR));
        assertThat(updates()).containsExactly("enter " + SEGMENT + " " + PID + " @0", "exit " + SEGMENT + " " + PID + " @" + HOUR);
        assertThat(state.memberships).isEmpty();
        assertThat(out.deleted).containsExactly(T + TTL);
        assertThat(out.updates.get(0).expiresAt).isEqualTo(T + TTL);
    }

    @Test
    void theTtlEndsTheMembershipAtItsTimeEvenWhenTheWatermarkJumpsPastIt() throws Exception {
        decide(T + TTL + DAY, match("v1", "a1", T), match("v2", "a2", T + TTL + HOUR));
        // the first membership expires at T + TTL, before the second match enters again
        assertThat(updates()).containsExactly(
                "enter " + SEGMENT + " " + PID + " @0",
                "exit " + SEGMENT + " ttl @" + TTL,
                "enter " + SEGMENT + " " + PID + " @" + (TTL + HOUR));
        assertThat(state.memberships.get(SEGMENT).enteredAt).isEqualTo(T + TTL + HOUR);
    }

    @Test
    void theTtlExpiresAtItsOwnTimeNotBefore() throws Exception {
        decide(T, match("v1", "a1", T));
        decide(T + TTL - 1);
        assertThat(state.memberships).containsKey(SEGMENT);
        decide(T + TTL);
        assertThat(updates()).last().isEqualTo("exit " + SEGMENT + " ttl @" + TTL);
        assertThat(state.memberships).isEmpty();
    }

    @Test
    void anOrderFromBeforeTheEnterThatArrivesLateIsIgnored() throws Exception {
        decide(T, match("v1", "a1", T));
        decide(T + MIN, orderCompleted("o-early", T - 5 * MIN), orderCompleted("o-same-ms", T));
        assertThat(updates()).containsExactly("enter " + SEGMENT + " " + PID + " @0");
        assertThat(state.memberships).containsKey(SEGMENT);
        assertThat(out.deleted).isEmpty();
    }

    @Test
    void suppressionEndsMembershipsAndBlocksAlertsAndEntersUntilLifted() throws Exception {
        decide(T, match("v1", "a1", T));
        decide(T + 2 * DAY, signal(ActionInput.Signal.SUPPRESS, T + HOUR), match("v2", "a2", T + DAY + HOUR));
        assertThat(out.alerts).hasSize(1);
        assertThat(updates()).containsExactly("enter " + SEGMENT + " " + PID + " @0", "exit " + SEGMENT + " suppressed @" + HOUR);
        assertThat(counted("alertsSuppressed")).isEqualTo(1);
        assertThat(state.suppressed).isTrue();

        decide(T + 3 * DAY, signal(ActionInput.Signal.UNSUPPRESS, T + 2 * DAY + HOUR), match("v3", "a3", T + 2 * DAY + 2 * HOUR));
        assertThat(state.suppressed).isFalse();
        assertThat(out.alerts).extracting(a -> a.detectedAt).containsExactly(T, T + 2 * DAY + 2 * HOUR);
        assertThat(updates()).last().isEqualTo("enter " + SEGMENT + " " + PID + " @" + (2 * DAY + 2 * HOUR));
    }

    @Test
    void erasureDropsMatchesBindingEarlierEventsAndKeepsNewBehaviour() throws Exception {
        decide(T, match("v0", "a0", T));
        long erasure = T + HOUR;
        decide(erasure + HOUR, signal(ActionInput.Signal.ERASE, erasure),
                matchOfEventsAt("v1", erasure - 5 * MIN, "a1", erasure + MIN),
                matchOfEventsAt("v2", erasure + MIN, "a2", erasure + 2 * MIN));
        assertThat(counted("matchesErased")).isEqualTo(1);
        assertThat(out.alerts).extracting(a -> a.alertId).containsExactly(
                UserActions.alertId(PID, 1, USER, "a0,v0"), UserActions.alertId(PID, 1, USER, "a2,v2"));
        assertThat(updates()).startsWith("enter " + SEGMENT + " " + PID + " @0", "exit " + SEGMENT + " erased @" + HOUR);
        assertThat(out.registered).contains(erasure + ERASURE_MARKER);
        assertThat(state.erasedAt).isEqualTo(erasure);

        // the marker is forgotten once no partial match can bind an event from before the erasure
        decide(erasure + ERASURE_MARKER);
        assertThat(state.erasedAt).isNull();
    }

    @Test
    void anInputThatThrowsIsHandedBackAndTheRestOfTheBatchStillApplies() throws Exception {
        out.failOn = "a1";
        decide(T + DAY + HOUR, match("v1", "a1", T), match("v2", "a2", T + DAY));
        assertThat(out.failed).containsExactly("a1");
        assertThat(out.alerts).extracting(a -> a.detectedAt).containsExactly(T + DAY);
    }

    /** The state a user's decisions read and write, in maps. */
    static class InMemoryState implements UserActions.UserState {
        final List<ActionInput> pending = new ArrayList<>();
        final Map<String, Membership> memberships = new LinkedHashMap<>();
        final Map<String, long[]> recentAlerts = new LinkedHashMap<>();
        boolean suppressed;
        Long erasedAt;

        @Override
        public Iterable<ActionInput> pending() {
            return new ArrayList<>(pending);
        }

        @Override
        public void replacePending(List<ActionInput> inputs) {
            pending.clear();
            pending.addAll(inputs);
        }

        @Override
        public Iterable<Map.Entry<String, Membership>> memberships() {
            return new ArrayList<>(memberships.entrySet());
        }

        @Override
        public Membership membership(String segment) {
            return memberships.get(segment);
        }

        @Override
        public void putMembership(String segment, Membership membership) {
            memberships.put(segment, membership);
        }

        @Override
        public void removeMembership(String segment) {
            memberships.remove(segment);
        }

        @Override
        public Iterable<Map.Entry<String, long[]>> recentAlerts() {
            return new ArrayList<>(recentAlerts.entrySet());
        }

        @Override
        public long[] recentAlerts(String patternId) {
            return recentAlerts.get(patternId);
        }

        @Override
        public void putRecentAlerts(String patternId, long[] times) {
            recentAlerts.put(patternId, times);
        }

        @Override
        public void removeRecentAlerts(String patternId) {
            recentAlerts.remove(patternId);
        }

        @Override
        public void clearRecentAlerts() {
            recentAlerts.clear();
        }

        @Override
        public boolean suppressed() {
            return suppressed;
        }

        @Override
        public void suppressed(boolean value) {
            suppressed = value;
        }

        @Override
        public Long erasedAt() {
            return erasedAt;
        }

        @Override
        public void erasedAt(Long at) {
            erasedAt = at;
        }
    }

    /** What the decisions produced, in order. */
    static class Recorded implements UserActions.Effects {
        final List<Alert> alerts = new ArrayList<>();
        final List<SegmentUpdate> updates = new ArrayList<>();
        final List<Long> registered = new ArrayList<>();
        final List<Long> deleted = new ArrayList<>();
        final List<String> failed = new ArrayList<>();
        String failOn;

        @Override
        public void alert(Alert alert) {
            alerts.add(alert);
        }

        @Override
        public void segmentUpdate(SegmentUpdate update) {
            updates.add(update);
        }

        @Override
        public void registerTimer(long timestamp) {
            registered.add(timestamp);
        }

        @Override
        public void deleteTimer(long timestamp) {
            deleted.add(timestamp);
        }

        @Override
        public void beforeApply(ActionInput in) {
            if (in instanceof ActionInput.Matched m && m.match().anchorId.equals(failOn)) throw new IllegalStateException("bad input");
        }

        @Override
        public void failed(RuntimeException ex, ActionInput in) {
            failed.add(((ActionInput.Matched) in).match().anchorId);
        }
    }
}
