-- Today's shipments per location, for the warehouse floor (issue 19): each shipment row
-- names the location it left from and when. Rows written before this have neither
-- (they are history by now) and are not listed.
ALTER TABLE shipments ADD COLUMN location_id TEXT;
ALTER TABLE shipments ADD COLUMN shipped_at INTEGER;
CREATE INDEX shipments_by_location ON shipments (location_id, shipped_at, id)
    WHERE location_id IS NOT NULL;
