package io.behaviorcep.engine;

import io.behaviorcep.engine.ActionInput;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.PatternChange;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.testing.Repo;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.types.PojoTestUtils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The engine operator on its own (Flink's keyed broadcast harness): when matches come out, that a
 * quiet user's state and timers drain to nothing, that open matches survive a snapshot, and what
 * each {@code on_change} policy does with open matches when a new version arrives.
 */
class PatternEngineFunctionTest {
    /** The outputs' serializer, as the job has it (the harness would otherwise derive one from the first output's class). */
    static final org.apache.flink.api.common.typeutils.TypeSerializer<ActionInput> ACTION_INPUTS =
            io.behaviorcep.engine.ActionInputTypeInfo.INSTANCE.createSerializer(new org.apache.flink.api.common.serialization.SerializerConfigImpl());
    static final long T0 = 1_767_000_000_000L;
    static final long MIN = 60_000L;
    static final long DAY = 24 * 60 * MIN;

    private final List<KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, ActionInput>> harnesses = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (var h : harnesses) h.close();
    }

    static PatternDefinition shipped(String id) {
        return PatternLoader.load(Repo.patterns().resolve(id + ".yaml")).orThrow().get(0);
    }

    static String cartYaml(int version, String onChange, String addWindow) {
        return """
                id: cart
                version: %d
                on_change: %s
                steps:
                  - {name: viewed, event: Product Viewed}
                  - {name: added, event: Product Added, contiguity: followed_by_any, within: %s}
                  - name: no_order
                    absent: {event: Order Completed}
                    for: 15m
                actions:
                  alert: {type: cart_abandoned}
                """.formatted(version, onChange, addWindow);
    }

    static PatternDefinition load(String yaml) {
        return PatternLoader.loadString("cart.yaml", yaml).orThrow().get(0);
    }

    KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, ActionInput> harness(List<PatternDefinition> patterns,
                                                                                               OperatorSubtaskState restore) throws Exception {
        var h = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new PatternEngineFunction(patterns)),
                (BehaviorEvent e) -> e.userKey, Types.STRING, 128, 1, 0);
        h.setup(ACTION_INPUTS);
        if (restore != null) h.initializeState(restore);
        h.open();
        harnesses.add(h);
        return h;
    }

    /** Keyed state entries of the harness's heap backend . */
    static int stateEntries(KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, ActionInput> h) {
        var backend = ((org.apache.flink.streaming.api.operators.AbstractStreamOperator<?>) h.getOperator()).getKeyedStateBackend();
        return ((org.apache.flink.runtime.state.heap.HeapKeyedStateBackend<?>) backend).numKeyValueStateEntries();
    }

    static BehaviorEvent event(String user, String name, long minute) {
        BehaviorEvent e = new BehaviorEvent();
        e.userKey = user;
        e.userId = user;
        e.messageId = user + "@" + minute;
        e.type = "track";
        e.event = name;
        e.timestamp = T0 + minute * MIN;
        return e;
    }

    static void send(KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, ActionInput> h, BehaviorEvent e) throws Exception {
        h.processElement(e, e.timestamp);
    }

    /** "pattern vN: anchor-id at minute" for every match out so far. */
    static List<String> matches(KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, ActionInput> h) {
        return h.extractOutputValues().stream().filter(in -> in instanceof ActionInput.Matched).map(in -> ((ActionInput.Matched) in).match())
                .map(m -> m.patternId + " v" + m.patternVersion + ": " + m.anchorId + " at " + (m.detectedAt - T0) / MIN)
                .collect(Collectors.toList());
    }

    /**
     * BATCH execution sorts the engine's input by key and timestamp only, so one user's events of one
     * instant may come in any order; ordering instants takes them by messageId, as the profile emits
     * them in STREAMING. Here the add comes first but its id sorts after the view's: one abandonment.
     */
    @ParameterizedTest(name = "instants ordered by messageId: {0}")
    @ValueSource(booleans = {true, false})
    void eventsOfOneInstantAreTakenInMessageIdOrderWhenTheEngineOrdersInstants(boolean orderInstants) throws Exception {
        PatternEngineFunction f = new PatternEngineFunction(List.of(shipped("cart-abandonment")));
        if (orderInstants) f.orderingInstantsByMessageId();
        var h = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(f),
                (BehaviorEvent e) -> e.userKey, Types.STRING, 128, 1, 0);
        h.setup(ACTION_INPUTS);
        h.open();
        harnesses.add(h);
        BehaviorEvent add = event("u1", "Product Added", 5);
        add.messageId = "b-add";
        BehaviorEvent view = event("u1", "Product Viewed", 5);
        view.messageId = "a-view";
        send(h, add);
        send(h, view);
        h.processWatermark(T0 + 5 * MIN);
        h.processWatermark(T0 + 21 * MIN);
        if (orderInstants) assertThat(matches(h)).containsExactly("cart-abandonment v1: b-add at 20");
        else assertThat(matches(h)).as("taken as they came: the add before the view pairs with nothing").isEmpty();
    }

    @Test
    void aQuietUsersAbsenceIsDecidedAtItsDeadlineAndTheirStateDrains() throws Exception {
        var h = harness(List.of(shipped("cart-abandonment")), null);
        send(h, event("u1", "Product Viewed", 0));
        send(h, event("u1", "Product Added", 10));
        h.processWatermark(T0 + 10 * MIN);
        assertThat(matches(h)).isEmpty();
        assertThat(stateEntries(h)).isEqualTo(1);
        assertThat(h.numEventTimeTimers()).isEqualTo(1); // one timer per user, at the earliest deadline

        h.processWatermark(T0 + 25 * MIN); // add + 15m exactly: an order now would still count
        assertThat(matches(h)).isEmpty();
        h.processWatermark(T0 + 25 * MIN + 1);
        assertThat(matches(h)).containsExactly("cart-abandonment v1: u1@10 at 25");

        // the view could still pair with a later add for 30 minutes; after that only a marker is left: the
        // user may be in cart_abandoners, so their next order is sent on as an exit (until the segment's TTL)
        h.processWatermark(T0 + 41 * MIN);
        assertThat(stateEntries(h)).as("keyed state entries").isEqualTo(1);
        assertThat(h.numEventTimeTimers()).as("timers").isEqualTo(1);
        h.processWatermark(T0 + 25 * MIN + 7 * DAY);
        assertThat(stateEntries(h)).as("keyed state entries after the TTL").isZero();
        assertThat(h.numEventTimeTimers()).as("timers after the TTL").isZero();
    }

    @Test
    void dormancyFiresForAUserWhoNeverComesBackAndLeavesNothing() throws Exception {
        var h = harness(List.of(shipped("dormancy-14d")), null);
        send(h, event("u1", "Product Viewed", 0));
        h.processWatermark(T0 + 14 * 24 * 60 * MIN + 1);
        assertThat(matches(h)).containsExactly("dormancy-14d v1: u1@0 at " + 14 * 24 * 60);
        // the dormant marker lives as long as the segment membership can (180 days), then nothing is left
        h.processWatermark(T0 + 194 * DAY);
        assertThat(stateEntries(h)).isZero();
        assertThat(h.numEventTimeTimers()).isZero();
    }

    @Test
    void openMatchesSurviveASnapshotAndFireAfterRestoreWithoutNewEvents() throws Exception {
        List<PatternDefinition> patterns = List.of(shipped("cart-abandonment"), shipped("checkout-abandonment"));
        var before = harness(patterns, null);
        send(before, event("u1", "Product Viewed", 0));
        send(before, event("u1", "Product Added", 1));
        send(before, event("u2", "Checkout Started", 2));
        before.processWatermark(T0 + 2 * MIN);
        OperatorSubtaskState snapshot = before.snapshot(1, T0);

        var after = harness(patterns, snapshot);
        assertThat(stateEntries(after)).isEqualTo(2);
        after.processWatermark(T0 + 60 * MIN);
        assertThat(matches(after)).containsExactlyInAnyOrder("cart-abandonment v1: u1@1 at 16", "checkout-abandonment v1: u2@2 at 32");
        after.processWatermark(T0 + 8 * DAY);
        assertThat(stateEntries(after)).isZero();
    }

    @Test
    void aChangeAppliesFromItsActivationTimeOnly() throws Exception {
        PatternDefinition v1 = load(cartYaml(1, "restart", "30m"));
        var h = harness(List.of(v1), null);
        String v2 = cartYaml(2, "restart", "30m");
        h.processElement(PatternChange.upsert("cart", 2, "cart.yaml", v2, T0 + 100 * MIN, 0).toRecord(), T0);
        // before the activation: v1
        send(h, event("u1", "Product Viewed", 0));
        send(h, event("u1", "Product Added", 1));
        h.processWatermark(T0 + 20 * MIN);
        // after it: v2
        send(h, event("u2", "Product Viewed", 100));
        send(h, event("u2", "Product Added", 101));
        h.processWatermark(T0 + 200 * MIN);
        assertThat(matches(h)).containsExactly("cart v1: u1@1 at 16", "cart v2: u2@101 at 116");
    }

    /** u1 has an open match of v1 (add at 1, deadline 16) when v2 takes over at minute 5. */
    private List<String> changeWithOpenMatch(String policy, String v2AddWindow) throws Exception {
        var h = harness(List.of(load(cartYaml(1, "drain", "30m"))), null);
        send(h, event("u1", "Product Viewed", 0));
        send(h, event("u1", "Product Added", 1));
        h.processWatermark(T0 + 2 * MIN);
        h.processElement(PatternChange.upsert("cart", 2, "cart.yaml", cartYaml(2, policy, v2AddWindow), T0 + 5 * MIN, 0).toRecord(), T0);
        send(h, event("u1", "Product Added", 6)); // pairs with the open run of the view at 0, if it is still open
        send(h, event("u1", "Product Viewed", 40)); // a fresh match, after the old runs' windows
        send(h, event("u1", "Product Added", 41));
        h.processWatermark(T0 + 100 * MIN);
        return matches(h);
    }

    @Test
    void drainLetsTheOldVersionFinishItsOpenMatchesWhileNewOnesStartOnTheNewVersion() throws Exception {
        // the open v1 runs go on as v1 (the view at 0 still pairs with the add at 6), the fresh one is v2
        assertThat(changeWithOpenMatch("drain", "30m")).containsExactly("cart v1: u1@1 at 16", "cart v1: u1@6 at 21", "cart v2: u1@41 at 56");
    }

    @Test
    void restartDropsTheOpenMatches() throws Exception {
        assertThat(changeWithOpenMatch("restart", "30m")).containsExactly("cart v2: u1@41 at 56");
    }

    @Test
    void keepCarriesOpenMatchesOverToTheNewVersion() throws Exception {
        // same steps, another window: the v1 runs continue as v2 runs; the view at 0 is in them, so the add
        // at 6 pairs with it under v2 as well
        assertThat(changeWithOpenMatch("keep", "20m")).containsExactly("cart v2: u1@1 at 16", "cart v2: u1@6 at 21", "cart v2: u1@41 at 56");
    }

    /**
     * Runs keep only the fields of bound events their version reads (EventProjection): a new version
     * that reads another field of an earlier step cannot take those runs over, and drains instead.
     */
    @Test
    void keepDrainsWhenTheNewVersionReadsAFieldOfAnEarlierStepTheRunningOneDoesNot() throws Exception {
        String v2 = cartYaml(2, "keep", "20m").replace("alert: {type: cart_abandoned}",
                "alert: {type: cart_abandoned, payload: {viewed_name: '${viewed.properties.name}'}}");
        var h = harness(List.of(load(cartYaml(1, "drain", "30m"))), null);
        send(h, event("u1", "Product Viewed", 0));
        send(h, event("u1", "Product Added", 1));
        h.processWatermark(T0 + 2 * MIN);
        h.processElement(PatternChange.upsert("cart", 2, "cart.yaml", v2, T0 + 5 * MIN, 0).toRecord(), T0);
        send(h, event("u1", "Product Added", 6));
        send(h, event("u1", "Product Viewed", 40));
        send(h, event("u1", "Product Added", 41));
        h.processWatermark(T0 + 100 * MIN);
        // as drain: v1 finishes its open matches, v2 matches from its start
        assertThat(matches(h)).containsExactly("cart v1: u1@1 at 16", "cart v1: u1@6 at 21", "cart v2: u1@41 at 56");
    }

    @Test
    void deletingADrainPatternLetsItsOpenMatchesFinishAndStartsNoMore() throws Exception {
        var h = harness(List.of(load(cartYaml(1, "drain", "30m"))), null);
        send(h, event("u1", "Product Viewed", 0));
        send(h, event("u1", "Product Added", 1));
        h.processElement(PatternChange.delete("cart", 1, "cart.yaml", T0 + 5 * MIN, 0).toRecord(), T0);
        send(h, event("u1", "Product Viewed", 40));
        send(h, event("u1", "Product Added", 41));
        h.processWatermark(T0 + 100 * MIN);
        assertThat(matches(h)).containsExactly("cart v1: u1@1 at 16");
        assertThat(stateEntries(h)).isZero();
    }

    @Test
    void deletingARestartPatternDropsItsOpenMatchesAndStartsNoMore() throws Exception {
        var h = harness(List.of(load(cartYaml(1, "restart", "30m"))), null);
        send(h, event("u1", "Product Viewed", 0));
        send(h, event("u1", "Product Added", 1));
        h.processElement(PatternChange.delete("cart", 1, "cart.yaml", T0 + 5 * MIN, 0).toRecord(), T0);
        send(h, event("u1", "Product Viewed", 6));
        send(h, event("u1", "Product Added", 7));
        h.processWatermark(T0 + 100 * MIN);
        assertThat(matches(h)).isEmpty();
        assertThat(stateEntries(h)).isZero();
    }

    @Test
    void aChangeSurvivesASnapshot() throws Exception {
        PatternDefinition v1 = load(cartYaml(1, "restart", "30m"));
        var before = harness(List.of(v1), null);
        before.processElement(PatternChange.upsert("cart", 2, "cart.yaml", cartYaml(2, "restart", "30m"), T0 + 50 * MIN, 0).toRecord(), T0);
        OperatorSubtaskState snapshot = before.snapshot(1, T0);
        var after = harness(List.of(v1), snapshot); // same submission: the broadcast change still applies
        send(after, event("u1", "Product Viewed", 60));
        send(after, event("u1", "Product Added", 61));
        after.processWatermark(T0 + 100 * MIN);
        assertThat(matches(after)).containsExactly("cart v2: u1@61 at 76");
    }

    @Test
    void aResubmissionWithAnotherPatternSetStartsFromItsOwnSet() throws Exception {
        var before = harness(List.of(load(cartYaml(1, "restart", "30m")), shipped("checkout-abandonment")), null);
        send(before, event("u1", "Product Viewed", 0));
        send(before, event("u1", "Product Added", 1));
        send(before, event("u2", "Checkout Started", 2));
        OperatorSubtaskState snapshot = before.snapshot(1, T0);
        // cart unchanged, checkout-abandonment removed, dormancy added
        var after = harness(List.of(load(cartYaml(1, "restart", "30m")), shipped("dormancy-14d")), snapshot);
        send(after, event("u3", "Page", 3));
        send(after, event("u4", "Checkout Started", 4)); // checkout-abandonment is gone: no match for this
        after.processWatermark(T0 + 15L * 24 * 60 * MIN);
        // the removed pattern's open match finishes (its on_change is the default, drain); nothing new starts on it
        assertThat(matches(after)).containsExactlyInAnyOrder("cart v1: u1@1 at 16", "checkout-abandonment v1: u2@2 at 32",
                "dormancy-14d v1: u3@3 at " + (3 + 14 * 24 * 60), "dormancy-14d v1: u4@4 at " + (4 + 14 * 24 * 60));
        after.processWatermark(T0 + 200 * DAY);
        assertThat(stateEntries(after)).isZero();
    }

    @Test
    void exitSignalsAreSentOnlyForUsersWhoMayBeMembers() throws Exception {
        var h = harness(List.of(shipped("dormancy-14d")), null);
        send(h, event("u1", "Product Viewed", 0));
        send(h, event("u1", "Product Viewed", 1)); // not dormant: no exit signal for this
        long back = 20 * DAY / MIN;
        send(h, event("u1", "Product Viewed", back)); // after 14 days of silence: dormant from 1 + 14d, and back
        send(h, event("u1", "Product Viewed", back + 1)); // no longer a member
        h.processWatermark(T0 + (back + 2) * MIN);
        List<String> exits = h.extractOutputValues().stream().filter(in -> in instanceof ActionInput.SegmentExit)
                .map(in -> (ActionInput.SegmentExit) in).map(x -> x.segment() + " by " + x.eventId()).collect(Collectors.toList());
        assertThat(exits).containsExactly("dormant by u1@" + back);
        assertThat(matches(h)).containsExactly("dormancy-14d v1: u1@1 at " + (1 + 14 * 24 * 60));
    }

    @Test
    void anErasureDropsTheUsersOpenMatches() throws Exception {
        var op = new KeyedProcessOperator<>(new PatternEngineFunction(List.of(shipped("cart-abandonment"))).erasingOn("User Deleted"));
        var h = new KeyedOneInputStreamOperatorTestHarness<>(op, (BehaviorEvent e) -> e.userKey, Types.STRING, 128, 1, 0);
        h.setup(ACTION_INPUTS);
        h.open();
        harnesses.add(h);
        send(h, event("u1", "Product Viewed", 0));
        send(h, event("u1", "Product Added", 1));
        send(h, event("u2", "Product Viewed", 0));
        send(h, event("u2", "Product Added", 1));
        send(h, event("u1", "User Deleted", 2));
        h.processWatermark(T0 + 60 * MIN);
        assertThat(matches(h)).as("u1's add from before the erasure decides nothing").containsExactly("cart-abandonment v1: u2@1 at 16");
        h.processWatermark(T0 + 8 * DAY);
        assertThat(stateEntries(h)).isZero();
    }

    @Test
    void stateTypesAreFlinkPojos() {
        // no Kryo on the hot path or in checkpoints (BehaviorEvent has its own serializer:
        // BehaviorEventSerializerTest)
        PojoTestUtils.assertSerializedAsPojoWithoutKryo(PatternChange.class);
        assertThat(org.apache.flink.api.common.typeinfo.TypeInformation.of(ActionInput.class)).isInstanceOf(io.behaviorcep.engine.ActionInputTypeInfo.class);
    }
}
