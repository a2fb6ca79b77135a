-- Every index is written by every order placed, so the hot path keeps only the ones a
-- query uses:
-- * orders_by_email duplicated orders_by_email_created (customer_email, created_at), which
--   the velocity count needs and which also finds a customer's orders for a listing;
-- * reservations_open_by_stock served only `orderly check`'s read of all open
--   reservations, a full pass either way.
DROP INDEX orders_by_email;
DROP INDEX reservations_open_by_stock;
