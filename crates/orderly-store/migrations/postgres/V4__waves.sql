-- Waves (issue 5): released fulfillment orders of one location grouped for picking. The
-- fulfillment_orders table is the read model a wave is chosen from.
CREATE TABLE fulfillment_orders (
    id           TEXT COLLATE "C" PRIMARY KEY,
    order_id     TEXT COLLATE "C" NOT NULL,
    location_id  TEXT COLLATE "C" NOT NULL,
    state        TEXT COLLATE "C" NOT NULL,
    line_count   BIGINT NOT NULL,
    released_at  BIGINT,
    wave_id      TEXT
);
CREATE INDEX fulfillment_orders_to_wave ON fulfillment_orders (location_id, released_at)
    WHERE state = 'released' AND wave_id IS NULL;

CREATE TABLE waves (
    id           TEXT COLLATE "C" PRIMARY KEY,
    location_id  TEXT COLLATE "C" NOT NULL,
    created_at   BIGINT NOT NULL,
    created_by   TEXT COLLATE "C" NOT NULL
);
