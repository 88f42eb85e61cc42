//! Users and X accounts.

use chirp_core::AccountId;
use deadpool_postgres::{GenericClient, Object, Transaction};

use super::{DbError, Refusal, StoreError};

/// Serialises creation of the local placeholder across processes.
const DEFAULT_ACCOUNT_LOCK: i64 = 0x6368_6972_7002;

/// The account posts are written for unless told otherwise: chirp's user's default account,
/// else its first (active first), else a new local placeholder (inactive until connected) so
/// that drafts and scheduling work before any X login.
pub async fn default_account(client: &mut deadpool_postgres::Object) -> Result<i32, StoreError> {
    if let Some(id) = find_default(&*client).await? {
        return Ok(id);
    }
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&DEFAULT_ACCOUNT_LOCK])
        .await?;
    if let Some(id) = find_default(&tx).await? {
        return Ok(id);
    }
    let user = me(&tx).await?;
    let account: i32 = tx
        .query_one(
            "INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username, is_active)
             VALUES ($1, '', '', '', false) RETURNING id",
            &[&user],
        )
        .await?
        .get(0);
    tx.execute(
        "UPDATE users SET default_x_account_id = $2 WHERE id = $1",
        &[&user, &account],
    )
    .await?;
    tx.commit().await?;
    Ok(account)
}

/// chirp's user: the first one, made (as "local") when there is none. Call under
/// [`DEFAULT_ACCOUNT_LOCK`]. Its accounts are the ones chirp lists and posts to.
async fn me(tx: &Transaction<'_>) -> Result<i32, StoreError> {
    if let Some(r) = tx
        .query_opt("SELECT id FROM users ORDER BY id LIMIT 1", &[])
        .await?
    {
        return Ok(r.get(0));
    }
    Ok(tx
        .query_one(
            "INSERT INTO users (name) VALUES ('local') RETURNING id",
            &[],
        )
        .await?
        .get(0))
}

/// chirp's user's default account: the one set, else its first (active first).
async fn find_default(client: &impl GenericClient) -> Result<Option<i32>, StoreError> {
    Ok(client
        .query_opt(
            "SELECT coalesce(
                 (SELECT a.id FROM x_accounts a
                  WHERE a.id = u.default_x_account_id AND a.user_id = u.id),
                 (SELECT a.id FROM x_accounts a WHERE a.user_id = u.id
                  ORDER BY a.is_active DESC, a.id LIMIT 1))
             FROM users u ORDER BY u.id LIMIT 1",
            &[],
        )
        .await?
        .and_then(|r| r.get(0)))
}

/// The accounts X may be asked anything for (alias `a`): connected, not waiting to be
/// reconnected, not held for want of credits (sends and reads cost credits alike). Every query
/// that decides what to send or read, or when to look next, uses this one condition, so a
/// new reason to hold an account is added once.
pub(crate) const USABLE: &str =
    "a.is_active AND NOT a.needs_reconnect AND a.out_of_credits_at IS NULL";

/// An account as chirp shows it (no tokens).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AccountStatus {
    pub id: i32,
    /// Its network, and where it lives when that varies (a Mastodon instance, a Bluesky PDS).
    pub network: chirp_core::Network,
    pub server_url: Option<String>,
    /// Its handle in the network's form (`@name`, `@name@instance`, `name.bsky.social`).
    pub handle: Option<String>,
    /// X's username (without `@`); the handle on other networks.
    pub username: Option<String>,
    /// Its id on its network (X's user id, a Mastodon account id, a Bluesky DID).
    pub remote_user_id: Option<String>,
    /// X's user id: on X accounts only (a Mastodon id is not an X id).
    pub x_user_id: Option<String>,
    pub connected: bool,
    pub needs_reconnect: bool,
    /// Where posts go unless told otherwise.
    pub is_default: bool,
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
    /// Its tokens were granted `media.write` (else: "reconnect to post media").
    pub can_post_media: bool,
    /// The queue slot a post added now would take (None: no queue slots).
    pub next_slot: Option<chrono::DateTime<chrono::Utc>>,
    /// Since when X has said the account is out of credits (its posts wait for a resume),
    /// and X's words.
    pub out_of_credits_at: Option<chrono::DateTime<chrono::Utc>>,
    pub out_of_credits_reason: Option<String>,
}

