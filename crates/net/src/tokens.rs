//! An account's tokens and the network's token endpoint, whatever the network: what the
//! credentials service needs to keep an account connected. X brings OAuth 2.0 with rotating
//! refresh tokens; Mastodon (tokens that do not expire) and Bluesky (single-use refresh JWTs)
//! bring their own [`TokenSource`].

use chrono::{DateTime, Utc};

use crate::Secret;
use crate::network::BoxFuture;

/// Tokens as a network hands them out.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: Secret,
    pub refresh: Option<Secret>,
    pub expires_at: Option<DateTime<Utc>>,
    /// What the network granted (space-separated), when it said.
    pub scope: Option<String>,
}

/// Why a token request did not give tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// chirp is not set up to ask (no client id, a bad URL); the words say what to set.
    #[error("{0}")]
    NotConfigured(String),
    /// The network refused the grant: the refresh token is spent, expired or revoked.
    #[error("{0}")]
    Refused(String),
    /// No usable answer (a fault on the way, a server error); `retryable` when trying again
    /// later may help.
    #[error("{message}")]
    Failed { message: String, retryable: bool },
}

impl TokenError {
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            TokenError::Failed {
                retryable: true,
                ..
            }
        )
    }
}

/// A network's token endpoint.
pub trait TokenSource: Send + Sync + std::fmt::Debug {
    /// New tokens for a refresh token. A network that rotates refresh tokens spends this one
    /// on receipt: the caller must keep the answer whatever happens next.
    fn refresh<'a>(&'a self, refresh: &'a Secret) -> BoxFuture<'a, Result<Tokens, TokenError>>;

    /// Revokes a token, as far as the network allows.
    fn revoke<'a>(&'a self, token: &'a Secret) -> BoxFuture<'a, Result<(), TokenError>>;
}

impl chirp_core::HasKind for TokenError {
    fn kind(&self) -> chirp_core::Kind {
        match self {
            TokenError::NotConfigured(_) => chirp_core::Kind::BadInput,
            TokenError::Refused(_) => chirp_core::Kind::Conflict,
            TokenError::Failed { .. } => chirp_core::Kind::Network,
        }
    }
}
