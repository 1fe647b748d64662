package io.behaviorcep.privacy;

import io.behaviorcep.output.Alert;
import io.behaviorcep.action.PatternActionsFunction;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.DeadLetter;
import io.behaviorcep.event.DeadLetterRouter;
import io.behaviorcep.event.RawRecord;
import io.behaviorcep.output.Pseudonymizer;

import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Parsing the control topic's records, their dead letters, and the keyed alert id of pseudonymised output. */
class ControlRecordsTest {
    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aControlBecomesOneKeyedRecordPerIdUserIdFirst() throws Exception {
        ControlRecords.Control c = ControlRecords.parse(utf8("""
                {"type":"erase","userId":"u1","anonymousIds":["a1","a2","u1"],"requestId":"ticket-42","at":"2025-01-01T00:00:00Z"}"""), 5);
        assertThat(c.type()).isEqualTo("erase");
        assertThat(c.ids()).containsExactly("u1", "a1", "a2");
        assertThat(c.requestId()).isEqualTo("ticket-42");
        assertThat(c.at()).isEqualTo(Instant.parse("2025-01-01T00:00:00Z").toEpochMilli());
        List<BehaviorEvent> keyed = c.keyed();
        assertThat(keyed).extracting(e -> e.userKey).containsExactly("u1", "a1", "a2");
        assertThat(keyed).allSatisfy(e -> {
            assertThat(PrivacyRules.isControlErasure(e)).isTrue();
            assertThat(PrivacyRules.isInternalRecord(e)).isTrue();
            assertThat(e.property(PrivacyRules.REQUEST_ID_PROPERTY)).isEqualTo("ticket-42");
        });
        // the forms without a user id, without at (then: the time it is read), and the other types
        ControlRecords.Control anonymousOnly = ControlRecords.parse(utf8("{\"type\":\"opt_out\",\"anonymousIds\":[\"a9\"]}"), 77);
        assertThat(anonymousOnly.ids()).containsExactly("a9");
        assertThat(anonymousOnly.at()).isEqualTo(77);
        assertThat(ControlRecords.parse(utf8("{\"type\":\"opt_in\",\"userId\":\"u\",\"at\":\"2025-01-01T01:00:00+01:00\"}"), 0).at())
                .isEqualTo(Instant.parse("2025-01-01T00:00:00Z").toEpochMilli());
        assertThat(ControlRecords.parse(ControlRecords.json("erase", "u", List.of("a"), "r", null), 0).ids()).containsExactly("u", "a");
    }

    @Test
    void invalidControlsAreRefusedWithWhy() {
        for (String[] bad : new String[][] {
                {"not json", "not JSON"},
                {"[1]", "not a JSON object"},
                {"{\"userId\":\"u\"}", "type must be"},
                {"{\"type\":\"delete\",\"userId\":\"u\"}", "type must be"},
                {"{\"type\":\"erase\"}", "no id"},
                {"{\"type\":\"erase\",\"userId\":\"\"}", "non-empty"},
                {"{\"type\":\"erase\",\"userId\":7}", "non-empty string"},
                {"{\"type\":\"erase\",\"userid\":\"u\"}", "unknown field 'userid'"},
                {"{\"type\":\"erase\",\"anonymousIds\":\"a\"}", "array"},
                {"{\"type\":\"erase\",\"userId\":\"u\",\"at\":\"yesterday\"}", "ISO-8601"},
                {"{\"type\":\"erase\",\"userId\":\"u\",\"at\":\"2025-01-01T00:00:00\"}", "ISO-8601"},
                {"{\"type\":\"erase\",\"userId\":\"u\",\"userId\":\"v\"}", "not JSON"},
                {"{\"type\":\"erase\",\"userId\":\"u\"} {}", "not JSON"},
                {"", "empty"}}) {
            assertThatThrownBy(() -> ControlRecords.parse(utf8(bad[0]), 0)).as(bad[0])
                    .isInstanceOf(ControlRecords.InvalidControl.class).hasMessageContaining(bad[1]);
        }
        assertThatThrownBy(() -> ControlRecords.parse(utf8("{\"type\":\"erase\",\"userId\":\"" + "x".repeat(ControlRecords.MAX_ID_CHARS + 1) + "\"}"), 0))
                .hasMessageContaining("longer than");
    }

    @Test
    void anInvalidRecordGoesToTheDeadLettersWithItsBytesAndAValidOneOnPerId() throws Exception {
        try (OneInputStreamOperatorTestHarness<RawRecord, BehaviorEvent> h = new OneInputStreamOperatorTestHarness<>(
                new ProcessOperator<>(new ControlRecords()))) {
            h.open();
            byte[] bad = utf8("{\"type\":\"erase\"}");
            h.processElement(new StreamRecord<>(new RawRecord(utf8("k"), bad, "behavior.control", 0, 41)));
            h.processElement(new StreamRecord<>(new RawRecord(null, ControlRecords.json("erase", "u1", List.of("a1"), "r", null),
                    "behavior.control", 0, 42)));
            assertThat(h.extractOutputValues()).extracting(e -> e.userKey).containsExactly("u1", "a1");
            List<DeadLetter> dead = h.getSideOutput(DeadLetterRouter.DEAD_LETTERS).stream().map(StreamRecord::getValue).toList();
            assertThat(dead).hasSize(1);
            assertThat(dead.get(0).reason).isEqualTo(DeadLetter.Reason.INVALID_CONTROL);
            assertThat(dead.get(0).value).isEqualTo(bad);
            assertThat(dead.get(0).sourceOffset).isEqualTo(41);
            assertThat(dead.get(0).message).contains("no id");
        }
    }

    @Test
    void aPseudonymisedAlertIdIsKeyedAndNotTheUnkeyedOne() throws Exception {
        String plain = PatternActionsFunction.alertId("cart", 1, "u1", "m1,m2");
        String keyEnv = "CONTROL_RECORDS_TEST_KEY";
        System.setProperty(keyEnv, "secret-1");
        Pseudonymizer<Alert> p = Pseudonymizer.alerts(keyEnv);
        Alert a = new Alert();
        a.alertId = plain;
        a.userId = "u1";
        Alert out = p.map(a);
        assertThat(out.alertId).matches("[0-9a-f]{32}").isNotEqualTo(plain)
                .isEqualTo(Pseudonymizer.alertId(utf8("secret-1"), plain));
        // deterministic for one key (a replay gives the same id), different under another
        assertThat(Pseudonymizer.alertId(utf8("secret-1"), plain)).isEqualTo(out.alertId);
        assertThat(Pseudonymizer.alertId(utf8("secret-2"), plain)).isNotEqualTo(out.alertId);
        assertThat(out.userId).isEqualTo(Pseudonymizer.pseudonym(utf8("secret-1"), "u1"));
    }
}