/// Whether a stored grant lets chirp upload media (`media.write`). NULL: connected before
/// chirp kept what X granted, which was before it asked for media.
pub fn grants_media(scope: Option<&str>) -> bool {
    scope.is_some_and(|s| s.split_whitespace().any(|x| x == "media.write"))
}

const STATUS_COLUMNS: &str = "a.id, a.network, a.server_url, a.handle, a.remote_user_id, \
     is_active, needs_reconnect, \
     token_expires_at, rate_limited_until, \
     (SELECT count(*) FROM posts p WHERE p.x_account_id = a.id \
        AND p.status IN ('scheduled', 'publishing')) AS waiting, \
     needs_reconnect_reason, token_refreshed_at, refreshes, refresh_started_at, scope, \
     out_of_credits_at, out_of_credits_reason";

fn status_of(r: &tokio_postgres::Row, default: Option<i32>) -> Result<AccountStatus, StoreError> {
    let id: i32 = r.get("id");
    let network = network_from(r.get("network"))?;
    let handle: String = r.get("handle");
    let remote_user_id: String = r.get("remote_user_id");
    let active: bool = r.get("is_active");
    let needs_reconnect: bool = r.get("needs_reconnect");
    let remote_user_id = (!remote_user_id.is_empty()).then_some(remote_user_id);
    let is_x = network == chirp_core::Network::X;
    let username = if is_x {
        handle.trim_start_matches('@').to_string()
    } else {
        handle.clone()
    };
    Ok(AccountStatus {
        id,
        network,
        server_url: r.get("server_url"),
        handle: (!handle.is_empty()).then_some(handle),
        username: (!username.is_empty()).then_some(username),
        x_user_id: remote_user_id.clone().filter(|_| is_x),
        remote_user_id,
        connected: active && !needs_reconnect,
        needs_reconnect,
        is_default: default == Some(id),
        token_expires_at: r.get("token_expires_at"),
        rate_limited_until: r.get("rate_limited_until"),
        posts_waiting: r.get("waiting"),
        reconnect_reason: r.get("needs_reconnect_reason"),
        token_refreshed_at: r.get("token_refreshed_at"),
        refreshes: r.get("refreshes"),
        refresh_started_at: r.get("refresh_started_at"),
        can_post_media: grants_media(r.get::<_, Option<String>>("scope").as_deref()),
        next_slot: None,
        out_of_credits_at: r.get("out_of_credits_at"),
        out_of_credits_reason: r.get("out_of_credits_reason"),
    })
}

/// Fills in each account's next free queue slot.
async fn with_next_slots(
    client: &impl GenericClient,
    mut all: Vec<AccountStatus>,
) -> Result<Vec<AccountStatus>, StoreError> {
    let now = chrono::Utc::now();
    for q in crate::queue::all(client).await? {
        if let Some(a) = all.iter_mut().find(|a| a.id == q.account) {
            a.next_slot = crate::queue::free(client, q.account, now, 1)
                .await?
                .first()
                .copied();
        }
    }
    Ok(all)
}

/// The default account's state, if there is any account at all.
pub async fn status(client: &impl GenericClient) -> Result<Option<AccountStatus>, StoreError> {
    let Some(id) = find_default(client).await? else {
        return Ok(None);
    };
    status_by_id(client, id).await.map(Some)
}

/// One account's state.
pub async fn status_by_id(
    client: &impl GenericClient,
    id: i32,
) -> Result<AccountStatus, StoreError> {
    let default = find_default(client).await?;
    let r = client
        .query_one(
            &format!("SELECT {STATUS_COLUMNS} FROM x_accounts a WHERE a.id = $1"),
            &[&id],
        )
        .await?;
    let one = with_next_slots(client, vec![status_of(&r, default)?]).await?;
    one.into_iter()
        .next()
        .ok_or_else(|| DbError::Unexpected(format!("account {id} vanished")).into())
}

