-- A card token lets whoever holds it charge the card, so it is kept out of the events,
-- snapshots and views every role reads. It waits here, one row per payment, from the
-- command that added the payment until its authorization is answered (the timer worker
-- re-drives an unanswered one with it), and is then deleted.
CREATE TABLE payment_tokens (
    payment_id  TEXT PRIMARY KEY,
    order_id    TEXT NOT NULL,
    token       TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- Payments added before kept their token in the `payment_added` event: an order still
-- unpaid may have an authorization waiting for a re-drive, which needs it.
INSERT OR IGNORE INTO payment_tokens (payment_id, order_id, token, created_at)
SELECT json_extract(e.data, '$.data.id'), e.stream_id, json_extract(e.data, '$.data.token'), e.at
FROM events e JOIN orders o ON o.id = e.stream_id
WHERE e.type = 'payment_added' AND o.payment_state = 'unpaid'
  AND json_extract(e.data, '$.data.token') IS NOT NULL;
