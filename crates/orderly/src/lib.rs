//! Orderly, the order management system, assembled into one binary by `main.rs`: the
//! application core (`app`), one module per capability (orders, payments, fulfillment,
//! catalog, exceptions, system), each holding its HTTP handlers, views and commands, the
//! shared HTTP layer (`http`), the workers, the providers at the edge, configuration,
//! the demo and the benchmark.

pub mod app;
pub mod bench;
pub mod bench_support;
pub mod bench_webhooks;
pub mod cases;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod console;
pub mod customers;
pub mod demo;
pub mod edits;
pub mod exceptions;
pub mod fulfillment;
pub mod http;
pub mod kpis;
#[cfg(test)]
mod layering;
pub mod maintenance;
pub mod notifications;
pub mod orders;
pub mod payments;
pub mod providers;
pub mod returns;
pub mod seed;
pub mod startup;
pub mod system;
pub mod users;
pub mod webhooks;
pub mod workers;

/// The built-in demo configuration (three warehouses, two channels, US geography).
pub const DEMO_CONFIG: &str = include_str!("../demo/orderly.toml");