/// An account's X handle (without `@`), if it has one (the local placeholder has none).
pub async fn handle(client: &impl GenericClient, id: i32) -> Result<Option<String>, StoreError> {
    Ok(client
        .query_opt(
            "SELECT nullif(x_username, '') FROM x_accounts WHERE id = $1",
            &[&id],
        )
        .await?
        .and_then(|r| r.get(0)))
}

/// Every X account chirp's user has connected (connected now or not), oldest first; the
/// local placeholder, which is no X account yet, is left out.
pub async fn list(client: &impl GenericClient) -> Result<Vec<AccountStatus>, StoreError> {
    let default = find_default(client).await?;
    let rows = client
        .query(
            &format!(
                "SELECT {STATUS_COLUMNS} FROM x_accounts a
                 WHERE a.user_id = (SELECT min(id) FROM users) AND a.remote_user_id <> ''
                 ORDER BY a.id"
            ),
            &[],
        )
        .await?;
    let all = rows
        .iter()
        .map(|r| status_of(r, default))
        .collect::<Result<_, _>>()?;
    with_next_slots(client, all).await
}

/// The account a handle names, among chirp's user's accounts, in any case: `@name` or
/// `name` on X, `@name@instance` on Mastodon, `name.bsky.social` on Bluesky.
pub async fn find(client: &impl GenericClient, handle: &str) -> Result<i32, StoreError> {
    let name = handle.trim().trim_start_matches('@');
    let forms = chirp_core::network::handle_forms(handle);
    let found = client
        .query_opt(
            "SELECT id FROM x_accounts
             WHERE user_id = (SELECT min(id) FROM users) AND remote_user_id <> ''
               AND lower(handle) = ANY($1)
             ORDER BY id LIMIT 1",
            &[&forms],
        )
        .await?;
    match found {
        Some(r) => Ok(r.get(0)),
        None => Err(StoreError::from(Refusal::UnknownAccount {
            handle: name.to_string(),
            known: list(client)
                .await?
                .into_iter()
                .filter_map(|a| a.username)
                .collect(),
        })),
    }
}

/// Makes `id` the account posts go to unless told otherwise.
pub async fn set_default(client: &impl GenericClient, id: i32) -> Result<(), StoreError> {
    client
        .execute(
            "UPDATE users SET default_x_account_id = $1
             WHERE id = (SELECT user_id FROM x_accounts WHERE id = $1)",
            &[&id],
        )
        .await?;
    Ok(())
}

/// The ciphertexts chirp stores for an account (and a token journal keeps: ciphertexts only).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredTokens {
    pub access: String,
    pub refresh: Option<String>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// How long the access token lives, as X said when it issued it.
    pub lifetime_secs: Option<i32>,
    /// What X granted, when it said (kept across refreshes that do not say).
    pub scope: Option<String>,
}

