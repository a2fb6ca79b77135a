//! The payment side of an order: the append-only ledger and the state derived from it
//! (`ledger`), and the records of what was asked of a provider and how it answered
//! (`records`). Money moves in two phases — an intent recorded in the order stream, then
//! the provider's answer — so a crash in between leaves a visible, re-drivable intent.

mod ledger;
mod records;
mod risk;

pub use ledger::*;
pub use records::*;
pub use risk::{RiskFacts, RiskPolicy, risk_holds};
