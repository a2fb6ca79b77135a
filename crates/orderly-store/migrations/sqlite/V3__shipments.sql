-- Shipments (issue 5): found by their carrier's tracking number when a tracking event
-- arrives, and watched for silence (no scan for hours) or a missed promise date.
CREATE TABLE shipments (
    id               TEXT PRIMARY KEY,
    order_id         TEXT NOT NULL,
    carrier          TEXT NOT NULL,
    tracking_number  TEXT NOT NULL,
    -- The furthest tracking status reached (never goes back).
    status           TEXT NOT NULL,
    delayed          INTEGER NOT NULL,
    last_scan_at     INTEGER NOT NULL,
    promised_by      INTEGER,
    UNIQUE (carrier, tracking_number)
);
CREATE INDEX shipments_watch ON shipments (last_scan_at)
    WHERE delayed = 0 AND status NOT IN ('delivered', 'returned_to_sender', 'lost');
