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

-- The counts of the experiment report per pattern version, experiment and arm, counted per user
-- (docs/experiments.md): exposed = distinct users with a decision, converted = distinct users with a
-- converted decision, value_per_user = the values of converted decisions summed per user (0 for a user
-- without), averaged over the exposed users. holdout: every decision of the arm was a holdout. Lifts,
-- intervals and p-values are computed by the `report` command (io.behaviorcep.experiment), not here.
CREATE OR REPLACE VIEW experiment_report AS
WITH per_user AS (
    SELECT pattern_id, pattern_version, experiment_id, arm, user_id,
           bool_and(holdout)  AS holdout,
           bool_or(converted) AS converted,
           COALESCE(SUM(value) FILTER (WHERE converted AND value IS NOT NULL
                                        AND value NOT IN ('NaN', 'Infinity', '-Infinity')), 0) AS value,
           MIN(decided_at)    AS first_decided_at,
           MAX(decided_at)    AS last_decided_at
    FROM outcomes
    GROUP BY pattern_id, pattern_version, experiment_id, arm, user_id
)
SELECT pattern_id,
       pattern_version,
       experiment_id,
       arm,
       bool_and(holdout)                                                  AS holdout,
       COUNT(*)                                                           AS exposed,
       COUNT(*) FILTER (WHERE converted)                                  AS converted,
       (COUNT(*) FILTER (WHERE converted))::DOUBLE PRECISION / COUNT(*)   AS rate,
       SUM(value) / COUNT(*)                                              AS value_per_user,
       MIN(first_decided_at)                                              AS first_decided_at,
       MAX(last_decided_at)                                               AS last_decided_at
FROM per_user
GROUP BY pattern_id, pattern_version, experiment_id, arm;
