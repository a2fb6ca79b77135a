//! The pure core of Orderly: value types, the order aggregate with its state machines,
//! sourcing and inventory rules. Nothing here touches IO, a clock or randomness; time,
//! ids and facts from storage come in as arguments, so every decision is reproducible
//! in a test and replaying a stream always yields the same state.

#[macro_use]
mod macros;

pub mod actor;
pub mod calendar;
pub mod carrier;
pub mod case;
pub mod customer;
pub mod fulfillment;
pub mod geo;
pub mod inventory;
pub mod kpi;
pub mod order;
pub mod payment;
pub mod returns;
pub mod sourcing;
pub mod time;
pub mod values;

pub use jiff::Timestamp;
