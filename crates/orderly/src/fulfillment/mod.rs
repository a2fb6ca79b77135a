//! From release to the customer's door: fulfillment orders, waves and pick lists, packing with scan checks, carrier choice and labels, tracking, and click and collect.

pub mod commands;
pub mod handover;
pub mod http;
pub mod packages;
pub mod pickup;
pub mod queries;
pub mod tracking;
pub mod view;
pub mod waves;
