package io.behaviorcep.event;

import io.behaviorcep.event.SeenIds.Sighting;

import org.junit.jupiter.api.Test;

import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** One user's dedup decisions on a {@link SeenIdSet} and a sorted set of timers: no Flink. */
class SeenIdsTest {
    static final long TTL = 16_000;

    /** The timers as a sorted set, fired as the operator would. */
    static final class SetTimers implements SeenIds.SweepTimers {
        final TreeSet<Long> timers = new TreeSet<>();

        @Override public void schedule(long at) { timers.add(at); }
        @Override public void cancel(long at) { timers.remove(at); }

        /** Fires the earliest timer. */
        long fireNext(SeenIds seen, SeenIdSet user) throws Exception {
            long at = timers.pollFirst();
            seen.sweep(user, this, at);
            return at;
        }
    }

    private final SeenIdSet user = new SeenIdSet();
    private final SetTimers timers = new SetTimers();

    private Sighting see(SeenIds seen, String id, long now) throws Exception {
        return seen.see(user, timers, id, now);
    }

    @Test
    void aRepeatWithinTheTtlIsDroppedAndFromTheTtlOnPassesAgain() throws Exception {
        SeenIds seen = new SeenIds(TTL, 100);
        assertThat(see(seen, "m1", 0).repeat()).isFalse();
        assertThat(see(seen, "m1", TTL - 1).repeat()).isTrue();

        assertThat(see(seen, "m1", TTL).repeat()).as("exactly the TTL later").isFalse();
        assertThat(see(seen, "m1", 2 * TTL - 1).repeat()).as("remembered anew from the TTL on").isTrue();
        assertThat(user.size()).isEqualTo(1);
    }

    @Test
    void oneSweepTimerPerUserAtTheOldestExpiryRoundedUpToASixteenthOfTheTtl() throws Exception {
        SeenIds seen = new SeenIds(TTL, 100);
        see(seen, "a", 100);
        see(seen, "b", 5_000);
        assertThat(timers.timers).containsExactly(TTL + 1_000); // 16100 rounded up to a multiple of 1000
        assertThat(user.sweepAt()).isEqualTo(TTL + 1_000);

        timers.fireNext(seen, user); // a expired, b left: the next sweep at b's expiry
        assertThat(user.remembers("a")).isFalse();
        assertThat(user.remembers("b")).isTrue();
        assertThat(user.size()).isEqualTo(1);
        assertThat(timers.timers).containsExactly(21_000L);

        timers.fireNext(seen, user); // nothing left: no ids, no timer
        assertThat(user.isEmpty()).isTrue();
        assertThat(user.sweepAt()).isEqualTo(SeenIdSet.NO_SWEEP);
        assertThat(timers.timers).isEmpty();
    }

    @Test
    void anIdExactlyTheTtlOldIsSweptAndOneMillisecondYoungerIsKept() throws Exception {
        SeenIds seen = new SeenIds(TTL, 100);
        see(seen, "old", 0);
        see(seen, "young", 1);
        seen.sweep(user, timers, TTL);
        assertThat(user.remembers("old")).isFalse();
        assertThat(user.remembers("young")).isTrue();
    }

    @Test
    void pastTheBoundTheOldestIdsAreForgottenASixteenthOfTheBoundAtOnce() throws Exception {
        SeenIds seen = new SeenIds(TTL, 32);
        for (int i = 0; i < 32; i++) assertThat(see(seen, "m" + i, i)).isEqualTo(new Sighting(false, 0));

        Sighting s = see(seen, "m32", 32);

        assertThat(s).isEqualTo(new Sighting(false, 2));
        assertThat(user.size()).isEqualTo(31);
        assertThat(user.remembers("m2")).isTrue();
        assertThat(user.remembers("m32")).isTrue();
        assertThat(user.remembers("m0")).isFalse();
        assertThat(user.remembers("m1")).isFalse();
        assertThat(see(seen, "m0", 33).repeat()).as("a forgotten id passes again").isFalse();
        assertThat(see(seen, "m3", 34).repeat()).as("the others are still repeats").isTrue();
    }

    @Test
    void forgettingExpiredIdsForTheBoundIsNotCountedAsALoss() throws Exception {
        SeenIds seen = new SeenIds(TTL, 2);
        see(seen, "a", 0);
        see(seen, "b", TTL / 2);
        // a has expired but the sweep has not run yet: making room forgets it at no cost
        assertThat(see(seen, "c", TTL)).isEqualTo(new Sighting(false, 0));
        assertThat(user.size()).isEqualTo(2);
        assertThat(user.remembers("a")).isFalse();
        assertThat(user.remembers("b")).isTrue();
        assertThat(user.remembers("c")).isTrue();
    }

    @Test
    void anErasureForgetsTheIdsAndTheTimer() throws Exception {
        SeenIds seen = new SeenIds(TTL, 100);
        see(seen, "m1", 0);
        see(seen, "m2", 1);

        seen.forgetUser(user, timers);

        assertThat(user.isEmpty()).isTrue();
        assertThat(user.sweepAt()).isEqualTo(SeenIdSet.NO_SWEEP);
        assertThat(timers.timers).isEmpty();
        assertThat(see(seen, "m1", 2).repeat()).isFalse();
        assertThat(timers.timers).hasSize(1);
    }

    @Test
    void aLongIdIsRememberedByItsFingerprintAndStillDeduplicated() throws Exception {
        SeenIds seen = new SeenIds(TTL, 100);
        String longId = "m".repeat(64 * 1024);
        see(seen, longId, 0);
        see(seen, "x".repeat(64), 0);

        assertThat(see(seen, longId, 1).repeat()).isTrue();
        assertThat(see(seen, longId.substring(1) + "n", 1).repeat()).as("as long, one character different").isFalse();
        assertThat(user.size()).isEqualTo(3);
    }

    @Test
    void fingerprintsOfSimilarIdsDiffer() {
        assertThat(SeenIdSet.fingerprint("m1")).isEqualTo(SeenIdSet.fingerprint(new String("m1".toCharArray())));
        TreeSet<Long> distinct = new TreeSet<>();
        for (int i = 0; i < 100_000; i++) distinct.add(SeenIdSet.fingerprint("m" + i));
        for (int i = 0; i < 100_000; i++) distinct.add(SeenIdSet.fingerprint("00000000-0000-4000-8000-" + String.format("%012d", i)));
        assertThat(distinct).as("no collision among 200,000 similar ids").hasSize(200_000);
        assertThat(SeenIdSet.fingerprint("a")).isNotEqualTo(SeenIdSet.fingerprint("a\0"));
        assertThat(SeenIdSet.fingerprint("")).isNotEqualTo(SeenIdSet.fingerprint("\0"));
    }

    @Test
    void theTtlAndTheBoundMustBePositive() {
        assertThatThrownBy(() -> new SeenIds(0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new SeenIds(1, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
