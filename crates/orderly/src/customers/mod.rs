//! Customers: one record per person across channels (matched by normalised email,
//! merged by hand when one person used two), read with the profile their orders give
//! them, flagged and annotated by support.

pub mod commands;
pub mod http;
pub mod queries;
pub mod view;
