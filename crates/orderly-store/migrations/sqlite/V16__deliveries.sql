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
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL
);
INSERT INTO feed_head (id, position) VALUES (1, 0);

CREATE TABLE event_feed (
    position  INTEGER PRIMARY KEY,
    event_id  TEXT NOT NULL UNIQUE,
    type      TEXT NOT NULL,
    order_id  TEXT NOT NULL,
    channel   TEXT NOT NULL,
    version   INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    -- The public event as sent: {id, type, timestamp, order_id, data, order}.
    payload   TEXT NOT NULL
);
CREATE INDEX event_feed_by_order ON event_feed (order_id, position);

CREATE TABLE webhook_subscriptions (
    id              TEXT PRIMARY KEY,
    url             TEXT NOT NULL,
    description     TEXT,
    -- JSON lists; channels NULL for every channel.
    event_types     TEXT NOT NULL,
    channels        TEXT,
    secrets         TEXT NOT NULL,
    active          INTEGER NOT NULL,
    disabled_reason TEXT,
    failing_since   INTEGER,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

-- The last sequence number given to a subscription for an order: a consumer's
-- per-order numbering, without gaps.
CREATE TABLE webhook_sequences (
    subscription_id TEXT NOT NULL,
    order_id        TEXT NOT NULL,
    last_sequence   INTEGER NOT NULL,
    PRIMARY KEY (subscription_id, order_id)
);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    position        INTEGER NOT NULL,
    order_id        TEXT NOT NULL,
    sequence        INTEGER NOT NULL,
    -- pending, delivered or dead.
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         INTEGER NOT NULL,
    claimed_by      TEXT,
    claimed_until   INTEGER,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    last_status     INTEGER,
    last_error      TEXT
);
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (subscription_id, position);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (subscription_id, next_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_in_order ON webhook_deliveries (subscription_id, order_id, sequence)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_created ON webhook_deliveries (subscription_id, created_at);

CREATE TABLE webhook_attempts (
    id              INTEGER PRIMARY KEY,
    delivery_id     TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    attempt         INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    -- delivered or failed.
    outcome         TEXT NOT NULL,
    status_code     INTEGER,
    latency_ms      INTEGER NOT NULL,
    error           TEXT,
    response_body   TEXT
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, id);

CREATE TABLE messages (
    id            TEXT PRIMARY KEY,
    order_id      TEXT NOT NULL,
    template      TEXT NOT NULL,
    category      TEXT NOT NULL,
    recipient     TEXT NOT NULL,
    event_id      TEXT,
    event_type    TEXT,
    position      INTEGER,
    transport     TEXT NOT NULL,
    -- pending, sent, dead or suppressed.
    status        TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_at       INTEGER NOT NULL,
    claimed_by    TEXT,
    claimed_until INTEGER,
    language      TEXT,
    subject       TEXT,
    text_body     TEXT,
    html_body     TEXT,
    last_error    TEXT,
    resend_of     TEXT,
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    sent_at       INTEGER
);
CREATE UNIQUE INDEX messages_once ON messages (position, template);
CREATE INDEX messages_due ON messages (next_at) WHERE status = 'pending';
CREATE INDEX messages_by_order ON messages (order_id, created_at);

CREATE TABLE notification_preferences (
    email      TEXT PRIMARY KEY,
    follow_ups INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
