-- 008_webhooks.sql
--
-- Webhook subscriptions per owner (issue 17): where an owner's backend wants events, which ones, and the secret that
-- signs them in the Standard Webhooks scheme (whsec_ + base64 of 32 random bytes). A rotation keeps the previous
-- secret signing beside the new one until previous_until, so a receiver can switch without missing an event.
-- A subscription is disabled (disabled_at, disabled_reason) after persistent delivery failure; deleted ones are gone.
-- Scoped by the Orleans ServiceId, as the other tables.

CREATE TABLE IF NOT EXISTS webhook_subscriptions
(
    id              bigserial   PRIMARY KEY,
    service_id      text        NOT NULL,
    owner           text        NOT NULL,
    url             text        NOT NULL,
    events          text[]      NOT NULL,
    description     text        NOT NULL DEFAULT '',
    secret          text        NOT NULL,
    previous_secret text,
    previous_until  timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    disabled_at     timestamptz,
    disabled_reason text
);

CREATE INDEX IF NOT EXISTS webhook_subscriptions_owner ON webhook_subscriptions (service_id, owner, id);
