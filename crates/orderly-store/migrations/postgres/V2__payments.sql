-- Payments (issue 4): timers the worker fires, inbound provider events (deduplicated by
-- the provider's id), and store credit per customer as a balance plus its ledger.

CREATE TABLE timers (
    id             BIGSERIAL PRIMARY KEY,
    order_id       TEXT COLLATE "C" NOT NULL,
    -- payment_deadline | payment_op | authorization_expiry
    kind           TEXT COLLATE "C" NOT NULL,
    -- What the timer is about: the payment operation or payment id (the order for deadlines).
    ref_id         TEXT COLLATE "C" NOT NULL,
    due_at         BIGINT NOT NULL,
    attempts       BIGINT NOT NULL DEFAULT 0,
    claimed_by     TEXT,
    claimed_until  BIGINT,
    fired_at       BIGINT
);
CREATE INDEX timers_due ON timers (due_at) WHERE fired_at IS NULL;

CREATE TABLE provider_events (
    provider     TEXT COLLATE "C" NOT NULL,
    event_id     TEXT COLLATE "C" NOT NULL,
    order_id     TEXT,
    -- applied | parked (waits for an earlier fact) | ignored (nothing to apply to)
    status       TEXT COLLATE "C" NOT NULL CHECK (status IN ('applied', 'parked', 'ignored')),
    payload      TEXT COLLATE "C" NOT NULL,
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (provider, event_id)
);
CREATE INDEX provider_events_parked ON provider_events (order_id) WHERE status = 'parked';

CREATE TABLE store_credit_balances (
    customer_email  TEXT COLLATE "C" NOT NULL,
    currency        TEXT COLLATE "C" NOT NULL,
    balance_minor   BIGINT NOT NULL CHECK (balance_minor >= 0),
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (customer_email, currency)
);

CREATE TABLE store_credit_entries (
    id              BIGSERIAL PRIMARY KEY,
    customer_email  TEXT COLLATE "C" NOT NULL,
    currency        TEXT COLLATE "C" NOT NULL,
    delta_minor     BIGINT NOT NULL CHECK (delta_minor <> 0),
    balance_after   BIGINT NOT NULL CHECK (balance_after >= 0),
    -- issue | redeem | refund | void
    reason          TEXT COLLATE "C" NOT NULL,
    order_id        TEXT,
    op_id           TEXT COLLATE "C" UNIQUE,
    note            TEXT,
    actor           TEXT COLLATE "C" NOT NULL,
    at              BIGINT NOT NULL
);
CREATE INDEX store_credit_by_customer ON store_credit_entries (customer_email, id);

-- The card behind each payment (the provider's fingerprint), for the card velocity rule.
CREATE TABLE payment_fingerprints (
    fingerprint  TEXT COLLATE "C" NOT NULL,
    order_id     TEXT COLLATE "C" NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (fingerprint, order_id)
);
CREATE INDEX payment_fingerprints_recent ON payment_fingerprints (fingerprint, created_at);

CREATE INDEX orders_by_email_created ON orders (customer_email, created_at);
