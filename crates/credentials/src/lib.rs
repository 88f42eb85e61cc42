//! The credentials service: valid access tokens for an account, decrypted from the store,
//! refreshed shortly before they expire and once after a 401. It sits above both the store
//! (which only reads and writes ciphertexts) and the HTTP client (which only uses tokens).
//!
//! A refresh happens under an advisory lock on the account, so two processes never spend the
//! same refresh token; whoever waited for the lock uses the token the holder got. A marker
//! (when, by whom) is committed before the network is asked and cleared in the statement that
//! stores the rotated tokens, so a refresh whose process died in between is known as such, and
//! one still storing its answer is waited for. The answer is kept in the host's token journal
//! until the database has it (see [`journal`]), and the write is retried through database
//! faults. A keeper (see [`Credentials::refresh_ahead`]) refreshes ahead of expiry, so sends
//! almost never wait.

pub mod helper;
pub mod journal;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chirp_core::AccountId;
use chirp_net::secret::{Cipher, Column, SecretError};
use chirp_net::{Networks, Secret, TokenError, TokenSource, Tokens};
use chirp_store::accounts::{self, StoredTokens};
use chirp_store::{Db, StoreError};
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

pub use helper::Helper;
pub use journal::{Journal, Replayed};

/// Refresh ahead when the token has less than this left (or a quarter of its lifetime, when
/// that is shorter).
const REFRESH_MARGIN: chrono::Duration = chrono::Duration::seconds(120);

/// What happened to an account's tokens, for whoever shows it (the scheduler's log, the TUI).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Refresh {
    /// The access token was refreshed; the new one expires then.
    Refreshed {
        account: AccountId,
        expires_at: Option<DateTime<Utc>>,
        why: Why,
    },
    /// The network refused: the account needs reconnecting, for this reason.
    Refused { account: AccountId, reason: String },
    /// Not refreshed now (the network or the database failed); tried again later.
    Failed { account: AccountId, reason: String },
}

/// Why a refresh happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Why {
    /// The keeper, ahead of expiry.
    Ahead,
    /// A send needed a token that was about to expire.
    Expiring,
    /// The network answered 401 to the current token.
    Rejected,
}

/// Which refresh is asked for; each is skipped when another process already did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// The keeper's: the token is due (see [`refresh_due_at`]).
    Ahead,
    /// A send's: the token is about to expire.
    Expiring,
    /// The network answered 401 to the token of this generation (see
    /// [`accounts::StoredAccount::refreshes`]).
    Rejected(i64),
}

/// How long a refresh keeps trying to store the network's answer through a database fault
/// (it is in the token journal meanwhile).
const STORE_FOR: Duration = Duration::from_mins(1);

/// How long others leave alone an account whose refresh another live process started: it may
/// have spent the refresh token and still be storing the answer (see [`STORE_FOR`]).
const MARKER_WAIT: chrono::Duration = chrono::Duration::minutes(3);

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no account is connected: run `chirp account connect`")]
    NotConnected,
    #[error("the account needs reconnecting ({0}): run `chirp account connect`")]
    NeedsReconnect(String),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Token(TokenError),
    #[error(transparent)]
    Db(#[from] StoreError),
    #[error(
        "the secret key ({0}) is missing, and the database holds tokens encrypted with it: restore the key file (or set CHIRP_SECRET_KEY), or run `chirp account connect` to connect again"
    )]
    KeyMissing(String),
}

impl AuthError {
    /// Whether waiting and trying again may help (a network fault during refresh).
    pub fn retryable(&self) -> bool {
        match self {
            AuthError::Token(e) => e.retryable(),
            AuthError::Db(_) => true,
            _ => false,
        }
    }
}

impl chirp_core::HasKind for AuthError {
    fn kind(&self) -> chirp_core::Kind {
        use chirp_core::Kind;
        match self {
            AuthError::NotConnected | AuthError::NeedsReconnect(_) | AuthError::KeyMissing(_) => {
                Kind::Conflict
            }
            AuthError::Secret(e) => e.kind(),
            AuthError::Token(e) => e.kind(),
            AuthError::Db(e) => e.kind(),
        }
    }
}

/// Tokens for stored accounts: where they come from and how they are kept.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// Each network's token endpoint.
    networks: Networks,
    cipher: Cipher,
    /// One refresh at a time in this process (see [`Credentials::refresh`]).
    gate: Arc<tokio::sync::Mutex<()>>,
    report: Option<mpsc::UnboundedSender<Refresh>>,
    journal: Journal,
    /// This process, as a marker names it: `host:pid`.
    me: String,
    /// The process that refreshes, when not this one.
    helper: Option<Helper>,
}

