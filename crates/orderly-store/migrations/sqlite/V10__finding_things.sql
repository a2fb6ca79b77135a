-- Issue 12: what a client needs to find things.
--
-- Orders by their channel's id without naming the channel: the unique index leads with
-- external_id instead (it still settles "one order per channel and external id", and
-- still serves the lookup by both), so the search costs the hot path no extra index.
DROP INDEX orders_by_external_id;
CREATE UNIQUE INDEX orders_by_external_id ON orders (external_id, channel) WHERE external_id IS NOT NULL;

-- Orders by a parcel's tracking number (shipments are written when a package ships, not
-- when an order is placed).
CREATE INDEX shipments_by_tracking_number ON shipments (tracking_number);

-- Free-text search (`?q=`): the order's number, customer email and name, lowercased in
-- Rust (Unicode-aware) when the row is written, so both backends match alike. Rows
-- written before are filled here (SQLite's lower() folds ASCII only).
ALTER TABLE orders ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
UPDATE orders SET search_text = lower(number || char(10) || customer_email || char(10)
    || coalesce(json_extract(snapshot, '$.customer.name'), ''));

-- A wave's members, for its status (open while one waits to be picked); only waved rows
-- are indexed, so releasing and picking outside waves writes nothing more.
CREATE INDEX fulfillment_orders_by_wave ON fulfillment_orders (wave_id) WHERE wave_id IS NOT NULL;
