package io.behaviorcep.event;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * One user's deduplication by message id: which ids count as seen, for how long, how many are kept,
 * and what is forgotten when. Plain Java on purpose, like Flink CEP's {@code NFA} beside its
 * operator: {@link IngestFilter} backs {@link UserState} with keyed state and timers and calls
 * these decisions; tests back it with a map.
 *
 * <p>Each id keeps the processing time it was first seen; it is a repeat for {@code ttlMillis} from
 * then. Each user has at most one sweep timer, at the expiry of the oldest id rounded up to a
 * sixteenth of the TTL, which removes the expired ids and moves on to the next oldest, so a user who
 * goes quiet leaves nothing behind. At most {@code maxIdsPerUser} ids are kept: an id that would go
 * past the bound first forgets the user's oldest ids, a sixteenth of the bound at once, so the scan
 * that finds them runs once per sixteenth of the bound rather than per event.
 */
public final class SeenIds {

    /** Ids longer than this are remembered by their digest, so one id costs at most ~70 bytes of state. */
    static final int MAX_KEPT_ID_CHARS = 64;

    /**
     * What the decisions need of one user's state and timers. Methods may throw what the state
     * backend throws.
     */
    public interface UserState {
        /** When {@code id} was first seen; null if it is not remembered. */
        Long firstSeen(String id) throws Exception;

        void remember(String id, long firstSeen) throws Exception;

        void forget(String id) throws Exception;

        /** The remembered ids and their first-seen times; {@link Iterator#remove} forgets one. */
        Iterator<Map.Entry<String, Long>> entries() throws Exception;

        /** Forgets every id. */
        void forgetAll() throws Exception;

        /** How many ids are remembered, as last stored; null when not stored (no ids, or state from before the count). */
        Integer storedCount() throws Exception;

        /** Stores the count; null clears it. */
        void storeCount(Integer count) throws Exception;

        /** When the user's sweep timer fires; null: no ids, no timer. */
        Long sweepAt() throws Exception;

        /** Registers the sweep timer at {@code at} and remembers it. */
        void scheduleSweep(long at) throws Exception;

        /** Deletes the sweep timer at {@code at}; the remembered time is cleared by {@link #clearSweepAt}. */
        void cancelSweep(long at) throws Exception;

        void clearSweepAt() throws Exception;
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
    public Sighting see(UserState user, String messageId, long now) throws Exception {
        String id = keptId(messageId);
        Long firstSeen = user.firstSeen(id);
        if (firstSeen != null && now - firstSeen < ttlMillis) return Sighting.REPEAT;
        Long sweep = user.sweepAt();
        int forgottenUnexpired = 0;
        if (firstSeen == null) {
            int held = sweep == null ? 0 : held(user);
            if (held >= maxIdsPerUser) {
                Forgotten f = forgetOldest(user, held - maxIdsPerUser + Math.max(1, maxIdsPerUser / 16), now);
                held -= f.ids;
                forgottenUnexpired = f.unexpired;
            }
            user.storeCount(held + 1);
        }
        user.remember(id, now);
        if (sweep == null) scheduleSweep(user, now);
        return forgottenUnexpired == 0 ? Sighting.FIRST : new Sighting(false, forgottenUnexpired);
    }

    /** The user's sweep timer fired at {@code timestamp}: expired ids go, and the next sweep is set for the oldest left. */
    public void sweep(UserState user, long timestamp) throws Exception {
        long oldest = Long.MAX_VALUE;
        int kept = 0;
        for (Iterator<Map.Entry<String, Long>> it = user.entries(); it.hasNext(); ) {
            long firstSeen = it.next().getValue();
            if (timestamp - firstSeen >= ttlMillis) {
                it.remove();
            } else {
                oldest = Math.min(oldest, firstSeen);
                kept++;
            }
        }
        user.clearSweepAt();
        if (oldest == Long.MAX_VALUE) {
            // removing the last id through the iterator leaves an empty map behind in heap state
            user.forgetAll();
            user.storeCount(null);
        } else {
            user.storeCount(kept);
            scheduleSweep(user, oldest);
        }
    }

    /** The user is erased: every id, the count and the sweep timer go. */
    public void forgetUser(UserState user) throws Exception {
        user.forgetAll();
        Long at = user.sweepAt();
        if (at != null) user.cancelSweep(at);
        user.clearSweepAt();
        user.storeCount(null);
    }

    /** The id as remembered: itself, or when longer than {@value #MAX_KEPT_ID_CHARS} characters {@code #} and its SHA-256 (65 characters: never a kept id). */
    static String keptId(String messageId) {
        if (messageId.length() <= MAX_KEPT_ID_CHARS) return messageId;
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(messageId.getBytes(StandardCharsets.UTF_8));
            return "#" + HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException("SHA-256 is part of every JVM", ex);
        }
    }

    /** The user's id count; counted once from the ids for state written before the count was kept. */
    private static int held(UserState user) throws Exception {
        Integer n = user.storedCount();
        if (n != null) return n;
        int count = 0;
        for (Iterator<Map.Entry<String, Long>> it = user.entries(); it.hasNext(); it.next()) count++;
        return count;
    }

    private record Forgotten(int ids, int unexpired) {}

    /** Forgets the user's {@code n} oldest ids (by first sighting). */
    private Forgotten forgetOldest(UserState user, int n, long now) throws Exception {
        List<Map.Entry<String, Long>> all = new ArrayList<>();
        for (Iterator<Map.Entry<String, Long>> it = user.entries(); it.hasNext(); ) {
            Map.Entry<String, Long> id = it.next();
            all.add(Map.entry(id.getKey(), id.getValue()));
        }
        all.sort(Map.Entry.comparingByValue());
        int gone = Math.min(n, all.size());
        int unexpired = 0;
        for (int i = 0; i < gone; i++) {
            Map.Entry<String, Long> id = all.get(i);
            user.forget(id.getKey());
            if (now - id.getValue() < ttlMillis) unexpired++;
        }
        return new Forgotten(gone, unexpired);
    }

    private void scheduleSweep(UserState user, long oldestFirstSeen) throws Exception {
        long expiry = oldestFirstSeen + ttlMillis;
        long at = Math.floorDiv(expiry + sweepSlack - 1, sweepSlack) * sweepSlack;
        user.scheduleSweep(at);
    }
}
