package io.behaviorcep.action;

import io.behaviorcep.engine.ActionInput;
import io.behaviorcep.output.Alert;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.pattern.PatternMatch;
import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.segment.SegmentUpdate;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.metrics.groups.InternalOperatorMetricGroup;
import org.apache.flink.runtime.metrics.util.InterceptingOperatorMetricGroup;
import org.apache.flink.runtime.metrics.util.InterceptingTaskMetricGroup;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.operators.testutils.MockEnvironmentBuilder;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The actions operator on its own: matches and exit signals in, alerts and segment updates out, all
 * decided by the watermark. Uses the shipped cart-abandonment definition (alert, segment with a 7-day
 * TTL and exit on Order Completed, cap 1 per 24 h).
 */
class PatternActionsFunctionTest {
    static final String PID = "cart-abandonment";
    static final String SEGMENT = "cart_abandoners";
    static final long T = Instant.parse("2026-03-02T10:15:00Z").toEpochMilli();
    static final long MIN = 60_000L;
    static final long HOUR = 60 * MIN;
    static final long DAY = 24 * HOUR;
    static final long TTL = 7 * DAY;

    static PatternDefinition cartAbandonment() {
        Path patterns = Path.of(System.getProperty("behaviorcep.repo.root", ".."), "patterns");
        PatternLoader.Result r = PatternLoader.load(patterns);
        assertThat(r.problems()).isEmpty();
        return r.patterns().stream().filter(p -> p.id.equals(PID)).findFirst().orElseThrow();
    }

    private InterceptingOperatorMetricGroup metrics;
    private final List<MockEnvironment> envs = new ArrayList<>();
    private KeyedOneInputStreamOperatorTestHarness<String, ActionInput, Alert> harness;

    @BeforeEach
    void open() throws Exception {
        harness = harness(List.of(cartAbandonment()));
    }

