package io.behaviorcep.action;

import io.behaviorcep.engine.ActionInput;
import io.behaviorcep.output.Alert;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.pattern.PatternMatch;
import io.behaviorcep.event.ProfileSnapshot;
import io.behaviorcep.segment.SegmentUpdate;
import io.behaviorcep.output.OutputJson;

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

import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Privacy signals in the actions operator: suppression stops alerts and enters, erasure forgets the user. */
class PatternActionsPrivacyTest {
    static final long T = Instant.parse("2026-03-02T10:00:00Z").toEpochMilli();
    static final long MIN = 60_000L;
    static final long HOUR = 60 * MIN;

    static final String PATTERN = """
            id: added
            version: 1
            within: 1h
            steps:
              - {name: viewed, event: Product Viewed}
              - {name: added, event: Product Added}
            actions:
              alert: {type: added_after_view}
              segment: {name: adders, ttl: 7d}
            """;

    private InterceptingOperatorMetricGroup metrics;
    private MockEnvironment env;
    private KeyedOneInputStreamOperatorTestHarness<String, ActionInput, Alert> h;
    private PatternDefinition def;

    @BeforeEach
    void open() throws Exception {
        def = PatternLoader.loadString("added.yaml", PATTERN).orThrow().get(0);
        metrics = new InterceptingOperatorMetricGroup();
        InterceptingTaskMetricGroup task = new InterceptingTaskMetricGroup() {
            @Override
            public InternalOperatorMetricGroup getOrAddOperator(OperatorID id, String name, Map<String, String> info) {
                return metrics;
            }
        };
        env = new MockEnvironmentBuilder().setMetricGroup(task).build();
        h = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(new PatternActionsFunction(List.of(def))),
                (ActionInput in) -> in.userKey(), Types.STRING, env);
        h.open();
    }

    @AfterEach
    void close() throws Exception {
        h.close();
        env.close();
    }

    /** A match binding a view at {@code viewAt} and an add at {@code addAt} (decided then). */
    static PatternMatch match(String user, long viewAt, long addAt) {
        PatternMatch m = new PatternMatch();
        m.patternId = "added";
        m.patternVersion = 1;
        m.userKey = user;
        m.detectedAt = addAt;
        m.anchorId = "a" + addAt;
        m.eventIds = "a" + addAt + ",v" + viewAt;
        m.matchedJson = "{\"viewed\":[{\"message_id\":\"v" + viewAt + "\",\"timestamp\":\"" + OutputJson.iso(viewAt) + "\"}],"
                + "\"added\":[{\"message_id\":\"a" + addAt + "\",\"timestamp\":\"" + OutputJson.iso(addAt) + "\"}]}";
        m.payloadJson = "{}";
        m.profile = new ProfileSnapshot();
        return m;
    }

    void send(ActionInput in) throws Exception {
        h.processElement(new StreamRecord<>(in, in.timestamp()));
    }

    List<String> alerts() {
        return h.extractOutputValues().stream().map(a -> a.userId + " " + (a.detectedAt - T) / MIN + "m").toList();
    }

    List<String> segments() {
        var q = h.getSideOutput(PatternActionsFunction.SEGMENT_UPDATES);
        return q == null ? List.of() : q.stream().map(StreamRecord::getValue)
                .map(u -> u.action + " " + u.segment + " (" + u.reason + ") " + (u.at - T) / MIN + "m").toList();
    }

    long counter(String name) {
        return ((Counter) metrics.get(name)).getCount();
    }

    @Test
    void aSuppressedUserLeavesTheirSegmentsAndGetsNoAlertOrEnterUntilLifted() throws Exception {
        send(new ActionInput.Matched(match("u1", T - 5 * MIN, T)));
        send(new ActionInput.PrivacySignal("u1", ActionInput.Signal.SUPPRESS, T + 10 * MIN));
        send(new ActionInput.Matched(match("u1", T + 15 * MIN, T + 20 * MIN)));
        send(new ActionInput.PrivacySignal("u1", ActionInput.Signal.UNSUPPRESS, T + 30 * MIN));
        h.processWatermark(T + 25 * MIN);
        assertThat(alerts()).containsExactly("u1 0m");
        assertThat(segments()).containsExactly("enter adders (added) 0m", "exit adders (suppressed) 10m");
        assertThat(counter("alertsSuppressed")).isEqualTo(1);

        // lifted: the next match acts again
        send(new ActionInput.Matched(match("u1", T + 35 * MIN, T + 40 * MIN)));
        h.processWatermark(T + HOUR);
        assertThat(alerts()).containsExactly("u1 0m", "u1 40m");
        assertThat(segments()).last().isEqualTo("enter adders (added) 40m");
        assertThat(h.numKeyedStateEntries()).as("the membership (and recent alerts); no suppression left").isGreaterThan(0);
    }

    @Test
    void anErasureEndsMembershipsAndDropsMatchesOfEarlierEventsButNotLaterOnes() throws Exception {
        send(new ActionInput.Matched(match("u1", T - 5 * MIN, T)));
        send(new ActionInput.PrivacySignal("u1", ActionInput.Signal.ERASE, T + 10 * MIN));
        // decided after the erasure, but binding a view from before it: dropped
        send(new ActionInput.Matched(match("u1", T + 5 * MIN, T + 20 * MIN)));
        // only events after the erasure: the user's new behaviour
        send(new ActionInput.Matched(match("u1", T + 30 * MIN, T + 35 * MIN)));
        h.processWatermark(T + HOUR);
        assertThat(alerts()).containsExactly("u1 0m", "u1 35m");
        assertThat(segments()).containsExactly("enter adders (added) 0m", "exit adders (erased) 10m", "enter adders (added) 35m");
        assertThat(counter("matchesErased")).isEqualTo(1);

        // the erasure marker lives as long as a match can span (1 h + slack), then it is gone with the membership
        h.processWatermark(T + 10 * MIN + PatternActionsFunction.maxSpanMillis(def) + HOUR);
        send(new ActionInput.SegmentExit("u1", "adders", "added", "order", T + 3 * HOUR, null));
        h.processWatermark(T + 4 * HOUR);
        assertThat(segments()).last().isEqualTo("exit adders (added) 180m");
        assertThat(h.numKeyedStateEntries()).as("nothing left of u1").isZero();
        assertThat(h.numEventTimeTimers()).isZero();
    }

    @Test
    void theLongestSpanOfAPatternBoundsTheErasureMarker() {
        assertThat(PatternActionsFunction.maxSpanMillis(def)).isEqualTo(HOUR);
        PatternDefinition cart = PatternLoader.loadString("c.yaml", """
                id: c
                version: 1
                steps:
                  - {name: viewed, event: Product Viewed}
                  - {name: added, event: Product Added, within: 30m}
                  - {name: no_order, absent: {event: Order Completed}, for: 15m}
                actions:
                  alert: {type: x}
                """).orThrow().get(0);
        assertThat(PatternActionsFunction.maxSpanMillis(cart)).isEqualTo(45 * MIN);
    }
}
