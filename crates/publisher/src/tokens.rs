//! Tokens: a short-lived cache of each account's access token (so that a burst of posts does
//! not decrypt the same row a hundred times), and the keeper, which refreshes each account's
//! token ahead of its expiry so that sends almost never wait for a refresh. The credentials
//! service makes sure only one process refreshes per lifetime.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chirp_core::AccountId;
use chirp_core::policy;
use chirp_net::Secret;
use chrono::Utc;

use crate::{Inner, lock, unit};

/// Access tokens per account, with until when each may be reused (the credentials service
/// says: before it would be refreshed, at most a minute); dropped on a 401.
#[derive(Default)]
pub(crate) struct TokenCache {
    tokens: Mutex<HashMap<AccountId, (Secret, Instant)>>,
}

impl TokenCache {
    /// The token kept for `account`, while it may be reused at `now`.
    pub(crate) fn get(&self, account: AccountId, now: Instant) -> Option<Secret> {
        lock(&self.tokens)
            .get(&account)
            .filter(|(_, until)| now < *until)
            .map(|(t, _)| t.clone())
    }

    pub(crate) fn keep(&self, account: AccountId, t: &Secret, until: Instant) {
        lock(&self.tokens).insert(account, (t.clone(), until));
    }

    pub(crate) fn forget(&self, account: AccountId) {
        lock(&self.tokens).remove(&account);
    }
}

/// Refreshes each account's token ahead of its expiry (see
/// [`chirp_credentials::refresh_due_at`]). Every publisher runs one. It looks at least once a
/// minute for accounts connected meanwhile.
pub(crate) async fn keeper(inner: Arc<Inner>) {
    let mut backoff: HashMap<AccountId, (Instant, Duration)> = HashMap::new();
    loop {
        // What a refresh on this host got and could not store (the database was down) is
        // stored as soon as the database answers, not only at the next refresh.
        if let Err(e) = inner.credentials.replay_journal(&inner.db).await {
            tracing::debug!(%e, "the token journal waits for the database");
        }
        let listed = match inner.db.client().await {
            Ok(c) => chirp_store::accounts::expiring_tokens(&c).await,
            Err(e) => Err(e),
        };
        let mut wake = Duration::from_mins(1);
        for (account, expires_at, lifetime_secs) in listed.unwrap_or_default() {
            let due = chirp_credentials::refresh_due_at(expires_at, lifetime_secs);
            let mut wait = (due - Utc::now()).to_std().unwrap_or_default();
            if let Some((not_before, _)) = backoff.get(&account) {
                wait = wait.max(not_before.saturating_duration_since(Instant::now()));
            }
            if wait.is_zero() {
                match inner.credentials.refresh_ahead(&inner.db, account).await {
                    Ok(()) => {
                        backoff.remove(&account);
                    }
                    Err(e) => {
                        // Failures were told; wait before trying again (doubling, at most a
                        // minute), and not at all for an account that needs reconnecting.
                        let last = backoff.get(&account).map_or(Duration::ZERO, |b| b.1);
                        let next = (last * 2).clamp(Duration::from_secs(1), Duration::from_mins(1));
                        let next = if e.retryable() {
                            next
                        } else {
                            Duration::from_mins(1)
                        };
                        let pause = policy::jittered(next, unit());
                        backoff.insert(account, (Instant::now() + pause, next));
                        wait = pause;
                    }
                }
                // Look again at once: its new expiry decides when it is next due.
                if wait.is_zero() {
                    wait = Duration::from_millis(10);
                }
            }
            wake = wake.min(wait);
        }
        tokio::time::sleep(wake).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_token_is_reused_until_its_time_then_not() {
        let cache = TokenCache::default();
        let t0 = Instant::now();
        cache.keep(1, &Secret::new("a"), t0 + Duration::from_mins(1));
        assert_eq!(
            cache.get(1, t0).map(|t| t.expose().to_string()),
            Some("a".into())
        );
        assert!(cache.get(1, t0 + Duration::from_mins(1)).is_none());
        assert!(cache.get(2, t0).is_none());
    }

    #[test]
    fn a_forgotten_token_is_asked_for_again() {
        let cache = TokenCache::default();
        let t0 = Instant::now();
        cache.keep(1, &Secret::new("a"), t0 + Duration::from_mins(1));
        cache.forget(1);
        assert!(cache.get(1, t0).is_none());
    }
}
