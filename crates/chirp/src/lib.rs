//! chirp, the program: the command line, the TUI and the wiring of the layers below (core,
//! store, net, credentials, publisher). No SQL and no HTTP here: screens and commands reach
//! the database through `chirp-store` and X through `chirp-net`.

pub mod cli;
pub mod config;
mod present;
pub mod tui;
