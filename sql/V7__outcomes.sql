-- One row per decision (an alert, or a holdout's "would have been alerted"), written once its
-- conversion goal is decided in event time; decision_id is deterministic, so writes are idempotent.
CREATE TABLE IF NOT EXISTS outcomes (
    decision_id        TEXT             PRIMARY KEY,
    user_id            TEXT             NOT NULL,
    pattern_id         TEXT             NOT NULL,
    pattern_version    INTEGER          NOT NULL,
    experiment_id      TEXT,
    arm                TEXT             NOT NULL,
    holdout            BOOLEAN          NOT NULL,
    decided_at         TIMESTAMPTZ      NOT NULL,
    goal_event         TEXT             NOT NULL,
    goal_within_ms     BIGINT           NOT NULL,
    converted          BOOLEAN          NOT NULL,
    converted_at       TIMESTAMPTZ,
    value              DOUBLE PRECISION,
    time_to_convert_ms BIGINT,
    recorded_at        TIMESTAMPTZ      NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS outcomes_pattern_arm_idx ON outcomes (pattern_id, pattern_version, arm);
