package io.behaviorcep.identity;

import io.behaviorcep.BehaviorCepPipeline;
import io.behaviorcep.output.Alert;
import io.behaviorcep.action.PatternActionsFunction;
import io.behaviorcep.config.JobConfig;
import io.behaviorcep.engine.ActionInput;
import io.behaviorcep.engine.ActionInputTypeInfo;
import io.behaviorcep.engine.PatternEngineFunction;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.ingest.IngestFilter;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.profile.ProfileFunction;
import io.behaviorcep.segment.SegmentUpdate;

import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The keyed path's part of identity stitching, through its real operators (dedup, profile, engine,
 * actions, each in a harness, records handed on in order as the chain does), fed by the resolver's
 * decisions ({@link IdentityLinks}): the retirement of the anonymous id, replayed events that are
 * never late, and alerts the anonymous id already raised not being sent again.
 */
class StitchedKeyedPathTest {
    static final long T0 = 1_767_000_000_000L;
    static final long MIN = 60_000L;
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

    KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent> dedup;
    KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent> profile;
    KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, ActionInput> engine;
    KeyedOneInputStreamOperatorTestHarness<String, ActionInput, Alert> actions;
    final IdentityLinks links = new IdentityLinks(200, Duration.ofDays(7).toMillis());
    final Map<String, IdentityLinksTest.MapStore> resolverState = new HashMap<>();
    /** What the profile handed on, with the profile each event got. */
    final List<BehaviorEvent> profiled = new ArrayList<>();
    final List<Alert> alerts = new ArrayList<>();

