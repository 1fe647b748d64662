package io.behaviorcep.pattern;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as operators write them: {@code 500ms}, {@code 30s}, {@code 15m}, {@code 24h}, {@code 7d}, {@code 2w}. */
public final class Durations {
    private static final Pattern FORM = Pattern.compile("(-?\\d+)\\s*(ms|s|m|h|d|w)");

    private Durations() {}

    /** @throws IllegalArgumentException with a message fit for an operator */
    public static Duration parse(String text) {
        Matcher m = FORM.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a duration; write a number and a unit: 500ms, 30s, 15m, 24h, 7d, 2w");
        }
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            case "d" -> Duration.ofDays(n);
            case "w" -> Duration.ofDays(7 * n);
            default -> throw new IllegalStateException();
        };
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("duration '" + text + "' must be positive");
        }
        return d;
    }

    /** A time offset, zero allowed, sums allowed: {@code 0m}, {@code 15m}, {@code 1d2h}, {@code 20m1ms}. In millis. */
    public static long parseOffset(String text) {
        Matcher m = Pattern.compile("(\\d+)(ms|s|m|h|d|w)").matcher(text.trim());
        long total = 0;
        int end = 0;
        while (m.find()) {
            if (m.start() != end) break;
            total += switch (m.group(2)) {
                case "ms" -> Long.parseLong(m.group(1));
                case "s" -> Long.parseLong(m.group(1)) * 1000L;
                case "m" -> Long.parseLong(m.group(1)) * 60_000L;
                case "h" -> Long.parseLong(m.group(1)) * 3_600_000L;
                case "d" -> Long.parseLong(m.group(1)) * 86_400_000L;
                default -> Long.parseLong(m.group(1)) * 7 * 86_400_000L;
            };
            end = m.end();
        }
        if (end == 0 || end != text.trim().length()) {
            throw new IllegalArgumentException("'" + text + "' is not a time offset; write e.g. 0m, 15m, 1d2h, 20m1ms");
        }
        return total;
    }

    /** Offsets as the test kit prints them: {@code +20m1ms}. */
    public static String formatOffset(long millis) {
        if (millis == 0) return "+0m";
        StringBuilder sb = new StringBuilder(millis < 0 ? "-" : "+");
        long ms = Math.abs(millis);
        long[] units = {86_400_000L, 3_600_000L, 60_000L, 1000L, 1L};
        String[] names = {"d", "h", "m", "s", "ms"};
        for (int i = 0; i < units.length; i++) {
            if (ms >= units[i]) {
                sb.append(ms / units[i]).append(names[i]);
                ms %= units[i];
            }
        }
        return sb.toString();
    }

    public static String format(Duration d) {
        long ms = d.toMillis();
        if (ms % (7 * 86_400_000L) == 0) return ms / (7 * 86_400_000L) + "w";
        if (ms % 86_400_000L == 0) return ms / 86_400_000L + "d";
        if (ms % 3_600_000L == 0) return ms / 3_600_000L + "h";
        if (ms % 60_000L == 0) return ms / 60_000L + "m";
        if (ms % 1000L == 0) return ms / 1000L + "s";
        return ms + "ms";
    }
}
