//! Users and X accounts.

use chirp_core::AccountId;
use deadpool_postgres::{GenericClient, Object, Transaction};

use super::DbError;

/// Serialises creation of the local placeholder across processes.
const DEFAULT_ACCOUNT_LOCK: i64 = 0x6368_6972_7002;

/// The account posts are written for: the first active one, else the first one, else a new
/// local placeholder (user "local", inactive until connected) so that drafts and scheduling
/// work before any X login.
pub async fn default_account(client: &mut deadpool_postgres::Object) -> Result<i32, DbError> {
    if let Some(id) = find_default(&*client).await? {
        return Ok(id);
    }
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&DEFAULT_ACCOUNT_LOCK])
        .await?;
    if let Some(id) = find_default(&tx).await? {
        return Ok(id);
    }
    let user: i32 = tx
        .query_one(
            "INSERT INTO users (name) VALUES ('local') RETURNING id",
            &[],
        )
        .await?
        .get(0);
    let account: i32 = tx
        .query_one(
            "INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username, is_active)
             VALUES ($1, '', '', '', false) RETURNING id",
            &[&user],
        )
        .await?
        .get(0);
    tx.commit().await?;
    Ok(account)
}

async fn find_default(client: &impl GenericClient) -> Result<Option<i32>, DbError> {
    Ok(client
        .query_opt(
            "SELECT id FROM x_accounts ORDER BY is_active DESC, id LIMIT 1",
            &[],
        )
        .await?
        .map(|r| r.get(0)))
}

/// A connected account as chirp shows it (no tokens).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AccountStatus {
    pub id: i32,
    pub username: Option<String>,
    pub x_user_id: Option<String>,
    pub connected: bool,
    pub needs_reconnect: bool,
    pub token_expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub rate_limited_until: Option<chrono::DateTime<chrono::Utc>>,
    pub posts_waiting: i64,
    /// Why it needs reconnecting, when it does.
    pub reconnect_reason: Option<String>,
    /// When its access token was last refreshed, and how many times it was.
    pub token_refreshed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub refreshes: i64,
    /// A refresh started then and has not finished (under way, or interrupted).
    pub refresh_started_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The default account's state, if there is any account at all.
pub async fn status(client: &impl GenericClient) -> Result<Option<AccountStatus>, DbError> {
    let Some(id) = find_default(client).await? else {
        return Ok(None);
    };
    let r = client
        .query_one(
            "SELECT x_username, x_user_id, is_active, needs_reconnect, token_expires_at,
                    rate_limited_until,
                    (SELECT count(*) FROM posts p WHERE p.x_account_id = a.id
                       AND p.status IN ('scheduled', 'publishing')) AS waiting,
                    needs_reconnect_reason, token_refreshed_at, refreshes, refresh_started_at
             FROM x_accounts a WHERE id = $1",
            &[&id],
        )
        .await?;
    let username: String = r.get(0);
    let x_user_id: String = r.get(1);
    let active: bool = r.get(2);
    let needs_reconnect: bool = r.get(3);
    Ok(Some(AccountStatus {
        id,
        username: (!username.is_empty()).then_some(username),
        x_user_id: (!x_user_id.is_empty()).then_some(x_user_id),
        connected: active && !needs_reconnect,
        needs_reconnect,
        token_expires_at: r.get(4),
        rate_limited_until: r.get(5),
        posts_waiting: r.get(6),
        reconnect_reason: r.get(7),
        token_refreshed_at: r.get(8),
        refreshes: r.get(9),
        refresh_started_at: r.get(10),
    }))
}

/// The ciphertexts chirp stores for an account.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredTokens {
    pub access: String,
    pub refresh: Option<String>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// How long the access token lives, as X said when it issued it.
    pub lifetime_secs: Option<i32>,
}