    @BeforeEach
    void open() throws Exception {
        PatternDefinition def = PatternLoader.loadString("added.yaml", PATTERN).orThrow().get(0);
        JobConfig config = JobConfig.of(Map.of("kafka.bootstrap-servers", "localhost:9092"));
        dedup = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(new IngestFilter(Duration.ofHours(24))),
                (BehaviorEvent e) -> e.userKey, Types.STRING);
        profile = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(
                new ProfileFunction(BehaviorCepPipeline.profileOptions(config, List.of()))), (BehaviorEvent e) -> e.userKey, Types.STRING);
        engine = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(new PatternEngineFunction(List.of(def))),
                (BehaviorEvent e) -> e.userKey, Types.STRING);
        engine.setup(ActionInputTypeInfo.INSTANCE.createSerializer(new SerializerConfigImpl()));
        actions = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(new PatternActionsFunction(List.of(def))),
                (ActionInput in) -> in.userKey(), Types.STRING);
        dedup.open();
        profile.open();
        engine.open();
        actions.open();
    }

    @AfterEach
    void close() throws Exception {
        dedup.close();
        profile.close();
        engine.close();
        actions.close();
    }

    static BehaviorEvent event(String userId, String anonymousId, String name, long minute) {
        BehaviorEvent e = new BehaviorEvent();
        e.userId = userId;
        e.anonymousId = anonymousId;
        e.userKey = userId != null ? userId : anonymousId;
        e.messageId = (anonymousId != null ? anonymousId : userId) + ":" + name + "@" + minute;
        e.type = name.equals("identify") ? "identify" : "track";
        e.event = name.equals("identify") ? null : name;
        e.timestamp = T0 + minute * MIN;
        return e;
    }

    /** An event through the resolver's decisions, and what they emit through the keyed path. */
    void send(BehaviorEvent e) throws Exception {
        List<BehaviorEvent> resolved = new ArrayList<>();
        links.route(e, resolverState.computeIfAbsent(IdentityLinks.addressOf(e), k -> new IdentityLinksTest.MapStore()), resolved::add);
        for (BehaviorEvent r : resolved) {
            dedup.processElement(new StreamRecord<>(r, r.timestamp));
            flow();
        }
    }

    void watermark(long minute) throws Exception {
        long w = T0 + minute * MIN;
        dedup.processWatermark(w);
        flow();
        profile.processWatermark(w);
        flow();
        engine.processWatermark(w);
        flow();
        actions.processWatermark(w);
        flow();
    }

    /** Hands each operator's new records on to the next, as the chain does. */
    @SuppressWarnings("unchecked")
    void flow() throws Exception {
        for (Object o : drain(dedup.getOutput())) profile.processElement((StreamRecord<BehaviorEvent>) o);
        for (Object o : drain(profile.getOutput())) {
            profiled.add(((StreamRecord<BehaviorEvent>) o).getValue());
            engine.processElement((StreamRecord<BehaviorEvent>) o);
        }
        for (Object o : drain(engine.getOutput())) actions.processElement((StreamRecord<ActionInput>) o);
        for (Object o : drain(actions.getOutput())) alerts.add(((StreamRecord<Alert>) o).getValue());
    }

    static List<Object> drain(Queue<Object> output) {
        List<Object> records = new ArrayList<>();
        for (Object o; (o = output.poll()) != null; ) if (o instanceof StreamRecord) records.add(o);
        return records;
    }

    List<String> alerts() {
        return alerts.stream().map(a -> a.userId + " " + (a.detectedAt - T0) / MIN + "m").toList();
    }

    List<String> segments() {
        var q = actions.getSideOutput(PatternActionsFunction.SEGMENT_UPDATES);
        return q == null ? List.of() : q.stream().map(StreamRecord::getValue)
                .map((SegmentUpdate u) -> u.userId + " " + u.action + " (" + u.reason + ") " + (u.at - T0) / MIN + "m").toList();
    }

    @Test
    void anAlertTheAnonymousIdRaisedIsNotSentAgainUnderTheUserWhoseSegmentEnterIs() throws Exception {
        send(event(null, "a1", "Product Viewed", 0));
        send(event(null, "a1", "Product Added", 1));
        watermark(10);
        assertThat(alerts()).containsExactly("a1 1m");

        send(event("u1", "a1", "identify", 20));
        watermark(30);
        assertThat(alerts()).as("the user's replayed match was already alerted under the anonymous id").containsExactly("a1 1m");
        assertThat(segments()).containsExactlyInAnyOrder("a1 enter (added) 1m", "a1 exit (merged) 10m", "u1 enter (added) 1m");
        assertThat(dedup.getSideOutput(IngestFilter.LATE)).as("replayed events are never late").isNull();
        assertThat(engine.getSideOutput(PatternEngineFunction.LATE)).isNull();

        // the user's own behaviour after the link is alerted as ever, under the user
        send(event("u1", "a1", "Product Viewed", 35));
        send(event("u1", "a1", "Product Added", 40));
        watermark(50);
        assertThat(alerts()).containsExactly("a1 1m", "u1 40m");
    }

    @Test
    void aLinkBeforeTheAnonymousEventsWereActedOnAlertsTheUserOnceAndTheAnonymousIdNever() throws Exception {
        send(event(null, "a1", "Product Viewed", 0));
        send(event(null, "a1", "Product Added", 1));
        send(event("u1", "a1", "identify", 2));
        // a producer's retry of the anonymous view, after the link: the user has seen its id
        send(event(null, "a1", "Product Viewed", 0));
        watermark(30);
        assertThat(alerts()).containsExactly("u1 1m");
        assertThat(segments()).containsExactly("u1 enter (added) 1m");
        assertThat(profiled.stream().filter(e -> "u1".equals(e.userKey)).map(e -> e.messageId))
                .containsExactly("a1:Product Viewed@0", "a1:Product Added@1", "a1:identify@2");
    }

    @Test
    void interleavedHistoriesAreCountedByTheProfileAndSkippedByTheEngine() throws Exception {
        send(event(null, "a1", "Product Viewed", 5));
        send(event(null, "a1", "Product Added", 6));
        send(event("u1", null, "Page Viewed", 8)); // the user, logged in on another device meanwhile
        watermark(10);
        send(event("u1", "a1", "identify", 20));
        watermark(30);
        assertThat(alerts()).containsExactly("a1 6m");
        BehaviorEvent identify = profiled.get(profiled.size() - 1);
        assertThat(identify.messageId).isEqualTo("a1:identify@20");
        assertThat(identify.profile.eventsLifetime).as("the page, the replayed view and add, and the identify").isEqualTo(4);
        assertThat(dedup.getSideOutput(IngestFilter.LATE)).isNull();
        assertThat(engine.getSideOutput(PatternEngineFunction.LATE)).isNull();
    }
}
