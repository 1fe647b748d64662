package io.behaviorcep.profile;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.DeadLetter;
import io.behaviorcep.output.StepFailure;

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

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.behaviorcep.profile.ProfileFunctionTest.D0;
import static io.behaviorcep.profile.ProfileFunctionTest.MIN;
import static io.behaviorcep.profile.ProfileFunctionTest.ev;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * An event that makes the profile step throw as it is counted (at the watermark, with the other
 * events of its user and timestamp) is a PROCESSING_FAILED dead letter; the events beside it are
 * still counted, other users are untouched, and the task does not fail. A failure caused by I/O
 * still fails the task.
 */
class ProfileContainmentTest {
    private InterceptingOperatorMetricGroup metrics;
    private MockEnvironment env;
    private KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent> harness;

    void open(RuntimeException failure) throws Exception {
        metrics = new InterceptingOperatorMetricGroup();
        InterceptingTaskMetricGroup task = new InterceptingTaskMetricGroup() {
            @Override
            public InternalOperatorMetricGroup getOrAddOperator(OperatorID id, String name, Map<String, String> info) {
                return metrics;
            }
        };
        env = new MockEnvironmentBuilder().setMetricGroup(task).build();
        ProfileFunction f = new ProfileFunction(Duration.ofDays(2)) {
            @Override
            protected void inspect(BehaviorEvent e) {
                if (e.messageId.contains("poison")) throw failure;
            }
        };
        harness = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(f), e -> e.userKey, Types.STRING, env);
        harness.open();
    }

    @AfterEach
    void close() throws Exception {
        if (harness != null) harness.close();
        if (env != null) env.close();
    }

    void send(BehaviorEvent e) throws Exception {
        harness.processElement(new StreamRecord<>(e, e.timestamp));
    }

    List<DeadLetter> failed() {
        List<DeadLetter> out = new ArrayList<>();
        var side = harness.getSideOutput(ProfileFunction.FAILED);
        if (side != null) side.forEach(r -> out.add(r.getValue()));
        return out;
    }

    @Test
    void aPoisonEventIsADeadLetterAndTheOthersOfItsTimestampAreStillCounted() throws Exception {
        open(new IllegalStateException("injected"));
        long at = D0 + 10 * MIN;
        // taken in messageId order: the poison one falls between the other two
        send(ev("u1", "u1-a", at, "Product Viewed"));
        send(ev("u1", "u1-b-poison", at, "Product Viewed"));
        send(ev("u1", "u1-c", at, "Product Viewed"));
        send(ev("u2", "u2-a", at, "Product Viewed"));
        harness.processWatermark(at);

        List<BehaviorEvent> out = harness.extractOutputValues();
        assertThat(out).extracting(e -> e.messageId).containsExactlyInAnyOrder("u1-a", "u1-c", "u2-a");
        BehaviorEvent c = out.stream().filter(e -> e.messageId.equals("u1-c")).findFirst().orElseThrow();
        assertThat(c.profile.events24h).as("the poison event is not counted, the one after it is").isEqualTo(2);

        List<DeadLetter> dlq = failed();
        assertThat(dlq).hasSize(1);
        DeadLetter d = dlq.get(0);
        assertThat(d.reason).isEqualTo(DeadLetter.Reason.PROCESSING_FAILED);
        assertThat(d.message).isEqualTo("User profile: java.lang.IllegalStateException: injected");
        assertThat(new String(d.key, StandardCharsets.UTF_8)).isEqualTo("u1");
        assertThat(new String(d.value, StandardCharsets.UTF_8)).contains("\"messageId\":\"u1-b-poison\"");
        assertThat(((Counter) metrics.get(StepFailure.METRIC)).getCount()).isEqualTo(1);

        // the user goes on as before
        send(ev("u1", "u1-d", at + MIN, "Product Viewed"));
        harness.processWatermark(at + MIN);
        assertThat(harness.extractOutputValues().get(3).profile.events24h).isEqualTo(3);
    }

    @Test
    void aFailureCausedByIoFailsTheTask() throws Exception {
        open(new UncheckedIOException(new IOException("disk gone")));
        send(ev("u1", "u1-poison", D0, "Product Viewed"));
        assertThatThrownBy(() -> harness.processWatermark(D0)).hasRootCauseInstanceOf(IOException.class);
        assertThat(failed()).isEmpty();
    }
}