impl std::fmt::Debug for StoredTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredTokens")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Saves a freshly connected account in one transaction: the account with the same X user id
/// if there is one, else the local placeholder (so existing drafts stay with it), else a new
/// user and account. Returns the account id.
pub async fn save_connected(
    client: &mut deadpool_postgres::Object,
    x_user_id: &str,
    username: &str,
    tokens: &StoredTokens,
) -> Result<i32, DbError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&DEFAULT_ACCOUNT_LOCK])
        .await?;
    let existing: Option<i32> = tx
        .query_opt(
            "SELECT id FROM x_accounts WHERE x_user_id = $1
             UNION ALL (SELECT id FROM x_accounts WHERE x_user_id = '' ORDER BY id LIMIT 1)
             LIMIT 1",
            &[&x_user_id],
        )
        .await?
        .map(|r| r.get(0));
    let id = match existing {
        Some(id) => id,
        None => {
            let user: i32 = tx
                .query_one(
                    "INSERT INTO users (name) VALUES ($1) RETURNING id",
                    &[&username],
                )
                .await?
                .get(0);
            tx.query_one(
                "INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username, is_active)
                 VALUES ($1, '', $2, $3, false) RETURNING id",
                &[&user, &x_user_id, &username],
            )
            .await?
            .get(0)
        }
    };
    tx.execute(
        "UPDATE x_accounts SET access_token = $2, refresh_token = $3, token_expires_at = $4,
                x_user_id = $5, x_username = $6, is_active = true, needs_reconnect = false,
                token_lifetime_secs = $7, needs_reconnect_reason = NULL, refresh_started_at = NULL
         WHERE id = $1",
        &[
            &id,
            &tokens.access,
            &tokens.refresh,
            &tokens.expires_at,
            &x_user_id,
            &username,
            &tokens.lifetime_secs,
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Forgets an account's tokens and deactivates it; its posts stay.
pub async fn deactivate(client: &impl GenericClient, id: i32) -> Result<(), DbError> {
    client
        .execute(
            "UPDATE x_accounts SET is_active = false, access_token = '', refresh_token = NULL,
                    token_expires_at = NULL, needs_reconnect = false,
                    needs_reconnect_reason = NULL, refresh_started_at = NULL
             WHERE id = $1",
            &[&id],
        )
        .await?;
    Ok(())
}

/// An account's stored credentials (ciphertexts) and whether they may be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAccount {
    pub tokens: StoredTokens,
    pub active: bool,
    pub needs_reconnect: bool,
    /// Why it needs reconnecting, as recorded when that was found.
    pub reconnect_reason: Option<String>,
    /// A refresh was started and has not finished: in progress, or its process died after
    /// X may have spent the refresh token.
    pub refresh_started_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl StoredAccount {
    /// Connected here at some point and not disconnected since.
    pub fn usable(&self) -> bool {
        self.active && !self.tokens.access.is_empty()
    }
}

const STORED: &str = "SELECT access_token, refresh_token, token_expires_at, is_active,
            needs_reconnect, token_lifetime_secs, needs_reconnect_reason, refresh_started_at
     FROM x_accounts WHERE id = $1";

fn stored_from(r: &tokio_postgres::Row) -> StoredAccount {
    StoredAccount {
        tokens: StoredTokens {
            access: r.get(0),
            refresh: r.get(1),
            expires_at: r.get(2),
            lifetime_secs: r.get(5),
        },
        active: r.get(3),
        needs_reconnect: r.get(4),
        reconnect_reason: r.get(6),
        refresh_started_at: r.get(7),
    }
}

/// The stored credentials of an account, None when there is no such account.
pub async fn stored(
    client: &impl GenericClient,
    account: AccountId,
) -> Result<Option<StoredAccount>, DbError> {
    Ok(client
        .query_opt(STORED, &[&account])
        .await?
        .map(|r| stored_from(&r)))
}

/// The advisory-lock class of token refreshes (the object is the account id).
const REFRESH_LOCK_CLASS: i32 = 0x6368_7270;

/// The right to refresh an account's tokens: no other process can refresh it (and so spend
/// the same refresh token) until this is dropped. It holds a transaction-level advisory lock,
/// so a process that dies releases it with its connection. Writes go through another
/// connection (see [`mark_refresh_started`], [`save_refreshed`]): the marker must be committed
/// before X is asked, while the lock is still held.
pub struct RefreshLock<'a> {
    _tx: Transaction<'a>,
    /// The account as it was once the lock was held (another process may just have refreshed).
    pub stored: StoredAccount,
}

/// Waits for the right to refresh `account`; None when there is no such account.
pub async fn lock_refresh(
    client: &mut Object,
    account: AccountId,
) -> Result<Option<RefreshLock<'_>>, DbError> {
    let tx = client.transaction().await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, $2)",
        &[&REFRESH_LOCK_CLASS, &account],
    )
    .await?;
    let Some(row) = tx.query_opt(STORED, &[&account]).await? else {
        return Ok(None);
    };
    Ok(Some(RefreshLock {
        _tx: tx,
        stored: stored_from(&row),
    }))
}

/// Commits the marker "a refresh is under way" (call it holding [`RefreshLock`], before
/// asking X).
pub async fn mark_refresh_started(
    client: &impl GenericClient,
    account: AccountId,
) -> Result<(), DbError> {
    client
        .execute(
            "UPDATE x_accounts SET refresh_started_at = now() WHERE id = $1",
            &[&account],
        )
        .await?;
    Ok(())
}

/// Stores refreshed tokens and clears the marker, in one statement: X rotated the refresh
/// token, and the new one exists nowhere else.
pub async fn save_refreshed(
    client: &impl GenericClient,
    account: AccountId,
    tokens: &StoredTokens,
) -> Result<(), DbError> {
    client
        .execute(
            "UPDATE x_accounts SET access_token = $2, refresh_token = $3,
                    token_expires_at = $4, needs_reconnect = false, token_lifetime_secs = $5,
                    needs_reconnect_reason = NULL, refresh_started_at = NULL,
                    token_refreshed_at = now(), refreshes = refreshes + 1
             WHERE id = $1",
            &[
                &account,
                &tokens.access,
                &tokens.refresh,
                &tokens.expires_at,
                &tokens.lifetime_secs,
            ],
        )
        .await?;
    Ok(())
}

/// Marks the account "needs reconnecting", saying why (the network refused its refresh
/// token, or there is none), and clears the refresh marker.
pub async fn mark_needs_reconnect(
    client: &impl GenericClient,
    account: AccountId,
    reason: &str,
) -> Result<(), DbError> {
    client
        .execute(
            "UPDATE x_accounts SET needs_reconnect = true, needs_reconnect_reason = $2,
                    refresh_started_at = NULL
             WHERE id = $1",
            &[&account, &reason],
        )
        .await?;
    Ok(())
}

/// Active accounts with tokens that expire, and when each expires (for the refresh keeper).
pub async fn expiring_tokens(
    client: &impl GenericClient,
) -> Result<Vec<(AccountId, chrono::DateTime<chrono::Utc>, Option<i32>)>, DbError> {
    Ok(client
        .query(
            "SELECT id, token_expires_at, token_lifetime_secs FROM x_accounts
             WHERE is_active AND NOT needs_reconnect AND access_token <> ''
               AND refresh_token IS NOT NULL AND token_expires_at IS NOT NULL
             ORDER BY id",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// Whether any account holds tokens (ciphertexts that need the key that made them).
pub async fn any_tokens(client: &impl GenericClient) -> Result<bool, DbError> {
    Ok(client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM x_accounts WHERE access_token <> '')",
            &[],
        )
        .await?
        .get(0))
}
