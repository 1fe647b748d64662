package io.behaviorcep.identity;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.privacy.PrivacyRules;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

class IdentityLinksTest {
    static final long DAY = 86_400_000L;
    final IdentityLinks links = new IdentityLinks(5, 7 * DAY);
    /** address id -> its store, as the operator keys them. */
    final Map<String, MapStore> stores = new HashMap<>();
    final Recorder out = new Recorder();

    static BehaviorEvent event(String id, String userId, String anonymousId, long at) {
        BehaviorEvent e = new BehaviorEvent();
        e.messageId = id;
        e.type = "track";
        e.event = "Product Viewed";
        e.userId = userId;
        e.anonymousId = anonymousId;
        e.userKey = userId != null ? userId : anonymousId;
        e.timestamp = at;
        return e;
    }

    void route(BehaviorEvent e) throws Exception {
        links.route(e, store(IdentityLinks.addressOf(e)), out);
    }

    MapStore store(String address) {
        return stores.computeIfAbsent(address, k -> new MapStore());
    }

    @Test
    void anonymousEventsPassUnderTheAnonymousIdAndAreReplayedUnderTheUserAtTheLink() throws Exception {
        route(event("v1", null, "a1", 1000));
        route(event("v2", null, "a1", 2000));
        assertThat(out.emitted).extracting(e -> e.messageId + "@" + e.userKey).containsExactly("v1@a1", "v2@a1");
        out.emitted.clear();

        route(event("id", "u1", "a1", 3000));
        assertThat(out.emitted).extracting(e -> e.type + ":" + e.messageId + "@" + e.userKey)
                .containsExactly(PrivacyRules.CONTROL_TYPE + ":" + out.emitted.get(0).messageId + "@a1", "track:v1@u1", "track:v2@u1", "track:id@u1");
        assertThat(PrivacyRules.isRetire(out.emitted.get(0))).isTrue();
        assertThat(out.emitted.get(1).stitchedAt).isEqualTo(3000);
        assertThat(out.emitted.get(1).timestamp).isEqualTo(1000);
        assertThat(out.emitted.get(1).userId).isEqualTo("u1");
        assertThat(out.emitted.get(3).stitched()).isFalse();
        assertThat(store("a1").events).isEmpty();
        assertThat(out.links).isEqualTo(1);
        assertThat(out.replayed).isEqualTo(2);

        out.emitted.clear();
        route(event("v3", null, "a1", 4000));
        assertThat(out.emitted).extracting(e -> e.messageId + "@" + e.userKey + "/" + e.stitched()).containsExactly("v3@u1/false");
    }

    @Test
    void theReceivedEventIsNeverChanged() throws Exception {
        BehaviorEvent v = event("v1", null, "a1", 1000);
        route(v);
        route(event("id", "u1", "a1", 3000));
        assertThat(v.userKey).isEqualTo("a1");
        assertThat(v.stitched()).isFalse();
    }

    @Test
    void anIdThatNeverSentAnythingAloneIsLinkedWithoutARetirement() throws Exception {
        route(event("p1", "u1", "a1", 1000));
        route(event("p2", "u1", "a1", 2000));
        assertThat(out.emitted).extracting(e -> e.messageId + "@" + e.userKey).containsExactly("p1@u1", "p2@u1");
        assertThat(out.links).isEqualTo(1);
    }

    @Test
    void eventsWithoutAnAnonymousIdPassUntouchedAndKeepNoState() throws Exception {
        BehaviorEvent e = event("x", "u1", null, 1000);
        route(e);
        assertThat(out.emitted).containsExactly(e);
        assertThat(stores.get("u1").state).isNull();
    }

    @Test
    void theBufferKeepsTheNewestEventsUpToItsBound() throws Exception {
        for (int i = 0; i < 8; i++) route(event("v" + i, null, "a1", 1000 + i));
        assertThat(store("a1").events.size()).isLessThanOrEqualTo(5);
        assertThat(out.overflowed).isEqualTo(8 - store("a1").events.size());
        out.emitted.clear();
        route(event("id", "u1", "a1", 5000));
        List<String> replayed = out.emitted.stream().filter(BehaviorEvent::stitched).map(e -> e.messageId).toList();
        assertThat(replayed).endsWith("v7").contains("v6", "v5").doesNotContain("v0", "v1", "v2");
    }

    @Test
    void theBufferKeepsAtMostAMebibyte() throws Exception {
        IdentityLinks wide = new IdentityLinks(1000, 7 * DAY);
        MapStore s = new MapStore();
        for (int i = 0; i < 10; i++) {
            BehaviorEvent e = event("v" + i, null, "a1", 1000 + i);
            e.properties.put("blob", "x".repeat(300_000));
            wide.route(e, s, out);
        }
        long bytes = 0;
        for (BehaviorEvent e : s.events) bytes += IdentityLinks.estimatedBytes(e);
        assertThat(bytes).isLessThanOrEqualTo(IdentityLinks.MAX_BUFFERED_BYTES);
        assertThat(s.events).isNotEmpty();
        assertThat(s.state.bufferedBytes).isEqualTo(bytes);
        assertThat(s.state.buffered).isEqualTo(s.events.size());
    }

