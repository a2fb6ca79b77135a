-- Orderly's first schema on SQLite. Times are integer milliseconds since the Unix epoch (UTC).

CREATE TABLE products (
    sku            TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    price_minor    INTEGER NOT NULL CHECK (price_minor >= 0),
    currency       TEXT NOT NULL,
    weight_grams   INTEGER NOT NULL CHECK (weight_grams >= 0),
    category       TEXT,
    returnable     INTEGER NOT NULL,
    active         INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    version        INTEGER NOT NULL
);

CREATE TABLE inventory (
    sku          TEXT NOT NULL,
    location_id  TEXT NOT NULL,
    on_hand      INTEGER NOT NULL CHECK (on_hand >= 0),
    reserved     INTEGER NOT NULL CHECK (reserved >= 0 AND reserved <= on_hand),
    bin          TEXT,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (sku, location_id)
) WITHOUT ROWID;

CREATE TABLE stock_movements (
    id              INTEGER PRIMARY KEY,
    sku             TEXT NOT NULL,
    location_id     TEXT NOT NULL,
    reason          TEXT NOT NULL,
    delta_on_hand   INTEGER NOT NULL,
    delta_reserved  INTEGER NOT NULL,
    on_hand_after   INTEGER NOT NULL,
    reserved_after  INTEGER NOT NULL,
    order_id        TEXT,
    note            TEXT,
    actor           TEXT NOT NULL,
    at              INTEGER NOT NULL
);
CREATE INDEX stock_movements_by_sku ON stock_movements (sku, id);

CREATE TABLE events (
    seq             INTEGER PRIMARY KEY,
    stream_id       TEXT NOT NULL,
    version         INTEGER NOT NULL,
    type            TEXT NOT NULL,
    data            TEXT NOT NULL,
    actor           TEXT NOT NULL,
    correlation_id  TEXT NOT NULL,
    at              INTEGER NOT NULL,
    UNIQUE (stream_id, version)
);

CREATE TABLE orders (
    id                 TEXT PRIMARY KEY,
    number             TEXT NOT NULL UNIQUE,
    channel            TEXT NOT NULL,
    external_id        TEXT,
    customer_email     TEXT NOT NULL,
    status             TEXT NOT NULL,
    order_state        TEXT NOT NULL,
    payment_state      TEXT NOT NULL,
    fulfillment_state  TEXT NOT NULL,
    return_state       TEXT NOT NULL,
    currency           TEXT NOT NULL,
    total_minor        INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    version            INTEGER NOT NULL,
    snapshot           TEXT NOT NULL
);
CREATE UNIQUE INDEX orders_by_external_id ON orders (channel, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX orders_by_email ON orders (customer_email, id);
CREATE INDEX orders_by_status ON orders (status, id);
CREATE INDEX orders_by_created ON orders (created_at, id);

CREATE TABLE order_counters (
    channel      TEXT PRIMARY KEY,
    last_number  INTEGER NOT NULL
);

CREATE TABLE reservations (
    id           INTEGER PRIMARY KEY,
    order_id     TEXT NOT NULL,
    line_no      INTEGER NOT NULL,
    sku          TEXT NOT NULL,
    location_id  TEXT NOT NULL,
    quantity     INTEGER NOT NULL CHECK (quantity > 0),
    status       TEXT NOT NULL CHECK (status IN ('open', 'released')),
    created_at   INTEGER NOT NULL,
    closed_at    INTEGER
);
CREATE INDEX reservations_by_order ON reservations (order_id);
CREATE INDEX reservations_open_by_stock ON reservations (sku, location_id) WHERE status = 'open';

CREATE TABLE backorders (
    id          INTEGER PRIMARY KEY,
    order_id    TEXT NOT NULL,
    line_no     INTEGER NOT NULL,
    sku         TEXT NOT NULL,
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    status      TEXT NOT NULL CHECK (status IN ('open', 'cancelled', 'filled')),
    created_at  INTEGER NOT NULL
);
CREATE INDEX backorders_open_by_sku ON backorders (sku, created_at) WHERE status = 'open';

CREATE TABLE outbox (
    id             INTEGER PRIMARY KEY,
    topic          TEXT NOT NULL,
    stream_id      TEXT NOT NULL,
    payload        TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    available_at   INTEGER NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    -- A worker's lease: `claimed_by` may deliver the row until `claimed_until`.
    claimed_by     TEXT,
    claimed_until  INTEGER,
    delivered_at   INTEGER
);
CREATE INDEX outbox_pending ON outbox (available_at) WHERE delivered_at IS NULL;

CREATE TABLE idempotency_keys (
    principal     TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status_code   INTEGER NOT NULL,
    -- Either the literal response body, or (for order responses) a reference to the
    -- order's stream at the version the first response showed: replay folds the events
    -- up to that version, which keeps the hot path from storing a second copy.
    body          BLOB NOT NULL,
    order_id      TEXT,
    order_version INTEGER,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    PRIMARY KEY (principal, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
