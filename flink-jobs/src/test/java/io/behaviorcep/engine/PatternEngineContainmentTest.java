package io.behaviorcep.engine;

import io.behaviorcep.engine.ActionInput;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.DeadLetter;
import io.behaviorcep.pattern.PatternChange;
import io.behaviorcep.pattern.PatternDefinition;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiPredicate;

import static io.behaviorcep.engine.PatternEngineFunctionTest.MIN;
import static io.behaviorcep.engine.PatternEngineFunctionTest.T0;
import static io.behaviorcep.engine.PatternEngineFunctionTest.event;
import static io.behaviorcep.engine.PatternEngineFunctionTest.matches;
import static io.behaviorcep.engine.PatternEngineFunctionTest.send;
import static io.behaviorcep.engine.PatternEngineFunctionTest.shipped;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A pattern's evaluation of one event, or its decision at one user's deadline, that throws (outside
 * a condition: those count as false in {@code conditionErrors}) is a PROCESSING_FAILED dead letter
 * naming the pattern; other users' matches come out as ever and the task does not fail.
 */
class PatternEngineContainmentTest {
    private KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, ActionInput> h;
    private PatternEngineFunction engine;

    /** Fails where {@code poison} holds for (user, event); the event is null at a deadline. */
    static final class Failing extends PatternEngineFunction {
        private static final long serialVersionUID = 1L;
        private final transient BiPredicate<String, BehaviorEvent> poison;
        private final transient RuntimeException failure;

        Failing(List<PatternDefinition> patterns, BiPredicate<String, BehaviorEvent> poison, RuntimeException failure) {
            super(patterns);
            this.poison = poison;
            this.failure = failure;
        }

        @Override
        protected void inspect(String user, PatternDefinition def, BehaviorEvent e) {
            if (poison.test(user, e)) throw failure;
        }
    }

    void open(BiPredicate<String, BehaviorEvent> poison, RuntimeException failure) throws Exception {
        engine = new Failing(List.of(shipped("cart-abandonment")), poison, failure);
        h = new KeyedOneInputStreamOperatorTestHarness<>(new KeyedProcessOperator<>(engine),
                (BehaviorEvent e) -> e.userKey, Types.STRING, 128, 1, 0);
        h.setup(PatternEngineFunctionTest.ACTION_INPUTS);
        h.open();
    }

    @AfterEach
    void close() throws Exception {
        if (h != null) h.close();
    }

    List<DeadLetter> failed() {
        List<DeadLetter> out = new ArrayList<>();
        var side = h.getSideOutput(PatternEngineFunction.FAILED);
        if (side != null) side.forEach(r -> out.add(r.getValue()));
        return out;
    }

    void cart(String user) throws Exception {
        send(h, event(user, "Product Viewed", 0));
        send(h, event(user, "Product Added", 10));
    }

    @Test
    void anEventWhoseEvaluationThrowsIsADeadLetterNamingThePatternAndOtherUsersMatch() throws Exception {
        open((user, e) -> e != null && e.messageId.equals("u1@10"), new IllegalStateException("injected"));
        cart("u1");
        cart("u2");
        h.processWatermark(T0 + 30 * MIN);

        assertThat(matches(h)).containsExactly("cart-abandonment v1: u2@10 at 25");
        List<DeadLetter> dlq = failed();
        assertThat(dlq).hasSize(1);
        assertThat(dlq.get(0).reason).isEqualTo(DeadLetter.Reason.PROCESSING_FAILED);
        assertThat(dlq.get(0).message).isEqualTo("Pattern engine, pattern cart-abandonment v1: java.lang.IllegalStateException: injected");
        assertThat(new String(dlq.get(0).key, StandardCharsets.UTF_8)).isEqualTo("u1");
        assertThat(new String(dlq.get(0).value, StandardCharsets.UTF_8)).contains("\"messageId\":\"u1@10\"");
        assertThat(engine.processingFailures()).isEqualTo(1);

        // u1 goes on: a new cart of theirs is decided as ever
        send(h, event("u1", "Product Viewed", 40));
        send(h, event("u1", "Product Added", 45));
        h.processWatermark(T0 + 61 * MIN);
        assertThat(matches(h)).containsExactly("cart-abandonment v1: u2@10 at 25", "cart-abandonment v1: u1@45 at 60");
    }

    @Test
    void aDeadlineThatThrowsIsADeadLetterOfTheTimerAndTheUsersRunsOfThePatternGo() throws Exception {
        open((user, e) -> e == null && user.equals("u1"), new IllegalStateException("injected"));
        cart("u1");
        cart("u2");
        h.processWatermark(T0 + 30 * MIN);

        assertThat(matches(h)).containsExactly("cart-abandonment v1: u2@10 at 25");
        List<DeadLetter> dlq = failed();
        assertThat(dlq).hasSize(1);
        assertThat(dlq.get(0).message).isEqualTo("Pattern engine, pattern cart-abandonment v1: java.lang.IllegalStateException: injected");
        assertThat(new String(dlq.get(0).value, StandardCharsets.UTF_8)).startsWith("{\"userKey\":\"u1\",\"timer\":\"");
        assertThat(engine.processingFailures()).isEqualTo(1);

        // the failing user's runs are dropped, not retried at every watermark (nor at once, for ever)
        h.processWatermark(T0 + 3 * 60 * MIN);
        assertThat(failed()).hasSize(1);
        assertThat(matches(h)).containsExactly("cart-abandonment v1: u2@10 at 25");
        assertThat(engine.partialMatches("cart-abandonment", 1)).isZero();
    }

    @Test
    void aFailureCausedByIoFailsTheTask() throws Exception {
        open((user, e) -> e != null && e.messageId.equals("u1@10"), new UncheckedIOException(new IOException("disk gone")));
        send(h, event("u1", "Product Viewed", 0));
        assertThatThrownBy(() -> send(h, event("u1", "Product Added", 10))).isInstanceOf(UncheckedIOException.class);
        assertThat(failed()).isEmpty();
    }
}
