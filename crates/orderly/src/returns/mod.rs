//! Returns (RMAs): the requests staff and customers make, judged by the return policy
//! version in force when the order was placed, and the workflow after (review within
//! the role's authority, the prepaid label, receipt by scan, inspection with a
//! disposition per unit, resolution through the refund path). Every step is an order
//! command, so the API, the console and the workers run the same decisions.

pub mod backtest;
pub mod backtest_cli;
pub mod backtest_http;
pub mod backtest_view;
pub mod commands;
pub mod facts;
pub mod http;
pub mod list;
pub mod queries;
pub mod requests;
pub mod send_back;
pub mod view;
