-- 006_service_secrets.sql
--
-- Secrets every frontend of a service must share, made once by whichever frontend needs one first (for example the
-- key that signs share links). Scoped by the Orleans ServiceId.

CREATE TABLE IF NOT EXISTS service_secrets
(
    service_id text        NOT NULL,
    name       text        NOT NULL,
    value      bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, name)
);
