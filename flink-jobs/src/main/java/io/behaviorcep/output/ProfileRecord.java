package io.behaviorcep.output;

import io.behaviorcep.event.ProfileSnapshot;

/**
 * What the profile operator hands to PostgreSQL: the latest profile of a user (a row of
 * {@code user_profiles}, written at most once per {@code profile.write-interval} of event time per
 * user), or an erasure (the user's rows are deleted and the erasure is recorded without personal
 * data). Contract: docs/contracts.md.
 */
public class ProfileRecord {
    public static final String PROFILE = "profile";
    public static final String ERASURE = "erasure";

    /** {@link #PROFILE} or {@link #ERASURE}. */
    public String kind;
    public String userId;
    /** Event time: the profile's as-of time (its version: rows only move forward), or when the erasure happened. */
    public long at;
    /** For {@link #PROFILE}. */
    public ProfileSnapshot profile;
    /** For {@link #PROFILE}: the user's latest events, newest first ({@link io.behaviorcep.profile.ProfileState#recentEventNames}); null if none. */
    public String[] recentEventNames;
    public long[] recentEventTimes;

    public ProfileRecord() {}

    public static ProfileRecord profile(String userId, ProfileSnapshot p) {
        ProfileRecord r = new ProfileRecord();
        r.kind = PROFILE;
        r.userId = userId;
        r.at = p.asOf;
        r.profile = p;
        return r;
    }

    /**
     * With the user's latest events, newest first, as the profile holds them (for
     * {@code user_profiles.recent_events}); the arrays are copied.
     */
    public ProfileRecord withRecentEvents(String[] names, long[] times) {
        recentEventNames = names == null ? null : names.clone();
        recentEventTimes = times == null ? null : times.clone();
        return this;
    }

    public static ProfileRecord erasure(String userId, long at) {
        ProfileRecord r = new ProfileRecord();
        r.kind = ERASURE;
        r.userId = userId;
        r.at = at;
        return r;
    }

    public boolean isErasure() {
        return ERASURE.equals(kind);
    }

    @Override
    public String toString() {
        return "ProfileRecord{" + kind + " " + userId + " @" + at + "}";
    }
}
