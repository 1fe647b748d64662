package io.behaviorcep.profile;

import io.behaviorcep.event.BehaviorEvent;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Keeps each user's {@link ProfileState} and stamps every event with the profile as of that event,
 * so a match and the profile it carries come from one consistent, checkpointed state.
 *
 * <p>Events are counted in event-time order, not arrival order: each event waits until the
 * watermark passes it (the CEP operator downstream waits for the same watermark anyway, so this
 * adds no latency to matches), then a user's events of one timestamp are taken in messageId
 * order. So the profile an event carries does not depend on how the input was ordered or
 * partitioned, and a replay of shuffled history gives the same results.
 *
 * <p>Users who go quiet cost nothing for long: one event-time timer per user, at
 * {@code lastSeen + retention} rounded up to the hour, clears the state.
 */
public class ProfileFunction extends KeyedProcessFunction<String, BehaviorEvent, BehaviorEvent> {
    private final long retentionMillis;
    private transient ValueState<ProfileState> profile;
    private transient ValueState<Long> cleanupAt;
    private transient MapState<Long, List<BehaviorEvent>> waiting;

    public ProfileFunction(Duration retention) {
        this.retentionMillis = retention.toMillis();
    }

    @Override
    public void open(OpenContext ctx) {
        profile = getRuntimeContext().getState(new ValueStateDescriptor<>("profile", TypeInformation.of(ProfileState.class)));
        cleanupAt = getRuntimeContext().getState(new ValueStateDescriptor<>("profile-cleanup-at", Long.class));
        waiting = getRuntimeContext().getMapState(new MapStateDescriptor<>("events-waiting-for-watermark", Types.LONG,
                Types.LIST(TypeInformation.of(BehaviorEvent.class))));
    }

    @Override
    public void processElement(BehaviorEvent event, Context ctx, Collector<BehaviorEvent> out) throws Exception {
        if (event.timestamp <= ctx.timerService().currentWatermark()) {
            // already behind the watermark (the ingest filter routes such events away; kept for safety)
            count(event, ctx, out);
            return;
        }
        List<BehaviorEvent> same = waiting.get(event.timestamp);
        if (same == null) {
            same = new ArrayList<>(1);
            ctx.timerService().registerEventTimeTimer(event.timestamp);
        }
        same.add(event);
        waiting.put(event.timestamp, same);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<BehaviorEvent> out) throws Exception {
        List<BehaviorEvent> due = waiting.get(timestamp);
        if (due != null) {
            waiting.remove(timestamp);
            due.sort(Comparator.comparing(e -> e.messageId));
            for (BehaviorEvent e : due) count(e, ctx, out);
        }
        Long current = cleanupAt.value();
        if (current != null && current == timestamp) {
            profile.clear();
            cleanupAt.clear();
        }
    }

    private void count(BehaviorEvent event, Context ctx, Collector<BehaviorEvent> out) throws Exception {
        ProfileState state = profile.value();
        if (state == null) state = new ProfileState();
        state.add(event);
        profile.update(state);
        event.profile = state.snapshot();

        long wanted = roundUpToHour(state.lastSeen + retentionMillis);
        Long current = cleanupAt.value();
        if (current == null || current != wanted) {
            if (current != null) ctx.timerService().deleteEventTimeTimer(current);
            ctx.timerService().registerEventTimeTimer(wanted);
            cleanupAt.update(wanted);
        }
        out.collect(event);
    }

    private static long roundUpToHour(long t) {
        return Math.floorDiv(t + ProfileState.HOUR - 1, ProfileState.HOUR) * ProfileState.HOUR;
    }
}
