package io.behaviorcep.deliver;

/**
 * How the delivery of one alert to one destination ended; written to the deliveries topic and table,
 * and, unless delivered, with the alert's bytes to the delivery DLQ.
 *
 * @param httpStatus  the last response's status, 0 if the last attempt got none (timeout, connection error)
 * @param error       what went wrong last, null when delivered
 * @param latencyMs   from the first attempt's start to the outcome, waits and retries included
 */
public record DeliveryOutcome(String alertId, String destination, Status status, int attempts, long latencyMs, int httpStatus,
                              String error, long firstAttemptAtMs, long finishedAtMs, AlertToDeliver alert) {

    public enum Status {
        /** a 2xx response */
        DELIVERED,
        /** refused with a status that is not retried (4xx other than 429) */
        FAILED,
        /** the retry budget (attempts or total time) ran out */
        DEAD_LETTERED,
        /** not an alert (no alert_id): nothing was sent */
        INVALID;

        public String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public boolean delivered() {
        return status == Status.DELIVERED;
    }
}
