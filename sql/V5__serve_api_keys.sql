-- behavior-cep schema, version 5: what `serve` (the read API, docs/operations.md "Serve the read API") needs.
--
-- API keys of the read API. A key is 32 random bytes shown once by `serve-keys create`; only its hex
-- SHA-256 is stored, so a copy of this table lets nobody call the API. A request's key is hashed and
-- looked up by that hash (no comparison of secrets in Java, so no timing side channel). A revoked key
-- keeps its row (revoked_at set), so `serve-keys list` shows what was issued and when it was withdrawn.
CREATE TABLE IF NOT EXISTS serve_api_keys (
    name       TEXT        PRIMARY KEY,       -- who holds it, e.g. 'crm-sync'; used by list and revoke
    key_hash   TEXT        NOT NULL UNIQUE,   -- lower-case hex SHA-256 of the key as sent (UTF-8)
    key_prefix TEXT        NOT NULL,          -- the first characters of the key, to recognise it in logs and lists
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at TIMESTAMPTZ
);

-- The user's latest actions (docs/contracts.md "Output: user profiles"): at most 10 events, newest
-- first, [{"event": name, "at": ISO-8601}], kept by the profile operator and written with the profile.
-- NULL for rows written by a job of an earlier version.
ALTER TABLE user_profiles ADD COLUMN IF NOT EXISTS recent_events JSONB;

-- GET /v1/segments/{name}/members pages through a segment's members in user_id order (keyset
-- pagination); V1's index on (segment) alone would sort every member for each page.
CREATE INDEX IF NOT EXISTS user_segments_members_page_idx ON user_segments (segment, user_id) WHERE member;
-- ... and answers as of the segment's latest change (enter or exit): max(updated_at) per segment
-- without reading every row the segment ever had.
CREATE INDEX IF NOT EXISTS user_segments_segment_updated_idx ON user_segments (segment, updated_at);

-- The read API connects as a role that may only read (docs/operations.md). Creating roles needs a
-- privilege the migrating user may lack, so it is not done here; as a database owner:
--   CREATE ROLE behavior_cep_reader LOGIN PASSWORD '...';
--   GRANT USAGE ON SCHEMA <schema> TO behavior_cep_reader;
--   GRANT SELECT ON user_profiles, user_segments, alerts, serve_api_keys TO behavior_cep_reader;
