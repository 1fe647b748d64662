package io.behaviorcep.profile;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.PatternChange;
import io.behaviorcep.pattern.PatternLoader;
import io.behaviorcep.privacy.PrivacyRules;
import io.behaviorcep.trait.TraitSet;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static io.behaviorcep.profile.ProfileState.DAY;
import static io.behaviorcep.profile.ProfileState.HOUR;
import static io.behaviorcep.profile.ThresholdSegmentsTest.D0;
import static io.behaviorcep.profile.ThresholdSegmentsTest.MIN;
import static io.behaviorcep.profile.ThresholdSegmentsTest.ev;
import static io.behaviorcep.profile.ThresholdSegmentsTest.lines;
import static io.behaviorcep.profile.ThresholdSegmentsTest.send;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Computed traits in the profile operator: on every event's profile, read by threshold segments
 * (also by time alone), and changed in a running job by an in-band definitions record.
 */
class ProfileTraitsTest {
    static final String TRAITS = """
            kind: traits
            traits:
              - {id: cart_value, function: sum, event: Product Added, property: properties.price, since: Order Completed}
              - {id: adds_2h, function: count, event: Product Added, window: 2h}
            """;
    static final String SEGMENTS = """
            kind: segments
            segments:
              - {id: big_cart, when: profile.traits.cart_value >= 100}
              - {id: adding, when: profile.traits.adds_2h >= 2}
            """;

    static KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent> harness(Map<String, String> files, OperatorSubtaskState from)
            throws Exception {
        PatternLoader.Result r = PatternLoader.loadAll(files);
        assertThat(r.problems()).isEmpty();
        ProfileOptions options = new ProfileOptions(Duration.ofDays(90), r.segments(), null, PrivacyRules.defaults())
                .withTraits(new TraitSet(r.traits()));
        var h = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(new ProfileFunction(options)),
                (BehaviorEvent e) -> e.userKey, Types.STRING);
        if (from != null) h.initializeState(from);
        h.open();
        return h;
    }

    static BehaviorEvent add(long at, String price) {
        return ev("u1", at, "track", "Product Added", "price", price);
    }

    static List<String> traitsOfEvents(KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent> h) {
        return h.extractOutputValues().stream().filter(e -> e.profile != null)
                .map(e -> e.event + " cart_value=" + e.profile.field("traits.cart_value") + " adds_2h=" + e.profile.field("traits.adds_2h")).toList();
    }

    @Test
    void everyEventCarriesTheTraitsAsOfItAndSegmentsFollowThemAlsoByTimeAlone() throws Exception {
        var h = harness(Map.of("traits.yaml", TRAITS, "segments.yaml", SEGMENTS), null);
        send(h, add(D0 + 10 * HOUR, "60"));
        send(h, add(D0 + 10 * HOUR + 30 * MIN, "50"));
        send(h, ev("u1", D0 + 11 * HOUR, "track", "Order Completed"));
        h.processWatermark(D0 + 11 * HOUR);
        assertThat(traitsOfEvents(h)).containsExactly(
                "Product Added cart_value=60.0 adds_2h=1",
                "Product Added cart_value=110.0 adds_2h=2",
                "Order Completed cart_value=0.0 adds_2h=2");
        assertThat(lines(h)).containsExactly(
                "enter adding (adding) +10h30m", "enter big_cart (big_cart) +10h30m", "exit big_cart (big_cart) +11h");
        // adds_2h holds the hours 10 and 11 at 11:xx; at 12:00 the hour 10 leaves it: left by time alone
        h.processWatermark(D0 + 12 * HOUR - 1);
        assertThat(lines(h)).hasSize(3);
        h.processWatermark(D0 + 12 * HOUR);
        assertThat(lines(h)).endsWith("exit adding (adding) +12h");
        h.close();
    }

    @Test
    void aDefinitionsRecordChangesSegmentsAndTraitsAtItsActivationTimeAndSurvivesARestore() throws Exception {
        var h = harness(Map.of("segments.yaml", "kind: segments\nsegments:\n  - {id: any_page, when: profile.events_lifetime >= 1}\n"), null);
        send(h, add(D0 + HOUR, "70"));
        h.processWatermark(D0 + HOUR);
        assertThat(lines(h)).containsExactly("enter any_page (any_page) +1h");

        // the watcher's record: every segments and traits file, from +2h on
        PatternChange change = PatternChange.definitions(Map.of("p/traits.yaml", TRAITS, "p/segments.yaml", SEGMENTS), D0 + 2 * HOUR, 0);
        BehaviorEvent record = change.toRecord();
        record.userKey = "\u0000keyed-path-0";
        h.processElement(new StreamRecord<>(record, record.timestamp));
        assertThat(h.extractOutputValues()).as("the record is for the profile only").noneMatch(e -> PatternChange.isDefinitionsRecord(e));

        send(h, add(D0 + 2 * HOUR - 1, "40")); // before the activation time: the old definitions (no traits)
        send(h, add(D0 + 2 * HOUR, "80"));     // from it on: traits start empty, the new segments apply
        h.processWatermark(D0 + 2 * HOUR);
        assertThat(traitsOfEvents(h)).containsExactly(
                "Product Added cart_value=null adds_2h=null",
                "Product Added cart_value=null adds_2h=null",
                "Product Added cart_value=80.0 adds_2h=1");
        assertThat(lines(h)).containsExactly("enter any_page (any_page) +1h", "exit any_page (any_page) +2h");

        OperatorSubtaskState snapshot = h.snapshot(1, D0 + 2 * HOUR);
        h.close();

        // restored with the same submitted files: the change is in effect again
        var again = harness(Map.of("segments.yaml", "kind: segments\nsegments:\n  - {id: any_page, when: profile.events_lifetime >= 1}\n"), snapshot);
        send(again, add(D0 + 3 * HOUR, "30"));
        again.processWatermark(D0 + 3 * HOUR);
        assertThat(traitsOfEvents(again)).containsExactly("Product Added cart_value=110.0 adds_2h=2");
        assertThat(lines(again)).containsExactly("enter adding (adding) +3h", "enter big_cart (big_cart) +3h");
        again.close();

        // restored with other submitted files: those win
        var other = harness(Map.of("segments.yaml", "kind: segments\nsegments:\n  - {id: many, when: profile.events_lifetime >= 5}\n"), snapshot);
        send(other, add(D0 + 3 * HOUR, "30"));
        other.processWatermark(D0 + 3 * HOUR);
        assertThat(traitsOfEvents(other)).containsExactly("Product Added cart_value=null adds_2h=null");
        assertThat(lines(other)).isEmpty();
        other.close();
    }
}
