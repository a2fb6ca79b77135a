-- Support cases. Each case is an event stream of its own (stream_type 'case' in
-- events); this is its read model: the snapshot, and the columns its queues filter on.
-- `active` is true while the case needs work (open or pending), so every queue index is
-- partial and stays as small as the work in hand, however many cases were closed.
CREATE TABLE cases (
    id TEXT COLLATE "C" PRIMARY KEY,
    number TEXT COLLATE "C" NOT NULL UNIQUE,
    status TEXT COLLATE "C" NOT NULL,
    active BOOLEAN NOT NULL,
    priority TEXT COLLATE "C" NOT NULL,
    owner TEXT COLLATE "C",
    grp TEXT COLLATE "C",
    order_id TEXT COLLATE "C",
    order_channel TEXT COLLATE "C",
    customer_email TEXT COLLATE "C",
    contact_channel TEXT COLLATE "C" NOT NULL,
    root_cause TEXT COLLATE "C",
    opened_at BIGINT NOT NULL,
    due_at BIGINT,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    snapshot TEXT NOT NULL
);
CREATE INDEX cases_active ON cases (opened_at, id) WHERE active;
CREATE INDEX cases_active_by_owner ON cases (owner, opened_at, id) WHERE active;
CREATE INDEX cases_active_by_group ON cases (grp, opened_at, id) WHERE active;
CREATE INDEX cases_active_by_due ON cases (due_at) WHERE active AND due_at IS NOT NULL;
CREATE INDEX cases_all ON cases (opened_at, id);
CREATE INDEX cases_by_order ON cases (order_id, opened_at) WHERE order_id IS NOT NULL;
CREATE INDEX cases_by_email ON cases (customer_email) WHERE customer_email IS NOT NULL;

-- Every contact, with the order it was about: repeat contacts per order are one count.
CREATE TABLE case_contacts (
    case_id TEXT COLLATE "C" NOT NULL,
    n BIGINT NOT NULL,
    order_id TEXT COLLATE "C",
    channel TEXT COLLATE "C" NOT NULL,
    direction TEXT COLLATE "C" NOT NULL,
    order_status BOOLEAN NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (case_id, n)
);
CREATE INDEX case_contacts_by_order ON case_contacts (order_id) WHERE order_id IS NOT NULL;

-- The last case number drawn (one row).
CREATE TABLE case_counter (id INTEGER PRIMARY KEY CHECK (id = 1), last_number BIGINT NOT NULL);