impl Credentials {
    /// Tokens refreshed at each account's network's token endpoint. Without one (X with no
    /// client id), tokens are still read, but none can be refreshed.
    pub fn new(networks: &Networks, cipher: Cipher) -> Credentials {
        Credentials {
            networks: networks.clone(),
            cipher,
            gate: Arc::new(tokio::sync::Mutex::new(())),
            report: None,
            journal: Journal::default_for_host(),
            me: format!("{}:{}", host(), std::process::id()),
            helper: None,
        }
    }

    /// The same service, refreshing in `helper` processes (see [`helper`]).
    #[must_use]
    pub fn helper(self, helper: Helper) -> Credentials {
        Credentials {
            helper: Some(helper),
            ..self
        }
    }

    /// The same service, keeping answers not yet stored in `journal`.
    #[must_use]
    pub fn journal(self, journal: Journal) -> Credentials {
        Credentials { journal, ..self }
    }

    /// Writes into the database what this host's token journal holds for it (see
    /// [`Journal::replay`]): every chirp process does this on start.
    pub async fn replay_journal(&self, db: &Db) -> Result<Vec<Replayed>, StoreError> {
        self.journal.replay(db).await
    }

    /// Waits, at most `bound`, for a refresh under way in this process to finish, stored
    /// (or kept in the journal): a clean stop calls this before the process exits. False when
    /// one was still under way.
    pub async fn settle(&self, bound: Duration) -> bool {
        tokio::time::timeout(bound, self.gate.lock()).await.is_ok()
    }

    /// The same service, saying what happens to tokens on `to`.
    #[must_use]
    pub fn reporting(self, to: mpsc::UnboundedSender<Refresh>) -> Credentials {
        Credentials {
            report: Some(to),
            ..self
        }
    }

