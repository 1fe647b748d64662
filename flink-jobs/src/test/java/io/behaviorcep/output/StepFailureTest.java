package io.behaviorcep.output;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.DeadLetter;
import io.behaviorcep.ingest.IngestFilter;

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
import org.apache.flink.util.FlinkRuntimeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A record that makes a step throw is contained ({@link StepFailure}): which failures are the
 * record's (a dead letter, counted, the job goes on) and which the infrastructure's (the task fails
 * and restarts from a checkpoint); and the dedup operator containing one poison event.
 */
class StepFailureTest {
    static final long T0 = 1_772_445_600_000L;

    /** Named like RocksDB's own exception: the state backend's failures are recognised by name. */
    static final class RocksDBException extends Exception {
        RocksDBException(String m) {
            super(m);
        }
    }

    @Test
    void onlyRuntimeExceptionsWithoutIoInterruptOrStateBackendCausesAreTheRecordsFault() {
        assertThat(StepFailure.isRecordFault(new IllegalStateException("bad value"))).isTrue();
        assertThat(StepFailure.isRecordFault(new NullPointerException())).isTrue();
        assertThat(StepFailure.isRecordFault(new IllegalArgumentException("x", new NumberFormatException("y")))).isTrue();

        assertThat(StepFailure.isRecordFault(new UncheckedIOException(new IOException("disk full")))).isFalse();
        assertThat(StepFailure.isRecordFault(new RuntimeException(new RuntimeException(new InterruptedException())))).isFalse();
        assertThat(StepFailure.isRecordFault(new FlinkRuntimeException("Error while retrieving data from RocksDB.", new RocksDBException("closed"))))
                .isFalse();
        assertThat(StepFailure.isRecordFault(new FlinkRuntimeException(new org.apache.flink.runtime.state.BackendBuildingException("restore"))))
                .isFalse();
        assertThat(StepFailure.isRecordFault(new Exception("checked"))).isFalse();
        assertThat(StepFailure.isRecordFault(new StackOverflowError())).isFalse();
        // a cause chain that loops ends
        RuntimeException a = new RuntimeException("a");
        RuntimeException b = new RuntimeException("b", a);
        a.initCause(b);
        assertThat(StepFailure.isRecordFault(a)).isTrue();
    }

    @Test
    void theMessageNamesStepPatternAndExceptionAndIsCut() {
        assertThat(StepFailure.message("Pattern engine", "cart", 3, new IllegalStateException("boom")))
                .isEqualTo("Pattern engine, pattern cart v3: java.lang.IllegalStateException: boom");
        assertThat(StepFailure.message("User profile", null, 0, new NullPointerException()))
                .isEqualTo("User profile: java.lang.NullPointerException");
        String cut = StepFailure.message("User profile", null, 0, new IllegalStateException("x".repeat(100_000)));
        assertThat(cut).hasSizeLessThanOrEqualTo(StepFailure.MAX_MESSAGE_CHARS).startsWith("User profile: java.lang.IllegalStateException: xxx");
    }

    @Test
    void theDeadLetterOfAnEventCarriesItsKeyAndTheEventAsSegmentJson() {
        DeadLetter d = StepFailure.ofEvent("User profile", null, 0, event("u1", "m1", T0), new IllegalStateException("boom"));
        assertThat(d.reason).isEqualTo(DeadLetter.Reason.PROCESSING_FAILED);
        assertThat(new String(d.key, StandardCharsets.UTF_8)).isEqualTo("u1");
        assertThat(new String(d.value, StandardCharsets.UTF_8)).contains("\"messageId\":\"m1\"").contains("\"userId\":\"u1\"");
        assertThat(d.sourceOffset).isEqualTo(-1);
        DeadLetter t = StepFailure.ofTimer("Pattern engine", "cart", 1, "u2", T0, new IllegalStateException("boom"));
        assertThat(new String(t.value, StandardCharsets.UTF_8)).isEqualTo("{\"userKey\":\"u2\",\"timer\":\"2026-03-02T10:00:00Z\",\"timerMillis\":" + T0 + "}");
        assertThat(DeadLetter.parserReasons()).doesNotContain(DeadLetter.Reason.PROCESSING_FAILED);
    }

