package io.behaviorcep.bench;

import io.behaviorcep.event.BehaviorEvent;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;

/**
 * Contender (d): cart abandonment written by hand as an event-time state machine, with the
 * semantics of the pattern file (and of Flink CEP's compiled pattern): a {@code Product Added} at
 * t, with a {@code Product Viewed} in [t - 30m, t], and no {@code Order Completed} in
 * (t, t + 15m]; reported when the watermark reaches t + 15m + 1ms, as CEP times it out.
 *
 * <p>Events wait in keyed state until the watermark passes them (a timer at their timestamp), then
 * are applied in timestamp order: a view sets the latest view time; an add with a view at most
 * 30 min before becomes a candidate with a timer at its deadline; an order cancels the candidates
 * before it. A candidate whose deadline lies before the next event (or the watermark) is emitted.
 * Only views, adds and orders reach this function (a stateless filter before the keyBy).
 */
public class CartAbandonmentStateMachine extends KeyedProcessFunction<String, CartAbandonmentStateMachine.Item, String> {
    static final long VIEW_WINDOW = 30 * 60_000L;
    /** No order in (t, t + 15m]: decided when time reaches t + 15m + 1ms. */
    static final long DEADLINE = 15 * 60_000L + 1;

    public static final byte VIEW = 1;
    public static final byte ADD = 2;
    public static final byte ORDER = 3;

    /** The part of an event the machine needs. A Flink POJO. */
    public static class Item {
        public long ts;
        public byte kind;
        public String id;
        public String user;

        public Item() {}

        public Item(long ts, byte kind, String id, String user) {
            this.ts = ts;
            this.kind = kind;
            this.id = id;
            this.user = user;
        }
    }

    /** The kind of an event, 0 if the machine has no use for it. */
    public static byte kindOf(BehaviorEvent e) {
        if (Traffic.VIEWED.equals(e.event)) return VIEW;
        if (Traffic.ADDED.equals(e.event)) return ADD;
        if (Traffic.ORDER.equals(e.event)) return ORDER;
        return 0;
    }

    private final String prefix;
    private transient ListState<Item> buffer;
    private transient ListState<Item> candidates;
    private transient ValueState<Long> lastView;

    public CartAbandonmentStateMachine(String patternId) {
        this.prefix = patternId + " ";
    }

    @Override
    public void open(OpenContext ctx) {
        buffer = getRuntimeContext().getListState(new ListStateDescriptor<>("buffer", TypeInformation.of(Item.class)));
        candidates = getRuntimeContext().getListState(new ListStateDescriptor<>("candidates", TypeInformation.of(Item.class)));
        lastView = getRuntimeContext().getState(new ValueStateDescriptor<>("last-view", Types.LONG));
    }

    @Override
    public void processElement(Item e, Context ctx, Collector<String> out) throws Exception {
        if (e.ts <= ctx.timerService().currentWatermark()) return; // late: not expected in the benchmark
        buffer.add(e);
        ctx.timerService().registerEventTimeTimer(e.ts);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<String> out) throws Exception {
        long watermark = ctx.timerService().currentWatermark();
        List<Item> due = new ArrayList<>();
        List<Item> later = new ArrayList<>();
        for (Item e : buffer.get()) (e.ts <= watermark ? due : later).add(e);
        List<Item> pending = new ArrayList<>();
        for (Item c : candidates.get()) pending.add(c);
        int pendingBefore = pending.size();
        Long view = lastView.value();
        boolean changed = false;

        if (!due.isEmpty()) {
            due.sort(Comparator.comparingLong(e -> e.ts));
            for (Item e : due) {
                emitExpired(pending, e.ts + 1, ctx, out);
                switch (e.kind) {
                    case VIEW -> view = view == null ? e.ts : Math.max(view, e.ts);
                    case ADD -> {
                        if (view != null && e.ts - view <= VIEW_WINDOW) {
                            pending.add(e);
                            ctx.timerService().registerEventTimeTimer(e.ts + DEADLINE);
                        }
                    }
                    case ORDER -> pending.removeIf(c -> c.ts < e.ts);
                    default -> { }
                }
            }
            changed = true;
            if (later.isEmpty()) buffer.clear();
            else buffer.update(later);
        }
        emitExpired(pending, watermark == Long.MAX_VALUE ? Long.MAX_VALUE : watermark + 1, ctx, out);

        if (changed || pending.size() != pendingBefore) {
            if (pending.isEmpty()) candidates.clear();
            else candidates.update(pending);
        }
        // a view older than the window can no longer make a candidate
        if (view != null && view < watermark - VIEW_WINDOW) view = null;
        if (view == null) lastView.clear();
        else lastView.update(view);
    }

    /** Emits the candidates whose deadline lies before {@code before}. */
    private void emitExpired(List<Item> pending, long before, OnTimerContext ctx, Collector<String> out) {
        for (Iterator<Item> it = pending.iterator(); it.hasNext(); ) {
            Item c = it.next();
            if (c.ts + DEADLINE < before) {
                out.collect(prefix + ctx.getCurrentKey() + " " + c.id);
                it.remove();
            }
        }
    }
}
