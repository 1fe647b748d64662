package io.behaviorcep.deliver;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/** The {@code Retry-After} header of a 429 or 503 (RFC 9110 10.2.3): delay-seconds or an HTTP date. */
public final class RetryAfter {
    private RetryAfter() {}

    /**
     * @param value the header's value, may be null
     * @param now   the current time, against which an HTTP date is measured
     * @return the wait it asks for (zero for a date already past); empty if absent or unreadable
     */
    public static Optional<Duration> parse(String value, Instant now) {
        if (value == null) return Optional.empty();
        String v = value.trim();
        if (v.isEmpty()) return Optional.empty();
        if (v.chars().allMatch(Character::isDigit)) {
            // more digits than a long holds is "a very long time": longer than any retry budget
            if (v.length() > 12) return Optional.of(Duration.ofSeconds(999_999_999_999L));
            return Optional.of(Duration.ofSeconds(Long.parseLong(v)));
        }
        try {
            // IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT"; RFC_1123 also reads the obsolete forms without the weekday
            Instant at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
            Duration d = Duration.between(now, at);
            return Optional.of(d.isNegative() ? Duration.ZERO : d);
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }
}
