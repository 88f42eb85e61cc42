//! The integration tests of chirp-net: one binary, one module per subject (every file
//! used to be a binary of its own, each linking the whole tree), sharing one test cluster.

mod callback;
mod conformance_x;
mod x_client;
mod x_media;
