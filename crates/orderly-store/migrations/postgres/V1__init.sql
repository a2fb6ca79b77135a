-- Orderly's first schema on PostgreSQL, column for column the SQLite one (so both
-- backends answer byte-for-byte alike; text compares bytewise, as in SQLite). Times are BIGINT milliseconds since the Unix epoch.

CREATE TABLE products (
    sku            TEXT COLLATE "C" PRIMARY KEY,
    name           TEXT COLLATE "C" NOT NULL,
    price_minor    BIGINT NOT NULL CHECK (price_minor >= 0),
    currency       TEXT COLLATE "C" NOT NULL,
    weight_grams   BIGINT NOT NULL CHECK (weight_grams >= 0),
    category       TEXT COLLATE "C",
    returnable     BOOLEAN NOT NULL,
    active         BOOLEAN NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    version        BIGINT NOT NULL
);

CREATE TABLE inventory (
    sku          TEXT COLLATE "C" NOT NULL,
    location_id  TEXT COLLATE "C" NOT NULL,
    on_hand      BIGINT NOT NULL CHECK (on_hand >= 0),
    reserved     BIGINT NOT NULL CHECK (reserved >= 0 AND reserved <= on_hand),
    bin          TEXT COLLATE "C",
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (sku, location_id)
);

CREATE TABLE stock_movements (
    id              BIGSERIAL PRIMARY KEY,
    sku             TEXT COLLATE "C" NOT NULL,
    location_id     TEXT COLLATE "C" NOT NULL,
    reason          TEXT COLLATE "C" NOT NULL,
    delta_on_hand   BIGINT NOT NULL,
    delta_reserved  BIGINT NOT NULL,
    on_hand_after   BIGINT NOT NULL,
    reserved_after  BIGINT NOT NULL,
    order_id        TEXT COLLATE "C",
    note            TEXT COLLATE "C",
    actor           TEXT COLLATE "C" NOT NULL,
    at              BIGINT NOT NULL
);
CREATE INDEX stock_movements_by_sku ON stock_movements (sku, id);

CREATE TABLE events (
    seq             BIGSERIAL PRIMARY KEY,
    stream_id       TEXT COLLATE "C" NOT NULL,
    version         BIGINT NOT NULL,
    type            TEXT COLLATE "C" NOT NULL,
    data            TEXT COLLATE "C" NOT NULL,
    actor           TEXT COLLATE "C" NOT NULL,
    correlation_id  TEXT COLLATE "C" NOT NULL,
    at              BIGINT NOT NULL,
    UNIQUE (stream_id, version)
);

CREATE TABLE orders (
    id                 TEXT COLLATE "C" PRIMARY KEY,
    number             TEXT COLLATE "C" NOT NULL UNIQUE,
    channel            TEXT COLLATE "C" NOT NULL,
    external_id        TEXT COLLATE "C",
    customer_email     TEXT COLLATE "C" NOT NULL,
    status             TEXT COLLATE "C" NOT NULL,
    order_state        TEXT COLLATE "C" NOT NULL,
    payment_state      TEXT COLLATE "C" NOT NULL,
    fulfillment_state  TEXT COLLATE "C" NOT NULL,
    return_state       TEXT COLLATE "C" NOT NULL,
    currency           TEXT COLLATE "C" NOT NULL,
    total_minor        BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    version            BIGINT NOT NULL,
    snapshot           TEXT COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX orders_by_external_id ON orders (channel, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX orders_by_email ON orders (customer_email, id);
CREATE INDEX orders_by_status ON orders (status, id);
CREATE INDEX orders_by_created ON orders (created_at, id);

CREATE TABLE order_counters (
    channel      TEXT COLLATE "C" PRIMARY KEY,
    last_number  BIGINT NOT NULL
);

CREATE TABLE reservations (
    id           BIGSERIAL PRIMARY KEY,
    order_id     TEXT COLLATE "C" NOT NULL,
    line_no      BIGINT NOT NULL,
    sku          TEXT COLLATE "C" NOT NULL,
    location_id  TEXT COLLATE "C" NOT NULL,
    quantity     BIGINT NOT NULL CHECK (quantity > 0),
    status       TEXT COLLATE "C" NOT NULL CHECK (status IN ('open', 'released')),
    created_at   BIGINT NOT NULL,
    closed_at    BIGINT
);
CREATE INDEX reservations_by_order ON reservations (order_id);
CREATE INDEX reservations_open_by_stock ON reservations (sku, location_id) WHERE status = 'open';

CREATE TABLE backorders (
    id          BIGSERIAL PRIMARY KEY,
    order_id    TEXT COLLATE "C" NOT NULL,
    line_no     BIGINT NOT NULL,
    sku         TEXT COLLATE "C" NOT NULL,
    quantity    BIGINT NOT NULL CHECK (quantity > 0),
    status      TEXT COLLATE "C" NOT NULL CHECK (status IN ('open', 'cancelled', 'filled')),
    created_at  BIGINT NOT NULL
);
CREATE INDEX backorders_open_by_sku ON backorders (sku, created_at) WHERE status = 'open';

CREATE TABLE outbox (
    id             BIGSERIAL PRIMARY KEY,
    topic          TEXT COLLATE "C" NOT NULL,
    stream_id      TEXT COLLATE "C" NOT NULL,
    payload        TEXT COLLATE "C" NOT NULL,
    created_at     BIGINT NOT NULL,
    available_at   BIGINT NOT NULL,
    attempts       BIGINT NOT NULL DEFAULT 0,
    -- A worker's lease: `claimed_by` may deliver the row until `claimed_until`.
    claimed_by     TEXT COLLATE "C",
    claimed_until  BIGINT,
    delivered_at   BIGINT
);
CREATE INDEX outbox_pending ON outbox (available_at) WHERE delivered_at IS NULL;

CREATE TABLE idempotency_keys (
    principal     TEXT COLLATE "C" NOT NULL,
    key           TEXT COLLATE "C" NOT NULL,
    request_hash  TEXT COLLATE "C" NOT NULL,
    status_code   BIGINT NOT NULL,
    -- Either the literal response body, or (for order responses) a reference to the
    -- order's stream at the version the first response showed: replay folds the events
    -- up to that version, which keeps the hot path from storing a second copy.
    body          BYTEA NOT NULL,
    order_id      TEXT COLLATE "C",
    order_version BIGINT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

CREATE TABLE api_keys (
    id          TEXT COLLATE "C" PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL,
    role        TEXT COLLATE "C" NOT NULL,
    key_hash    TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
