//! Orders: capture, reading one or many, the timeline, cancellation.

pub mod capture;
pub mod commands;
pub mod http;
pub mod list;
pub mod placing;
pub mod queries;
pub mod timeline;
pub mod view;
