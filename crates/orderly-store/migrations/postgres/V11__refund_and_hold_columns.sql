-- The customer-facing status follows the goods; refunds and holds are facts of their own
-- (so a refund no longer hides that an order was delivered), each filterable. Existing
-- rows are recomputed from their snapshots by the store right after this migration.
ALTER TABLE orders ADD COLUMN refund_state TEXT NOT NULL DEFAULT 'none';
ALTER TABLE orders ADD COLUMN on_hold BIGINT NOT NULL DEFAULT 0;
