package io.behaviorcep.event;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.util.EnumMap;
import java.util.Map;

/**
 * Splits the parsed records of the source: valid events go on (with the event time the source gave
 * them), refused records go to the dead-letter side output, counted by reason.
 *
 * <p>Metrics: {@code eventsIn}; per reason {@code dlq.<REASON>} and, as a key/value
 * group for dashboards, the same count as {@code reason.<REASON>.deadLetters} (Prometheus:
 * {@code flink_taskmanager_job_task_operator_reason_deadLetters{reason="<REASON>"}}).
 */
public class DeadLetterRouter extends ProcessFunction<ParsedRecord, BehaviorEvent> {
    public static final OutputTag<DeadLetter> DEAD_LETTERS = new OutputTag<>("dead-letters") {};

    private transient Counter eventsIn;
    private transient Map<DeadLetter.Reason, Counter> rejected;
    private transient Map<DeadLetter.Reason, Counter> byReason;

    @Override
    public void open(OpenContext ctx) {
        var metrics = getRuntimeContext().getMetricGroup();
        eventsIn = metrics.counter("eventsIn");
        rejected = new EnumMap<>(DeadLetter.Reason.class);
        var dlq = metrics.addGroup("dlq");
        byReason = new EnumMap<>(DeadLetter.Reason.class);
        for (DeadLetter.Reason r : DeadLetter.Reason.values()) {
            rejected.put(r, dlq.counter(r.name()));
            // a second counter, not the same one twice: the web UI keeps one name per metric object
            byReason.put(r, metrics.addGroup("reason", r.name()).counter("deadLetters"));
        }
    }

    @Override
    public void processElement(ParsedRecord r, Context ctx, Collector<BehaviorEvent> out) {
        eventsIn.inc();
        if (r.event != null) {
            out.collect(r.event);
        } else {
            rejected.get(r.deadLetter.reason).inc();
            byReason.get(r.deadLetter.reason).inc();
            ctx.output(DEAD_LETTERS, r.deadLetter);
        }
    }
}
