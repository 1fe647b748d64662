-- behavior-cep schema, version 8: the messaging policy's decisions (issue #19).
-- One row per alert the policy did not send at once, and per decision about it: suppressed by a
-- channel's cap (global_cap) or by a higher priority (priority), delayed by quiet hours
-- (quiet_hours_delayed, then quiet_hours_released when it is sent at the end of the window),
-- dropped in quiet hours (quiet_hours_dropped), or not sent because the user opted out while it
-- waited (suppressed). decision_id is deterministic (alert, reason, event time of the decision), so
-- a replay or a retried checkpoint inserts nothing twice. (V7 is taken by the experiments' outcomes.)

CREATE TABLE IF NOT EXISTS alert_decisions (
    decision_id     TEXT        PRIMARY KEY,
    alert_id        TEXT        NOT NULL,   -- alerts.alert_id (the sent alert's, for quiet_hours_released)
    pattern_id      TEXT        NOT NULL,
    pattern_version INTEGER     NOT NULL,
    alert_type      TEXT        NOT NULL,
    user_id         TEXT        NOT NULL,   -- pseudonymised like alerts.user_id
    channel         TEXT        NOT NULL,
    reason          TEXT        NOT NULL,
    detected_at     TIMESTAMPTZ NOT NULL,   -- the alert's detection (event time)
    decided_at      TIMESTAMPTZ NOT NULL,   -- this decision (event time)
    release_at      TIMESTAMPTZ,            -- quiet_hours_delayed: when it is decided again
    winner_alert_id TEXT,                   -- priority: the alert that won, when it was decided at the same instant
    document        JSONB       NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_decisions_user_idx ON alert_decisions (user_id, decided_at);
CREATE INDEX IF NOT EXISTS alert_decisions_reason_idx ON alert_decisions (reason, decided_at);
