-- behavior-cep schema, version 1: alerts and segment membership.
-- Rows are written by the job's PostgreSQL sink only after the Flink checkpoint that produced them
-- completes, and every write is idempotent (see README "Exactly once in PostgreSQL"), so replays
-- after a failure never duplicate or roll back a row.

-- One row per alert. alert_id is deterministic (pattern, version, user, matched event ids).
CREATE TABLE IF NOT EXISTS alerts (
    alert_id        TEXT        PRIMARY KEY,
    pattern_id      TEXT        NOT NULL,
    pattern_version INTEGER     NOT NULL,
    alert_type      TEXT        NOT NULL,
    severity        TEXT        NOT NULL,
    user_id         TEXT        NOT NULL,
    detected_at     TIMESTAMPTZ NOT NULL,
    document        JSONB       NOT NULL,   -- the alert exactly as published on behavior.alerts
    recorded_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS alerts_user_idx ON alerts (user_id, detected_at);
CREATE INDEX IF NOT EXISTS alerts_pattern_idx ON alerts (pattern_id, detected_at);

-- Append-only history of segment enter/exit, one row per update; event_id is deterministic.
CREATE TABLE IF NOT EXISTS segment_events (
    event_id    TEXT        PRIMARY KEY,
    user_id     TEXT        NOT NULL,
    segment     TEXT        NOT NULL,
    action      TEXT        NOT NULL CHECK (action IN ('enter', 'exit')),
    reason      TEXT        NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    version     BIGINT      NOT NULL,
    expires_at  TIMESTAMPTZ,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS segment_events_user_idx ON segment_events (user_id, segment, version);

-- Current membership: one row per user and segment, moved forward only (a row is updated only by a
-- higher version), so re-applying an older update after a restore is a no-op.
CREATE TABLE IF NOT EXISTS user_segments (
    user_id     TEXT        NOT NULL,
    segment     TEXT        NOT NULL,
    member      BOOLEAN     NOT NULL,
    entered_at  TIMESTAMPTZ,
    expires_at  TIMESTAMPTZ,
    reason      TEXT        NOT NULL,
    version     BIGINT      NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, segment)
);
CREATE INDEX IF NOT EXISTS user_segments_members_idx ON user_segments (segment) WHERE member;

CREATE OR REPLACE VIEW segment_members AS
    SELECT user_id, segment, entered_at, expires_at, reason
    FROM user_segments WHERE member;
