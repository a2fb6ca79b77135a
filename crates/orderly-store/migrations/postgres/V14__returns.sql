-- Returns (issue 15). Times are BIGINT milliseconds since the Unix epoch (UTC), as
-- everywhere else.
--
-- The read model of returns (RMAs): one row per return, written with the order events
-- that change it, so `GET /returns` filters and pages without reading snapshots. `rma`
-- is the human number (`RMA-WEB-1001`), NULL until the return is authorized (several
-- NULLs do not collide under UNIQUE). `customer_email` is stored normalised (lower
-- case), as orders store it.
CREATE TABLE returns (
    id                TEXT COLLATE "C" PRIMARY KEY,
    order_id          TEXT COLLATE "C" NOT NULL,
    order_number      TEXT COLLATE "C" NOT NULL,
    rma               TEXT COLLATE "C" UNIQUE,
    channel           TEXT COLLATE "C" NOT NULL,
    state             TEXT COLLATE "C" NOT NULL,
    -- A leaf code of the policy's reason taxonomy.
    reason            TEXT COLLATE "C" NOT NULL,
    customer_email    TEXT COLLATE "C" NOT NULL,
    -- The location that receives it (NULL until one is known).
    location_id       TEXT COLLATE "C",
    -- refund | store_credit | exchange
    wanted            TEXT COLLATE "C" NOT NULL,
    units             BIGINT NOT NULL CHECK (units > 0),
    value_minor       BIGINT NOT NULL CHECK (value_minor >= 0),
    refundable_minor  BIGINT NOT NULL CHECK (refundable_minor >= 0),
    currency          TEXT COLLATE "C" NOT NULL,
    policy_version    TEXT COLLATE "C" NOT NULL,
    requested_at      BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
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

-- RMA numbers count per channel, like order numbers. Returns are few, so a counter row
-- (locked by the upsert that draws from it, until the drawing transaction ends) serves
-- where orders need sequences drawn in blocks.
CREATE TABLE rma_counters (
    channel      TEXT COLLATE "C" PRIMARY KEY,
    last_number  BIGINT NOT NULL
);

-- Returned units held apart until released to on hand or scrapped: never sellable, so
-- not part of on_hand (available stays on_hand - reserved).
ALTER TABLE inventory ADD COLUMN quarantine BIGINT NOT NULL DEFAULT 0 CHECK (quarantine >= 0);
-- A movement may change quarantine (a return's disposition, a release, a scrap); every
-- movement before changed none.
ALTER TABLE stock_movements ADD COLUMN delta_quarantine BIGINT NOT NULL DEFAULT 0;
