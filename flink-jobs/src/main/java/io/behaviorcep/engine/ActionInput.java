package io.behaviorcep.engine;

import io.behaviorcep.pattern.PatternChange;
import io.behaviorcep.pattern.PatternMatch;
import io.behaviorcep.event.ProfileSnapshot;

import org.apache.flink.api.common.typeinfo.TypeInfo;

/**
 * What reaches the actions operator, in-band from the engine: a decided match, an event that ends a
 * segment membership, a privacy signal of the profile operator, or a pattern change of the running
 * job. One sealed type so all of them travel through one input and one event-time buffer; each is
 * immutable. Serialised by {@link ActionInputSerializer} (a tag, then the kind's fields).
 */
@TypeInfo(ActionInputTypeInfo.Factory.class)
public sealed interface ActionInput permits ActionInput.Matched, ActionInput.SegmentExit, ActionInput.PrivacySignal, ActionInput.PatternChanged,
        ActionInput.GoalReached {

    /** The user the input is about; for a pattern change, the key it travels under (see {@code KeyedPathHead}). */
    String userKey();

    /** The event time at which it applies. */
    long timestamp();

    /** Deterministic order within one timestamp: privacy signals, then exits, then matches, then by ids. */
    String sortKey();

    /** A match the engine decided. */
    record Matched(PatternMatch match) implements ActionInput {
        @Override
        public String userKey() {
            return match.userKey;
        }

        @Override
        public long timestamp() {
            return match.detectedAt;
        }

        @Override
        public String sortKey() {
            return "2|" + match.patternId + "|" + match.anchorId + "|" + match.eventIds;
        }
    }

    /**
     * An event that ends a membership of {@code segment} (the segment pattern's {@code exit_on}), or its
     * TTL ({@code patternId} {@code ttl}, no event).
     *
     * @param profile the exit event's profile, for an alert raised on exit; null when none is raised
     */
    record SegmentExit(String userKey, String segment, String patternId, String eventId, long timestamp, ProfileSnapshot profile)
            implements ActionInput {
        @Override
        public String sortKey() {
            return "1|" + segment + "|" + eventId;
        }
    }

    /** The profile operator's word: the user was suppressed (opted out, listed), unsuppressed, or erased. */
    record PrivacySignal(String userKey, Signal signal, long timestamp) implements ActionInput {
        @Override
        public String sortKey() {
            return "0|" + signal.word;
        }
    }

    /** A pattern change of the running job: belongs to no user, applied on arrival and never buffered. */
    record PatternChanged(String userKey, PatternChange change) implements ActionInput {
        @Override
        public long timestamp() {
            return change.activateAt;
        }

        @Override
        public String sortKey() {
            return "0|change|" + change.patternId + "#" + change.version;
        }
    }

    /**
     * An event that meets the {@code goal:} of one or more pattern versions (docs/pattern-language.md,
     * "Experiments and goals"): it may convert the user's open decisions of those versions.
     *
     * @param valueByGoalKey per pattern version ({@code id#version}), the event's goal value, or null for none
     */
    record GoalReached(String userKey, String eventId, long timestamp, java.util.Map<String, Double> valueByGoalKey) implements ActionInput {
        public GoalReached {
            valueByGoalKey = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(valueByGoalKey));
        }

        @Override
        public String sortKey() {
            // after the matches of the same instant: a decision is converted only by a later event
            return "3|goal|" + eventId;
        }
    }

    enum Signal {
        SUPPRESS("suppress"), UNSUPPRESS("unsuppress"), ERASE("erase"), RETIRE("retire");

        /** As the keyed path's records and the dead letters spell it. */
        public final String word;

        Signal(String word) {
            this.word = word;
        }

        public static Signal of(String word) {
            for (Signal s : values()) if (s.word.equals(word)) return s;
            throw new IllegalArgumentException("unknown privacy signal '" + word + "'");
        }
    }
}
