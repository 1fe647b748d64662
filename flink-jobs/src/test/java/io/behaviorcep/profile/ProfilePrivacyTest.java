package io.behaviorcep.profile;

import io.behaviorcep.engine.ActionInput;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.KeyedPathRecords;
import io.behaviorcep.output.ProfileRecord;
import io.behaviorcep.pattern.Durations;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.privacy.PrivacyRules;
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
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static io.behaviorcep.profile.ProfileState.DAY;
import static io.behaviorcep.profile.ProfileState.HOUR;
import static org.assertj.core.api.Assertions.assertThat;

/** Consent, opt-out, the suppression list and erasure in the profile operator. */
class ProfilePrivacyTest {
    static final long D0 = Instant.parse("2026-03-02T00:00:00Z").toEpochMilli();
    static final long MIN = 60_000L;

    private InterceptingOperatorMetricGroup metrics;
    private MockEnvironment env;
    private KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent> h;

    void open(PrivacyRules rules) throws Exception {
        metrics = new InterceptingOperatorMetricGroup();
        InterceptingTaskMetricGroup task = new InterceptingTaskMetricGroup() {
            @Override
            public InternalOperatorMetricGroup getOrAddOperator(OperatorID id, String name, Map<String, String> info) {
                return metrics;
            }
        };
        env = new MockEnvironmentBuilder().setMetricGroup(task).build();
        var segments = PatternLoader.loadString("segments.yaml", """
                kind: segments
                segments:
                  - {id: new, when: profile.days_since_first_seen < 7}
                  - {id: viewer, when: profile.product_views_30d >= 1}
                """).segments();
        ProfileOptions options = new ProfileOptions(Duration.ofDays(30), segments, Duration.ofMinutes(15), rules);
        h = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(new ProfileFunction(options)),
                (BehaviorEvent e) -> e.userKey, Types.STRING, env);
        h.open();
    }

    @AfterEach
    void close() throws Exception {
        if (h != null) h.close();
        if (env != null) env.close();
    }

    long counter(String name) {
        return ((Counter) metrics.get(name)).getCount();
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

    List<String> segmentLines() {
        return segmentLines("u1");
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

    /** The events counted into a profile and passed on (an erasure is passed on too, without a profile, for the pattern engine). */
    List<String> counted() {
        return h.extractOutputValues().stream().filter(e -> e.profile != null).map(e -> e.messageId).collect(Collectors.toList());
    }

    List<String> passedOnWithoutProfile() {
        return h.extractOutputValues().stream().filter(e -> e.profile == null && !KeyedPathRecords.isActionsControl(e)).map(e -> e.event).collect(Collectors.toList());
    }

    @Test
    void eventsWithoutAnalyticsConsentLeaveNoTrace() throws Exception {
        open(PrivacyRules.defaults());
        BehaviorEvent denied = view("u1", D0 + HOUR);
        denied.context.put("consent.analytics", "false");
        BehaviorEvent deniedWord = view("u1", D0 + 2 * HOUR);
        deniedWord.context.put("consent.analytics", "DENIED");
        BehaviorEvent granted = view("u2", D0 + 3 * HOUR);
        granted.context.put("consent.analytics", "true");
        send(denied);
        send(deniedWord);
        assertThat(h.numKeyedStateEntries()).as("nothing stored, not even while waiting for the watermark").isZero();
        assertThat(h.numEventTimeTimers()).isZero();
        send(granted);
        h.processWatermark(D0 + DAY);
        assertThat(counted()).containsExactly("u2-" + (D0 + 3 * HOUR) + "-Product Viewed");
        assertThat(segmentLines("u1")).isEmpty();
        assertThat(segmentLines("u2")).containsExactly("enter new (new) +3h", "enter viewer (viewer) +3h");
        assertThat(counter("consentDenied")).isEqualTo(2);
    }

    @Test
    void whenConsentIsRequiredEventsWithoutItAreDroppedToo() throws Exception {
        open(new PrivacyRules("context.consent.analytics", Set.of("false"), true, null, null, null, null));
        send(view("u1", D0 + HOUR));
        BehaviorEvent granted = view("u1", D0 + 2 * HOUR);
        granted.context.put("consent.analytics", "true");
        send(granted);
        h.processWatermark(D0 + DAY);
        assertThat(counted()).containsExactly("u1-" + (D0 + 2 * HOUR) + "-Product Viewed");
        assertThat(counter("consentDenied")).isEqualTo(1);
    }

    @Test
    void anOptOutLeavesEverySegmentAndStopsProfilingUntilTheUserOptsBackIn() throws Exception {
        open(PrivacyRules.defaults());
        send(view("u1", D0 + HOUR));
        send(ev("u1", D0 + 2 * HOUR, "track", "Opted Out"));
        send(view("u1", D0 + 3 * HOUR));
        BehaviorEvent optIn = ev("u1", D0 + 4 * HOUR, "identify", null);
        optIn.properties.put("opt_out", "false");
        send(optIn);
        send(view("u1", D0 + 5 * HOUR));
        h.processWatermark(D0 + DAY);

        // back in at 4h: the profile kept from before qualifies again at once
        assertThat(segmentLines()).containsExactly("enter new (new) +1h", "enter viewer (viewer) +1h",
                "exit new (suppressed) +2h", "exit viewer (suppressed) +2h",
                "enter new (new) +4h", "enter viewer (viewer) +4h");
        assertThat(controls()).containsExactly("suppress u1 +2h", "unsuppress u1 +4h");
        // the view while opted out was neither profiled nor passed on to the patterns
        assertThat(counted()).containsExactly("u1-" + (D0 + HOUR) + "-Product Viewed", "u1-" + (D0 + 5 * HOUR) + "-Product Viewed");
        assertThat(h.extractOutputValues().stream().filter(e -> e.profile != null).toList().get(1).profile.productViewsLifetime).isEqualTo(2);
        assertThat(counter("suppressedEventsDropped")).isEqualTo(1);
        assertThat(counter("optOuts")).isEqualTo(1);
    }

    @Test
    void anIdentifyTraitOptsOut() throws Exception {
        open(PrivacyRules.defaults());
        BehaviorEvent identify = ev("u1", D0 + HOUR, "identify", null);
        identify.properties.put("opt_out", "true");
        send(identify);
        send(view("u1", D0 + 2 * HOUR));
        h.processWatermark(D0 + DAY);
        assertThat(counted()).isEmpty();
        assertThat(segmentLines()).isEmpty();
        assertThat(controls()).containsExactly("suppress u1 +1h");
    }

    @Test
    void theSuppressionListActsWhenItsRowArrivesAtTheCurrentWatermark() throws Exception {
        open(PrivacyRules.defaults());
        send(view("u1", D0 + HOUR));
        h.processWatermark(D0 + 2 * HOUR);
        send(PrivacyRules.suppressionListRecord("u1", true, D0 - DAY)); // its own time does not matter
        assertThat(segmentLines()).containsExactly("enter new (new) +1h", "enter viewer (viewer) +1h",
                "exit new (suppressed) +2h1ms", "exit viewer (suppressed) +2h1ms");
        assertThat(controls()).containsExactly("suppress u1 +2h1ms");
        send(view("u1", D0 + 3 * HOUR));
        h.processWatermark(D0 + 4 * HOUR);
        assertThat(counted()).hasSize(1);
        // the same row again changes nothing; the row lifted brings the user back
        send(PrivacyRules.suppressionListRecord("u1", true, D0));
        send(PrivacyRules.suppressionListRecord("u1", false, D0));
        assertThat(controls()).containsExactly("suppress u1 +2h1ms", "unsuppress u1 +4h1ms");
        assertThat(segmentLines()).hasSize(6).endsWith("enter new (new) +4h1ms", "enter viewer (viewer) +4h1ms");
        // a listed user nobody has seen yet gets a marker, and their first event is dropped
        send(PrivacyRules.suppressionListRecord("u9", true, D0));
        send(view("u9", D0 + 5 * HOUR));
        h.processWatermark(D0 + 6 * HOUR);
        assertThat(counted()).hasSize(1);
    }

    @Test
    void anErasureClearsTheUserAndAsksForTheirRowsToBeDeleted() throws Exception {
        open(PrivacyRules.defaults());
        send(view("u1", D0 + HOUR));
        send(ev("u1", D0 + 2 * HOUR, "track", "User Deleted"));
        send(view("u2", D0 + 2 * HOUR));
        h.processWatermark(D0 + 3 * HOUR);

        assertThat(segmentLines("u1")).containsExactly("enter new (new) +1h", "enter viewer (viewer) +1h",
                "exit new (erased) +2h", "exit viewer (erased) +2h");
        assertThat(segmentLines("u2")).containsExactly("enter new (new) +2h", "enter viewer (viewer) +2h");
        assertThat(controls()).containsExactly("erase u1 +2h");
        List<ProfileRecord> records = h.getSideOutput(ProfileFunction.PROFILE_RECORDS).stream().map(StreamRecord::getValue).toList();
        assertThat(records).extracting(r -> r.kind + " " + r.userId + " " + Durations.formatOffset(r.at - D0))
                .containsExactlyInAnyOrder("profile u1 +1h", "erasure u1 +2h", "profile u2 +2h");
        assertThat(counter("erasures")).isEqualTo(1);
        // only u2 holds state now: one value (profile, timer time, two memberships)
        assertThat(h.numKeyedStateEntries()).isEqualTo(1);
        assertThat(h.numEventTimeTimers()).isEqualTo(1);

        // the user comes back: a new profile, from scratch
        send(view("u1", D0 + 5 * HOUR));
        h.processWatermark(D0 + 5 * HOUR);
        BehaviorEvent back = h.extractOutputValues().get(h.extractOutputValues().size() - 1);
        assertThat(back.profile.firstSeen).isEqualTo(D0 + 5 * HOUR);
        assertThat(back.profile.productViewsLifetime).isEqualTo(1);
    }

    @Test
    void theRulesComeFromTheJobConfig() {
        var config = io.behaviorcep.config.JobConfig.of(Map.of("kafka.bootstrap-servers", "x:9092",
                "privacy.consent-field", "properties.tracking", "privacy.consent-denied-values", "no, off",
                "privacy.erasure-event", "Account Deleted", "privacy.opt-out-event", "",
                // the event forms of erasure and opt-out apply only when switched on
                "privacy.controls-from-events", "true"));
        PrivacyRules rules = config.privacyRules();
        BehaviorEvent off = view("u1", D0);
        off.properties.put("tracking", "OFF");
        assertThat(rules.classify(off)).isEqualTo(PrivacyRules.Kind.CONSENT_DENIED);
        BehaviorEvent deniedByDefaultPath = view("u1", D0);
        deniedByDefaultPath.context.put("consent.analytics", "false");
        assertThat(rules.classify(deniedByDefaultPath)).isEqualTo(PrivacyRules.Kind.NORMAL);
        assertThat(rules.classify(ev("u1", D0, "track", "Account Deleted"))).isEqualTo(PrivacyRules.Kind.ERASURE);
        assertThat(rules.classify(ev("u1", D0, "track", "User Deleted"))).isEqualTo(PrivacyRules.Kind.NORMAL);
        assertThat(rules.classify(ev("u1", D0, "track", "Opted Out"))).as("switched off").isEqualTo(PrivacyRules.Kind.NORMAL);
        assertThat(io.behaviorcep.config.JobConfig.of(Map.of("kafka.bootstrap-servers", "x:9092", "privacy.erasure-event", "Account Deleted"))
                .privacyRules().classify(ev("u1", D0, "track", "Account Deleted"))).as("without privacy.controls-from-events")
                .isEqualTo(PrivacyRules.Kind.NORMAL);

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> io.behaviorcep.config.JobConfig.of(Map.of(
                        "kafka.bootstrap-servers", "x:9092", "privacy.pseudonymize", "yes", "privacy.consent-required", "1",
                        "profile.write-interval", "soon")))
                .hasMessageContaining("privacy.pseudonymize must be true or false")
                .hasMessageContaining("privacy.consent-required must be true or false")
                .hasMessageContaining("profile.write-interval");
    }

    @Test
    void anErasedUserWhoOptedOutStaysOptedOut() throws Exception {
        open(PrivacyRules.defaults());
        send(view("u1", D0 + HOUR));
        send(ev("u1", D0 + 2 * HOUR, "track", "Opted Out"));
        send(ev("u1", D0 + 3 * HOUR, "track", "User Deleted"));
        send(view("u1", D0 + 4 * HOUR));
        h.processWatermark(D0 + 2 * DAY);
        assertThat(counted()).hasSize(1);
        assertThat(passedOnWithoutProfile()).as("the erasure, for the pattern engine").containsExactly("User Deleted");
        assertThat(controls()).containsExactly("suppress u1 +2h", "erase u1 +3h");
        assertThat(h.numKeyedStateEntries()).as("the opt-out marker").isEqualTo(1);
        assertThat(h.numEventTimeTimers()).isZero();
    }
}
