package io.behaviorcep.identity;

import io.behaviorcep.IdentityResolver;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.privacy.PrivacyRules;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.util.KeyedBroadcastOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static io.behaviorcep.identity.IdentityLinksTest.event;
import static org.assertj.core.api.Assertions.assertThat;

/** The resolver operator: its keyed state and timer, and erasures on its broadcast input reaching every id it holds. */
class IdentityResolverTest {
    static final long DAY = 86_400_000L;
    KeyedBroadcastOperatorTestHarness<String, BehaviorEvent, BehaviorEvent, BehaviorEvent> h;

    @BeforeEach
    void open() throws Exception {
        h = ProcessFunctionTestHarnesses.forKeyedBroadcastProcessFunction(new IdentityResolver(200, Duration.ofDays(7)),
                IdentityLinks::addressOf, Types.STRING, new org.apache.flink.api.common.state.MapStateDescriptor<?, ?>[0]);
    }

    @AfterEach
    void close() throws Exception {
        h.close();
    }

    void send(BehaviorEvent e) throws Exception {
        h.processElement(e, e.timestamp);
    }

    List<String> out() {
        return h.extractOutputValues().stream().map(e -> PrivacyRules.isControlRecord(e)
                ? e.property(PrivacyRules.CONTROL_PROPERTY) + ":@" + e.userKey
                : e.type + ":" + e.messageId + "@" + e.userKey).toList();
    }

    @Test
    void anErasureOfTheUserOnTheBroadcastInputErasesTheAnonymousIdsLinkedToIt() throws Exception {
        send(event("v1", null, "a1", 1000));
        send(event("id", "u1", "a1", 2000));
        send(event("w1", null, "a2", 1000)); // another visitor, not linked
        assertThat(out()).containsExactly("track:v1@a1", "retire:@a1", "track:v1@u1", "track:id@u1", "track:w1@a2");

        h.processBroadcastElement(PrivacyRules.controlRecord("u1", PrivacyRules.CONTROL_ERASE, "ticket", 9000), 9000);
        assertThat(out()).endsWith("erase:@a1");
        h.getOutput().clear();
        // a1 is forgotten: its next event is anonymous again, kept for a link to come; a2 kept its events
        send(event("v2", null, "a1", 3000));
        send(event("id2", "u2", "a2", 3000));
        assertThat(out()).containsExactly("track:v2@a1", "retire:@a2", "track:w1@u2", "track:id2@u2");
    }

    @Test
    void anIdIsForgottenAtItsRetention() throws Exception {
        send(event("v1", null, "a1", 1000));
        h.watermark(1000 + 7 * DAY);
        h.getOutput().clear();
        send(event("id", "u1", "a1", 8 * DAY));
        assertThat(out()).as("nothing kept to replay, and no state to retire").containsExactly("track:id@u1");
    }
}
