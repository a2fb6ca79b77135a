-- API keys get a scope and a life: the channels whose orders a key may see and act on
-- (a JSON array of channel ids; NULL for every channel), and an optional expiry (a
-- rotated key's grace period ends there). revoked_at already exists.
ALTER TABLE api_keys ADD COLUMN channels TEXT COLLATE "C";
ALTER TABLE api_keys ADD COLUMN expires_at BIGINT;
