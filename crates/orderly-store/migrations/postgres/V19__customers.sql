-- Customers (issue 18): one row per normalised email, written when an order under that
-- email is placed, so a person has an id and is found by email, name or phone without
-- scanning orders. `id` is the first order's id under the customer prefix. What people
-- decide about the customer (flags, notes, merges) is the customer's event stream
-- (stream_type 'customer' in events); `facts` is its snapshot and `version` its length.
-- A merged row points at the survivor (`merged_into`) and leaves the name and phone
-- indexes, so a search finds the survivor once. Byte order ("C") for the prefix ranges.
CREATE TABLE customers (
    id              TEXT COLLATE "C" PRIMARY KEY,
    email           TEXT COLLATE "C" NOT NULL UNIQUE,
    name            TEXT,
    name_key        TEXT COLLATE "C" NOT NULL,
    phone           TEXT,
    phone_key       TEXT COLLATE "C",
    first_order_at  BIGINT NOT NULL,
    last_order_at   BIGINT NOT NULL,
    merged_into     TEXT COLLATE "C",
    version         BIGINT NOT NULL DEFAULT 0,
    facts           TEXT
);
CREATE INDEX customers_by_name ON customers (name_key, id) WHERE merged_into IS NULL;
CREATE INDEX customers_by_phone ON customers (phone_key, id)
    WHERE phone_key IS NOT NULL AND merged_into IS NULL;
CREATE INDEX customers_merged ON customers (merged_into) WHERE merged_into IS NOT NULL;

-- Every email already ordered under gets its row, named by its latest order.
INSERT INTO customers (id, email, name, name_key, phone, phone_key, first_order_at, last_order_at)
SELECT DISTINCT ON (o.customer_email)
       'cus_' || substr(f.id, 5), o.customer_email,
       o.snapshot::jsonb -> 'customer' ->> 'name',
       lower(coalesce(o.snapshot::jsonb -> 'customer' ->> 'name', '')),
       o.snapshot::jsonb -> 'customer' ->> 'phone',
       nullif(reverse(regexp_replace(coalesce(o.snapshot::jsonb -> 'customer' ->> 'phone', ''), '[^0-9]', '', 'g')), ''),
       f.created_at, o.created_at
FROM orders o
JOIN (SELECT customer_email, min(id) AS id, min(created_at) AS created_at
      FROM orders GROUP BY customer_email) f ON f.customer_email = o.customer_email
ORDER BY o.customer_email, o.created_at DESC;
