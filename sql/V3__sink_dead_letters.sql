-- behavior-cep schema, version 3: rows PostgreSQL refused.
-- A row the committer cannot write for what it holds (a data error: SQLSTATE class 22, 23 or 54) is
-- no outage, and retrying it would stop the job: it is written here instead, in the same transaction
-- as the rest of its batch, which commits. Applying the batch again after a restore adds nothing
-- (one row per sink and document).

CREATE TABLE IF NOT EXISTS sink_dead_letters (
    sink          TEXT        NOT NULL,   -- the committer: 'alerts', 'segments' or 'profiles'
    document_hash TEXT        NOT NULL,   -- hex SHA-256 of the document
    row_key       TEXT,                   -- alert_id, event_id or user_id of the refused row; NULL if unreadable
    user_id       TEXT,                   -- the user, for erasure (not indexed: it may be what an index refused)
    event_at      TIMESTAMPTZ,            -- the row's event time, for erasure; NULL if unreadable or out of range
    sqlstate      TEXT,                   -- PostgreSQL's SQLSTATE; NULL when the document itself was unusable
    reason        TEXT        NOT NULL,   -- the error
    document      TEXT,                   -- the committable's JSON as text (not jsonb: it may be what jsonb refused)
    at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (sink, document_hash)
);
CREATE INDEX IF NOT EXISTS sink_dead_letters_at_idx ON sink_dead_letters (at);
