package io.behaviorcep.testing.cep;

import io.behaviorcep.event.BehaviorEvent;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.util.ArrayList;
import java.util.List;

/**
 * Releases each user's events in event-time order (ties in arrival order) once the watermark has
 * passed them: what the pattern engine needs in front of it when no profile operator orders its
 * input (the benchmark runs the engine alone). One list and one timer per user with anything
 * waiting, instead of Flink CEP's map of timestamps and a timer per timestamp. Events at or behind
 * the watermark go to {@link #LATE}.
 */
public class EventTimeOrder extends KeyedProcessFunction<String, BehaviorEvent, BehaviorEvent> {
    private static final long serialVersionUID = 1L;
    public static final OutputTag<BehaviorEvent> LATE = new OutputTag<>("late-unordered", TypeInformation.of(BehaviorEvent.class));

    private transient ValueState<List<BehaviorEvent>> waiting;

    @Override
    public void open(OpenContext ctx) {
        waiting = getRuntimeContext().getState(new ValueStateDescriptor<>("waiting-events", Types.LIST(TypeInformation.of(BehaviorEvent.class))));
    }

    @Override
    public void processElement(BehaviorEvent e, Context ctx, Collector<BehaviorEvent> out) throws Exception {
        if (e.timestamp <= ctx.timerService().currentWatermark()) {
            ctx.output(LATE, e);
            return;
        }
        List<BehaviorEvent> w = waiting.value();
        if (w == null) {
            w = new ArrayList<>(4);
            ctx.timerService().registerEventTimeTimer(e.timestamp);
        } else if (e.timestamp < w.get(0).timestamp) {
            ctx.timerService().deleteEventTimeTimer(w.get(0).timestamp);
            ctx.timerService().registerEventTimeTimer(e.timestamp);
        }
        // stable insertion by time: the list stays sorted, the earliest first
        int i = w.size();
        while (i > 0 && w.get(i - 1).timestamp > e.timestamp) i--;
        w.add(i, e);
        waiting.update(w);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<BehaviorEvent> out) throws Exception {
        List<BehaviorEvent> w = waiting.value();
        if (w == null) return;
        long watermark = ctx.timerService().currentWatermark();
        int n = 0;
        while (n < w.size() && w.get(n).timestamp <= watermark) out.collect(w.get(n++));
        if (n == w.size()) {
            waiting.clear();
        } else {
            List<BehaviorEvent> rest = new ArrayList<>(w.subList(n, w.size()));
            waiting.update(rest);
            ctx.timerService().registerEventTimeTimer(rest.get(0).timestamp);
        }
    }
}
