package io.behaviorcep.identity;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.privacy.PrivacyRules;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Identity stitching: the decisions of the identity resolver, per address id (docs/contracts.md,
 * "Identity"). Plain Java: the operator backs {@link Store} with keyed state and one event-time timer
 * per id; tests back it with fields.
 *
 * <p>The address id of an event is its {@code anonymousId} if it has one (for an {@code alias}, its
 * {@code previousId}), else its {@code userId}. Per anonymous id:
 * <ul>
 *   <li>while unlinked, its events without a userId pass on under the anonymous id and are also kept,
 *       at most {@code maxEvents} and {@link #MAX_BUFFERED_BYTES} (the oldest go first, counted);</li>
 *   <li>the first event carrying both ids links them: out go a {@code retire} record for the
 *       anonymous id (only if it sent events alone, so its keyed state exists), the kept events
 *       rewritten to the userId and stamped {@link BehaviorEvent#stitchedAt} with the later of the
 *       linking event's time and the latest kept event's, in their order, then the linking event;
 *       the buffer is emptied;</li>
 *   <li>after the link, its events without a userId are rewritten to the linked userId; an event
 *       with another userId re-links it for later events, moving nothing (counted);</li>
 *   <li>events with their own userId always keep it; events without an anonymous id pass untouched;</li>
 *   <li>everything of the id goes {@code retention} of event time after its latest event.</li>
 * </ul>
 */
public final class IdentityLinks {
    /** Most estimated bytes of one anonymous id's kept events: four events of the parser's largest size. */
    public static final long MAX_BUFFERED_BYTES = 1024 * 1024;

    /** The resolver's state and timer of one address id. Methods may throw what the state backend throws. */
    public interface Store {
        /** The id's state; null if none. */
        AddressState state() throws Exception;

        void state(AddressState s) throws Exception;

        /** The kept events, oldest first. */
        List<BehaviorEvent> events() throws Exception;

        void append(BehaviorEvent e) throws Exception;

        void replaceEvents(List<BehaviorEvent> events) throws Exception;

        /** Clears the state and the kept events (not the timer). */
        void clear() throws Exception;

        void registerTimer(long at) throws Exception;

        void deleteTimer(long at) throws Exception;
    }

    /** Where the decisions go: the records to emit, and what to count. */
    public interface Output {
        void emit(BehaviorEvent e);

        /** An anonymous id linked to a userId for the first time, with this many events replayed. */
        default void linked(int replayed) {
        }

        /** An anonymous id linked before, now to another userId. */
        default void relinked() {
        }

        /** Kept events dropped, oldest first, past the bound. */
        default void overflowed(int dropped) {
        }

        /** An id's state dropped after the retention. */
        default void expired() {
        }
    }

    private final int maxEvents;
    private final long retentionMillis;

    public IdentityLinks(int maxEvents, long retentionMillis) {
        if (maxEvents < 0) throw new IllegalArgumentException("identity.max-anonymous-events must not be negative, got " + maxEvents);
        if (retentionMillis <= 0) throw new IllegalArgumentException("identity.anonymous-retention must be positive, got " + retentionMillis);
        this.maxEvents = maxEvents;
        this.retentionMillis = retentionMillis;
    }

    /** The key of an event in the resolver. */
    public static String addressOf(BehaviorEvent e) {
        return e.anonymousId != null ? e.anonymousId : e.userKey;
    }

    /** Whether the event concerns the resolver at all (has an anonymous id other than its userId). */
    public static boolean hasAnonymousId(BehaviorEvent e) {
        return e.anonymousId != null && !e.anonymousId.equals(e.userId);
    }

    /** One event of the address id the store belongs to. */
    public void route(BehaviorEvent e, Store store, Output out) throws Exception {
        if (!hasAnonymousId(e)) {
            out.emit(e);
            return;
        }
        AddressState s = store.state();
        if (s == null) s = new AddressState();
        s.lastEventAt = Math.max(s.lastEventAt, e.timestamp);
        if (e.userId != null) {
            if (s.linkedTo == null) {
                link(e, s, store, out);
            } else if (!s.linkedTo.equals(e.userId)) {
                s.linkedTo = e.userId; // a shared device: later anonymous events count for the latest login
                out.relinked();
            }
            out.emit(e);
        } else if (s.linkedTo != null) {
            out.emit(rewritten(e, s.linkedTo, BehaviorEvent.NOT_STITCHED));
        } else {
            s.sentAlone = true;
            keep(e, s, store, out);
            out.emit(e);
        }
        scheduleExpiry(s, store);
        store.state(s);
    }

    private void link(BehaviorEvent e, AddressState s, Store store, Output out) throws Exception {
        List<BehaviorEvent> kept = s.buffered > 0 ? store.events() : List.of();
        // the keyed state of the anonymous id goes before its events reach the user's, so none counts twice
        if (s.sentAlone) out.emit(PrivacyRules.controlRecord(e.anonymousId, PrivacyRules.CONTROL_RETIRE, null, e.timestamp));
        // where the user's timeline takes over: a link that arrives after later anonymous events
        // takes over after them, since the anonymous id had already acted on them
        long stitchedAt = e.timestamp;
        for (BehaviorEvent k : kept) stitchedAt = Math.max(stitchedAt, k.timestamp);
        for (BehaviorEvent k : kept) out.emit(rewritten(k, e.userId, stitchedAt));
        out.linked(kept.size());
        s.linkedTo = e.userId;
        if (s.buffered > 0) store.replaceEvents(List.of());
        s.buffered = 0;
        s.bufferedBytes = 0;
    }

    private void keep(BehaviorEvent e, AddressState s, Store store, Output out) throws Exception {
        if (maxEvents == 0) return;
        long bytes = estimatedBytes(e);
        if (bytes > MAX_BUFFERED_BYTES) {
            out.overflowed(1);
            return;
        }
        if (s.buffered >= maxEvents || s.bufferedBytes + bytes > MAX_BUFFERED_BYTES) {
            // past a bound the oldest go, an eighth of the bound at once: the list is rewritten once per
            // eighth of the bound, not per event
            List<BehaviorEvent> events = new ArrayList<>(store.events());
            long held = 0;
            for (BehaviorEvent k : events) held += estimatedBytes(k);
            int drop = Math.max(1, maxEvents / 8);
            int dropped = 0;
            while (!events.isEmpty() && (dropped < drop || events.size() >= maxEvents || held + bytes > MAX_BUFFERED_BYTES)) {
                held -= estimatedBytes(events.remove(0));
                dropped++;
            }
            store.replaceEvents(events);
            s.buffered = events.size();
            s.bufferedBytes = held;
            out.overflowed(dropped);
        }
        store.append(e);
        s.buffered++;
        s.bufferedBytes += bytes;
    }

    private void scheduleExpiry(AddressState s, Store store) throws Exception {
        long due = expiryOf(s.lastEventAt);
        // one timer per id: set once, and moved on when it fires early (a later event extended the retention)
        if (s.expiryAt == Long.MIN_VALUE) {
            store.registerTimer(due);
            s.expiryAt = due;
        }
    }

    private long expiryOf(long lastEventAt) {
        return lastEventAt > Long.MAX_VALUE - retentionMillis ? Long.MAX_VALUE : lastEventAt + retentionMillis;
    }

    /** The id's timer at {@code time}: the state goes if the retention has passed, else the timer moves on. */
    public void onTimer(long time, Store store, Output out) throws Exception {
        AddressState s = store.state();
        if (s == null || s.expiryAt != time) return;
        long due = expiryOf(s.lastEventAt);
        if (due <= time) {
            store.clear();
            out.expired();
            return;
        }
        store.registerTimer(due);
        s.expiryAt = due;
        store.state(s);
    }

    /**
     * An erasure of {@code erasedIds} reaching the id at hand (the operator visits every id it holds):
     * an id that is erased, or linked to an erased userId, is forgotten; for the latter, an erasure
     * record under the anonymous id goes on so the keyed path and the database forget it too.
     *
     * @return whether the id was forgotten
     */
    public boolean erase(String addressId, Set<String> erasedIds, String requestId, long at, Store store, Output out) throws Exception {
        AddressState s = store.state();
        if (s == null) return false;
        boolean named = erasedIds.contains(addressId);
        boolean linked = s.linkedTo != null && erasedIds.contains(s.linkedTo);
        if (!named && !linked) return false;
        if (s.expiryAt != Long.MIN_VALUE) store.deleteTimer(s.expiryAt);
        store.clear();
        if (!named) out.emit(PrivacyRules.controlRecord(addressId, PrivacyRules.CONTROL_ERASE, requestId, at));
        return true;
    }

    /** A copy of {@code e} under {@code userId}; the received event is never changed. */
    static BehaviorEvent rewritten(BehaviorEvent e, String userId, long stitchedAt) {
        BehaviorEvent c = new BehaviorEvent();
        c.messageId = e.messageId;
        c.userKey = userId;
        c.userId = userId;
        c.anonymousId = e.anonymousId;
        c.type = e.type;
        c.event = e.event;
        c.timestamp = e.timestamp;
        c.properties = e.properties == null ? null : new HashMap<>(e.properties);
        c.context = e.context == null ? null : new HashMap<>(e.context);
        c.stitchedAt = stitchedAt;
        return c;
    }

    /** The event's size as kept, estimated from its strings (UTF-8 of ASCII: one byte a char). */
    static long estimatedBytes(BehaviorEvent e) {
        long n = 64 + length(e.messageId) + length(e.userKey) + length(e.userId) + length(e.anonymousId) + length(e.type) + length(e.event);
        n += length(e.properties) + length(e.context);
        return n;
    }

    private static long length(String s) {
        return s == null ? 0 : s.length();
    }

    private static long length(Map<String, String> m) {
        if (m == null) return 0;
        long n = 0;
        for (Map.Entry<String, String> en : m.entrySet()) n += 4 + length(en.getKey()) + length(en.getValue());
        return n;
    }
}
