package io.behaviorcep.policy;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.TreeMap;

/**
 * One user's messaging-policy state. Bounded per channel: the send times that still count against its
 * cap (at most {@code cap.max}), the last send time per priority rank (at most one per listed alert type,
 * plus one for the unlisted), and at most one alert waiting for the end of quiet hours. Pruned as event
 * time passes; empty state is not kept.
 *
 * <p>Kept as JSON text in one keyed value, so adding a field stays readable from older snapshots.
 */
public final class PolicyState {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Per channel: send times within the cap window, oldest first. */
    public TreeMap<String, long[]> sent = new TreeMap<>();
    /** Per channel: per rank, the last send time (absent rank: never within the compete window). */
    public TreeMap<String, TreeMap<Integer, Long>> lastSentByRank = new TreeMap<>();
    /** Per channel: the one alert waiting for its quiet hours to end. */
    public TreeMap<String, Held> held = new TreeMap<>();

    /** An alert delayed by quiet hours, and when it is decided again. */
    public static final class Held {
        public Candidate candidate;
        public long releaseAt;

        public Held() {}

        Held(Candidate candidate, long releaseAt) {
            this.candidate = candidate;
            this.releaseAt = releaseAt;
        }
    }

    @JsonIgnore
    public boolean isEmpty() {
        return sent.isEmpty() && lastSentByRank.isEmpty() && held.isEmpty();
    }

    /** The earliest release of a held alert, or Long.MAX_VALUE. */
    public long nextRelease() {
        long next = Long.MAX_VALUE;
        for (Held h : held.values()) next = Math.min(next, h.releaseAt);
        return next;
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** null or "" is an empty state. */
    public static PolicyState fromJson(String json) {
        if (json == null || json.isEmpty()) return new PolicyState();
        try {
            return JSON.readValue(json, PolicyState.class);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("unreadable policy state", e);
        }
    }
}
