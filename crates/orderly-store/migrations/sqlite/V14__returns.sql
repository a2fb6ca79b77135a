-- Returns (issue 15). Times are integer milliseconds since the Unix epoch (UTC), as
-- everywhere else.
--
-- The read model of returns (RMAs): one row per return, written with the order events
-- that change it, so `GET /returns` filters and pages without reading snapshots. `rma`
-- is the human number (`RMA-WEB-1001`), NULL until the return is authorized (several
-- NULLs do not collide under UNIQUE). `customer_email` is stored normalised (lower
-- case), as orders store it.
CREATE TABLE returns (
    id                TEXT PRIMARY KEY,
    order_id          TEXT NOT NULL,
    order_number      TEXT NOT NULL,
    rma               TEXT UNIQUE,
    channel           TEXT NOT NULL,
    state             TEXT NOT NULL,
    -- A leaf code of the policy's reason taxonomy.
    reason            TEXT NOT NULL,
    customer_email    TEXT NOT NULL,
    -- The location that receives it (NULL until one is known).
    location_id       TEXT,
    -- refund | store_credit | exchange
    wanted            TEXT NOT NULL,
    units             INTEGER NOT NULL CHECK (units > 0),
    value_minor       INTEGER NOT NULL CHECK (value_minor >= 0),
    refundable_minor  INTEGER NOT NULL CHECK (refundable_minor >= 0),
    currency          TEXT NOT NULL,
    policy_version    TEXT NOT NULL,
    requested_at      INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
-- The list is newest first by (requested_at, id); each filter has an index that ends in
-- the same key, so a filtered page is a range scan too.
CREATE INDEX returns_by_requested ON returns (requested_at, id);
CREATE INDEX returns_by_state ON returns (state, requested_at, id);
CREATE INDEX returns_by_reason ON returns (reason, requested_at, id);
CREATE INDEX returns_by_location ON returns (location_id, requested_at, id)
    WHERE location_id IS NOT NULL;
-- The customer's history (the serial-returner rule) and the customer filter.
CREATE INDEX returns_by_customer ON returns (customer_email, requested_at);
CREATE INDEX returns_by_order ON returns (order_id);

-- RMA numbers count per channel, like order numbers (`order_counters`).
CREATE TABLE rma_counters (
    channel      TEXT PRIMARY KEY,
    last_number  INTEGER NOT NULL
);

-- Returned units held apart until released to on hand or scrapped: never sellable, so
-- not part of on_hand (available stays on_hand - reserved).
ALTER TABLE inventory ADD COLUMN quarantine INTEGER NOT NULL DEFAULT 0 CHECK (quarantine >= 0);
-- A movement may change quarantine (a return's disposition, a release, a scrap); every
-- movement before changed none.
ALTER TABLE stock_movements ADD COLUMN delta_quarantine INTEGER NOT NULL DEFAULT 0;
