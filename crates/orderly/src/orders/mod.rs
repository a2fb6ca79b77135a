//! Orders: capture, reading one or many, the timeline, cancellation, notes and tags,
//! and what support can tell the customer.

pub mod capture;
pub mod commands;
pub mod history;
pub mod http;
pub mod list;
pub mod notes;
pub mod placing;
pub mod queries;
pub mod support;
pub mod timeline;
pub mod view;
