-- Payments (issue 4): timers the worker fires, inbound provider events (deduplicated by
-- the provider's id), and store credit per customer as a balance plus its ledger.

CREATE TABLE timers (
    id             INTEGER PRIMARY KEY,
    order_id       TEXT NOT NULL,
    -- payment_deadline | payment_op | authorization_expiry
    kind           TEXT NOT NULL,
    -- What the timer is about: the payment operation or payment id (the order for deadlines).
    ref_id         TEXT NOT NULL,
    due_at         INTEGER NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    claimed_by     TEXT,
    claimed_until  INTEGER,
    fired_at       INTEGER
);
CREATE INDEX timers_due ON timers (due_at) WHERE fired_at IS NULL;

CREATE TABLE provider_events (
    provider     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    order_id     TEXT,
    -- applied | parked (waits for an earlier fact) | ignored (nothing to apply to)
    status       TEXT NOT NULL CHECK (status IN ('applied', 'parked', 'ignored')),
    payload      TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    PRIMARY KEY (provider, event_id)
) WITHOUT ROWID;
CREATE INDEX provider_events_parked ON provider_events (order_id) WHERE status = 'parked';

CREATE TABLE store_credit_balances (
    customer_email  TEXT NOT NULL,
    currency        TEXT NOT NULL,
    balance_minor   INTEGER NOT NULL CHECK (balance_minor >= 0),
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (customer_email, currency)
) WITHOUT ROWID;

CREATE TABLE store_credit_entries (
    id              INTEGER PRIMARY KEY,
    customer_email  TEXT NOT NULL,
    currency        TEXT NOT NULL,
    delta_minor     INTEGER NOT NULL CHECK (delta_minor <> 0),
    balance_after   INTEGER NOT NULL CHECK (balance_after >= 0),
    -- issue | redeem | refund | void
    reason          TEXT NOT NULL,
    order_id        TEXT,
    op_id           TEXT UNIQUE,
    note            TEXT,
    actor           TEXT NOT NULL,
    at              INTEGER NOT NULL
);
CREATE INDEX store_credit_by_customer ON store_credit_entries (customer_email, id);

-- The card behind each payment (the provider's fingerprint), for the card velocity rule.
CREATE TABLE payment_fingerprints (
    fingerprint  TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (fingerprint, order_id)
) WITHOUT ROWID;
CREATE INDEX payment_fingerprints_recent ON payment_fingerprints (fingerprint, created_at);

CREATE INDEX orders_by_email_created ON orders (customer_email, created_at);
