//! The exception queues: entries that need a person, listed with their age and resolved with a note.

pub mod commands;
pub mod http;
pub mod queries;
