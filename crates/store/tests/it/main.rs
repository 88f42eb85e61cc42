//! The integration tests of chirp-store: one binary, one module per subject (every file
//! used to be a binary of its own, each linking the whole tree), sharing one test cluster.

mod db;
mod networks;
mod parts;
mod queue;
mod statements;
mod tls;
