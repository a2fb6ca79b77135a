-- The policy backtest (issue 15) reads the return requests of a period, oldest first:
-- the `return_requested` events by (at, seq). A partial index holds only those events,
-- so the hot path (every other event appended) writes nothing more for it.
CREATE INDEX events_return_requests ON events (at, seq) WHERE type = 'return_requested';
