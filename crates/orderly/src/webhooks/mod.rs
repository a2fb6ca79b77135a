//! Outbound webhooks: subscriptions (URL, event types, secrets, active flag) kept
//! through the API, deliveries fanned out from the outbox by the dispatcher, sent at
//! least once and in order per order by the worker, signed the Standard Webhooks way,
//! logged per attempt, redelivered by hand, and the public event feed a consumer that
//! was down reads to catch up.

pub mod destination;
pub mod http;
pub mod send;
pub mod subscriptions;
pub mod worker;
