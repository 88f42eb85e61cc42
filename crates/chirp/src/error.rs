//! Errors that are the user's input rather than the world: they exit with code 2.

/// A bad argument or value the user gave; its message says what to change.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
