-- Events belong to typed streams, so that cases and notifications can become streams of
-- their own beside orders; every stream so far is an order's. A stream id stays unique
-- across types (each type gives its ids a prefix of its own), so UNIQUE (stream_id,
-- version) still names one stream's versions, settles concurrent appends to it, and
-- serves reads by stream id without the type. SQLite cannot drop a column's default
-- without rebuilding the table; the store always writes the type.
ALTER TABLE events ADD COLUMN stream_type TEXT NOT NULL DEFAULT 'order';
