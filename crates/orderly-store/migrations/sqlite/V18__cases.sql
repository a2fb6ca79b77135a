-- Support cases. Each case is an event stream of its own (stream_type 'case' in
-- events); this is its read model: the snapshot, and the columns its queues filter on.
-- `active` is 1 while the case needs work (open or pending), so every queue index is
-- partial and stays as small as the work in hand, however many cases were closed.
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    active INTEGER NOT NULL,
    priority TEXT NOT NULL,
    owner TEXT,
    grp TEXT,
    order_id TEXT,
    order_channel TEXT,
    customer_email TEXT,
    contact_channel TEXT NOT NULL,
    root_cause TEXT,
    opened_at INTEGER NOT NULL,
    due_at INTEGER,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    snapshot TEXT NOT NULL
);
CREATE INDEX cases_active ON cases (opened_at, id) WHERE active = 1;
CREATE INDEX cases_active_by_owner ON cases (owner, opened_at, id) WHERE active = 1;
CREATE INDEX cases_active_by_group ON cases (grp, opened_at, id) WHERE active = 1;
CREATE INDEX cases_active_by_due ON cases (due_at) WHERE active = 1 AND due_at IS NOT NULL;
CREATE INDEX cases_all ON cases (opened_at, id);
CREATE INDEX cases_by_order ON cases (order_id, opened_at) WHERE order_id IS NOT NULL;
CREATE INDEX cases_by_email ON cases (customer_email) WHERE customer_email IS NOT NULL;

-- Every contact, with the order it was about: repeat contacts per order are one count.
CREATE TABLE case_contacts (
    case_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    order_id TEXT,
    channel TEXT NOT NULL,
    direction TEXT NOT NULL,
    order_status INTEGER NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (case_id, n)
);
CREATE INDEX case_contacts_by_order ON case_contacts (order_id) WHERE order_id IS NOT NULL;

-- The last case number drawn (one row).
CREATE TABLE case_counter (id INTEGER PRIMARY KEY CHECK (id = 1), last_number INTEGER NOT NULL);
