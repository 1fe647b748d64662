package io.behaviorcep;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.DeadLetter;
import io.behaviorcep.output.StepFailure;
import io.behaviorcep.identity.AddressState;
import io.behaviorcep.identity.IdentityLinks;
import io.behaviorcep.privacy.PrivacyRules;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.TimerService;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Identity stitching before the keyed path (docs/contracts.md, "Identity"): keyed by the event's address
 * id (its anonymousId, else its userId), it links anonymous ids to users and replays an anonymous id's
 * kept events into its user's timeline at the link. The decisions are {@link IdentityLinks}'; this
 * operator holds their state (one {@link AddressState} and a list of kept events per id) and one
 * event-time timer per id.
 *
 * <p>Erasures from the control topic arrive on a broadcast input: every subtask visits every id it holds
 * ({@code applyToKeyedState}) and forgets the ids linked to an erased user, sending an erasure for each
 * on to the keyed path. A full scan of this operator's state per erased id and subtask: erasures are
 * rare, and the state is a few hundred bytes per id (the kept events aside).
 *
 * <p>Counters: {@code identityLinks}, {@code identityRelinks}, {@code anonymousEventsReplayed},
 * {@code anonymousEventsOverflowed}, {@code anonymousIdsExpired}, {@code identityErasures}.
 */
public final class IdentityResolver extends KeyedBroadcastProcessFunction<String, BehaviorEvent, BehaviorEvent, BehaviorEvent> {
    private static final long serialVersionUID = 1L;
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(IdentityResolver.class);
    /** Events (and timers) that made this step throw, as PROCESSING_FAILED dead letters. */
    public static final OutputTag<DeadLetter> FAILED = new OutputTag<>("identity-processing-failed") {};
    public static final String STEP = "Identity resolver";

    private final int maxAnonymousEvents;
    private final long retentionMillis;

    private transient IdentityLinks links;
    private transient ValueState<AddressState> address;
    private transient ListState<BehaviorEvent> kept;
    private transient Counter linked;
    private transient Counter relinked;
    private transient Counter replayed;
    private transient Counter overflowed;
    private transient Counter expired;
    private transient Counter erased;
    private transient StepFailure.Tally failures;

    public IdentityResolver(int maxAnonymousEvents, Duration anonymousRetention) {
        this.maxAnonymousEvents = maxAnonymousEvents;
        this.retentionMillis = anonymousRetention.toMillis();
        new IdentityLinks(maxAnonymousEvents, retentionMillis); // refuses bad settings at submission
    }

    static ValueStateDescriptor<AddressState> addressDescriptor() {
        return new ValueStateDescriptor<>("identity-address", TypeInformation.of(AddressState.class));
    }

    @Override
    public void open(OpenContext ctx) {
        links = new IdentityLinks(maxAnonymousEvents, retentionMillis);
        address = getRuntimeContext().getState(addressDescriptor());
        kept = getRuntimeContext().getListState(new ListStateDescriptor<>("identity-anonymous-events", TypeInformation.of(BehaviorEvent.class)));
        var metrics = getRuntimeContext().getMetricGroup();
        linked = metrics.counter("identityLinks");
        relinked = metrics.counter("identityRelinks");
        replayed = metrics.counter("anonymousEventsReplayed");
        overflowed = metrics.counter("anonymousEventsOverflowed");
        expired = metrics.counter("anonymousIdsExpired");
        erased = metrics.counter("identityErasures");
        failures = new StepFailure.Tally(metrics, LOG);
    }

    @Override
    public void processElement(BehaviorEvent e, ReadOnlyContext ctx, Collector<BehaviorEvent> out) throws Exception {
        try {
            links.route(e, new KeyedStore(ctx.timerService()), output(out));
        } catch (RuntimeException ex) {
            if (!StepFailure.isRecordFault(ex)) throw ex;
            ctx.output(FAILED, failures.count(StepFailure.ofEvent(STEP, null, 0, e, ex), ex));
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<BehaviorEvent> out) throws Exception {
        links.onTimer(timestamp, new KeyedStore(ctx.timerService()), output(out));
    }

    @Override
    public void processBroadcastElement(BehaviorEvent control, Context ctx, Collector<BehaviorEvent> out) throws Exception {
        if (!PrivacyRules.isControlErasure(control)) return;
        Set<String> ids = Set.of(control.userKey);
        String requestId = control.property(PrivacyRules.REQUEST_ID_PROPERTY);
        KeyedStore store = new KeyedStore(null);
        IdentityLinks.Output output = output(out);
        ctx.applyToKeyedState(addressDescriptor(), (key, state) -> {
            // the backend sets each key as the current one, so the other state of the key is at hand
            if (links.erase(key, ids, requestId, control.timestamp, store, output)) erased.inc();
        });
    }

    private IdentityLinks.Output output(Collector<BehaviorEvent> out) {
        return new IdentityLinks.Output() {
            @Override
            public void emit(BehaviorEvent e) {
                out.collect(e);
            }

            @Override
            public void linked(int events) {
                linked.inc();
                replayed.inc(events);
            }

            @Override
            public void relinked() {
                relinked.inc();
            }

            @Override
            public void overflowed(int dropped) {
                overflowed.inc(dropped);
            }

            @Override
            public void expired() {
                expired.inc();
            }
        };
    }

    /** The current id's state; without timers on the broadcast side, where a forgotten id's timer fires once and finds nothing. */
    private final class KeyedStore implements IdentityLinks.Store {
        private final TimerService timers;

        KeyedStore(TimerService timers) {
            this.timers = timers;
        }

        @Override
        public AddressState state() throws Exception {
            return address.value();
        }

        @Override
        public void state(AddressState s) throws Exception {
            address.update(s);
        }

        @Override
        public List<BehaviorEvent> events() throws Exception {
            List<BehaviorEvent> events = new ArrayList<>();
            Iterable<BehaviorEvent> it = kept.get();
            if (it != null) for (BehaviorEvent e : it) events.add(e);
            return events;
        }

        @Override
        public void append(BehaviorEvent e) throws Exception {
            kept.add(e);
        }

        @Override
        public void replaceEvents(List<BehaviorEvent> events) throws Exception {
            if (events.isEmpty()) kept.clear();
            else kept.update(events);
        }

        @Override
        public void clear() {
            address.clear();
            kept.clear();
        }

        @Override
        public void registerTimer(long at) {
            if (timers != null) timers.registerEventTimeTimer(at);
        }

        @Override
        public void deleteTimer(long at) {
            if (timers != null) timers.deleteEventTimeTimer(at);
        }
    }
}
