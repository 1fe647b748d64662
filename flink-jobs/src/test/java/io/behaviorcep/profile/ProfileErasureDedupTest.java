package io.behaviorcep.profile;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.ingest.IngestFilter;
import io.behaviorcep.privacy.PrivacyRules;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** The dedup operator's part of privacy: an erasure forgets the user's message ids; suppression-list rows pass untouched. */
class ProfileErasureDedupTest {
    static final long T0 = 1_772_445_600_000L; // 2026-03-02T10:00:00Z

    static BehaviorEvent ev(String user, String id, long ts, String name) {
        BehaviorEvent e = new BehaviorEvent();
        e.type = "track";
        e.event = name;
        e.messageId = id;
        e.userId = user;
        e.userKey = user;
        e.timestamp = ts;
        return e;
    }

    @Test
    void anErasureForgetsTheUsersMessageIdsAndListRowsPassThrough() throws Exception {
        var h = new KeyedOneInputStreamOperatorTestHarness<>(
                new KeyedProcessOperator<>(new IngestFilter(Duration.ofHours(24), "User Deleted")), (BehaviorEvent e) -> e.userKey, Types.STRING);
        h.open();
        try {
            h.processElement(new StreamRecord<>(ev("u1", "m1", T0, "A"), T0));
            h.processElement(new StreamRecord<>(ev("u2", "m1", T0, "A"), T0));
            h.processElement(new StreamRecord<>(ev("u1", "m1", T0, "A"), T0)); // a repeat: dropped
            assertThat(h.extractOutputValues()).hasSize(2);
            // per user: one value, the seen ids with the time of their sweep timer
            assertThat(h.numKeyedStateEntries()).isEqualTo(2);
            assertThat(h.numProcessingTimeTimers()).isEqualTo(2);

            h.processElement(new StreamRecord<>(ev("u1", "del", T0 + 1, "User Deleted"), T0 + 1));
            assertThat(h.extractOutputValues()).hasSize(3);
            assertThat(h.numKeyedStateEntries()).as("u1's ids are gone, u2's stay").isEqualTo(1);
            assertThat(h.numProcessingTimeTimers()).as("and so is u1's sweep timer").isEqualTo(1);

            // rows of the suppression list are not events: no dedup, no late routing, no state
            h.processWatermark(T0 + 10_000);
            BehaviorEvent row = PrivacyRules.suppressionListRecord("u3", true, T0);
            h.processElement(new StreamRecord<>(row, T0));
            h.processElement(new StreamRecord<>(PrivacyRules.suppressionListRecord("u3", true, T0), T0));
            assertThat(h.extractOutputValues()).hasSize(5);
            assertThat(h.getSideOutput(IngestFilter.LATE)).isNull();
            assertThat(h.numKeyedStateEntries()).isEqualTo(1);
        } finally {
            h.close();
        }
    }
}
