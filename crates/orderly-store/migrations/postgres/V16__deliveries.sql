-- Issue 17: what leaves Orderly. The dispatcher turns each outbox message (one per
-- append) into public events on a feed with a position of its own, one webhook delivery
-- per matching subscription and one message per matching notification trigger, all in
-- one transaction, so a fan-out happens exactly once and what it fans out to is then
-- delivered at least once.

-- The fan-out takes an order's outbox messages in order: a message waits while an
-- earlier one of its stream is undelivered (another process may hold it).
CREATE INDEX outbox_pending_by_stream ON outbox (stream_id, id) WHERE delivered_at IS NULL;

-- The feed's next position, drawn under a row lock (PostgreSQL) so positions are
-- handed out in commit order and a reader never sees position n+1 before n.
CREATE TABLE feed_head (
    id       BIGINT PRIMARY KEY CHECK (id = 1),
    position BIGINT NOT NULL
);
INSERT INTO feed_head (id, position) VALUES (1, 0);

CREATE TABLE event_feed (
    position  BIGINT PRIMARY KEY,
    event_id  TEXT COLLATE "C" NOT NULL UNIQUE,
    type      TEXT COLLATE "C" NOT NULL,
    order_id  TEXT COLLATE "C" NOT NULL,
    channel   TEXT COLLATE "C" NOT NULL,
    version   BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    -- The public event as sent: {id, type, timestamp, order_id, data, order}.
    payload   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX event_feed_by_order ON event_feed (order_id, position);

CREATE TABLE webhook_subscriptions (
    id              TEXT COLLATE "C" PRIMARY KEY,
    url             TEXT COLLATE "C" NOT NULL,
    description     TEXT COLLATE "C",
    -- JSON lists; channels NULL for every channel.
    event_types     TEXT COLLATE "C" NOT NULL,
    channels        TEXT COLLATE "C",
    secrets         TEXT COLLATE "C" NOT NULL,
    active          BOOLEAN NOT NULL,
    disabled_reason TEXT COLLATE "C",
    failing_since   BIGINT,
    created_by      TEXT COLLATE "C" NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- The last sequence number given to a subscription for an order: a consumer's
-- per-order numbering, without gaps.
CREATE TABLE webhook_sequences (
    subscription_id TEXT COLLATE "C" NOT NULL,
    order_id        TEXT COLLATE "C" NOT NULL,
    last_sequence   BIGINT NOT NULL,
    PRIMARY KEY (subscription_id, order_id)
);

CREATE TABLE webhook_deliveries (
    id              TEXT COLLATE "C" PRIMARY KEY,
    subscription_id TEXT COLLATE "C" NOT NULL,
    position        BIGINT NOT NULL,
    order_id        TEXT COLLATE "C" NOT NULL,
    sequence        BIGINT NOT NULL,
    -- pending, delivered or dead.
    status          TEXT COLLATE "C" NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_at         BIGINT NOT NULL,
    claimed_by      TEXT COLLATE "C",
    claimed_until   BIGINT,
    created_at      BIGINT NOT NULL,
    finished_at     BIGINT,
    last_status     BIGINT,
    last_error      TEXT COLLATE "C"
);
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (subscription_id, position);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (subscription_id, next_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_in_order ON webhook_deliveries (subscription_id, order_id, sequence)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_created ON webhook_deliveries (subscription_id, created_at);

CREATE TABLE webhook_attempts (
    id              BIGSERIAL PRIMARY KEY,
    delivery_id     TEXT COLLATE "C" NOT NULL,
    subscription_id TEXT COLLATE "C" NOT NULL,
    attempt         BIGINT NOT NULL,
    at              BIGINT NOT NULL,
    -- delivered or failed.
    outcome         TEXT COLLATE "C" NOT NULL,
    status_code     BIGINT,
    latency_ms      BIGINT NOT NULL,
    error           TEXT COLLATE "C",
    response_body   TEXT COLLATE "C"
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, id);

CREATE TABLE messages (
    id            TEXT COLLATE "C" PRIMARY KEY,
    order_id      TEXT COLLATE "C" NOT NULL,
    template      TEXT COLLATE "C" NOT NULL,
    category      TEXT COLLATE "C" NOT NULL,
    recipient     TEXT COLLATE "C" NOT NULL,
    event_id      TEXT COLLATE "C",
    event_type    TEXT COLLATE "C",
    position      BIGINT,
    transport     TEXT COLLATE "C" NOT NULL,
    -- pending, sent, dead or suppressed.
    status        TEXT COLLATE "C" NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    next_at       BIGINT NOT NULL,
    claimed_by    TEXT COLLATE "C",
    claimed_until BIGINT,
    language      TEXT COLLATE "C",
    subject       TEXT COLLATE "C",
    text_body     TEXT COLLATE "C",
    html_body     TEXT COLLATE "C",
    last_error    TEXT COLLATE "C",
    resend_of     TEXT COLLATE "C",
    created_by    TEXT COLLATE "C" NOT NULL,
    created_at    BIGINT NOT NULL,
    sent_at       BIGINT
);
CREATE UNIQUE INDEX messages_once ON messages (position, template);
CREATE INDEX messages_due ON messages (next_at) WHERE status = 'pending';
CREATE INDEX messages_by_order ON messages (order_id, created_at);

CREATE TABLE notification_preferences (
    email      TEXT COLLATE "C" PRIMARY KEY,
    follow_ups BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL
);
