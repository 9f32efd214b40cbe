//! The store's integration tests in one binary.

mod batched_statements;
mod common;
mod event_log;
mod migrations;
