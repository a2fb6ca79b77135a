//! Customer notifications: messages made by the dispatcher's fan-out when a public event
//! matches a configured trigger, rendered from templates per channel and language when
//! they are due, held back when they are follow-ups the customer does not want, and sent
//! at least once through the configured transport (the database or SMTP), each on the
//! order's timeline with its status; support previews any template for an order and
//! resends a message.

pub mod commands;
pub mod context;
pub mod http;
pub mod notifier;
pub mod render;
pub mod transport;
pub mod triggers;
pub mod worker;
