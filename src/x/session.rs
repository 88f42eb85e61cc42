//! Valid access tokens for an account: decrypted from the database, refreshed shortly before
//! they expire and once after a 401. A refresh happens under a row lock on the account, and the
//! rotated refresh token is saved in that same transaction, so two processes never spend the
//! same refresh token and none is ever lost.

use std::time::Duration;

use chrono::Utc;

use super::oauth::{OAuth, OAuthError};
use super::secret::{Cipher, Column, SecretError};
use super::{Secret, XClient};
use crate::config::XConfig;
use crate::db::{Db, DbError};

/// Refresh when the token has less than this left.
const REFRESH_MARGIN: chrono::Duration = chrono::Duration::seconds(120);

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no X account is connected: run `chirp account connect`")]
    NotConnected,
    #[error("the X account needs reconnecting ({0}): run `chirp account connect`")]
    NeedsReconnect(String),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    OAuth(OAuthError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for AuthError {
    fn from(e: tokio_postgres::Error) -> Self {
        AuthError::Db(e.into())
    }
}

impl AuthError {
    /// Whether waiting and trying again may help (a network fault during refresh).
    pub fn retryable(&self) -> bool {
        match self {
            AuthError::OAuth(OAuthError::X(e)) => e.retryable(),
            AuthError::Db(_) => true,
            _ => false,
        }
    }
}

/// Everything needed to talk to X for stored accounts.
#[derive(Clone, Debug)]
pub struct Session {
    pub x: XClient,
    pub oauth: Option<OAuth>,
    pub cipher: Cipher,
}

impl Session {
    pub fn new(cfg: &XConfig, cipher: Cipher, timeout: Duration) -> Session {
        Session {
            x: XClient::new(&cfg.api_base_url, timeout),
            oauth: OAuth::new(cfg, timeout).ok(),
            cipher,
        }
    }

    /// A usable access token, refreshed first when it is about to expire.
    pub async fn token(&self, db: &Db, account: i32) -> Result<Secret, AuthError> {
        let c = db.client().await?;
        let row = c
            .query_opt(
                "SELECT access_token, token_expires_at, is_active, needs_reconnect
                 FROM x_accounts WHERE id = $1",
                &[&account],
            )
            .await?
            .ok_or(AuthError::NotConnected)?;
        let (stored, expires, active, needs): (String, Option<chrono::DateTime<Utc>>, bool, bool) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        if !active || stored.is_empty() {
            return Err(AuthError::NotConnected);
        }
        if needs {
            return Err(AuthError::NeedsReconnect(
                "X refused its refresh token".into(),
            ));
        }
        if expires.is_some_and(|e| e - Utc::now() < REFRESH_MARGIN) {
            drop(c);
            return self.refresh(db, account, None).await;
        }
        Ok(self.cipher.decrypt(Column::AccessToken, &stored)?)
    }

    /// After X answered 401 to `rejected`: refresh once (unless another process already did)
    /// and return the new token.
    pub async fn token_after_401(
        &self,
        db: &Db,
        account: i32,
        rejected: &Secret,
    ) -> Result<Secret, AuthError> {
        self.refresh(db, account, Some(rejected)).await
    }

    async fn refresh(
        &self,
        db: &Db,
        account: i32,
        rejected: Option<&Secret>,
    ) -> Result<Secret, AuthError> {
        let mut c = db.client().await?;
        let tx = c.transaction().await?;
        let row = tx
            .query_opt(
                "SELECT access_token, refresh_token, token_expires_at, is_active
                 FROM x_accounts WHERE id = $1 FOR UPDATE",
                &[&account],
            )
            .await?
            .ok_or(AuthError::NotConnected)?;
        let (stored, stored_refresh, expires, active): (
            String,
            Option<String>,
            Option<chrono::DateTime<Utc>>,
            bool,
        ) = (row.get(0), row.get(1), row.get(2), row.get(3));
        if !active || stored.is_empty() {
            return Err(AuthError::NotConnected);
        }
        let current = self.cipher.decrypt(Column::AccessToken, &stored)?;
        // While we waited for the lock another process may have refreshed: use its token.
        let fresh = expires.is_none_or(|e| e - Utc::now() >= REFRESH_MARGIN);
        let superseded = rejected.is_some_and(|r| *r != current);
        if (rejected.is_none() && fresh) || superseded {
            return Ok(current);
        }
        let oauth = self
            .oauth
            .as_ref()
            .ok_or(AuthError::OAuth(OAuthError::NoClientId))?;
        let refresh = match stored_refresh {
            Some(r) => self.cipher.decrypt(Column::RefreshToken, &r)?,
            None => {
                return Err(self
                    .mark_needs_reconnect(tx, account, "no refresh token was issued")
                    .await);
            }
        };
        match oauth.refresh(&refresh).await {
            Ok(t) => {
                let access = self.cipher.encrypt(Column::AccessToken, &t.access);
                // X rotates refresh tokens; keep the old one only if none came back.
                let new_refresh = self
                    .cipher
                    .encrypt(Column::RefreshToken, t.refresh.as_ref().unwrap_or(&refresh));
                tx.execute(
                    "UPDATE x_accounts SET access_token = $2, refresh_token = $3,
                            token_expires_at = $4, needs_reconnect = false
                     WHERE id = $1",
                    &[&account, &access, &new_refresh, &t.expires_at],
                )
                .await?;
                tx.commit().await?;
                tracing::info!(account, "refreshed the X access token");
                Ok(t.access)
            }
            Err(OAuthError::Refused(msg)) => {
                Err(self.mark_needs_reconnect(tx, account, &msg).await)
            }
            Err(e) => Err(AuthError::OAuth(e)),
        }
    }

    async fn mark_needs_reconnect(
        &self,
        tx: deadpool_postgres::Transaction<'_>,
        account: i32,
        why: &str,
    ) -> AuthError {
        let saved = async {
            tx.execute(
                "UPDATE x_accounts SET needs_reconnect = true WHERE id = $1",
                &[&account],
            )
            .await?;
            tx.commit().await
        }
        .await;
        tracing::warn!(
            account,
            reason = why,
            "X refused the refresh token: the account needs reconnecting"
        );
        match saved {
            Ok(()) => AuthError::NeedsReconnect(why.to_string()),
            Err(e) => AuthError::Db(e.into()),
        }
    }
}
