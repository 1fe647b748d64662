package io.behaviorcep.event;

/**
 * One user's deduplication by message id: which ids count as seen, for how long, how many are kept,
 * and what is forgotten when. Plain Java on purpose, like Flink CEP's {@code NFA} beside its
 * operator: {@link io.behaviorcep.ingest.IngestFilter} keeps the user's {@link SeenIdSet} as one keyed-state value, backs
 * {@link SweepTimers} with processing-time timers and calls these decisions; tests use a sorted set.
 *
 * <p>Each id keeps the processing time it was first seen; it is a repeat for {@code ttlMillis} from
 * then. Each user has at most one sweep timer, at the expiry of the oldest id rounded up to a
 * sixteenth of the TTL, which removes the expired ids and moves on to the next oldest, so a user who
 * goes quiet leaves nothing behind. At most {@code maxIdsPerUser} ids are kept: an id that would go
 * past the bound first forgets the user's oldest ids, a sixteenth of the bound at once, so the sort
 * that finds them runs once per sixteenth of the bound rather than per event. Ids are remembered by
 * their 64-bit fingerprint ({@link SeenIdSet#fingerprint}), so each costs the same few bytes however
 * long it is.
 */
public final class SeenIds {

    /** The user's sweep timer. Methods may throw what the timer service throws. */
    public interface SweepTimers {
        void schedule(long at) throws Exception;

        void cancel(long at) throws Exception;
    }

    /**
     * What one sighting decided.
     *
     * @param repeat            the id was seen less than the TTL ago: drop the event
     * @param forgottenUnexpired ids forgotten for the bound before they expired: a repeat of one would pass
     */
    public record Sighting(boolean repeat, int forgottenUnexpired) {
        static final Sighting REPEAT = new Sighting(true, 0);
        static final Sighting FIRST = new Sighting(false, 0);
    }

    private final long ttlMillis;
    private final long sweepSlack;
    private final int maxIdsPerUser;

    public SeenIds(long ttlMillis, int maxIdsPerUser) {
        if (ttlMillis <= 0) throw new IllegalArgumentException("the dedup TTL must be positive, got " + ttlMillis + " ms");
        if (maxIdsPerUser < 1) throw new IllegalArgumentException("the bound on ids per user must be positive, got " + maxIdsPerUser);
        this.ttlMillis = ttlMillis;
        this.sweepSlack = Math.max(1, ttlMillis / 16);
        this.maxIdsPerUser = maxIdsPerUser;
    }

    /**
     * The user sends {@code messageId} at processing time {@code now}: a repeat, or a first sighting
     * (also a repeat past the TTL), which is remembered from {@code now}.
     */
    public Sighting see(SeenIdSet user, SweepTimers timers, String messageId, long now) throws Exception {
        long fingerprint = SeenIdSet.fingerprint(messageId);
        int at = user.indexOf(fingerprint);
        if (at >= 0) {
            if (now - user.firstSeenAt(at) < ttlMillis) return Sighting.REPEAT;
            user.setFirstSeen(at, now);
            return Sighting.FIRST;
        }
        int forgottenUnexpired = 0;
        if (user.size() >= maxIdsPerUser) {
            forgottenUnexpired = forgetOldest(user, user.size() - maxIdsPerUser + Math.max(1, maxIdsPerUser / 16), now);
            at = user.indexOf(fingerprint);
        }
        user.insert(-(at + 1), fingerprint, now);
        if (user.sweepAt == SeenIdSet.NO_SWEEP) scheduleSweep(user, timers, now);
        return forgottenUnexpired == 0 ? Sighting.FIRST : new Sighting(false, forgottenUnexpired);
    }

    /** The user's sweep timer fired at {@code timestamp}: expired ids go, and the next sweep is set for the oldest left. */
    public void sweep(SeenIdSet user, SweepTimers timers, long timestamp) throws Exception {
        // expired: first seen at or before timestamp - ttl
        user.removeFirstSeenBefore(timestamp - ttlMillis + 1);
        user.sweepAt = SeenIdSet.NO_SWEEP;
        if (!user.isEmpty()) scheduleSweep(user, timers, user.oldestFirstSeen());
    }

    /** The user is erased: every id and the sweep timer go. */
    public void forgetUser(SeenIdSet user, SweepTimers timers) throws Exception {
        if (user.sweepAt != SeenIdSet.NO_SWEEP) timers.cancel(user.sweepAt);
        user.clear();
    }

    /** Forgets the user's {@code n} oldest ids (by first sighting); returns how many of them had not expired. */
    private int forgetOldest(SeenIdSet user, int n, long now) {
        int[] byAge = user.indexesByAge();
        int gone = Math.min(n, byAge.length);
        int unexpired = 0;
        int[] doomed = java.util.Arrays.copyOf(byAge, gone);
        for (int i : doomed) if (now - user.firstSeenAt(i) < ttlMillis) unexpired++;
        java.util.Arrays.sort(doomed);
        user.removeAll(doomed, gone);
        return unexpired;
    }

    private void scheduleSweep(SeenIdSet user, SweepTimers timers, long oldestFirstSeen) throws Exception {
        long expiry = oldestFirstSeen + ttlMillis;
        long at = Math.floorDiv(expiry + sweepSlack - 1, sweepSlack) * sweepSlack;
        timers.schedule(at);
        user.sweepAt = at;
    }
}
