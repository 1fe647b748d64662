package io.behaviorcep.bench;

import io.behaviorcep.engine.ActionInput;
import io.behaviorcep.engine.PatternEngineFunction;
import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.PatternDefinition;
import io.behaviorcep.testing.cep.AbsenceDeadlineCepOperator;

import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.cep.functions.PatternProcessFunction;
import org.apache.flink.cep.nfa.compiler.NFACompiler;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.apache.flink.util.Collector;

import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The two pattern operators alone: the same events, sorted by time, pushed through Flink's operator
 * test harness in one thread (heap state, a watermark every 100 events), with no source, shuffle or
 * serialisation around them. (b) Flink CEP's operator with the hand-written pattern (plus deadline
 * timers), (e) the job's engine with the shipped file. What the pipelines of the compare mode add
 * around an operator (moving each event through Flink's serializers) is the same for both there
 * and hides the difference; this is the difference.
 */
final class OperatorBench {
    private OperatorBench() {}

    record Result(long nanos, Set<String> anchors, long matches) {}

    static List<BehaviorEvent> sorted(List<BehaviorEvent> events) {
        return events.stream().filter(e -> e.messageId != null).sorted(Comparator.comparingLong(e -> e.timestamp)).toList();
    }

    static Result cep(List<BehaviorEvent> sorted) throws Exception {
        TypeSerializer<BehaviorEvent> serializer = TypeInformation.of(BehaviorEvent.class).createSerializer(new ExecutionConfig().getSerializerConfig());
        Set<String> anchors = new HashSet<>();
        long[] matches = {0};
        PatternProcessFunction<BehaviorEvent, String> fn = new PatternProcessFunction<>() {
            @Override
            public void processMatch(Map<String, List<BehaviorEvent>> match, Context ctx, Collector<String> out) {
                List<BehaviorEvent> added = match.get("added");
                anchors.add(added.get(added.size() - 1).userKey + " " + added.get(added.size() - 1).messageId);
                matches[0]++;
            }
        };
        var pattern = Contenders.cartAbandonmentPattern();
        var op = AbsenceDeadlineCepOperator.operator(serializer, NFACompiler.compileFactory(pattern, false), pattern, fn, Contenders.DEADLINE_AFTER);
        try (var h = new KeyedOneInputStreamOperatorTestHarness<>(op, (BehaviorEvent e) -> e.userKey, Types.STRING)) {
            h.open();
            long start = System.nanoTime();
            int i = 0;
            for (BehaviorEvent e : sorted) {
                h.processElement(e, e.timestamp);
                if (++i % 100 == 0) h.processWatermark(e.timestamp - 1);
            }
            h.processWatermark(Long.MAX_VALUE);
            long nanos = System.nanoTime() - start;
            return new Result(nanos, anchors, matches[0]);
        }
    }

    static Result engine(List<BehaviorEvent> sorted, PatternDefinition def) throws Exception {
        var op = new KeyedProcessOperator<String, BehaviorEvent, ActionInput>(new PatternEngineFunction(List.of(def)));
        Set<String> anchors = new HashSet<>();
        long matches = 0;
        try (var h = new KeyedOneInputStreamOperatorTestHarness<>(op, (BehaviorEvent e) -> e.userKey, Types.STRING, 128, 1, 0)) {
            h.setup(io.behaviorcep.engine.ActionInputTypeInfo.INSTANCE.createSerializer(new org.apache.flink.api.common.serialization.SerializerConfigImpl()));
            h.open();
            long start = System.nanoTime();
            int i = 0;
            for (BehaviorEvent e : sorted) {
                // as in the job: the engine sees every event (its pre-filter is inside it)
                h.processElement(e, e.timestamp);
                if (++i % 100 == 0) h.processWatermark(e.timestamp - 1);
            }
            h.processWatermark(Long.MAX_VALUE);
            long nanos = System.nanoTime() - start;
            for (ActionInput in : h.extractOutputValues()) {
                if (!(in instanceof ActionInput.Matched m)) continue;
                matches++;
                anchors.add(m.match().userKey + " " + m.match().anchorId);
            }
            return new Result(nanos, anchors, matches);
        }
    }
}