    // ------------------------------------------------------------------ the dedup operator

    private final List<MockEnvironment> envs = new ArrayList<>();
    private final List<KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent>> harnesses = new ArrayList<>();
    private InterceptingOperatorMetricGroup metrics;

    @AfterEach
    void close() throws Exception {
        for (var h : harnesses) h.close();
        for (var e : envs) e.close();
    }

    /** The dedup operator, failing on the event with message id "poison" (with {@code failure}). */
    KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, BehaviorEvent> dedup(RuntimeException failure) throws Exception {
        metrics = new InterceptingOperatorMetricGroup();
        InterceptingOperatorMetricGroup mine = metrics;
        InterceptingTaskMetricGroup task = new InterceptingTaskMetricGroup() {
            @Override
            public InternalOperatorMetricGroup getOrAddOperator(OperatorID id, String name, Map<String, String> info) {
                return mine;
            }
        };
        MockEnvironment env = new MockEnvironmentBuilder().setMetricGroup(task).build();
        envs.add(env);
        IngestFilter filter = new IngestFilter(Duration.ofHours(1)) {
            @Override
            protected void inspect(BehaviorEvent e) {
                if ("poison".equals(e.messageId)) throw failure;
            }
        };
        var h = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(filter), (BehaviorEvent e) -> e.userKey, Types.STRING, env);
        h.open();
        harnesses.add(h);
        return h;
    }

    static BehaviorEvent event(String user, String messageId, long ts) {
        BehaviorEvent e = new BehaviorEvent();
        e.type = "track";
        e.event = "Product Viewed";
        e.userId = user;
        e.userKey = user;
        e.messageId = messageId;
        e.timestamp = ts;
        return e;
    }

    static void send(KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, ?> h, BehaviorEvent e) throws Exception {
        h.processElement(new StreamRecord<>(e, e.timestamp));
    }

    static <T> List<DeadLetter> deadLetters(KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, T> h,
                                            org.apache.flink.util.OutputTag<DeadLetter> tag) {
        var side = h.getSideOutput(tag);
        List<DeadLetter> out = new ArrayList<>();
        if (side != null) side.forEach(r -> out.add(r.getValue()));
        return out;
    }

    @Test
    void aPoisonEventIsADeadLetterOfTheDedupStepAndTheOthersPass() throws Exception {
        var h = dedup(new IllegalStateException("injected"));
        send(h, event("u1", "m1", T0));
        send(h, event("u1", "poison", T0 + 1));
        send(h, event("u1", "m2", T0 + 2));
        send(h, event("u2", "m1", T0 + 3));

        assertThat(h.extractOutputValues()).extracting(e -> e.userKey + "/" + e.messageId).containsExactly("u1/m1", "u1/m2", "u2/m1");
        List<DeadLetter> dlq = deadLetters(h, IngestFilter.FAILED);
        assertThat(dlq).hasSize(1);
        assertThat(dlq.get(0).reason).isEqualTo(DeadLetter.Reason.PROCESSING_FAILED);
        assertThat(dlq.get(0).message).isEqualTo("Dedup & late routing: java.lang.IllegalStateException: injected");
        assertThat(new String(dlq.get(0).key, StandardCharsets.UTF_8)).isEqualTo("u1");
        assertThat(new String(dlq.get(0).value, StandardCharsets.UTF_8)).contains("\"messageId\":\"poison\"");
        assertThat(((Counter) metrics.get(StepFailure.METRIC)).getCount()).isEqualTo(1);
    }

    @Test
    void aFailureCausedByIoIsNotContainedItFailsTheTask() throws Exception {
        var h = dedup(new UncheckedIOException(new IOException("disk gone")));
        send(h, event("u1", "m1", T0));
        assertThatThrownBy(() -> send(h, event("u1", "poison", T0 + 1))).isInstanceOf(UncheckedIOException.class);
        assertThat(deadLetters(h, IngestFilter.FAILED)).isEmpty();
        assertThat(((Counter) metrics.get(StepFailure.METRIC)).getCount()).isZero();
    }
}
