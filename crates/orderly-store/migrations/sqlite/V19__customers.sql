-- Customers (issue 18): one row per normalised email, written when an order under that
-- email is placed, so a person has an id and is found by email, name or phone without
-- scanning orders. `id` is the first order's id under the customer prefix. What people
-- decide about the customer (flags, notes, merges) is the customer's event stream
-- (stream_type 'customer' in events); `facts` is its snapshot and `version` its length.
-- A merged row points at the survivor (`merged_into`) and leaves the name and phone
-- indexes, so a search finds the survivor once.
--
-- `name_key` is the name lowercased (in Rust, Unicode-aware) for prefix search;
-- `phone_key` the phone's digits last first, so "ends with these digits" is a prefix.
CREATE TABLE customers (
    id              TEXT PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE,
    name            TEXT,
    name_key        TEXT NOT NULL,
    phone           TEXT,
    phone_key       TEXT,
    first_order_at  INTEGER NOT NULL,
    last_order_at   INTEGER NOT NULL,
    merged_into     TEXT,
    version         INTEGER NOT NULL DEFAULT 0,
    facts           TEXT
);
CREATE INDEX customers_by_name ON customers (name_key, id) WHERE merged_into IS NULL;
CREATE INDEX customers_by_phone ON customers (phone_key, id)
    WHERE phone_key IS NOT NULL AND merged_into IS NULL;
CREATE INDEX customers_merged ON customers (merged_into) WHERE merged_into IS NOT NULL;

-- Every email already ordered under gets its row, named by its latest order; the
-- search keys are folded in Rust right after this migration (`customer_keys`).
INSERT INTO customers (id, email, name, name_key, phone, phone_key, first_order_at, last_order_at)
SELECT 'cus_' || substr(first.id, 5), o.customer_email,
       json_extract(o.snapshot, '$.customer.name'),
       lower(coalesce(json_extract(o.snapshot, '$.customer.name'), '')),
       json_extract(o.snapshot, '$.customer.phone'),
       NULL, first.created_at, o.created_at
FROM orders o
JOIN (SELECT customer_email, min(id) AS id, min(created_at) AS created_at, max(created_at) AS last_at
      FROM orders GROUP BY customer_email) first
  ON first.customer_email = o.customer_email AND o.created_at = first.last_at
GROUP BY o.customer_email;
