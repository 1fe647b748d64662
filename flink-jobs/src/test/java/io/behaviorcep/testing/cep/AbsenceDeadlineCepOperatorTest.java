package io.behaviorcep.testing.cep;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.EventParser;
import io.behaviorcep.event.RawRecord;
import io.behaviorcep.pattern.CepPatternCompiler;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.pattern.PatternMatch;
import io.behaviorcep.testing.Events;
import io.behaviorcep.testing.Repo;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.cep.nfa.compiler.NFACompiler;
import org.apache.flink.cep.operator.CepOperator;
import org.apache.flink.cep.pattern.Pattern;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static io.behaviorcep.testing.Events.min;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A user adds to the cart and then sends nothing more: only the watermark, moved by other users,
 * can decide the absence. It must be decided when event time passes add + 15 min, however the
 * watermark advanced before; Flink's own CepOperator leaves it pending forever when the watermark
 * first passed the add before the deadline (which made alerts of quiet users depend on timing).
 */
class AbsenceDeadlineCepOperatorTest {
    private static final PatternDefinition CART = Repo.pattern("cart-abandonment");
    private static final EventParser PARSER = new EventParser(EventParser.Limits.defaults(),
            () -> Events.T0.plus(Duration.ofDays(30)).toEpochMilli());

    private static BehaviorEvent parse(ObjectNode json) {
        return PARSER.parse(new RawRecord(null, Events.bytes(json), "t", 0, 0)).event;
    }

    private static List<PatternMatch> run(OneInputStreamOperator<BehaviorEvent, PatternMatch> operator, long... watermarks) throws Exception {
        try (KeyedOneInputStreamOperatorTestHarness<String, BehaviorEvent, PatternMatch> h =
                     new KeyedOneInputStreamOperatorTestHarness<>(operator, e -> e.userKey, Types.STRING)) {
            h.open();
            for (BehaviorEvent e : List.of(parse(Events.viewed("quiet", min(0))), parse(Events.added("quiet", min(1))))) {
                h.processElement(new StreamRecord<>(e, e.timestamp));
            }
            for (long w : watermarks) h.processWatermark(new Watermark(w));
            return h.extractOutputValues();
        }
    }

    private static TypeSerializer<BehaviorEvent> serializer() {
        return TypeInformation.of(BehaviorEvent.class).createSerializer(new ExecutionConfig().getSerializerConfig());
    }

    private static AbsenceDeadlineCepOperator<String, PatternMatch> withDeadlines() {
        Pattern<BehaviorEvent, BehaviorEvent> p = CepPatternCompiler.compile(CART);
        return new AbsenceDeadlineCepOperator<>(serializer(), NFACompiler.compileFactory(p, false), p, new CepMatchFunction(CART), null,
                AbsenceDeadlineCepOperator.deadlineAfter(CART));
    }

    private static CepOperator<BehaviorEvent, String, PatternMatch> flinks() {
        Pattern<BehaviorEvent, BehaviorEvent> p = CepPatternCompiler.compile(CART);
        return new CepOperator<>(serializer(), false, NFACompiler.compileFactory(p, false), null, p.getAfterMatchSkipStrategy(),
                new CepMatchFunction(CART), null);
    }

    private static long at(Instant t) {
        return t.toEpochMilli();
    }

    @Test
    void theAbsenceIsDecidedWhenEventTimePassesTheDeadlineAfterTheAddWasTakenIn() throws Exception {
        List<PatternMatch> out = run(withDeadlines(), at(min(2)), at(min(16)) - 1, at(min(16)), at(min(40)));
        assertThat(out).hasSize(1);
        assertThat(Instant.ofEpochMilli(out.get(0).detectedAt)).isEqualTo(min(16));
        assertThat(out.get(0).userKey).isEqualTo("quiet");
    }

    @Test
    void notOneMillisecondBeforeTheDeadline() throws Exception {
        // an order at exactly add + 15 min still counts, so at add + 15 min the absence is still open
        assertThat(run(withDeadlines(), at(min(2)), at(min(16)))).isEmpty();
        assertThat(run(withDeadlines(), at(min(2)), at(min(16)) + 1)).hasSize(1);
    }

    @Test
    void oneWatermarkPastEverythingGivesTheSameMatch() throws Exception {
        assertThat(run(withDeadlines(), Long.MAX_VALUE)).extracting(m -> m.detectedAt).containsExactly(at(min(16)));
    }

    @Test
    void flinksOwnOperatorLeavesTheAbsenceOfAQuietUserPending() throws Exception {
        // Why the operator exists. If a Flink upgrade makes this fail, CEP decides such absences
        // itself and AbsenceDeadlineCepOperator may go.
        assertThat(run(flinks(), at(min(2)), at(min(40)), Long.MAX_VALUE)).isEmpty();
        assertThat(run(flinks(), Long.MAX_VALUE)).as("only a watermark that jumps past both decides it").hasSize(1);
    }
}
