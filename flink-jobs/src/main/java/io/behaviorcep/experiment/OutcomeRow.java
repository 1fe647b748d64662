package io.behaviorcep.experiment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.function.Consumer;

/**
 * One decision and its conversion outcome, as the report reads it: the fields of a row of the
 * {@code outcomes} table and of a record of the {@code behavior.outcomes} topic (docs/experiments.md).
 * The report's own type, independent of the job's output record, so that it can be built from the
 * table, from JSON lines or from a replay's collected outcomes alike (the canonical constructor takes
 * plain values).
 *
 * @param experimentId    null when the pattern has no experiment
 * @param arm             the variant; {@code global_holdout} for the global holdout, {@code default} without experiment
 * @param holdout         true when no alert was sent
 * @param convertedAt     null when not converted
 * @param value           the goal event's value; null without a value field or when not converted
 * @param timeToConvertMs null when not converted
 */
public record OutcomeRow(String decisionId, String userId, String patternId, int patternVersion, String experimentId, String arm,
                         boolean holdout, Instant decidedAt, String goalEvent, long goalWithinMs, boolean converted,
                         Instant convertedAt, Double value, Long timeToConvertMs) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public OutcomeRow {
        require(userId, "user_id");
        require(patternId, "pattern_id");
        require(arm, "arm");
        require(decidedAt, "decided_at");
    }

    private static void require(Object v, String field) {
        if (v == null) throw new IllegalArgumentException(field + " is missing");
    }

    /** What the report counts of a decision's value: the value of a converted decision, else 0. */
    public double countedValue() {
        return converted && value != null && Double.isFinite(value) ? value : 0;
    }

    /**
     * One record of the outcomes topic (snake_case fields, times as ISO-8601 strings).
     *
     * @throws IllegalArgumentException naming the field that is missing or of the wrong type
     */
    public static OutcomeRow fromJson(String json) {
        JsonNode n;
        try {
            n = JSON.readTree(json);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject()) throw new IllegalArgumentException("not a JSON object");
        return new OutcomeRow(text(n, "decision_id"), text(n, "user_id"), text(n, "pattern_id"), (int) number(n, "pattern_version", true),
                text(n, "experiment_id"), text(n, "arm"), bool(n, "holdout"), time(n, "decided_at"), text(n, "goal_event"),
                n.hasNonNull("goal_within_ms") ? (long) number(n, "goal_within_ms", true) : 0L, bool(n, "converted"), time(n, "converted_at"),
                n.hasNonNull("value") ? number(n, "value", false) : null,
                n.hasNonNull("time_to_convert_ms") ? (long) number(n, "time_to_convert_ms", true) : null);
    }

    /**
     * Reads a file of outcome records, one JSON object a line (blank lines skipped).
     *
     * @throws IllegalArgumentException {@code FILE:LINE: problem} for the first line that is not an outcome
     */
    public static void readJsonLines(Path file, Consumer<OutcomeRow> sink) throws IOException {
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = r.readLine()) != null) {
                number++;
                if (line.isBlank()) continue;
                try {
                    sink.accept(fromJson(line));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(file + ":" + number + ": not an outcome: " + e.getMessage(), e);
                }
            }
        }
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw new IllegalArgumentException(field + " must be a string");
        return v.textValue();
    }

    private static double number(JsonNode n, String field, boolean whole) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) throw new IllegalArgumentException(field + " is missing");
        if (!v.isNumber() || (whole && !v.canConvertToLong())) {
            throw new IllegalArgumentException(field + " must be a " + (whole ? "whole number" : "number"));
        }
        return whole ? v.longValue() : v.doubleValue();
    }

    private static boolean bool(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isBoolean()) throw new IllegalArgumentException(field + " must be true or false");
        return v.booleanValue();
    }

    private static Instant time(JsonNode n, String field) {
        String s = text(n, field);
        if (s == null) return null;
        try {
            return Instant.parse(s);
        } catch (DateTimeParseException e) {
            try {
                return OffsetDateTime.parse(s).toInstant();
            } catch (DateTimeParseException e2) {
                throw new IllegalArgumentException(field + " '" + s + "' is not an ISO-8601 time");
            }
        }
    }
}
