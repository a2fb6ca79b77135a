-- Shipments (issue 5): found by their carrier's tracking number when a tracking event
-- arrives, and watched for silence (no scan for hours) or a missed promise date.
CREATE TABLE shipments (
    id               TEXT COLLATE "C" PRIMARY KEY,
    order_id         TEXT COLLATE "C" NOT NULL,
    carrier          TEXT COLLATE "C" NOT NULL,
    tracking_number  TEXT COLLATE "C" NOT NULL,
    -- The furthest tracking status reached (never goes back).
    status           TEXT COLLATE "C" NOT NULL,
    delayed          BIGINT NOT NULL,
    last_scan_at     BIGINT NOT NULL,
    promised_by      BIGINT,
    UNIQUE (carrier, tracking_number)
);
CREATE INDEX shipments_watch ON shipments (last_scan_at)
    WHERE delayed = 0 AND status NOT IN ('delivered', 'returned_to_sender', 'lost');
