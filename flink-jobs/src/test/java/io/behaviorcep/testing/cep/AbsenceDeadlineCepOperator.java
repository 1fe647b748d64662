package io.behaviorcep.testing.cep;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.pattern.CepPatternCompiler;
import io.behaviorcep.pattern.PatternDefinition;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.cep.functions.TimedOutPartialMatchHandler;
import org.apache.flink.cep.nfa.compiler.NFACompiler;
import org.apache.flink.cep.operator.CepOperator;
import org.apache.flink.cep.pattern.Pattern;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;

/**
 * Flink's CEP operator, plus a timer at the deadline of a pattern's trailing absence ("no order
 * within 15 minutes of the add"). The job runs its own engine ({@code engine.PatternEngineFunction});
 * this is the reference it is held to: the differential tests and the benchmark run Flink CEP
 * through it.
 *
 * <p>Flink CEP (2.2) evaluates a key only when one of that key's timers fires: at the timestamp of
 * each buffered event, and at start + window for a pattern-wide ({@code FIRST_AND_LAST}) window. A
 * window measured from the previous step ({@code PREVIOUS_AND_CURRENT}, which is how the absence's
 * {@code for} compiles) gets no timer. A pending absence is then decided only when the same user
 * sends another event the pattern sees, or by chance when the watermark that finally takes in the
 * user's last event already lies beyond the deadline. For a user who goes quiet after adding to the
 * cart the alert never comes, and in a replay whether it comes depends on how watermarks happened
 * to advance, which breaks the exactly-once comparison of two runs.
 *
 * <p>So for every event it buffers, this operator registers one more timer, at event time +
 * absence + 1 ms, in CEP's own timer service. CEP's timer callback does not look at which timer
 * fired: it processes the key's buffered events up to the watermark and advances the key's
 * partial matches to the watermark, which decides the absence as soon as event time passes its
 * deadline, and before that watermark travels on (so the actions operator still sees the match
 * before its deadline passes there). The state CEP keeps is unchanged: savepoints taken with
 * Flink's plain CepOperator restore into this one, only without the extra timers.
 */
public class AbsenceDeadlineCepOperator<KEY, OUT> extends CepOperator<BehaviorEvent, KEY, OUT> {
    private static final long serialVersionUID = 1L;

    /**
     * The name CepOperator gives its timer service (Flink 2.2); asking for the same name again
     * returns that very service, so these timers fire the same callback with the same watermark.
     */
    static final String CEP_TIMER_SERVICE = "watermark-callbacks";

    /** After each event, when to evaluate the key again: absence + 1 ms (absences are inclusive), and the like; 0 for none. */
    private final long[] deadlinesAfter;
    private transient InternalTimerService<VoidNamespace> cepTimers;

    AbsenceDeadlineCepOperator(TypeSerializer<BehaviorEvent> inputSerializer, NFACompiler.NFAFactory<BehaviorEvent> nfaFactory,
                               Pattern<BehaviorEvent, ?> pattern, org.apache.flink.cep.functions.PatternProcessFunction<BehaviorEvent, OUT> function,
                               OutputTag<BehaviorEvent> lateDataOutputTag,
                               long deadlineAfter) {
        this(inputSerializer, nfaFactory, pattern, function, lateDataOutputTag, new long[] {deadlineAfter});
    }

    AbsenceDeadlineCepOperator(TypeSerializer<BehaviorEvent> inputSerializer, NFACompiler.NFAFactory<BehaviorEvent> nfaFactory,
                               Pattern<BehaviorEvent, ?> pattern, org.apache.flink.cep.functions.PatternProcessFunction<BehaviorEvent, OUT> function,
                               OutputTag<BehaviorEvent> lateDataOutputTag,
                               long[] deadlinesAfter) {
        super(inputSerializer, false, nfaFactory, null, pattern.getAfterMatchSkipStrategy(), function, lateDataOutputTag);
        this.deadlinesAfter = deadlinesAfter.clone();
    }

