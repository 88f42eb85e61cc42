//! The integration tests of chirp-publisher: one binary, one module per subject (every file
//! used to be a binary of its own, each linking the whole tree), sharing one test cluster.

mod media;
mod metrics;
mod pg_restart;
mod publisher;
