//! Support cases: opened from an order, a return, a shipment or a customer, owned until
//! resolved with a root cause, every contact counted; the queues support works from, and
//! the escalation of those past their SLA clock.

pub mod actions;
pub mod commands;
pub mod escalation;
pub mod http;
pub mod view;
