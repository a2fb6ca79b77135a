-- KPI counters kept as events commit (issue 20): one row per dimension, business day,
-- metric, dimension value and duration bucket. A month grouped by channel is a range
-- of the primary key. `kpi_marks` is the memory a few figures need across streams
-- (an order's first exception, a customer's first delivery, contacts per order).
CREATE TABLE kpi_counts (
    dim     TEXT NOT NULL,
    day     TEXT NOT NULL,
    metric  TEXT NOT NULL,
    key     TEXT NOT NULL,
    bucket  INTEGER NOT NULL,
    count   INTEGER NOT NULL,
    sum     INTEGER NOT NULL,
    PRIMARY KEY (dim, day, metric, key, bucket)
) WITHOUT ROWID;

CREATE TABLE kpi_marks (
    subject  TEXT NOT NULL,
    mark     TEXT NOT NULL,
    tally    INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    PRIMARY KEY (subject, mark)
) WITHOUT ROWID;