impl std::fmt::Debug for StoredTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredTokens")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Saves a freshly connected account in one transaction, for chirp's user: the account with
/// the same X user id if there is one (its tokens are renewed: no second row), else the local
/// placeholder (so existing drafts stay with it), else a new account. The first account
/// becomes the default. Returns the account id.
pub async fn save_connected(
    client: &mut deadpool_postgres::Object,
    x_user_id: &str,
    username: &str,
    tokens: &StoredTokens,
) -> Result<i32, StoreError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&DEFAULT_ACCOUNT_LOCK])
        .await?;
    let user = me(&tx).await?;
    let existing: Option<i32> = tx
        .query_opt(
            "SELECT id FROM x_accounts WHERE user_id = $1 AND x_user_id = $2
             UNION ALL (SELECT id FROM x_accounts WHERE user_id = $1 AND x_user_id = ''
                        ORDER BY id LIMIT 1)
             LIMIT 1",
            &[&user, &x_user_id],
        )
        .await?
        .map(|r| r.get(0));
    let id: i32 = match existing {
        Some(id) => id,
        None => tx
            .query_one(
                "INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username, is_active)
                 VALUES ($1, '', $2, $3, false) RETURNING id",
                &[&user, &x_user_id, &username],
            )
            .await?
            .get(0),
    };
    tx.execute(
        "UPDATE users SET default_x_account_id = $2
         WHERE id = $1 AND (default_x_account_id IS NULL
               OR default_x_account_id NOT IN (SELECT id FROM x_accounts WHERE user_id = $1))",
        &[&user, &id],
    )
    .await?;
    tx.execute(
        "UPDATE x_accounts SET access_token = $2, refresh_token = $3, token_expires_at = $4,
                remote_user_id = $5, handle = $6, is_active = true, needs_reconnect = false,
                token_lifetime_secs = $7, needs_reconnect_reason = NULL, refresh_started_at = NULL,
                scope = $8
         WHERE id = $1",
        &[
            &id,
            &tokens.access,
            &tokens.refresh,
            &tokens.expires_at,
            &x_user_id,
            &chirp_core::network::x_handle(username),
            &tokens.lifetime_secs,
            &tokens.scope,
        ],
    )
    .await?;
    // Posts held for this account (waiting to reconnect, or to post media) are due again now;
    // the change wakes every publisher.
    tx.execute(
        "UPDATE posts SET next_attempt_at = NULL
         WHERE x_account_id = $1 AND status = 'scheduled' AND next_attempt_at IS NOT NULL",
        &[&id],
    )
    .await?;
    // Posts that waited for the account to exist changed in nothing: say it to every
    // publisher anyway, so they go out now rather than at the next poll.
    tx.execute(
        "SELECT pg_notify('chirp_posts', json_build_object(
             'op', 'connected', 'id', 0, 'status', 'scheduled', 'account', $1::int)::text)",
        &[&id],
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// After the user topped up: the account's posts held for want of credits go out again, at
/// once (every publisher is woken). How many were waiting; None when it was not held.
pub async fn resume(
    client: &mut deadpool_postgres::Object,
    id: i32,
) -> Result<Option<i64>, StoreError> {
    let tx = client.transaction().await?;
    let held = tx
        .execute(
            "UPDATE x_accounts SET out_of_credits_at = NULL, out_of_credits_reason = NULL
             WHERE id = $1 AND out_of_credits_at IS NOT NULL",
            &[&id],
        )
        .await?;
    let waiting: i64 = tx
        .query_one(
            "SELECT count(*) FROM posts WHERE x_account_id = $1 AND status = 'scheduled'
               AND (scheduled_at IS NULL OR scheduled_at <= now())",
            &[&id],
        )
        .await?
        .get(0);
    tx.execute(
        "SELECT pg_notify('chirp_posts', json_build_object(
             'op', 'resume', 'id', 0, 'status', 'scheduled', 'account', $1::int)::text)",
        &[&id],
    )
    .await?;
    tx.commit().await?;
    Ok((held == 1).then_some(waiting))
}

/// Forgets an account's tokens and deactivates it; its posts stay.
pub async fn deactivate(client: &impl GenericClient, id: i32) -> Result<(), StoreError> {
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
    /// The network the account lives on (whose token endpoint refreshes it).
    pub network: chirp_core::Network,
    pub tokens: StoredTokens,
    pub active: bool,
    pub needs_reconnect: bool,
    /// Why it needs reconnecting, as recorded when that was found.
    pub reconnect_reason: Option<String>,
    /// A refresh was started and has not finished: in progress, or its process died after
    /// X may have spent the refresh token.
    pub refresh_started_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Who started it, as `host:pid` (None for a marker older than this column).
    pub refresh_started_by: Option<String>,
    /// How many refreshes have been stored: the generation of the tokens, which a journaled
    /// answer must still match to be written (see [`save_refreshed`]).
    pub refreshes: i64,
}

impl StoredAccount {
    /// Connected here at some point and not disconnected since.
    pub fn usable(&self) -> bool {
        self.active && !self.tokens.access.is_empty()
    }
}

const STORED: &str = "SELECT network, access_token, refresh_token, token_expires_at, is_active,
            needs_reconnect, token_lifetime_secs, needs_reconnect_reason, refresh_started_at, scope,
            refresh_started_by, refreshes
     FROM x_accounts WHERE id = $1";

