//! What can go wrong when a part is sent to a network, in words that are not X's: every
//! network adapter turns its own errors into a [`SendError`], and the retry policy decides on
//! that alone. Each variant carries the adapter's full sentence (naming the network), so what
//! the user reads is the network's own words.

use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The credential was refused (expired or revoked): refresh it once, then try again.
    #[error("{0}")]
    Unauthorized(String),
    /// The network already has this exact text from this account.
    #[error("{0}")]
    Duplicate(String),
    /// A refusal that will not change if sent again (invalid, forbidden, not allowed).
    #[error("{0}")]
    Refused(String),
    /// The account or app is out of credits (pay-per-use).
    #[error("{0}")]
    OutOfCredits(String),
    /// Too many requests: wait until `reset` (when the network said).
    #[error("{message}")]
    RateLimited {
        reset: Option<DateTime<Utc>>,
        message: String,
    },
    /// Nothing reached the network (connection refused, DNS, TLS, deadline already past):
    /// safe to send again.
    #[error("{0}")]
    NotSent(String),
    /// The request went out but its outcome is unknown (timeout, connection cut, 5xx): the
    /// part may exist. Look before sending again.
    #[error("{0}")]
    Unknown(String),
    /// The network answered something the adapter cannot read.
    #[error("{0}")]
    Unexpected(String),
    /// The network no longer holds the media uploaded for the part (expired, or never
    /// finished): nothing was published; upload again, then send.
    #[error("{0}")]
    MediaGone(String),
}

impl SendError {
    /// Whether the part may exist although the sender did not see it succeed.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, SendError::Unknown(_))
    }
}

/// What a network said is left of an account's rate-limit window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Quota {
    pub limit: Option<u32>,
    pub remaining: Option<u32>,
    pub reset: Option<DateTime<Utc>>,
}