    /**
     * As {@link #apply(KeyedStream, Pattern, org.apache.flink.cep.functions.PatternProcessFunction, TypeInformation, OutputTag, long)},
     * with a timer after each event at each of {@code deadlinesAfter}: for timed-out partial matches,
     * every window of the pattern ({@link #windowDeadlines}), so that each partial match times out
     * when event time passes its window's end, not only when the user sends another event.
     */
    public static <OUT> SingleOutputStreamOperator<OUT> apply(KeyedStream<BehaviorEvent, String> input, Pattern<BehaviorEvent, ?> pattern,
                                                              org.apache.flink.cep.functions.PatternProcessFunction<BehaviorEvent, OUT> function,
                                                              TypeInformation<OUT> outType, long[] deadlinesAfter) {
        TypeSerializer<BehaviorEvent> serializer = input.getType().createSerializer(input.getExecutionConfig().getSerializerConfig());
        NFACompiler.NFAFactory<BehaviorEvent> nfa = NFACompiler.compileFactory(pattern, function instanceof TimedOutPartialMatchHandler);
        return input.transform("CepOperator", outType,
                new AbsenceDeadlineCepOperator<>(serializer, nfa, pattern, function, null, deadlinesAfter));
    }

    /** Every window of the pattern as compiled (each step's from the previous event, the pattern's from the first), inclusive end included. */
    public static long[] windowDeadlines(PatternDefinition def) {
        java.util.Set<Long> all = new java.util.TreeSet<>(CepPatternCompiler.previousEventWindows(def).values());
        if (CepPatternCompiler.firstEventWindow(def) > 0) all.add(CepPatternCompiler.firstEventWindow(def));
        return all.stream().mapToLong(Long::longValue).toArray();
    }

    /**
     * What {@code CEP.pattern(input, pattern).inEventTime().sideOutputLateData(lateTag).process(function, outType)}
     * builds, with this operator in place of Flink's.
     */
    public static <OUT> SingleOutputStreamOperator<OUT> apply(KeyedStream<BehaviorEvent, String> input, Pattern<BehaviorEvent, ?> pattern,
                                                              org.apache.flink.cep.functions.PatternProcessFunction<BehaviorEvent, OUT> function,
                                                              TypeInformation<OUT> outType, OutputTag<BehaviorEvent> lateTag, long deadlineAfter) {
        TypeSerializer<BehaviorEvent> serializer = input.getType().createSerializer(input.getExecutionConfig().getSerializerConfig());
        // as Flink's PatternStreamBuilder does
        NFACompiler.NFAFactory<BehaviorEvent> nfa = NFACompiler.compileFactory(pattern, function instanceof TimedOutPartialMatchHandler);
        return input.transform("CepOperator", outType,
                new AbsenceDeadlineCepOperator<>(serializer, nfa, pattern, function, lateTag, deadlineAfter));
    }

    /** The operator itself, for a harness (the benchmark times it alone). */
    public static <OUT> AbsenceDeadlineCepOperator<String, OUT> operator(TypeSerializer<BehaviorEvent> serializer,
                                                                       NFACompiler.NFAFactory<BehaviorEvent> nfa, Pattern<BehaviorEvent, ?> pattern,
                                                                       org.apache.flink.cep.functions.PatternProcessFunction<BehaviorEvent, OUT> function,
                                                                       long deadlineAfter) {
        return new AbsenceDeadlineCepOperator<>(serializer, nfa, pattern, function, null, deadlineAfter);
    }

    public static long deadlineAfter(PatternDefinition def) {
        PatternDefinition.StepDefinition absence = def.trailingAbsence();
        return absence == null || absence.absentFor == null ? 0 : absence.absentFor.plus(CepPatternCompiler.INCLUSIVE).toMillis();
    }

    @Override
    public void open() throws Exception {
        super.open();
        cepTimers = getInternalTimerService(CEP_TIMER_SERVICE, VoidNamespaceSerializer.INSTANCE, this);
    }

    @Override
    public void processElement(StreamRecord<BehaviorEvent> element) throws Exception {
        super.processElement(element);
        long at = element.getTimestamp();
        // late events are not buffered (CEP sends them to the late output), so they open no absence
        for (long deadlineAfter : deadlinesAfter) {
            if (deadlineAfter > 0 && at > cepTimers.currentWatermark() && at + deadlineAfter > at) {
                cepTimers.registerEventTimeTimer(VoidNamespace.INSTANCE, at + deadlineAfter);
            }
        }
    }
}
