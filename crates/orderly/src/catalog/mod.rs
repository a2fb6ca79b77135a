//! Products and stock: the catalog, inventory levels, adjustments and movements.

pub mod commands;
pub mod http;
pub mod inventory;
pub mod quarantine;
pub mod queries;
