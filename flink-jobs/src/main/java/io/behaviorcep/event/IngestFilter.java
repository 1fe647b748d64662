package io.behaviorcep.event;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.time.Duration;

/**
 * Per-user ingestion hygiene: drops repeats of a messageId already seen (keep the first), and
 * routes events behind the watermark to the late side output instead of letting downstream
 * operators drop them silently.
 *
 * <p>Seen ids expire after {@code dedupTtl} of processing time (Flink state TTL), which bounds the
 * state and matches how producers retry: minutes to hours, not weeks.
 *
 * <p>Privacy: the user's seen ids are forgotten when their erasure event ({@code privacy.erasure-event})
 * passes; rows of the suppression list pass through untouched (they are not events).
 */
public class IngestFilter extends KeyedProcessFunction<String, BehaviorEvent, BehaviorEvent> {
    public static final OutputTag<BehaviorEvent> LATE = new OutputTag<>("late-events") {};

    private final Duration dedupTtl;
    /** Track event name that erases the user; null for none. */
    private final String erasureEvent;
    private transient MapState<String, Boolean> seen;
    private transient Counter duplicates;
    private transient Counter late;

    public IngestFilter(Duration dedupTtl) {
        this(dedupTtl, null);
    }

    public IngestFilter(Duration dedupTtl, String erasureEvent) {
        this.dedupTtl = dedupTtl;
        this.erasureEvent = erasureEvent == null || erasureEvent.isBlank() ? null : erasureEvent;
    }

    @Override
    public void open(OpenContext ctx) {
        MapStateDescriptor<String, Boolean> d = new MapStateDescriptor<>("seen-message-ids", String.class, Boolean.class);
        d.enableTimeToLive(StateTtlConfig.newBuilder(dedupTtl)
                .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
                .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
                .build());
        seen = getRuntimeContext().getMapState(d);
        duplicates = getRuntimeContext().getMetricGroup().counter("duplicatesDropped");
        late = getRuntimeContext().getMetricGroup().counter("lateEvents");
    }

    @Override
    public void processElement(BehaviorEvent e, Context ctx, Collector<BehaviorEvent> out) throws Exception {
        if (io.behaviorcep.privacy.PrivacyRules.isSuppressionListRecord(e)) {
            out.collect(e);
            return;
        }
        if (seen.contains(e.messageId)) {
            duplicates.inc();
            return;
        }
        seen.put(e.messageId, Boolean.TRUE);
        if (e.timestamp <= ctx.timerService().currentWatermark()) {
            late.inc();
            ctx.output(LATE, e);
            return;
        }
        if (erasureEvent != null && "track".equals(e.type) && erasureEvent.equals(e.event)) seen.clear();
        out.collect(e);
    }
}
