//! Money on an order: captures, refunds, payments added later, holds, store credit, and the provider round trips and retries behind them.

pub mod commands;
pub mod credit;
pub mod http;
pub mod provider_events;
pub mod retries;
