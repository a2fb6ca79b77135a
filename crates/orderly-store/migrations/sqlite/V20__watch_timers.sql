-- Issue 18: a watch's timer is scheduled by the command that starts its clock, and
-- two commands may start it at one instant (an order confirmed, then captured, in the
-- same millisecond). At most one unfired timer per order and watch: a second is
-- dropped on insert, so the clock counts from the first.
CREATE UNIQUE INDEX timers_one_watch ON timers (order_id, ref_id)
    WHERE kind = 'watch' AND fired_at IS NULL;
