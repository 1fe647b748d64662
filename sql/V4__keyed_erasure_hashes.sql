-- behavior-cep schema, version 4: erasures.user_hash is keyed.
-- From this version the job writes HMAC-SHA256(audit key, user id as written) in lower-case hex, the key
-- read on the task managers from the environment variable named by privacy.audit-key-env (default
-- BEHAVIOR_CEP_AUDIT_KEY). An unkeyed SHA-256 could be matched against any list of user ids, telling
-- who was erased.
--
-- Rows written before hold such an unkeyed SHA-256. They cannot be re-keyed (the id is gone), and the
-- job's guard no longer matches them anyway, so their hash is replaced by a random value: the row keeps
-- that an erasure happened and when, not whom. hash_algorithm says which rows those are.
ALTER TABLE erasures ADD COLUMN IF NOT EXISTS hash_algorithm TEXT;
UPDATE erasures SET user_hash = 'removed-' || md5(random()::text || clock_timestamp()::text || user_hash),
                    hash_algorithm = 'removed-unkeyed-sha256'
    WHERE hash_algorithm IS NULL;
ALTER TABLE erasures ALTER COLUMN hash_algorithm SET DEFAULT 'hmac-sha256';
ALTER TABLE erasures ALTER COLUMN hash_algorithm SET NOT NULL;