    @Test
    void aLinkThatArrivesAfterLaterAnonymousEventsTakesOverAfterThem() throws Exception {
        route(event("v1", null, "a1", 1000));
        route(event("v5", null, "a1", 5000));
        route(event("id", "u1", "a1", 3000));
        assertThat(out.emitted.stream().filter(BehaviorEvent::stitched).map(e -> e.stitchedAt).toList()).containsExactly(5000L, 5000L);
    }

    @Test
    void aSecondUserRelinksLaterAnonymousEventsAndMovesNothing() throws Exception {
        route(event("v1", null, "a1", 1000));
        route(event("id1", "u1", "a1", 2000));
        out.emitted.clear();
        route(event("id2", "u2", "a1", 3000));
        assertThat(out.emitted).extracting(e -> e.messageId + "@" + e.userKey).containsExactly("id2@u2");
        assertThat(out.relinks).isEqualTo(1);
        out.emitted.clear();
        route(event("v2", null, "a1", 4000));
        route(event("p1", "u1", "a1", 5000)); // the first user back on the device: their own id, and the latest login
        route(event("v3", null, "a1", 6000));
        assertThat(out.emitted).extracting(e -> e.messageId + "@" + e.userKey).containsExactly("v2@u2", "p1@u1", "v3@u1");
        assertThat(out.relinks).isEqualTo(2);
        assertThat(out.links).isEqualTo(1);
    }

    @Test
    void anIdGoesAtTheRetentionAfterItsLatestEvent() throws Exception {
        route(event("v1", null, "a1", 1000));
        MapStore s = store("a1");
        assertThat(s.timers).containsExactly(1000 + 7 * DAY);
        route(event("v2", null, "a1", 2 * DAY));
        links.onTimer(1000 + 7 * DAY, s, out);
        assertThat(s.state).isNotNull();
        assertThat(s.timers).contains(2 * DAY + 7 * DAY);
        links.onTimer(9 * DAY, s, out);
        assertThat(s.state).isNull();
        assertThat(s.events).isEmpty();
        assertThat(out.expired).isEqualTo(1);
    }

    @Test
    void anErasureOfTheUserForgetsTheAnonymousIdsLinkedToItAndErasesThemDownstream() throws Exception {
        route(event("v1", null, "a1", 1000));
        route(event("id", "u1", "a1", 2000));
        route(event("w1", null, "a2", 1000));
        route(event("id2", "u2", "a2", 2000));
        route(event("z1", null, "a3", 1000)); // never linked
        out.emitted.clear();
        List<String> forgotten = new ArrayList<>();
        for (String key : new TreeSet<>(stores.keySet())) {
            if (links.erase(key, Set.of("u1"), "ticket-1", 9000, stores.get(key), out)) forgotten.add(key);
        }
        assertThat(forgotten).containsExactly("a1");
        assertThat(store("a1").state).isNull();
        assertThat(store("a2").state.linkedTo).isEqualTo("u2");
        assertThat(out.emitted).hasSize(1);
        assertThat(PrivacyRules.isControlErasure(out.emitted.get(0))).isTrue();
        assertThat(out.emitted.get(0).userKey).isEqualTo("a1");
        assertThat(out.emitted.get(0).property(PrivacyRules.REQUEST_ID_PROPERTY)).isEqualTo("ticket-1");
    }

    @Test
    void anErasureOfTheAnonymousIdItselfForgetsItWithoutAnotherErasure() throws Exception {
        route(event("v1", null, "a1", 1000));
        assertThat(links.erase("a1", Set.of("a1"), null, 9000, store("a1"), out)).isTrue();
        assertThat(store("a1").state).isNull();
        assertThat(store("a1").events).isEmpty();
        assertThat(out.emitted).extracting(e -> e.messageId).containsExactly("v1");
    }

    static final class MapStore implements IdentityLinks.Store {
        AddressState state;
        List<BehaviorEvent> events = new ArrayList<>();
        final TreeSet<Long> timers = new TreeSet<>();

        @Override
        public AddressState state() {
            return state;
        }

        @Override
        public void state(AddressState s) {
            state = s;
        }

        @Override
        public List<BehaviorEvent> events() {
            return new ArrayList<>(events);
        }

        @Override
        public void append(BehaviorEvent e) {
            events.add(e);
        }

        @Override
        public void replaceEvents(List<BehaviorEvent> replacement) {
            events = new ArrayList<>(replacement);
        }

        @Override
        public void clear() {
            state = null;
            events.clear();
        }

        @Override
        public void registerTimer(long at) {
            timers.add(at);
        }

        @Override
        public void deleteTimer(long at) {
            timers.remove(at);
        }
    }

    static final class Recorder implements IdentityLinks.Output {
        final List<BehaviorEvent> emitted = new ArrayList<>();
        int links, relinks, overflowed, expired, replayed;

        @Override
        public void emit(BehaviorEvent e) {
            emitted.add(e);
        }

        @Override
        public void linked(int events) {
            links++;
            replayed += events;
        }

        @Override
        public void relinked() {
            relinks++;
        }

        @Override
        public void overflowed(int dropped) {
            overflowed += dropped;
        }

        @Override
        public void expired() {
            expired++;
        }
    }
}
