package io.behaviorcep.profile;

import io.behaviorcep.privacy.PrivacyRules;
import io.behaviorcep.pattern.ThresholdSegment;
import io.behaviorcep.trait.TraitSet;

import java.io.Serializable;
import java.time.Duration;
import java.util.List;

/** What the profile operator does besides counting: retention, threshold segments, profile writes, privacy. */
public final class ProfileOptions implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Profile state of a user is dropped after this long without events. */
    public final long retentionMillis;
    public final List<ThresholdSegment> segments;
    /** At most one {@code user_profiles} record per user per this much event time; 0: none. */
    public final long writeIntervalMillis;
    public final PrivacyRules privacy;
    /** Most events of one user waiting for the watermark ({@code profile.max-buffered-events-per-user}). */
    public final int maxBufferedEvents;
    /**
     * Most events of one user waiting at one instant ({@code profile.max-buffered-events-per-instant}):
     * the bound a flood meets. It does not depend on how fast the input is read, unlike the total,
     * which a backlog read far ahead of event time may fill with ordinary events.
     */
    public final int maxBufferedAtOneInstant;
    /**
     * How long after a user's last event the job remembers them at all ({@code profile.lifetime-retention}):
     * past {@link #retentionMillis} only as a {@link LifetimeRecord}. At least the retention.
     */
    public final long lifetimeRetentionMillis;
    /** The computed traits at submission ({@code kind: traits}); a running job may change them in-band. */
    public final TraitSet traits;

    public static final int DEFAULT_MAX_BUFFERED_EVENTS = 100_000;
    public static final int DEFAULT_MAX_BUFFERED_AT_ONE_INSTANT = 1_000;
    public static final Duration DEFAULT_LIFETIME_RETENTION = Duration.ofDays(730);

    public ProfileOptions(Duration retention, List<ThresholdSegment> segments, Duration writeInterval, PrivacyRules privacy) {
        this(retention, segments, writeInterval, privacy, DEFAULT_MAX_BUFFERED_EVENTS, DEFAULT_MAX_BUFFERED_AT_ONE_INSTANT);
    }

    public ProfileOptions(Duration retention, List<ThresholdSegment> segments, Duration writeInterval, PrivacyRules privacy, int maxBufferedEvents,
                          int maxBufferedAtOneInstant) {
        this(retention, segments, writeInterval, privacy, maxBufferedEvents, maxBufferedAtOneInstant,
                retention.compareTo(DEFAULT_LIFETIME_RETENTION) > 0 ? retention : DEFAULT_LIFETIME_RETENTION, TraitSet.EMPTY);
    }

    public ProfileOptions(Duration retention, List<ThresholdSegment> segments, Duration writeInterval, PrivacyRules privacy, int maxBufferedEvents,
                          int maxBufferedAtOneInstant, Duration lifetimeRetention, TraitSet traits) {
        if (lifetimeRetention.compareTo(retention) < 0) {
            throw new IllegalArgumentException("profile.lifetime-retention (" + lifetimeRetention + ") must be at least profile.retention (" + retention + ")");
        }
        this.lifetimeRetentionMillis = lifetimeRetention.toMillis();
        this.traits = traits == null ? TraitSet.EMPTY : traits;
        if (maxBufferedEvents < 1) throw new IllegalArgumentException("profile.max-buffered-events-per-user must be positive, got " + maxBufferedEvents);
        if (maxBufferedAtOneInstant < 1) {
            throw new IllegalArgumentException("profile.max-buffered-events-per-instant must be positive, got " + maxBufferedAtOneInstant);
        }
        this.maxBufferedAtOneInstant = maxBufferedAtOneInstant;
        this.retentionMillis = retention.toMillis();
        this.segments = List.copyOf(segments);
        this.writeIntervalMillis = writeInterval == null ? 0 : writeInterval.toMillis();
        this.privacy = privacy == null ? PrivacyRules.none() : privacy;
        this.maxBufferedEvents = maxBufferedEvents;
    }

    /** Counting and retention only: no segments, no profile records, no privacy events. */
    public static ProfileOptions countingOnly(Duration retention) {
        return new ProfileOptions(retention, List.of(), null, PrivacyRules.none());
    }

    public ProfileOptions withSegments(List<ThresholdSegment> s) {
        return copy(s, Duration.ofMillis(writeIntervalMillis), privacy, maxBufferedEvents, maxBufferedAtOneInstant, Duration.ofMillis(lifetimeRetentionMillis), traits);
    }

    public ProfileOptions withWriteInterval(Duration d) {
        return copy(segments, d, privacy, maxBufferedEvents, maxBufferedAtOneInstant, Duration.ofMillis(lifetimeRetentionMillis), traits);
    }

    public ProfileOptions withPrivacy(PrivacyRules p) {
        return copy(segments, Duration.ofMillis(writeIntervalMillis), p, maxBufferedEvents, maxBufferedAtOneInstant, Duration.ofMillis(lifetimeRetentionMillis), traits);
    }

    /** Both bounds the same: tests that exercise one of them. */
    public ProfileOptions withMaxBufferedEvents(int n) {
        return copy(segments, Duration.ofMillis(writeIntervalMillis), privacy, n, n, Duration.ofMillis(lifetimeRetentionMillis), traits);
    }

    public ProfileOptions withLifetimeRetention(Duration d) {
        return copy(segments, Duration.ofMillis(writeIntervalMillis), privacy, maxBufferedEvents, maxBufferedAtOneInstant, d, traits);
    }

    public ProfileOptions withTraits(TraitSet t) {
        return copy(segments, Duration.ofMillis(writeIntervalMillis), privacy, maxBufferedEvents, maxBufferedAtOneInstant, Duration.ofMillis(lifetimeRetentionMillis), t);
    }

    private ProfileOptions copy(List<ThresholdSegment> s, Duration writeInterval, PrivacyRules p, int maxBuffered, int maxAtOneInstant,
                                Duration lifetimeRetention, TraitSet t) {
        return new ProfileOptions(Duration.ofMillis(retentionMillis), s, writeInterval, p, maxBuffered, maxAtOneInstant, lifetimeRetention, t);
    }
}
