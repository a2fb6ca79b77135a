-- Issue 18: root causes reported by period, channel, location, carrier and SKU. When a
-- case is resolved, its cause is recorded once per dimension value of what its order
-- went through (the order's channel; each location that fulfilled it, each carrier
-- that carried it, each SKU on it), so a report is one indexed GROUP BY, never a walk
-- over snapshots. Reopening a case takes its rows out; resolving again writes them anew.
CREATE TABLE case_causes (
    case_id      TEXT COLLATE "C" NOT NULL,
    dimension    TEXT COLLATE "C" NOT NULL,
    value        TEXT COLLATE "C" NOT NULL,
    root_cause   TEXT COLLATE "C" NOT NULL,
    resolved_at  BIGINT NOT NULL,
    PRIMARY KEY (case_id, dimension, value)
);
CREATE INDEX case_causes_by_time ON case_causes (dimension, resolved_at);
