package io.behaviorcep.profile;

import io.behaviorcep.config.JobConfig;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.KeyedPathRecords;
import io.behaviorcep.ingest.IngestFilter;
import io.behaviorcep.output.ProfileRecord;
import io.behaviorcep.pattern.Durations;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.privacy.PrivacyRules;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static io.behaviorcep.profile.ProfileState.DAY;
import static io.behaviorcep.profile.ProfileState.HOUR;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Records of the control topic in the keyed operators: applied when they arrive, at the current
 * watermark, whatever their own time; and, with the default settings, the public event forms of
 * erasure and opt-in are ordinary events.
 */
class ProfileControlTest {
    static final long D0 = Instant.parse("2026-03-02T00:00:00Z").toEpochMilli();

    private KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent> h;

    void open(PrivacyRules rules) throws Exception {
        var segments = PatternLoader.loadString("segments.yaml", """
                kind: segments
                segments:
                  - {id: new, when: profile.days_since_first_seen < 7}
                """).segments();
        ProfileOptions options = new ProfileOptions(Duration.ofDays(30), segments, Duration.ofMinutes(15), rules);
        h = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(new ProfileFunction(options)),
                (BehaviorEvent e) -> e.userKey, Types.STRING);
        h.open();
    }

    @AfterEach
    void close() throws Exception {
        if (h != null) h.close();
    }

    static BehaviorEvent ev(String user, long ts, String type, String name) {
        BehaviorEvent e = new BehaviorEvent();
        e.type = type;
        e.event = name;
        e.messageId = user + "-" + ts + "-" + name;
        e.userId = user;
        e.userKey = user;
        e.timestamp = ts;
        return e;
    }

    static BehaviorEvent view(String user, long ts) {
        return ev(user, ts, "track", "Product Viewed");
    }

    void send(BehaviorEvent e) throws Exception {
        h.processElement(new StreamRecord<>(e, e.timestamp));
    }

    void control(String type, String user, long at) throws Exception {
        send(PrivacyRules.controlRecord(user, type, "req-1", at));
    }

    List<String> segmentLines(String user) {
        var q = h.getSideOutput(ProfileFunction.THRESHOLD_UPDATES);
        return q == null ? List.of() : q.stream().map(StreamRecord::getValue).filter(u -> u.userId.equals(user))
                .map(u -> u.action + " " + u.segment + " (" + u.reason + ") " + Durations.formatOffset(u.at - D0)).collect(Collectors.toList());
    }

    List<String> controls() {
        return h.extractOutputValues().stream().filter(KeyedPathRecords::isActionsControl)
                .map(c -> c.property(KeyedPathRecords.CONTROL_PROPERTY) + " " + c.userKey + " " + Durations.formatOffset(c.timestamp - D0))
                .collect(Collectors.toList());
    }

    List<String> erasureRecords() {
        var q = h.getSideOutput(ProfileFunction.PROFILE_RECORDS);
        return q == null ? List.of() : q.stream().map(StreamRecord::getValue).filter(r -> ProfileRecord.ERASURE.equals(r.kind))
                .map(r -> r.userId + " " + Durations.formatOffset(r.at - D0)).collect(Collectors.toList());
    }

    List<BehaviorEvent> counted(String user) {
        return h.extractOutputValues().stream().filter(e -> e.profile != null && user.equals(e.userKey)).collect(Collectors.toList());
    }

    @Test
    void anErasureFromTheControlTopicIsAppliedWhenItArrivesThoughItsTimeIsFarBehind() throws Exception {
        open(PrivacyRules.none());
        send(view("u1", D0 + HOUR));
        send(view("u2", D0 + HOUR));
        h.processWatermark(D0 + 2 * HOUR);
        // waiting for the watermark when the erasure comes: it is the user's too, and goes
        send(view("u1", D0 + 3 * HOUR));
        control(PrivacyRules.CONTROL_ERASE, "u1", D0 - 30 * DAY);

        assertThat(segmentLines("u1")).containsExactly("enter new (new) +1h", "exit new (erased) +2h1ms");
        assertThat(controls()).containsExactly("erase u1 +2h1ms");
        assertThat(erasureRecords()).containsExactly("u1 +2h1ms");
        // on to the pattern engine, at the same time, so it is not late there either
        BehaviorEvent onward = h.extractOutputValues().stream().filter(PrivacyRules::isControlErasure).findFirst().orElseThrow();
        assertThat(onward.userKey).isEqualTo("u1");
        assertThat(onward.timestamp).isEqualTo(D0 + 2 * HOUR + 1);

        h.processWatermark(D0 + 4 * HOUR);
        assertThat(counted("u1")).as("the waiting event was dropped").hasSize(1);
        // the state went: what the user does next starts a new profile
        send(view("u1", D0 + 5 * HOUR));
        h.processWatermark(D0 + 6 * HOUR);
        assertThat(counted("u1")).hasSize(2);
        assertThat(counted("u1").get(1).profile.eventsLifetime).isEqualTo(1);
        // another user is untouched
        assertThat(segmentLines("u2")).containsExactly("enter new (new) +1h");
    }

    @Test
    void anOptOutFromTheControlTopicHoldsUntilAnOptInFromTheControlTopic() throws Exception {
        open(PrivacyRules.none());
        send(view("u1", D0 + HOUR));
        h.processWatermark(D0 + 2 * HOUR);
        control(PrivacyRules.CONTROL_OPT_OUT, "u1", D0 - DAY);
        send(view("u1", D0 + 3 * HOUR));
        h.processWatermark(D0 + 4 * HOUR);
        control(PrivacyRules.CONTROL_OPT_IN, "u1", D0 - DAY);
        send(view("u1", D0 + 5 * HOUR));
        h.processWatermark(D0 + 6 * HOUR);

        assertThat(controls()).containsExactly("suppress u1 +2h1ms", "unsuppress u1 +4h1ms");
        assertThat(segmentLines("u1")).containsExactly("enter new (new) +1h", "exit new (suppressed) +2h1ms", "enter new (new) +4h1ms");
        assertThat(counted("u1")).extracting(e -> e.timestamp).containsExactly(D0 + HOUR, D0 + 5 * HOUR);
    }

    @Test
    void byDefaultThePublicEventFormsAreOrdinaryEvents() throws Exception {
        JobConfig defaults = JobConfig.of(Map.of("kafka.bootstrap-servers", "unused:9092"));
        assertThat(defaults.controlsFromEvents()).isFalse();
        open(defaults.privacyRules());
        h.processWatermark(D0);
        send(view("victim", D0 + HOUR));
        control(PrivacyRules.CONTROL_OPT_OUT, "opted-out", D0);
        send(ev("victim", D0 + 2 * HOUR, "track", "User Deleted"));
        send(ev("opted-out", D0 + 2 * HOUR, "track", "Opted In"));
        BehaviorEvent trait = ev("opted-out", D0 + 2 * HOUR, "identify", null);
        trait.properties.put("opt_out", "false");
        send(trait);
        send(view("opted-out", D0 + 3 * HOUR));
        h.processWatermark(D0 + 4 * HOUR);

        assertThat(erasureRecords()).isEmpty();
        assertThat(controls()).containsExactly("suppress opted-out +1ms");
        // the victim's "User Deleted" was counted like any event, after their view
        assertThat(counted("victim")).hasSize(2);
        assertThat(counted("victim").get(1).profile.eventsLifetime).isEqualTo(2);
        assertThat(counted("opted-out")).isEmpty();
        assertThat(segmentLines("victim")).containsExactly("enter new (new) +1h");
    }

    @Test
    void withControlsFromEventsTheEventFormsApplyAsBefore() {
        JobConfig on = JobConfig.of(Map.of("kafka.bootstrap-servers", "unused:9092", "privacy.controls-from-events", "true"));
        PrivacyRules rules = on.privacyRules();
        assertThat(rules.classify(ev("u", D0, "track", "User Deleted"))).isEqualTo(PrivacyRules.Kind.ERASURE);
        assertThat(rules.classify(ev("u", D0, "track", "Opted In"))).isEqualTo(PrivacyRules.Kind.OPT_IN);
        PrivacyRules off = JobConfig.of(Map.of("kafka.bootstrap-servers", "unused:9092")).privacyRules();
        assertThat(off.classify(ev("u", D0, "track", "User Deleted"))).isEqualTo(PrivacyRules.Kind.NORMAL);
        assertThat(off.classify(ev("u", D0, "track", "Opted Out"))).isEqualTo(PrivacyRules.Kind.NORMAL);
        assertThat(off.erasureEvent()).isNull();
        // consent is not a control: it stays
        BehaviorEvent denied = ev("u", D0, "track", "Product Viewed");
        denied.context.put("consent.analytics", "false");
        assertThat(off.classify(denied)).isEqualTo(PrivacyRules.Kind.CONSENT_DENIED);
    }

    @Test
    void theIngestFilterPassesControlsBehindTheWatermarkAndAnErasureForgetsTheSeenIds() throws Exception {
        try (KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent> f = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new IngestFilter(Duration.ofHours(24))), (BehaviorEvent e) -> e.userKey, Types.STRING)) {
            f.open();
            f.processElement(new StreamRecord<>(view("u1", D0 + HOUR), D0 + HOUR));
            f.processWatermark(D0 + 2 * HOUR);
            BehaviorEvent erase = PrivacyRules.controlRecord("u1", PrivacyRules.CONTROL_ERASE, "r", D0 - DAY);
            f.processElement(new StreamRecord<>(erase, erase.timestamp));
            assertThat(f.getSideOutput(IngestFilter.LATE)).as("never late").isNullOrEmpty();
            assertThat(f.extractOutputValues()).contains(erase);
            // the id seen before the erasure is forgotten: the same messageId passes again
            BehaviorEvent again = view("u1", D0 + HOUR);
            again.timestamp = D0 + 3 * HOUR;
            f.processElement(new StreamRecord<>(again, again.timestamp));
            assertThat(f.extractOutputValues()).hasSize(3);
        }
    }
}
