-- behavior-cep schema, version 6: webhook deliveries of alerts (the `deliver` job).
-- One row per alert and destination: how its delivery ended. Written with an upsert on the primary
-- key, so a replay after a restore (the job is at least once towards receivers) writes the same row
-- again instead of a second one; a row that says 'delivered' is never turned back into a failure by a
-- later replay. (V5 is taken by the serve API.)

CREATE TABLE IF NOT EXISTS deliveries (
    alert_id         TEXT        NOT NULL,   -- alerts.alert_id, also the Idempotency-Key of every request
    destination      TEXT        NOT NULL,   -- name in destinations.yaml
    status           TEXT        NOT NULL CHECK (status IN ('delivered', 'failed', 'dead_lettered')),
    attempts         INTEGER     NOT NULL,   -- requests sent, the first included
    latency_ms       BIGINT      NOT NULL,   -- first attempt to outcome, waits and retries included
    http_status      INTEGER,                -- the last response's status; NULL when the last attempt got none
    error            TEXT,                   -- what went wrong last; NULL when delivered
    alert_type       TEXT,
    severity         TEXT,
    first_attempt_at TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (alert_id, destination)
);
CREATE INDEX IF NOT EXISTS deliveries_status_idx ON deliveries (status, finished_at) WHERE status <> 'delivered';
