//! Support cases: opened from an order, a return, a shipment or a customer, owned until
//! resolved with a root cause, every contact counted; the queues support works from, and
//! the escalation of those past their SLA clock, and the root causes reported.

pub mod actions;
pub mod commands;
pub mod escalation;
pub mod http;
pub mod reports;
pub mod reports_http;
pub mod view;