    KeyedOneInputStreamOperatorTestHarness<String, ActionInput, Alert> harness(List<PatternDefinition> defs) throws Exception {
        metrics = new InterceptingOperatorMetricGroup();
        InterceptingTaskMetricGroup task = new InterceptingTaskMetricGroup() {
            @Override
            public InternalOperatorMetricGroup getOrAddOperator(OperatorID id, String name, Map<String, String> info) {
                return metrics;
            }
        };
        MockEnvironment env = new MockEnvironmentBuilder().setMetricGroup(task).build();
        envs.add(env);
        var h = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new PatternActionsFunction(defs)), (ActionInput in) -> in.userKey(), Types.STRING, env);
        h.open();
        return h;
    }

    @AfterEach
    void close() throws Exception {
        harness.close();
        for (MockEnvironment e : envs) e.close();
    }

    // ------------------------------------------------------------------ helpers

    /** A decided match: view {@code viewId} then add {@code addId} (the anchor), decided at {@code detectedAt}. */
    static PatternMatch match(String user, String viewId, String addId, long detectedAt) {
        PatternMatch m = new PatternMatch();
        m.patternId = PID;
        m.patternVersion = 1;
        m.userKey = user;
        m.detectedAt = detectedAt;
        m.anchorId = addId;
        m.eventIds = List.of(viewId, addId).stream().sorted().collect(Collectors.joining(","));
        m.matchedJson = "{\"viewed\":[{\"message_id\":\"" + viewId + "\"}],\"added\":[{\"message_id\":\"" + addId + "\"}]}";
        m.payloadJson = "{\"product_id\":\"p-1\"}";
        m.profile = new ProfileSnapshot();
        m.profile.events24h = 2;
        return m;
    }

    void send(ActionInput in) throws Exception {
        harness.processElement(new StreamRecord<>(in, in.timestamp()));
    }

    void sendMatch(String user, String viewId, String addId, long detectedAt) throws Exception {
        send(new ActionInput.Matched(match(user, viewId, addId, detectedAt)));
    }

    void sendExit(String user, String eventId, long at) throws Exception {
        send(new ActionInput.SegmentExit(user, SEGMENT, PID, eventId, at, null));
    }

    void watermark(long t) throws Exception {
        harness.processWatermark(t);
    }

    List<Alert> alerts() {
        return harness.extractOutputValues();
    }

    List<SegmentUpdate> updates() {
        var side = harness.getSideOutput(PatternActionsFunction.SEGMENT_UPDATES);
        List<SegmentUpdate> out = new ArrayList<>();
        if (side != null) side.forEach(r -> out.add(r.getValue()));
        return out;
    }

    /** "enter@t(reason)" / "exit@t(reason)", relative to T in minutes. */
    List<String> updateLog() {
        return updates().stream().map(u -> u.action + "@" + (u.at - T) / MIN + "(" + u.reason + ")").collect(Collectors.toList());
    }

    long counter(String name) {
        return ((Counter) metrics.get(name)).getCount();
    }

    void assertDrained() {
        assertThat(harness.numKeyedStateEntries()).as("keyed state entries").isZero();
        assertThat(harness.numEventTimeTimers()).as("event-time timers").isZero();
    }

    // ------------------------------------------------------------------ tests

    @Test
    void theShippedDefinitionIsWhatTheseTestsAssume() {
        PatternDefinition d = cartAbandonment();
        assertThat(d.alert.type).isEqualTo("cart_abandoned");
        assertThat(d.alert.severity).isEqualTo("medium");
        assertThat(d.segment.name).isEqualTo(SEGMENT);
        assertThat(d.segment.ttl).isEqualTo(Duration.ofDays(7));
        assertThat(d.cap.max).isEqualTo(1);
        assertThat(d.cap.per).isEqualTo(Duration.ofHours(24));
    }

    @Test
    void alertOnlyOnceTheWatermarkPassesDetectedAt() throws Exception {
        sendMatch("u1", "v1", "a1", T);
        watermark(T - 1);
        assertThat(alerts()).isEmpty();
        assertThat(updates()).isEmpty();

        watermark(T);
        assertThat(alerts()).hasSize(1);
        Alert a = alerts().get(0);
        assertThat(a.patternId).isEqualTo(PID);
        assertThat(a.patternVersion).isEqualTo(1);
        assertThat(a.alertType).isEqualTo("cart_abandoned");
        assertThat(a.severity).isEqualTo("medium");
        assertThat(a.userId).isEqualTo("u1");
        assertThat(a.detectedAt).isEqualTo(T);
        assertThat(a.payloadJson).isEqualTo("{\"product_id\":\"p-1\"}");
        assertThat(a.matchedJson).contains("\"v1\"").contains("\"a1\"");
        assertThat(a.profile.events24h).isEqualTo(2);
        assertThat(a.alertId).isEqualTo(PatternActionsFunction.alertId(PID, 1, "u1", "a1,v1"));

        assertThat(updates()).hasSize(1);
        SegmentUpdate enter = updates().get(0);
        assertThat(enter.action).isEqualTo(SegmentUpdate.ENTER);
        assertThat(enter.segment).isEqualTo(SEGMENT);
        assertThat(enter.userId).isEqualTo("u1");
        assertThat(enter.reason).isEqualTo(PID);
        assertThat(enter.at).isEqualTo(T);
        assertThat(enter.expiresAt).isEqualTo(T + TTL);
        assertThat(enter.version).isEqualTo(2 * T + 1);
        assertThat(counter("alertsEmitted")).isEqualTo(1);
        assertThat(counter("segmentEnters")).isEqualTo(1);
    }

    @Test
    void overlappingMatchesOfOneAnchorAreOneAlert() throws Exception {
        // three views before one add: three matches with the same anchor and deadline
        sendMatch("u1", "v3", "a1", T);
        sendMatch("u1", "v1", "a1", T);
        sendMatch("u1", "v2", "a1", T);
        watermark(T + MIN);

        assertThat(alerts()).hasSize(1);
        // the survivor is chosen by sorted ids, not by arrival: v1
        assertThat(alerts().get(0).alertId).isEqualTo(PatternActionsFunction.alertId(PID, 1, "u1", "a1,v1"));
        assertThat(counter("alertsEmitted")).isEqualTo(1);
        assertThat(counter("alertsCapped")).isZero(); // collapsed, not capped
        assertThat(updates()).hasSize(1);
    }

    @Test
    void anotherUsersMatchIsIndependent() throws Exception {
        sendMatch("u1", "v1", "a1", T);
        sendMatch("u2", "v2", "a2", T);
        watermark(T);
        assertThat(alerts()).extracting(a -> a.userId).containsExactlyInAnyOrder("u1", "u2");
        assertThat(counter("alertsCapped")).isZero();
    }

    @Test
    void atMostOneAlertPer24Hours() throws Exception {
        sendMatch("u1", "v1", "a1", T);
        sendMatch("u1", "v2", "a2", T + HOUR);
        sendMatch("u1", "v3", "a3", T + DAY - 1);
        sendMatch("u1", "v4", "a4", T + DAY);
        watermark(T + DAY + HOUR);

        assertThat(alerts()).extracting(a -> a.detectedAt).containsExactly(T, T + DAY);
        assertThat(counter("alertsEmitted")).isEqualTo(2);
        assertThat(counter("alertsCapped")).isEqualTo(2);
        // a member matching again stays a member; membership is not extended
        assertThat(updateLog()).containsExactly("enter@0(cart-abandonment)");
        assertThat(updates().get(0).expiresAt).isEqualTo(T + TTL);
    }

    @Test
    void theCapHoldsAcrossBatches() throws Exception {
        sendMatch("u1", "v1", "a1", T);
        watermark(T);
        sendMatch("u1", "v2", "a2", T + 2 * HOUR);
        watermark(T + 2 * HOUR);
        sendMatch("u1", "v3", "a3", T + DAY);
        watermark(T + DAY);

        assertThat(alerts()).extracting(a -> a.detectedAt).containsExactly(T, T + DAY);
        assertThat(counter("alertsCapped")).isEqualTo(1);
    }

    @Test
    void exitByEventEndsMembershipAndDropsItsTtlTimer() throws Exception {
        sendMatch("u1", "v1", "a1", T);
        watermark(T);
        // cap window timer (T + 24h) and membership TTL timer (T + 7d)
        assertThat(harness.numEventTimeTimers()).isEqualTo(2);

        sendExit("u1", "o1", T + HOUR);
        watermark(T + HOUR);
        assertThat(updateLog()).containsExactly("enter@0(cart-abandonment)", "exit@60(cart-abandonment)");
        SegmentUpdate exit = updates().get(1);
        assertThat(exit.expiresAt).isZero();
        assertThat(exit.version).isEqualTo(2 * (T + HOUR));
        assertThat(counter("segmentExits")).isEqualTo(1);
        // only the cap timer is left: the TTL timer was deleted with the membership
        assertThat(harness.numEventTimeTimers()).isEqualTo(1);

        // a second exit event finds no membership: nothing happens
        sendExit("u1", "o2", T + 2 * HOUR);
        watermark(T + 2 * HOUR);
        assertThat(updates()).hasSize(2);

        watermark(T + DAY);
        assertDrained();
        watermark(T + TTL + 1);
        assertThat(updates()).hasSize(2);
    }

    @Test
    void exitByTtlWhenTheUserSaysNothingMore() throws Exception {
        sendMatch("u1", "v1", "a1", T);
        watermark(T);
        watermark(T + TTL - 1);
        assertThat(updateLog()).containsExactly("enter@0(cart-abandonment)");

        watermark(T + TTL);
        assertThat(updateLog()).containsExactly("enter@0(cart-abandonment)", "exit@" + TTL / MIN + "(ttl)");
        SegmentUpdate exit = updates().get(1);
        assertThat(exit.reason).isEqualTo(SegmentUpdate.REASON_TTL);
        assertThat(exit.at).isEqualTo(T + TTL);
        assertThat(exit.version).isEqualTo(2 * (T + TTL));
        assertThat(counter("segmentExits")).isEqualTo(1);
        assertDrained();
    }

    @Test
    void anExitEventBeforeTheEnterDoesNotEndIt() throws Exception {
        sendExit("u1", "o1", T - 5 * MIN); // an order before the deadline of a later match
        sendMatch("u1", "v1", "a1", T);
        watermark(T);
        assertThat(updateLog()).containsExactly("enter@0(cart-abandonment)");
    }

    @Test
    void anExitEventBeforeTheEnterDoesNotEndItInAnEarlierBatch() throws Exception {
        sendExit("u1", "o1", T - 5 * MIN);
        watermark(T - 5 * MIN);
        sendMatch("u1", "v1", "a1", T);
        watermark(T);
        assertThat(updateLog()).containsExactly("enter@0(cart-abandonment)");
    }

    @Test
    void anExitEventBeforeTheEnterDoesNotEndItEvenIfItArrivesAfterIt() throws Exception {
        sendMatch("u1", "v1", "a1", T);
        watermark(T);
        // an older exit signal that reaches the operator only now (another input channel lagging)
        sendExit("u1", "o1", T - 5 * MIN);
        sendExit("u1", "o2", T); // the same millisecond as the enter: exits sort first, so it is before it too
        watermark(T + MIN);
        assertThat(updateLog()).containsExactly("enter@0(cart-abandonment)");
        assertThat(counter("segmentExits")).isZero();

        // a real, later exit still works
        sendExit("u1", "o3", T + 2 * MIN);
        watermark(T + 2 * MIN);
        assertThat(updateLog()).containsExactly("enter@0(cart-abandonment)", "exit@2(cart-abandonment)");
    }

    @Test
    void anExitAndAnEnterAtTheSameMillisecondLeaveTheUserInside() throws Exception {
        sendMatch("u1", "v1", "a1", T);
        watermark(T);
        sendMatch("u1", "v2", "a2", T + HOUR); // capped, but enters the segment again
        sendExit("u1", "o1", T + HOUR);
        watermark(T + HOUR);

        assertThat(updateLog()).containsExactly("enter@0(cart-abandonment)", "exit@60(cart-abandonment)", "enter@60(cart-abandonment)");
        List<Long> versions = updates().stream().map(u -> u.version).collect(Collectors.toList());
        assertThat(versions).containsExactly(2 * T + 1, 2 * (T + HOUR), 2 * (T + HOUR) + 1);
        assertThat(versions).isSorted().doesNotHaveDuplicates();
        assertThat(updates()).extracting(u -> u.eventId).doesNotHaveDuplicates();
        assertThat(updates().get(2).expiresAt).isEqualTo(T + HOUR + TTL);
        assertThat(counter("alertsCapped")).isEqualTo(1);

        // the re-entered membership runs out on its own TTL, and everything drains
        watermark(T + HOUR + TTL);
        assertThat(updateLog()).last().isEqualTo("exit@" + (HOUR + TTL) / MIN + "(ttl)");
        assertDrained();
    }

    /** Enter, exit, enter, TTL exit, an enter at the very millisecond of that TTL exit, exit. */
    void longHistory(KeyedOneInputStreamOperatorTestHarness<String, ActionInput, Alert> h, long... watermarks) throws Exception {
        List<ActionInput> in = List.of(
                new ActionInput.Matched(match("u1", "v1", "a1", T)),
                new ActionInput.SegmentExit("u1", SEGMENT, PID, "o1", T + 10 * MIN, null),
                new ActionInput.Matched(match("u1", "v2", "a2", T + 2 * DAY)),
                new ActionInput.Matched(match("u1", "v3", "a3", T + 2 * DAY + TTL)),
                new ActionInput.SegmentExit("u1", SEGMENT, PID, "o2", T + 2 * DAY + TTL + 5 * MIN, null));
        for (ActionInput i : in) h.processElement(new StreamRecord<>(i, i.timestamp()));
        for (long w : watermarks) h.processWatermark(w);
    }

    @Test
    void segmentVersionsStrictlyIncreaseOverALongHistory() throws Exception {
        longHistory(harness, T + 20 * DAY);

        assertThat(updates()).extracting(u -> u.action).containsExactly("enter", "exit", "enter", "exit", "enter", "exit");
        assertThat(updates()).extracting(u -> u.reason)
                .containsExactly(PID, PID, PID, SegmentUpdate.REASON_TTL, PID, PID);
        List<Long> versions = updates().stream().map(u -> u.version).collect(Collectors.toList());
        assertThat(versions).isSorted().doesNotHaveDuplicates();
        assertThat(versions.get(4)).isEqualTo(versions.get(3) + 1);
        assertThat(alerts()).extracting(a -> a.detectedAt).containsExactly(T, T + 2 * DAY, T + 2 * DAY + TTL);
        assertDrained();
    }

    @Test
    void theOutcomeDoesNotDependOnHowFarTheWatermarkJumps() throws Exception {
        longHistory(harness, T + 20 * DAY);
        List<String> oneJump = updates().stream().map(u -> u.eventId + "/" + u.action + "/" + u.reason).collect(Collectors.toList());
        List<String> oneJumpAlerts = alerts().stream().map(a -> a.alertId).collect(Collectors.toList());

        var stepwise = harness(List.of(cartAbandonment()));
        try {
            long[] hourly = new long[20 * 24 + 1];
            for (int i = 0; i < hourly.length; i++) hourly[i] = T + i * HOUR;
            longHistory(stepwise, hourly);
            List<String> steps = new ArrayList<>();
            stepwise.getSideOutput(PatternActionsFunction.SEGMENT_UPDATES)
                    .forEach(r -> steps.add(r.getValue().eventId + "/" + r.getValue().action + "/" + r.getValue().reason));
            assertThat(steps).isEqualTo(oneJump);
            assertThat(stepwise.extractOutputValues()).extracting(a -> a.alertId).isEqualTo(oneJumpAlerts);
        } finally {
            stepwise.close();
        }
    }

    @Test
    void alertIdsAreDeterministic() throws Exception {
        sendMatch("u1", "v1", "a1", T);
        watermark(T);
        String first = alerts().get(0).alertId;

        // a fresh operator fed the same input, in another order with an overlapping match, says the same
        var other = harness(List.of(cartAbandonment()));
        try {
            other.processElement(new StreamRecord<>(new ActionInput.Matched(match("u1", "v9", "a1", T)), T));
            other.processElement(new StreamRecord<>(new ActionInput.Matched(match("u1", "v1", "a1", T)), T));
            other.processWatermark(T);
            assertThat(other.extractOutputValues()).extracting(a -> a.alertId).containsExactly(first);
        } finally {
            other.close();
        }

        assertThat(first).isEqualTo(PatternActionsFunction.alertId(PID, 1, "u1", "a1,v1")).hasSize(32).matches("[0-9a-f]{32}");
        assertThat(PatternActionsFunction.alertId(PID, 1, "u1", "a1,v1")).isEqualTo(first);
        assertThat(PatternActionsFunction.alertId(PID, 2, "u1", "a1,v1")).isNotEqualTo(first);
        assertThat(PatternActionsFunction.alertId(PID, 1, "u2", "a1,v1")).isNotEqualTo(first);
        assertThat(PatternActionsFunction.alertId(PID, 1, "u1", "a1,v2")).isNotEqualTo(first);
        assertThat(PatternActionsFunction.alertId("other", 1, "u1", "a1,v1")).isNotEqualTo(first);
        // the first 128 bits of sha-256("cart-abandonment\n1\nu1\na1,v1")
        assertThat(first).isEqualTo(sha256Prefix(PID + "\n1\nu1\na1,v1"));
    }

    static String sha256Prefix(String s) throws Exception {
        byte[] h = java.security.MessageDigest.getInstance("SHA-256").digest(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return java.util.HexFormat.of().formatHex(h).substring(0, 32);
    }

    @Test
    void matchesOfAPatternNoLongerInTheSetAreDropped() throws Exception {
        PatternMatch m = match("u1", "v1", "a1", T);
        m.patternId = "retired-pattern";
        send(new ActionInput.Matched(m));
        watermark(T);
        assertThat(alerts()).isEmpty();
        assertThat(updates()).isEmpty();
        assertDrained();
    }

    @Test
    void everythingDrainsOnceExpired() throws Exception {
        for (String u : List.of("u1", "u2", "u3")) {
            sendMatch(u, u + "-v1", u + "-a1", T);
            sendMatch(u, u + "-v2", u + "-a2", T + 3 * HOUR);
        }
        sendExit("u2", "o", T + 4 * HOUR);
        watermark(T + 4 * HOUR);
        assertThat(alerts()).hasSize(3);
        assertThat(counter("alertsCapped")).isEqualTo(3);
        assertThat(harness.numKeyedStateEntries()).isGreaterThan(0);
        assertThat(harness.numEventTimeTimers()).isGreaterThan(0);

        watermark(T + TTL);
        assertThat(updates().stream().filter(u -> u.action.equals("exit")).count()).isEqualTo(3);
        assertDrained();
    }

    /** A pattern whose segment TTL equals its cap period: both timers fall on the same instant. */
    @Test
    void anExitEventDoesNotDeleteATimerThatTheCapStillNeeds() throws Exception {
        harness.close();
        String yaml = """
                id: same-period
                version: 1
                steps:
                  - name: viewed
                    event: Product Viewed
                  - name: added
                    event: Product Added
                    within: 30m
                actions:
                  alert:
                    type: t
                  segment:
                    name: s
                    ttl: 24h
                    exit_on:
                      - event: Order Completed
                  cap:
                    max: 1
                    per: 24h
                """;
        PatternLoader.Result r = PatternLoader.loadString("same-period.yaml", yaml);
        assertThat(r.problems()).isEmpty();
        harness = harness(r.patterns());

        PatternMatch m = match("u1", "v1", "a1", T);
        m.patternId = "same-period";
        send(new ActionInput.Matched(m));
        watermark(T);
        assertThat(alerts()).hasSize(1);
        assertThat(harness.numEventTimeTimers()).isEqualTo(1); // cap and TTL share T + 24h

        send(new ActionInput.SegmentExit("u1", "s", "same-period", "o1", T + HOUR, null));
        watermark(T + HOUR);
        assertThat(updates()).extracting(u -> u.action).containsExactly("enter", "exit");

        // the cap history must still be pruned at T + 24h
        watermark(T + DAY);
        assertDrained();
    }

    /** A match pending at exactly the instant a membership would have expired must still be decided. */
    @Test
    void anExitEventDoesNotStrandAPendingMatchAtTheOldExpiry() throws Exception {
        sendMatch("u1", "v1", "a1", T);
        watermark(T);
        // a later match, already decided upstream, reaches the operator while another channel holds the watermark back
        sendMatch("u1", "v2", "a2", T + TTL);
        sendExit("u1", "o1", T + DAY + HOUR);
        watermark(T + DAY + HOUR);
        assertThat(updateLog()).containsExactly("enter@0(cart-abandonment)", "exit@" + (DAY + HOUR) / MIN + "(cart-abandonment)");

        watermark(T + TTL);
        assertThat(alerts()).extracting(a -> a.detectedAt).containsExactly(T, T + TTL);
        assertThat(updates()).extracting(u -> u.action).containsExactly("enter", "exit", "enter");
        watermark(T + 2 * TTL);
        assertDrained();
    }
}