    fn tell(&self, r: Refresh) {
        match &r {
            Refresh::Refreshed { account, .. } => {
                tracing::info!(account, "refreshed the access token");
            }
            Refresh::Refused { account, reason } => {
                tracing::warn!(account, reason, "the account needs reconnecting");
            }
            Refresh::Failed { account, reason } => {
                tracing::warn!(account, reason, "could not refresh the access token");
            }
        }
        if let Some(to) = &self.report {
            let _ = to.send(r);
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
            return Err(AuthError::NeedsReconnect(reconnect_reason(&stored)));
        }
        if expiring(&stored.tokens) {
            // Its new expiry is in the database now: the next use reads it.
            let fresh = self.refresh(db, account, Ask::Expiring).await?;
            return Ok((fresh, Duration::ZERO));
        }
        let reuse = stored.tokens.expires_at.map_or(MAX_REUSE, |e| {
            (e - margin(stored.tokens.lifetime_secs) / 2 - Utc::now())
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
        let (stored, current) = self.stored_token(db, account).await?;
        if current != *rejected {
            // Another task or process refreshed since: its token is the one to use.
            return Ok(current);
        }
        self.refresh(db, account, Ask::Rejected(stored.refreshes))
            .await
    }

    /// The keeper's refresh: refreshes `account` if its token is due (see
    /// [`refresh_due_at`]) and nobody did so meanwhile.
    pub async fn refresh_ahead(&self, db: &Db, account: AccountId) -> Result<(), AuthError> {
        self.refresh(db, account, Ask::Ahead).await.map(drop)
    }

    /// Refreshes in a task of its own, so that a caller cancelled meanwhile (a task aborted
    /// at shutdown) does not cut the refresh between the network's answer and its storing; in
    /// a helper process when there is one, so that not even a kill of this process does.
    async fn refresh(&self, db: &Db, account: AccountId, ask: Ask) -> Result<Secret, AuthError> {
        // One refresh at a time in this process: the others wait here, not on a database lock
        // holding a connection each. The task holds it, so [`Credentials::settle`] waits for
        // the refresh even when its caller is gone.
        let one_at_a_time = self.gate.clone().lock_owned().await;
        let (me, db) = (self.clone(), db.clone());
        tokio::spawn(async move {
            let _held = one_at_a_time;
            match &me.helper {
                Some(h) => {
                    let (told, result) = h.refresh(account, ask).await;
                    for t in told {
                        me.tell(t);
                    }
                    result?;
                    Ok(me.stored_token(&db, account).await?.1)
                }
                None => me.refresh_here(&db, account, ask).await,
            }
        })
        .await
        .unwrap_or_else(|e| {
            Err(AuthError::Token(TokenError::Failed {
                message: format!("the refresh stopped: {e}"),
                retryable: true,
            }))
        })
    }

    /// The account as stored now, and its access token.
    async fn stored_token(
        &self,
        db: &Db,
        account: AccountId,
    ) -> Result<(accounts::StoredAccount, Secret), AuthError> {
        let c = db.client().await?;
        let stored = accounts::stored(&c, account)
            .await?
            .ok_or(AuthError::NotConnected)?;
        let token = self
            .cipher
            .decrypt(Column::AccessToken, &stored.tokens.access)?;
        Ok((stored, token))
    }

    async fn refresh_here(
        &self,
        db: &Db,
        account: AccountId,
        ask: Ask,
    ) -> Result<Secret, AuthError> {
        // An answer this host kept but could not store goes in first: it may be the only
        // valid refresh token.
        if let Err(e) = self.journal.replay(db).await {
            tracing::warn!(%e, "could not replay the token journal yet");
        }
        // Two connections: one holds the lock, the other commits what must outlive a crash.
        let mut held = db.client().await?;
        let w = db.client().await?;
        let lock = accounts::lock_refresh(&mut held, account)
            .await?
            .ok_or(AuthError::NotConnected)?;
        let stored = &lock.stored;
        if !stored.usable() {
            return Err(AuthError::NotConnected);
        }
        if stored.needs_reconnect {
            return Err(AuthError::NeedsReconnect(reconnect_reason(stored)));
        }
        let current = self
            .cipher
            .decrypt(Column::AccessToken, &stored.tokens.access)?;
        // While we waited for the lock another process may have refreshed: use its token.
        let done = match &ask {
            Ask::Ahead => stored
                .tokens
                .expires_at
                .is_none_or(|e| Utc::now() < refresh_due_at(e, stored.tokens.lifetime_secs)),
            Ask::Expiring => !expiring(&stored.tokens),
            Ask::Rejected(generation) => stored.refreshes != *generation,
        };
        if done {
            return Ok(current);
        }
        let why = match ask {
            Ask::Ahead => Why::Ahead,
            Ask::Expiring => Why::Expiring,
            Ask::Rejected(_) => Why::Rejected,
        };
        let network = stored.network;
        let source: Arc<dyn TokenSource> =
            self.networks.tokens(network).map_err(AuthError::Token)?;
        let Some(stored_refresh) = stored.tokens.refresh.clone() else {
            let why = format!("{network} issued no refresh token");
            return Err(self.refused(&w, account, &why).await);
        };
        let refresh = self.cipher.decrypt(Column::RefreshToken, &stored_refresh)?;
        // Our lock is held: a marker already there was left by a refresh that is still
        // storing its answer elsewhere, or by one whose process died.
        let marker = stored
            .refresh_started_at
            .map(|at| (at, stored.refresh_started_by.clone()));
        if let Some((at, by)) = &marker
            && self.may_still_be_storing(at, by.as_deref())
        {
            let by = by.as_deref().unwrap_or("another chirp");
            tracing::info!(
                account,
                by,
                "a refresh started elsewhere may still be storing its answer"
            );
            if why == Why::Expiring && stored.tokens.expires_at.is_some_and(|e| Utc::now() < e) {
                return Ok(current);
            }
            return Err(AuthError::Token(TokenError::Failed {
                message: format!(
                    "a refresh by {by} (started {}) may still be storing {network}'s answer: trying again shortly",
                    at.format("%H:%M:%S UTC")
                ),
                retryable: true,
            }));
        }
        let database = accounts::database_id(&w).await?;
        accounts::mark_refresh_started(&w, account, &self.me).await?;
        match source.refresh(&refresh).await {
            Ok(t) => {
                // X and Bluesky rotate refresh tokens; keep the old one only if none came back.
                let kept = Tokens {
                    refresh: t.refresh.clone().or(Some(refresh)),
                    ..t
                };
                let entry = journal::Entry {
                    database,
                    account,
                    base: stored.refreshes,
                    tokens: self.seal(&kept)?,
                    got_at: Utc::now(),
                };
                self.store(db, w, &entry).await?;
                self.tell(Refresh::Refreshed {
                    account,
                    expires_at: kept.expires_at,
                    why,
                });
                Ok(kept.access)
            }
            Err(TokenError::Refused(msg)) => {
                let reason = match &marker {
                    Some((at, by)) => format!(
                        "a refresh by {} (started {}) was interrupted before {network}'s new token was saved, and {network} refuses the old one ({msg}): if that chirp kept the answer, starting chirp again on its host restores the account; otherwise reconnect",
                        by.as_deref().unwrap_or("another chirp"),
                        at.format("%Y-%m-%d %H:%M:%S UTC")
                    ),
                    None => format!("{network} refused its refresh token ({msg})"),
                };
                Err(self.refused(&w, account, &reason).await)
            }
            Err(e) => {
                // The marker stays: X may have spent the refresh token without our hearing.
                self.tell(Refresh::Failed {
                    account,
                    reason: e.to_string(),
                });
                Err(AuthError::Token(e))
            }
        }
    }

    /// Whether a marker left at `at` by `by` may stand for a refresh still storing its
    /// answer: not ours, not a process of this host that is gone, and recent.
    fn may_still_be_storing(&self, at: &DateTime<Utc>, by: Option<&str>) -> bool {
        if by == Some(self.me.as_str()) {
            return false;
        }
        let my_host = self.me.rsplit_once(':').map(|(h, _)| h);
        let here = by
            .and_then(|b| b.rsplit_once(':'))
            .filter(|(h, _)| Some(*h) == my_host);
        if let Some((_, pid)) = here
            && !Path::new("/proc").join(pid).exists()
        {
            // Its process is gone; whatever it kept, the journal replay just stored.
            return false;
        }
        Utc::now() - *at < MARKER_WAIT
    }

    /// Stores a refresh's answer: kept in the journal first, then written, retrying through
    /// database faults for [`STORE_FOR`]. After that it stays in the journal for the next
    /// chirp process on this host (or this one's next refresh) to store.
    async fn store(
        &self,
        db: &Db,
        first: deadpool_postgres::Object,
        entry: &journal::Entry,
    ) -> Result<(), AuthError> {
        let kept = match self.journal.write(entry) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(%e, "could not keep the refreshed tokens in the token journal");
                None
            }
        };
        let deadline = tokio::time::Instant::now() + STORE_FOR;
        let mut pause = Duration::from_millis(100);
        let mut conn = Some(first);
        loop {
            let written = async {
                let c = match conn.take() {
                    Some(c) => c,
                    None => db.client().await?,
                };
                accounts::save_refreshed(&c, entry.account, entry.base, &entry.tokens).await
            }
            .await;
            match written {
                Ok(stored) => {
                    if !stored {
                        tracing::warn!(
                            account = entry.account,
                            "another refresh was stored first; this answer is dropped"
                        );
                    }
                    if let Some(p) = &kept
                        && let Err(e) = self.journal.remove(p)
                    {
                        tracing::warn!(%e, "could not remove a stored token journal entry");
                    }
                    return Ok(());
                }
                Err(e) if tokio::time::Instant::now() + pause < deadline => {
                    tracing::warn!(%e, "could not store the refreshed tokens yet; trying again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    self.tell(Refresh::Failed {
                        account: entry.account,
                        reason: format!(
                            "the refreshed tokens could not be stored ({e}); they are kept in this host's token journal and stored when the database answers"
                        ),
                    });
                    return Err(e.into());
                }
            }
        }
    }

    /// Records that the account needs reconnecting and why; the error to return.
    async fn refused(
        &self,
        w: &deadpool_postgres::Object,
        account: AccountId,
        reason: &str,
    ) -> AuthError {
        if let Err(e) = accounts::mark_needs_reconnect(w, account, reason).await {
            return e.into();
        }
        self.tell(Refresh::Refused {
            account,
            reason: reason.into(),
        });
        AuthError::NeedsReconnect(reason.into())
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
            scope: t.scope.clone(),
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
            match self.networks.tokens(stored.network) {
                Ok(source) => {
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
                            Ok(secret) => source.revoke(&secret).await.map_err(|e| e.to_string()),
                            Err(e) => Err(e.to_string()),
                        };
                        if let Err(e) = r {
                            warning = Some(e);
                        }
                    }
                }
                Err(e) => warning = Some(e.to_string()),
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