/// A network name as the database holds it (a CHECK keeps it one chirp knows).
pub(crate) fn network_from(name: &str) -> Result<chirp_core::Network, StoreError> {
    name.parse()
        .map_err(|e: chirp_core::network::UnknownNetwork| DbError::Unexpected(e.to_string()).into())
}

fn stored_from(r: &tokio_postgres::Row) -> Result<StoredAccount, StoreError> {
    Ok(StoredAccount {
        network: network_from(r.get("network"))?,
        tokens: StoredTokens {
            access: r.get("access_token"),
            refresh: r.get("refresh_token"),
            expires_at: r.get("token_expires_at"),
            lifetime_secs: r.get("token_lifetime_secs"),
            scope: r.get("scope"),
        },
        active: r.get("is_active"),
        needs_reconnect: r.get("needs_reconnect"),
        reconnect_reason: r.get("needs_reconnect_reason"),
        refresh_started_at: r.get("refresh_started_at"),
        refresh_started_by: r.get("refresh_started_by"),
        refreshes: r.get("refreshes"),
    })
}

/// The network `account` lives on; None when there is no such account.
pub async fn network_of(
    client: &impl GenericClient,
    account: AccountId,
) -> Result<Option<chirp_core::Network>, StoreError> {
    client
        .query_opt("SELECT network FROM x_accounts WHERE id = $1", &[&account])
        .await?
        .map(|r| network_from(r.get("network")))
        .transpose()
}

/// The text rule of `account`'s network: what its posts are checked against.
pub async fn text_rule(
    client: &impl GenericClient,
    account: AccountId,
) -> Result<&'static dyn chirp_core::TextRule, StoreError> {
    let network = network_of(client, account)
        .await?
        .ok_or_else(|| DbError::Unexpected(format!("no account {account}")))?;
    Ok(chirp_core::rule_for(network))
}

/// The stored credentials of an account, None when there is no such account.
pub async fn stored(
    client: &impl GenericClient,
    account: AccountId,
) -> Result<Option<StoredAccount>, StoreError> {
    client
        .query_opt(STORED, &[&account])
        .await?
        .map(|r| stored_from(&r))
        .transpose()
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
) -> Result<Option<RefreshLock<'_>>, StoreError> {
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
        stored: stored_from(&row)?,
    }))
}

/// Commits the marker "a refresh is under way", started by `by` (`host:pid`); call it holding
/// [`RefreshLock`], before asking the network.
pub async fn mark_refresh_started(
    client: &impl GenericClient,
    account: AccountId,
    by: &str,
) -> Result<(), StoreError> {
    client
        .execute(
            "UPDATE x_accounts SET refresh_started_at = now(), refresh_started_by = $2
             WHERE id = $1",
            &[&account, &by],
        )
        .await?;
    Ok(())
}

/// Stores refreshed tokens and clears the marker, in one statement, if the stored tokens are
/// still generation `base` (what the refresh started from): the network rotated the refresh
/// token, and the new one exists nowhere else. False when they are not (a journaled answer
/// replayed after a later refresh was stored: it is stale and must not overwrite it).
pub async fn save_refreshed(
    client: &impl GenericClient,
    account: AccountId,
    base: i64,
    tokens: &StoredTokens,
) -> Result<bool, StoreError> {
    let n = client
        .execute(
            "UPDATE x_accounts SET access_token = $2, refresh_token = $3,
                    token_expires_at = $4, needs_reconnect = false, token_lifetime_secs = $5,
                    needs_reconnect_reason = NULL, refresh_started_at = NULL,
                    refresh_started_by = NULL,
                    token_refreshed_at = now(), refreshes = refreshes + 1,
                    scope = coalesce($6, scope)
             WHERE id = $1 AND refreshes = $7",
            &[
                &account,
                &tokens.access,
                &tokens.refresh,
                &tokens.expires_at,
                &tokens.lifetime_secs,
                &tokens.scope,
                &base,
            ],
        )
        .await?;
    Ok(n == 1)
}

