package io.behaviorcep.output;

import io.behaviorcep.event.BehaviorEvent;
import io.behaviorcep.event.DeadLetter;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.slf4j.Logger;

import java.io.IOException;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * A per-record step that threw: whether that is the record's fault, and its dead letter (reason
 * {@link DeadLetter.Reason#PROCESSING_FAILED}).
 *
 * <p>Only a {@link RuntimeException} is the record's fault, and only when nothing in its cause chain
 * is an {@link IOException}, an {@link InterruptedException} or from the state backend (a class named
 * {@code *RocksDB*} or in {@code org.apache.flink.runtime.state}): those are the infrastructure's, and
 * must still fail the task so that Flink restarts it from a checkpoint instead of losing the record.
 */
public final class StepFailure {
    /** Longest {@code dlq.message}: the step, the pattern and the exception's first words are what matter. */
    public static final int MAX_MESSAGE_CHARS = 1000;
    /** At most one WARN per subtask per this much wall time. */
    public static final long WARN_INTERVAL_MILLIS = 60_000;
    public static final String METRIC = "processingFailures";

    private StepFailure() {
    }

    /** Whether {@code t} is the record's fault (contain it) rather than the infrastructure's (fail the task). */
    public static boolean isRecordFault(Throwable t) {
        if (!(t instanceof RuntimeException)) return false;
        Map<Throwable, Boolean> seen = new IdentityHashMap<>();
        for (Throwable c = t; c != null && seen.put(c, Boolean.TRUE) == null; c = c.getCause()) {
            if (c instanceof IOException || c instanceof InterruptedException) return false;
            for (Class<?> k = c.getClass(); k != null && k != Throwable.class; k = k.getSuperclass()) {
                String name = k.getName();
                if (name.contains("RocksDB") || name.startsWith("org.apache.flink.runtime.state")) return false;
            }
        }
        return true;
    }

    /** {@code <step>[, pattern <id> v<version>]: <exception class>: <message>}, cut to {@value #MAX_MESSAGE_CHARS} characters. */
    public static String message(String step, String patternId, int version, Throwable t) {
        StringBuilder sb = new StringBuilder(step);
        if (patternId != null) sb.append(", pattern ").append(patternId).append(" v").append(version);
        sb.append(": ").append(t.getClass().getName());
        if (t.getMessage() != null) sb.append(": ").append(t.getMessage());
        if (sb.length() <= MAX_MESSAGE_CHARS) return sb.toString();
        // never cut a surrogate pair in two
        int end = MAX_MESSAGE_CHARS - 1;
        if (Character.isHighSurrogate(sb.charAt(end - 1))) end--;
        return sb.substring(0, end) + "…";
    }

    /** The dead letter of an event that made {@code step} throw (for {@code patternId}, or null): its value is the event as Segment JSON. */
    public static DeadLetter ofEvent(String step, String patternId, int version, BehaviorEvent e, Throwable t) {
        byte[] value;
        try {
            value = OutputJson.lateEventValue(e);
        } catch (RuntimeException unwritable) {
            // the dead letter must not fail where the step did: ids and time are enough to find the event
            ObjectNode n = OutputJson.MAPPER.createObjectNode();
            n.put("messageId", e.messageId);
            n.put("type", e.type);
            n.put("event", e.event);
            n.put("timestamp", OutputJson.iso(e.timestamp));
            n.put("truncated", true);
            value = OutputJson.bytes(n);
        }
        return deadLetter(message(step, patternId, version, t), e.userKey, value);
    }

    /**
     * The dead letter of a timer that made {@code step} throw, with no event at hand: its value is
     * {@code {"userKey": …, "timer": "<ISO-8601>", "timerMillis": …}}.
     */
    public static DeadLetter ofTimer(String step, String patternId, int version, String userKey, long timer, Throwable t) {
        ObjectNode n = OutputJson.MAPPER.createObjectNode();
        n.put("userKey", userKey);
        n.put("timer", OutputJson.iso(timer));
        n.put("timerMillis", timer);
        return deadLetter(message(step, patternId, version, t), userKey, OutputJson.bytes(n));
    }

    /** The dead letter of another input of a step (a match, a segment exit), its value a small JSON document. */
    public static DeadLetter ofDocument(String step, String patternId, int version, String userKey, ObjectNode doc, Throwable t) {
        return deadLetter(message(step, patternId, version, t), userKey, OutputJson.bytes(doc));
    }

    private static DeadLetter deadLetter(String message, String userKey, byte[] value) {
        DeadLetter d = new DeadLetter();
        d.reason = DeadLetter.Reason.PROCESSING_FAILED;
        d.message = message;
        d.key = OutputJson.key(userKey);
        d.value = value;
        d.sourcePartition = -1;
        d.sourceOffset = -1;
        return d;
    }

    /**
     * An operator's count of contained failures: {@value #METRIC}, and under the names the parse step
     * uses for its dead letters, {@code dlq.PROCESSING_FAILED} and {@code reason.PROCESSING_FAILED.deadLetters};
     * with a WARN at most once a minute (how many were not logged since the last one is in the next).
     */
    public static final class Tally {
        private final Counter failures;
        private final Counter dlq;
        private final Counter byReason;
        private final Logger log;
        private long lastWarn = Long.MIN_VALUE;
        private long unlogged;

        public Tally(MetricGroup metrics, Logger log) {
            String reason = DeadLetter.Reason.PROCESSING_FAILED.name();
            this.failures = metrics.counter(METRIC);
            this.dlq = metrics.addGroup("dlq").counter(reason);
            this.byReason = metrics.addGroup("reason", reason).counter("deadLetters");
            this.log = log;
        }

        /** Counts {@code d} and maybe logs it; returns it. */
        public DeadLetter count(DeadLetter d, Throwable t) {
            failures.inc();
            dlq.inc();
            byReason.inc();
            long now = System.currentTimeMillis();
            if (lastWarn == Long.MIN_VALUE || now - lastWarn >= WARN_INTERVAL_MILLIS) {
                lastWarn = now;
                long more = unlogged;
                unlogged = 0;
                log.warn("a record made a step throw; sent to the DLQ as PROCESSING_FAILED and the job goes on: {}{}", d.message,
                        more == 0 ? "" : " (" + more + " more since the last warning)", t);
            } else {
                unlogged++;
            }
            return d;
        }

        public long count() {
            return failures.getCount();
        }
    }
}
