-- behavior-cep schema, version 2: the latest profile per user, and privacy (suppression list, erasures).
-- Written like version 1: by the job's committer, only after the checkpoint that produced the rows
-- completes, with idempotent statements (README "Exactly once in PostgreSQL").

-- The latest profile of each user, written at most once per user per profile.write-interval of event
-- time (and removed on erasure). version = as_of in epoch ms: a row only moves forward.
CREATE TABLE IF NOT EXISTS user_profiles (
    user_id           TEXT             PRIMARY KEY,
    version           BIGINT           NOT NULL,
    as_of             TIMESTAMPTZ      NOT NULL,   -- the profile's windows end here
    first_seen        TIMESTAMPTZ      NOT NULL,
    last_seen         TIMESTAMPTZ      NOT NULL,
    sessions_7d       INTEGER          NOT NULL,
    sessions_30d      INTEGER          NOT NULL,
    sessions_lifetime BIGINT           NOT NULL,
    orders_lifetime   BIGINT           NOT NULL,
    revenue_30d       DOUBLE PRECISION NOT NULL,
    revenue_lifetime  DOUBLE PRECISION NOT NULL,
    profile           JSONB            NOT NULL,   -- every field, as in the alerts' "profile"
    updated_at        TIMESTAMPTZ      NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS user_profiles_last_seen_idx ON user_profiles (last_seen);

-- The suppression list, maintained by other tools and read by the job (changes are picked up every
-- privacy.suppression-refresh, by updated_at). A listed user gets no alerts and no segment enters and
-- leaves their segments (reason 'suppressed'). To lift a suppression set suppressed = false: a
-- deleted row is not noticed. user_id is the id as the events carry it (userId, else anonymousId).
CREATE TABLE IF NOT EXISTS suppressed_users (
    user_id    TEXT        PRIMARY KEY,
    suppressed BOOLEAN     NOT NULL DEFAULT true,
    reason     TEXT,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS suppressed_users_updated_idx ON suppressed_users (updated_at);

CREATE OR REPLACE FUNCTION suppressed_users_touch() RETURNS trigger AS $$
BEGIN
    NEW.updated_at := clock_timestamp();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS suppressed_users_touch ON suppressed_users;
CREATE TRIGGER suppressed_users_touch BEFORE INSERT OR UPDATE ON suppressed_users
    FOR EACH ROW EXECUTE FUNCTION suppressed_users_touch();

-- One row per erasure ('User Deleted'), without personal data: the hex SHA-256 of the user id as the
-- outputs carry it (the pseudonym when privacy.pseudonymize is on) and the event time. Every insert of
-- the job skips rows of a user at or before their erasure, so the order in which committers run
-- never brings erased rows back.
CREATE TABLE IF NOT EXISTS erasures (
    user_hash   TEXT        NOT NULL,
    erased_at   TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_hash, erased_at)
);

-- "This user's behaviour and segments" in one query:
--   SELECT * FROM user_overview WHERE user_id = 'user-001397';
CREATE OR REPLACE VIEW user_overview AS
    SELECT p.user_id, p.as_of, p.first_seen, p.last_seen, p.sessions_7d, p.sessions_30d, p.sessions_lifetime,
           p.orders_lifetime, p.revenue_30d, p.revenue_lifetime,
           COALESCE((SELECT array_agg(m.segment ORDER BY m.segment) FROM segment_members m WHERE m.user_id = p.user_id),
                    ARRAY[]::TEXT[]) AS segments,
           (SELECT count(*) FROM alerts a WHERE a.user_id = p.user_id) AS alerts,
           (SELECT max(a.detected_at) FROM alerts a WHERE a.user_id = p.user_id) AS last_alert_at,
           p.profile
    FROM user_profiles p;