/// This database's id, which a host's token journal names (see the migration V18).
pub async fn database_id(client: &impl GenericClient) -> Result<String, StoreError> {
    Ok(client
        .query_one("SELECT id::text FROM chirp_database", &[])
        .await?
        .get(0))
}

/// Marks the account "needs reconnecting", saying why (the network refused its refresh
/// token, or there is none), and clears the refresh marker.
pub async fn mark_needs_reconnect(
    client: &impl GenericClient,
    account: AccountId,
    reason: &str,
) -> Result<(), StoreError> {
    client
        .execute(
            "UPDATE x_accounts SET needs_reconnect = true, needs_reconnect_reason = $2,
                    refresh_started_at = NULL, refresh_started_by = NULL
             WHERE id = $1",
            &[&account, &reason],
        )
        .await?;
    Ok(())
}

/// Active accounts with tokens that expire, and when each expires (for the refresh keeper).
pub async fn expiring_tokens(
    client: &impl GenericClient,
) -> Result<Vec<(AccountId, chrono::DateTime<chrono::Utc>, Option<i32>)>, StoreError> {
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
        .map(|r| {
            (
                r.get("id"),
                r.get("token_expires_at"),
                r.get("token_lifetime_secs"),
            )
        })
        .collect())
}

/// Whether any account holds tokens (ciphertexts that need the key that made them).
pub async fn any_tokens(client: &impl GenericClient) -> Result<bool, StoreError> {
    Ok(client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM x_accounts WHERE access_token <> '')",
            &[],
        )
        .await?
        .get(0))
}

/// Everything a status line shows, in one query: the next due post, how many wait, how many
/// failed lately, and each account's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Glance {
    pub next_at: Option<chrono::DateTime<chrono::Utc>>,
    pub next_id: Option<i32>,
    pub waiting: i64,
    pub drafts: i64,
    /// Posts that failed in the last 24 hours.
    pub failed: i64,
    /// (handle, state): "ok", "reconnect", "no credits", "rate limited", "not connected".
    pub accounts: Vec<(String, String)>,
}

/// [`Glance`] of one account's posts, or of all.
pub async fn glance(
    client: &impl GenericClient,
    account: Option<i32>,
) -> Result<Glance, StoreError> {
    let r = client
        .query_one(
            "WITH mine AS (SELECT * FROM posts WHERE $1::int IS NULL OR x_account_id = $1),
                  next AS (SELECT id, scheduled_at FROM mine
                           WHERE status = 'scheduled' AND scheduled_at IS NOT NULL
                           ORDER BY scheduled_at, id LIMIT 1)
             SELECT (SELECT scheduled_at FROM next) AS next_at, (SELECT id FROM next) AS next_id,
                    (SELECT count(*) FROM mine WHERE status IN ('scheduled', 'publishing'))
                        AS waiting,
                    (SELECT count(*) FROM mine WHERE status = 'draft') AS drafts,
                    (SELECT count(*) FROM mine WHERE status = 'failed'
                       AND updated_at > now() - interval '24 hours') AS failed,
                    (SELECT coalesce(array_agg(x_username || ' ' ||
                         CASE WHEN needs_reconnect THEN 'reconnect'
                              WHEN out_of_credits_at IS NOT NULL THEN 'no credits'
                              WHEN NOT is_active THEN 'not connected'
                              WHEN rate_limited_until > now() THEN 'rate limited'
                              ELSE 'ok' END ORDER BY id), '{}')
                     FROM x_accounts WHERE x_username <> '' AND ($1::int IS NULL OR id = $1))
                        AS accounts",
            &[&account],
        )
        .await?;
    let accounts: Vec<String> = r.get("accounts");
    Ok(Glance {
        next_at: r.get("next_at"),
        next_id: r.get("next_id"),
        waiting: r.get("waiting"),
        drafts: r.get("drafts"),
        failed: r.get("failed"),
        accounts: accounts
            .into_iter()
            .map(|s| match s.split_once(' ') {
                Some((h, st)) => (h.to_string(), st.to_string()),
                None => (s, String::new()),
            })
            .collect(),
    })
}
