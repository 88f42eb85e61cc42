//! chirp: write, schedule and publish posts to X from the terminal, kept in PostgreSQL.
#![deny(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod fake_x;
pub mod publisher;
pub mod tui;
pub mod x;
