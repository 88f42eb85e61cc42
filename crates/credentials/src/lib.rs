//! The credentials service: valid access tokens for an account, decrypted from the store,
//! refreshed shortly before they expire and once after a 401. It sits above both the store
//! (which only reads and writes ciphertexts) and the HTTP client (which only uses tokens).
//!
//! A refresh happens under a row lock on the account, and the rotated refresh token is saved in
//! that same transaction, so two processes never spend the same refresh token and none is ever
//! lost.

use std::time::Duration;

use chirp_core::AccountId;
use chirp_net::Secret;
use chirp_net::secret::{Cipher, Column, SecretError};
use chirp_net::x::XConfig;
use chirp_net::x::oauth::{OAuth, OAuthError, Tokens};
use chirp_store::accounts::{self, StoredTokens};
use chirp_store::{Db, DbError};
use chrono::Utc;

/// Refresh at the latest when the token has less than this left.
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
    #[error(
        "the secret key ({0}) is missing, and the database holds tokens encrypted with it: restore the key file (or set CHIRP_SECRET_KEY), or run `chirp account connect` to connect again"
    )]
    KeyMissing(String),
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

/// Tokens for stored accounts: where they come from and how they are kept.
#[derive(Clone, Debug)]
pub struct Credentials {
    oauth: Option<OAuth>,
    cipher: Cipher,
}

impl Credentials {
    /// Without a usable `[x]` client id, tokens are still read, but none can be refreshed.
    pub fn new(cfg: &XConfig, cipher: Cipher, timeout: Duration) -> Credentials {
        Credentials {
            oauth: OAuth::new(cfg, timeout).ok(),
            cipher,
        }
    }

    /// A usable access token, refreshed first when it is about to expire.
    pub async fn token(&self, db: &Db, account: AccountId) -> Result<Secret, AuthError> {
        Ok(self.token_to_reuse(db, account).await?.0)
    }

