//! Order edits and cancellations of some units: the change sets support prepares,
//! previews and commits, and the history they leave (`GET /orders/{id}/changes`).

pub mod answers;
pub mod commands;
pub mod http;
pub mod requests;
pub mod view;
