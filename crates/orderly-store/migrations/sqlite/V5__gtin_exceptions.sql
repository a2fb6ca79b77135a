-- Issue 5: packers scan barcodes, and a barcode is a GTIN, not our SKU. One GTIN names one
-- product (several SKUs under one GTIN would make a scan ambiguous).
ALTER TABLE products ADD COLUMN gtin TEXT;
CREATE UNIQUE INDEX products_gtin ON products (gtin) WHERE gtin IS NOT NULL;

-- Exceptions: what needs a person (a short pick, a delayed or lost shipment, a rejected
-- fulfillment order), one row per (kind, subject), in a queue, open until resolved.
-- Written in the transaction of the event that raised it, so none is lost or doubled.
CREATE TABLE exceptions (
    id           INTEGER PRIMARY KEY,
    queue        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    detail       TEXT NOT NULL,
    opened_at    INTEGER NOT NULL,
    resolved_at  INTEGER,
    resolved_by  TEXT,
    resolution   TEXT,
    UNIQUE (kind, subject_id)
);
CREATE INDEX exceptions_open ON exceptions (queue, opened_at) WHERE resolved_at IS NULL;
CREATE INDEX exceptions_by_order ON exceptions (order_id);

-- Waves may take only the orders that asked for one carrier service (express first).
ALTER TABLE fulfillment_orders ADD COLUMN service TEXT;
