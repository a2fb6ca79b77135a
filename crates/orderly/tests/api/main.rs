//! The HTTP API integration tests, in one binary: each test spawns the app on port 0 with
//! a fresh database (SQLite, or PostgreSQL when `ORDERLY_TEST_DATABASE_URL` is set) and
//! talks real HTTP to it (see "Testing" in ARCHITECTURE.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod bounds;
mod cancellation;
mod cases;
mod catalog;
mod concurrency;
mod crash;
mod delivery_crash;
mod edit_anchors;
mod edit_cancellations;
mod edit_races;
mod edits;
mod exceptions;
mod finding;
mod fulfillment;
mod helpers;
mod hygiene;
mod idempotency;
mod inbound;
mod logs;
mod money;
mod multiprocess;
mod notes;
mod notifications;
mod orders;
mod outbox;
mod parity;
mod payments;
mod pickup;
mod prices;
mod readme;
mod returns;
mod returns_anchors;
mod returns_backtest;
mod returns_customer;
mod returns_exchange;
mod returns_listing;
mod returns_policy;
mod returns_races;
mod returns_self_service;
mod returns_support;
mod scope_matrix;
mod scope_returns;
mod scoping;
mod sourcing;
mod status;
mod system;
mod tokens;
mod validation;
mod waves;
mod webhooks;
mod wire_times;
