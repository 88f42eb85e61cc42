//! The integration tests of chirp: one binary, one module per subject (every file
//! used to be a binary of its own, each linking the whole tree), sharing one test cluster.

mod account;
mod cli;
mod private_db;
mod scheduler;
mod tui;
mod tui_e2e;
