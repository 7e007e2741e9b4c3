-- 005_api_keys.sql
--
-- API keys: only a SHA-256 of each key is stored (keys are 256 random bits, so a fast hash is enough and a stolen
-- table gives no key). Each key belongs to an owner; admin keys may manage keys. Scoped by the Orleans ServiceId.
-- The search index learns each item's owner, so that a search only ever sees the caller's items.

CREATE TABLE IF NOT EXISTS api_keys
(
    id         bigserial   PRIMARY KEY,
    service_id text        NOT NULL,
    owner      text        NOT NULL,
    key_hash   bytea       NOT NULL UNIQUE,
    is_admin   boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

CREATE INDEX IF NOT EXISTS api_keys_owner ON api_keys (service_id, owner);

ALTER TABLE media_index ADD COLUMN IF NOT EXISTS owner text NOT NULL DEFAULT '';
DROP INDEX IF EXISTS media_index_created;
CREATE INDEX IF NOT EXISTS media_index_owner_created ON media_index (service_id, owner, created_at DESC, media_id DESC);
