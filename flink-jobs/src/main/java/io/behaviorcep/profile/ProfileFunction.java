package io.behaviorcep.profile;

import io.behaviorcep.event.BehaviorEvent;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

import java.time.Duration;

/**
 * Keeps each user's {@link ProfileState} and stamps every event with the profile as of that event,
 * so a match and the profile it carries come from one consistent, checkpointed state.
 *
 * <p>Users who go quiet cost nothing for long: one event-time timer per user, at
 * {@code lastSeen + retention} rounded up to the hour, clears the state.
 */
public class ProfileFunction extends KeyedProcessFunction<String, BehaviorEvent, BehaviorEvent> {
    private final long retentionMillis;
    private transient ValueState<ProfileState> profile;
    private transient ValueState<Long> cleanupAt;

    public ProfileFunction(Duration retention) {
        this.retentionMillis = retention.toMillis();
    }

    @Override
    public void open(OpenContext ctx) {
        profile = getRuntimeContext().getState(new ValueStateDescriptor<>("profile", TypeInformation.of(ProfileState.class)));
        cleanupAt = getRuntimeContext().getState(new ValueStateDescriptor<>("profile-cleanup-at", Long.class));
    }

    @Override
    public void processElement(BehaviorEvent event, Context ctx, Collector<BehaviorEvent> out) throws Exception {
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

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<BehaviorEvent> out) throws Exception {
        Long current = cleanupAt.value();
        if (current != null && current == timestamp) {
            profile.clear();
            cleanupAt.clear();
        }
    }

    private static long roundUpToHour(long t) {
        return Math.floorDiv(t + ProfileState.HOUR - 1, ProfileState.HOUR) * ProfileState.HOUR;
    }
}
