-- 009_webhook_deliveries.sql
--
-- The delivery queue and log of webhooks (issue 17). A media item hands the events of its outbox over in one
-- statement that inserts one row per (subscription, event); the unique key makes a repeated hand-off (after a crash
-- between the insert and the outbox's trim) insert nothing, so an event is queued once per subscription. Rows belong
-- to the subscription's delivery grain from then on: it sends them in id order per item, records each attempt, and
-- ends them delivered or failed. Deleting a subscription removes its queue and log.

ALTER TABLE webhook_subscriptions
    ADD COLUMN IF NOT EXISTS last_success_at timestamptz,
    ADD COLUMN IF NOT EXISTS secret_rotated_at timestamptz;

CREATE TABLE IF NOT EXISTS webhook_deliveries
(
    id              bigserial   PRIMARY KEY,
    subscription_id bigint      NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_id        text        NOT NULL,
    event_type      text        NOT NULL,
    media_id        bigint      NOT NULL,
    item_version    bigint      NOT NULL,
    occurred_at     timestamptz NOT NULL,
    body            text        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending', -- pending, delivered, failed
    attempts        int         NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    last_status     int,
    last_error      text,
    manual          boolean     NOT NULL DEFAULT false,
    UNIQUE (subscription_id, event_id)
);

-- The delivery grain's queue: the oldest pending row of each item.
CREATE INDEX IF NOT EXISTS webhook_deliveries_pending ON webhook_deliveries (subscription_id, media_id, id) WHERE status = 'pending';
-- The owner's log, newest first, and its pruning.
CREATE INDEX IF NOT EXISTS webhook_deliveries_log ON webhook_deliveries (subscription_id, id DESC);

CREATE TABLE IF NOT EXISTS webhook_attempts
(
    delivery_id bigint      NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt     int         NOT NULL,
    started_at  timestamptz NOT NULL,
    latency_ms  int         NOT NULL,
    status_code int,        -- null: no answer (timeout, refused connection, refused target)
    error       text,
    manual      boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (delivery_id, attempt)
);
