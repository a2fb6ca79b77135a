//! Orderly, the order management system: the JSON API, command handling, configuration,
//! the demo and the benchmark, assembled into one binary by `main.rs`.

pub mod api;
pub mod app;
pub mod bench;
pub mod carriers;
pub mod cli;
pub mod config;
pub mod demo;
pub mod labels;
pub mod maintenance;
pub mod payments;
pub mod startup;

/// The built-in demo configuration (three warehouses, two channels, US geography).
pub const DEMO_CONFIG: &str = include_str!("../demo/orderly.toml");
