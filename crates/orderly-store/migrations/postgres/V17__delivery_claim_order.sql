-- A subscription's due deliveries are claimed oldest first, in feed order. With the
-- position in the index the claim reads only the rows it takes; without it every due
-- row of the subscription was read and sorted on each claim, so a backlog made each
-- claim slower than the last.
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (subscription_id, next_at, position)
    WHERE status = 'pending';
