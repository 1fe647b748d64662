package io.behaviorcep.event;

import io.behaviorcep.event.SeenIds.Sighting;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** One user's dedup decisions on a map and a set of timers: no Flink. */
class SeenIdsTest {
    static final long TTL = 16_000;

    /** One user's state as maps, the timers as a sorted set. */
    static final class MapUserState implements SeenIds.UserState {
        final Map<String, Long> ids = new HashMap<>();
        Integer count;
        Long sweepAt;
        final TreeSet<Long> timers = new TreeSet<>();

        @Override public Long firstSeen(String id) { return ids.get(id); }
        @Override public void remember(String id, long firstSeen) { ids.put(id, firstSeen); }
        @Override public void forget(String id) { ids.remove(id); }
        @Override public Iterator<Map.Entry<String, Long>> entries() { return ids.entrySet().iterator(); }
        @Override public void forgetAll() { ids.clear(); }
        @Override public Integer storedCount() { return count; }
        @Override public void storeCount(Integer n) { count = n; }
        @Override public Long sweepAt() { return sweepAt; }
        @Override public void scheduleSweep(long at) { timers.add(at); sweepAt = at; }
        @Override public void cancelSweep(long at) { timers.remove(at); }
        @Override public void clearSweepAt() { sweepAt = null; }

        /** Fires the earliest timer, as the operator would. */
        long fireNext(SeenIds seen) throws Exception {
            long at = timers.pollFirst();
            seen.sweep(this, at);
            return at;
        }
    }

    private final MapUserState user = new MapUserState();

    @Test
    void aRepeatWithinTheTtlIsDroppedAndFromTheTtlOnPassesAgain() throws Exception {
        SeenIds seen = new SeenIds(TTL, 100);
        assertThat(seen.see(user, "m1", 0).repeat()).isFalse();
        assertThat(seen.see(user, "m1", TTL - 1).repeat()).isTrue();
        assertThat(user.ids).containsEntry("m1", 0L);

        assertThat(seen.see(user, "m1", TTL).repeat()).as("exactly the TTL later").isFalse();
        assertThat(user.ids).as("remembered anew from now").containsEntry("m1", TTL);
        assertThat(user.count).isEqualTo(1);
    }

    @Test
    void oneSweepTimerPerUserAtTheOldestExpiryRoundedUpToASixteenthOfTheTtl() throws Exception {
        SeenIds seen = new SeenIds(TTL, 100);
        seen.see(user, "a", 100);
        seen.see(user, "b", 5_000);
        assertThat(user.timers).containsExactly(TTL + 1_000); // 16100 rounded up to a multiple of 1000
        assertThat(user.sweepAt).isEqualTo(TTL + 1_000);

        user.fireNext(seen); // a expired, b left: the next sweep at b's expiry
        assertThat(user.ids).containsOnlyKeys("b");
        assertThat(user.count).isEqualTo(1);
        assertThat(user.timers).containsExactly(21_000L);

        user.fireNext(seen); // nothing left: no ids, no count, no timer
        assertThat(user.ids).isEmpty();
        assertThat(user.count).isNull();
        assertThat(user.sweepAt).isNull();
        assertThat(user.timers).isEmpty();
    }

    @Test
    void pastTheBoundTheOldestIdsAreForgottenASixteenthOfTheBoundAtOnce() throws Exception {
        SeenIds seen = new SeenIds(TTL, 32);
        for (int i = 0; i < 32; i++) assertThat(seen.see(user, "m" + i, i)).isEqualTo(new Sighting(false, 0));

        Sighting s = seen.see(user, "m32", 32);

        assertThat(s).isEqualTo(new Sighting(false, 2));
        assertThat(user.ids).hasSize(31).containsKeys("m2", "m32").doesNotContainKeys("m0", "m1");
        assertThat(user.count).isEqualTo(31);
        assertThat(seen.see(user, "m0", 33).repeat()).as("a forgotten id passes again").isFalse();
    }

    @Test
    void forgettingExpiredIdsForTheBoundIsNotCountedAsALoss() throws Exception {
        SeenIds seen = new SeenIds(TTL, 2);
        seen.see(user, "a", 0);
        seen.see(user, "b", TTL / 2);
        // a has expired but the sweep has not run yet: making room forgets it at no cost
        assertThat(seen.see(user, "c", TTL)).isEqualTo(new Sighting(false, 0));
        assertThat(user.ids).containsOnlyKeys("b", "c");
    }

    @Test
    void stateWrittenWithoutTheCountIsCountedOnce() throws Exception {
        SeenIds seen = new SeenIds(TTL, 2);
        user.ids.put("a", 0L);
        user.ids.put("b", 1L);
        user.sweepAt = TTL;
        user.timers.add(TTL);

        assertThat(seen.see(user, "c", 2)).isEqualTo(new Sighting(false, 1));
        assertThat(user.ids).containsOnlyKeys("b", "c");
        assertThat(user.count).isEqualTo(2);
    }

    @Test
    void anErasureForgetsTheIdsTheCountAndTheTimer() throws Exception {
        SeenIds seen = new SeenIds(TTL, 100);
        seen.see(user, "m1", 0);
        seen.see(user, "m2", 1);

        seen.forgetUser(user);

        assertThat(user.ids).isEmpty();
        assertThat(user.count).isNull();
        assertThat(user.sweepAt).isNull();
        assertThat(user.timers).isEmpty();
        assertThat(seen.see(user, "m1", 2).repeat()).isFalse();
        assertThat(user.timers).hasSize(1);
    }

    @Test
    void aLongIdIsRememberedByItsDigest() throws Exception {
        SeenIds seen = new SeenIds(TTL, 100);
        String longId = "m".repeat(64 * 1024);
        seen.see(user, longId, 0);
        seen.see(user, "x".repeat(64), 0);

        assertThat(seen.see(user, longId, 1).repeat()).isTrue();
        assertThat(seen.see(user, longId.substring(1) + "n", 1).repeat()).isFalse();
        assertThat(user.ids.keySet()).hasSize(3).allMatch(id -> id.length() <= 65).contains("x".repeat(64));
    }

    @Test
    void theTtlAndTheBoundMustBePositive() {
        assertThatThrownBy(() -> new SeenIds(0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new SeenIds(1, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