    /// A usable access token, and how long it may be reused without asking again: until it
    /// would count as about to expire, and at most a minute.
    pub async fn token_to_reuse(
        &self,
        db: &Db,
        account: AccountId,
    ) -> Result<(Secret, Duration), AuthError> {
        let stored = {
            let c = db.client().await?;
            accounts::stored(&c, account)
                .await?
                .ok_or(AuthError::NotConnected)?
        };
        if !stored.usable() {
            return Err(AuthError::NotConnected);
        }
        if stored.needs_reconnect {
            return Err(AuthError::NeedsReconnect(
                "X refused its refresh token".into(),
            ));
        }
        if expiring(&stored.tokens) {
            // Its new expiry is in the database now: the next use reads it.
            let fresh = self.refresh(db, account, None).await?;
            return Ok((fresh, Duration::ZERO));
        }
        let reuse = stored.tokens.expires_at.map_or(MAX_REUSE, |e| {
            (e - margin(&stored.tokens) - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(MAX_REUSE)
        });
        let token = self
            .cipher
            .decrypt(Column::AccessToken, &stored.tokens.access)?;
        Ok((token, reuse))
    }

    /// After X answered 401 to `rejected`: refresh once (unless another process already did)
    /// and return the new token.
    pub async fn token_after_401(
        &self,
        db: &Db,
        account: AccountId,
        rejected: &Secret,
    ) -> Result<Secret, AuthError> {
        self.refresh(db, account, Some(rejected)).await
    }

    async fn refresh(
        &self,
        db: &Db,
        account: AccountId,
        rejected: Option<&Secret>,
    ) -> Result<Secret, AuthError> {
        let mut c = db.client().await?;
        let lock = accounts::lock_tokens(&mut c, account)
            .await?
            .ok_or(AuthError::NotConnected)?;
        if !lock.stored.usable() {
            return Err(AuthError::NotConnected);
        }
        let current = self
            .cipher
            .decrypt(Column::AccessToken, &lock.stored.tokens.access)?;
        // While we waited for the lock another process may have refreshed: use its token.
        let fresh = !expiring(&lock.stored.tokens);
        let superseded = rejected.is_some_and(|r| *r != current);
        if (rejected.is_none() && fresh) || superseded {
            return Ok(current);
        }
        let oauth = self
            .oauth
            .as_ref()
            .ok_or(AuthError::OAuth(OAuthError::NoClientId))?;
        let Some(stored_refresh) = lock.stored.tokens.refresh.clone() else {
            let why = "no refresh token was issued";
            lock.mark_needs_reconnect().await?;
            return Err(needs_reconnect(account, why));
        };
        let refresh = self.cipher.decrypt(Column::RefreshToken, &stored_refresh)?;
        match oauth.refresh(&refresh).await {
            Ok(t) => {
                // X rotates refresh tokens; keep the old one only if none came back.
                let kept = Tokens {
                    refresh: t.refresh.clone().or(Some(refresh)),
                    ..t
                };
                lock.save_refreshed(&self.seal(&kept)?).await?;
                tracing::info!(account, "refreshed the X access token");
                Ok(kept.access)
            }
            Err(OAuthError::Refused(msg)) => {
                lock.mark_needs_reconnect().await?;
                Err(needs_reconnect(account, &msg))
            }
            Err(e) => Err(AuthError::OAuth(e)),
        }
    }

    /// Tokens as they are stored: encrypted, each bound to its column.
    pub fn seal(&self, t: &Tokens) -> Result<StoredTokens, SecretError> {
        Ok(StoredTokens {
            access: self.cipher.encrypt(Column::AccessToken, &t.access)?,
            refresh: t
                .refresh
                .as_ref()
                .map(|r| self.cipher.encrypt(Column::RefreshToken, r))
                .transpose()?,
            expires_at: t.expires_at,
            lifetime_secs: t
                .expires_at
                .map(|e| (e - Utc::now()).num_seconds().clamp(1, i64::from(i32::MAX)) as i32),
        })
    }

    /// Saves a freshly connected account (see [`accounts::save_connected`]).
    pub async fn save_connected(
        &self,
        db: &Db,
        x_user_id: &str,
        username: &str,
        tokens: &Tokens,
    ) -> Result<AccountId, AuthError> {
        let mut c = db.client().await?;
        let sealed = self.seal(tokens)?;
        Ok(accounts::save_connected(&mut c, x_user_id, username, &sealed).await?)
    }

    /// Revokes the account's tokens at X (as far as X and the key allow) and forgets them
    /// here whatever X says. Returns why revoking failed, if it did.
    pub async fn revoke_and_forget(
        &self,
        db: &Db,
        account: AccountId,
    ) -> Result<Option<String>, AuthError> {
        let c = db.client().await?;
        let mut warning = None;
        if let Some(stored) = accounts::stored(&c, account).await? {
            match &self.oauth {
                Some(oauth) => {
                    let tokens = [
                        stored
                            .tokens
                            .refresh
                            .map(|r| self.cipher.decrypt(Column::RefreshToken, &r)),
                        Some(
                            self.cipher
                                .decrypt(Column::AccessToken, &stored.tokens.access),
                        ),
                    ];
                    for t in tokens.into_iter().flatten() {
                        let r = match t {
                            Ok(secret) => oauth.revoke(&secret).await.map_err(|e| e.to_string()),
                            Err(e) => Err(e.to_string()),
                        };
                        if let Err(e) = r {
                            warning = Some(e);
                        }
                    }
                }
                None => warning = Some(OAuthError::NoClientId.to_string()),
            }
        }
        accounts::deactivate(&c, account).await?;
        Ok(warning)
    }
}

/// The key for stored tokens: the one that exists, or a new one only when no stored token
/// needs an older key (a new key would orphan them).
pub async fn key(db: &Db) -> Result<Cipher, AuthError> {
    if let Some(c) = Cipher::load_existing()? {
        return Ok(c);
    }
    let c = db.client().await?;
    if accounts::any_tokens(&c).await? {
        let path = chirp_net::secret::default_key_path()
            .map_or_else(|| "secret.key".into(), |p| p.display().to_string());
        return Err(AuthError::KeyMissing(path));
    }
    Ok(Cipher::load_default()?)
}

/// Whether the stored tokens of `account` can be read with `cipher`: None if so (or there
/// are none), else why not.
pub async fn unreadable(
    db: &Db,
    cipher: &Cipher,
    account: AccountId,
) -> Result<Option<String>, AuthError> {
    let c = db.client().await?;
    Ok(match accounts::stored(&c, account).await? {
        Some(s) if s.usable() => cipher
            .decrypt(Column::AccessToken, &s.tokens.access)
            .err()
            .map(|e| e.to_string()),
        _ => None,
    })
}

/// Whether a token is close enough to its end to refresh it: within a quarter of its lifetime,
/// and never more than two minutes ahead (a fixed two minutes would refresh a token that lives
/// less than that on every use).
fn expiring(t: &StoredTokens) -> bool {
    t.expires_at.is_some_and(|e| e - Utc::now() < margin(t))
}

fn margin(t: &StoredTokens) -> chrono::Duration {
    t.lifetime_secs.map_or(REFRESH_MARGIN, |l| {
        REFRESH_MARGIN.min(chrono::Duration::seconds(i64::from(l) / 4))
    })
}

/// The longest a caller keeps a token without asking again.
const MAX_REUSE: Duration = Duration::from_mins(1);

fn needs_reconnect(account: AccountId, why: &str) -> AuthError {
    tracing::warn!(
        account,
        reason = why,
        "X refused the refresh token: the account needs reconnecting"
    );
    AuthError::NeedsReconnect(why.to_string())
}
