package io.behaviorcep.action;

import io.behaviorcep.engine.ActionInput;
import io.behaviorcep.event.DeadLetter;
import io.behaviorcep.output.StepFailure;
import io.behaviorcep.output.Alert;
import io.behaviorcep.pattern.PatternDefinition;

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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.behaviorcep.action.PatternActionsFunctionTest.MIN;
import static io.behaviorcep.action.PatternActionsFunctionTest.T;
import static io.behaviorcep.action.PatternActionsFunctionTest.cartAbandonment;
import static io.behaviorcep.action.PatternActionsFunctionTest.match;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A match whose actions throw is a PROCESSING_FAILED dead letter naming the pattern; the other
 * inputs of the same batch and other users get their alerts, and the task does not fail.
 */
class PatternActionsContainmentTest {
    private InterceptingOperatorMetricGroup metrics;
    private MockEnvironment env;
    private KeyedOneInputStreamOperatorTestHarness<String, ActionInput, Alert> harness;

    void open(RuntimeException failure) throws Exception {
        metrics = new InterceptingOperatorMetricGroup();
        InterceptingTaskMetricGroup task = new InterceptingTaskMetricGroup() {
            @Override
            public InternalOperatorMetricGroup getOrAddOperator(OperatorID id, String name, Map<String, String> info) {
                return metrics;
            }
        };
        env = new MockEnvironmentBuilder().setMetricGroup(task).build();
        PatternActionsFunction f = new PatternActionsFunction(List.<PatternDefinition>of(cartAbandonment())) {
            @Override
            protected void inspect(ActionInput in) {
                if (in instanceof ActionInput.Matched m && m.match().anchorId.equals("poison")) throw failure;
            }
        };
        harness = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(f), (ActionInput in) -> in.userKey(), Types.STRING, env);
        harness.open();
    }

    @AfterEach
    void close() throws Exception {
        if (harness != null) harness.close();
        if (env != null) env.close();
    }

    void send(ActionInput in) throws Exception {
        harness.processElement(new StreamRecord<>(in, in.timestamp()));
    }

    List<DeadLetter> failed() {
        List<DeadLetter> out = new ArrayList<>();
        var side = harness.getSideOutput(PatternActionsFunction.FAILED);
        if (side != null) side.forEach(r -> out.add(r.getValue()));
        return out;
    }

    @Test
    void aMatchWhoseActionsThrowIsADeadLetterAndTheRestOfTheBatchIsApplied() throws Exception {
        open(new IllegalStateException("injected"));
        send(new ActionInput.Matched(match("u1", "v1", "poison", T)));
        send(new ActionInput.Matched(match("u1", "v2", "a2", T + MIN)));
        send(new ActionInput.Matched(match("u2", "v3", "a3", T)));
        harness.processWatermark(T + MIN);

        // the poison match took no place under the cap of one alert a day: the next one is alerted
        assertThat(harness.extractOutputValues()).extracting(a -> a.userId + "/" + a.detectedAt)
                .containsExactlyInAnyOrder("u1/" + (T + MIN), "u2/" + T);
        List<DeadLetter> dlq = failed();
        assertThat(dlq).hasSize(1);
        DeadLetter d = dlq.get(0);
        assertThat(d.reason).isEqualTo(DeadLetter.Reason.PROCESSING_FAILED);
        assertThat(d.message).isEqualTo("Alerts, caps & segments, pattern cart-abandonment v1: java.lang.IllegalStateException: injected");
        assertThat(new String(d.key, StandardCharsets.UTF_8)).isEqualTo("u1");
        assertThat(new String(d.value, StandardCharsets.UTF_8)).contains("\"input\":\"match\"").contains("\"anchorId\":\"poison\"");
        assertThat(((Counter) metrics.get(StepFailure.METRIC)).getCount()).isEqualTo(1);
    }

    @Test
    void aFailureCausedByIoFailsTheTask() throws Exception {
        open(new UncheckedIOException(new IOException("disk gone")));
        send(new ActionInput.Matched(match("u1", "v1", "poison", T)));
        assertThatThrownBy(() -> harness.processWatermark(T)).hasRootCauseInstanceOf(IOException.class);
        assertThat(failed()).isEmpty();
    }
}
