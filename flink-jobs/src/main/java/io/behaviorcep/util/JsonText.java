package io.behaviorcep.util;

import com.fasterxml.jackson.core.io.JsonStringEncoder;

import java.time.Instant;

/**
 * JSON written as text on hot paths (a match's bound events, an alert's payload): string literals
 * escaped as Jackson's generator escapes them, and instants as ISO-8601. Free of the output
 * records, so the pattern language can use it without depending on the sinks.
 */
public final class JsonText {
    private JsonText() {}

    /** A JSON string literal. */
    public static StringBuilder appendQuoted(StringBuilder sb, String s) {
        sb.append('"');
        return appendEscaped(sb, s).append('"');
    }

    /** The inside of a JSON string literal. */
    public static StringBuilder appendEscaped(StringBuilder sb, String s) {
        JsonStringEncoder.getInstance().quoteAsString(s, sb);
        return sb;
    }

    /** An instant as the outputs write it, e.g. {@code 2026-11-21T05:03:00Z}. */
    public static String iso(long epochMillis) {
        return Instant.ofEpochMilli(epochMillis).toString();
    }
}