/// When the keeper refreshes a token: a quarter of its lifetime before it expires, and never
/// more than two minutes before (so a two-hour token is refreshed about once per lifetime, and
/// a token that lives less than two minutes is not refreshed on every use).
pub fn refresh_due_at(expires_at: DateTime<Utc>, lifetime_secs: Option<i32>) -> DateTime<Utc> {
    expires_at - margin(lifetime_secs)
}

/// Whether a token is too close to its end to use it without refreshing first: within half
/// the keeper's margin (the keeper normally refreshed it before).
fn expiring(t: &StoredTokens) -> bool {
    t.expires_at
        .is_some_and(|e| e - Utc::now() < margin(t.lifetime_secs) / 2)
}

fn margin(lifetime_secs: Option<i32>) -> chrono::Duration {
    lifetime_secs.map_or(REFRESH_MARGIN, |l| {
        REFRESH_MARGIN.min(chrono::Duration::seconds(i64::from(l)) / 4)
    })
}

/// Why a stored account needs reconnecting, in words.
fn reconnect_reason(s: &accounts::StoredAccount) -> String {
    s.reconnect_reason
        .clone()
        .unwrap_or_else(|| "X refused its refresh token".into())
}

/// The longest a caller keeps a token without asking again.
const MAX_REUSE: Duration = Duration::from_mins(1);

/// This host's name, as markers and publisher ids name it.
pub fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map_or_else(|_| "host".into(), |h| h.trim().to_string())
}
