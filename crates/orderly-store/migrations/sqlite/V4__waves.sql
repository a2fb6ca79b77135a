-- Waves (issue 5): released fulfillment orders of one location grouped for picking. The
-- fulfillment_orders table is the read model a wave is chosen from.
CREATE TABLE fulfillment_orders (
    id           TEXT PRIMARY KEY,
    order_id     TEXT NOT NULL,
    location_id  TEXT NOT NULL,
    state        TEXT NOT NULL,
    line_count   INTEGER NOT NULL,
    released_at  INTEGER,
    wave_id      TEXT
);
CREATE INDEX fulfillment_orders_to_wave ON fulfillment_orders (location_id, released_at)
    WHERE state = 'released' AND wave_id IS NULL;

CREATE TABLE waves (
    id           TEXT PRIMARY KEY,
    location_id  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL
);
