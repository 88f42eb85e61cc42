//! Reading how posts did. The [`Reader`] reads a list of posts from the network, 100 ids per
//! request, an account at a time with that account's token, and stores what it found; the
//! collector task runs it on the posts due (1 h, 24 h, 7 days after posting) beside the
//! publisher, on its own connections and requests, so reads never hold a send back. A 429
//! postpones the account's reads to the window's reset; anything else, by a few minutes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chirp_core::metrics::{self, BATCH};
use chirp_core::{AccountId, PostId, SendError};
use chirp_credentials::{AuthError, Credentials};
use chirp_net::{MetricsRead, Network, Networks, Secret};
use chirp_store::analytics::{self, Read, ToRead};
use chirp_store::{Db, StoreError};
use chrono::{DateTime, Utc};

/// What one run of the reader did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Posts whose numbers were stored, per account.
    pub read: BTreeMap<AccountId, usize>,
    /// Posts the network no longer has, now marked so.
    pub gone: usize,
    /// What went wrong, one sentence each (the reads concerned are postponed).
    pub problems: Vec<String>,
}

/// Reads posts' metrics and stores them.
pub struct Reader<'a> {
    pub db: &'a Db,
    /// Each account's network is asked about its posts.
    pub networks: &'a Networks,
    pub credentials: &'a Credentials,
    /// The longest one request may take.
    pub timeout: Duration,
}

impl Reader<'_> {
    /// Reads `posts`. With `reschedule`, each post's next read is set by the schedule (the
    /// collector); without, posts keep their schedule (a read on demand).
    pub async fn read(&self, posts: &[ToRead], reschedule: bool) -> Result<Summary, StoreError> {
        let mut summary = Summary::default();
        let mut by_account: BTreeMap<AccountId, Vec<&ToRead>> = BTreeMap::new();
        for p in posts {
            by_account.entry(p.account).or_default().push(p);
        }
        for (account, posts) in by_account {
            self.read_account(account, &posts, reschedule, &mut summary)
                .await?;
        }
        Ok(summary)
    }

    async fn read_account(
        &self,
        account: AccountId,
        posts: &[&ToRead],
        reschedule: bool,
        summary: &mut Summary,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        // Recent posts (private numbers too) and older ones (public only) go in separate
        // requests: X refuses private fields for a whole post, not a field.
        let (recent, older): (Vec<&ToRead>, Vec<&ToRead>) = posts
            .iter()
            .partition(|p| metrics::private_readable(p.posted_at, now));
        let kind = {
            let c = self.db.client().await?;
            chirp_store::accounts::network_of(&c, account).await?
        };
        let Some(network) = kind.and_then(|k| self.networks.get(k).ok()) else {
            let why = kind.map_or_else(
                || format!("cannot read metrics: account {account} is gone"),
                |k| format!("cannot read metrics: {}", chirp_net::Unavailable(k)),
            );
            let at = now + chrono::Duration::hours(6);
            return self.give_up(posts, reschedule, at, why, summary).await;
        };
        let network = network.as_ref();
        let mut token = match self.credentials.token(self.db, account).await {
            Ok(t) => t,
            Err(e) => {
                let at = now + chrono::Duration::hours(1);
                self.give_up(posts, reschedule, at, auth_words(&e), summary)
                    .await?;
                return Ok(());
            }
        };
        let batches = recent
            .chunks(BATCH)
            .map(|c| (c, true))
            .chain(older.chunks(BATCH).map(|c| (c, false)));
        let mut left: Vec<&ToRead> = posts.to_vec();
        for (batch, private) in batches {
            let ids: Vec<String> = batch.iter().map(|p| p.x_id.clone()).collect();
            let result = match self.ask(network, &token, &ids, private).await {
                Err(SendError::Unauthorized(_)) => {
                    match self
                        .credentials
                        .token_after_401(self.db, account, &token)
                        .await
                    {
                        Ok(fresh) => {
                            token = fresh;
                            self.ask(network, &token, &ids, private).await
                        }
                        Err(e) => {
                            let at = Utc::now() + chrono::Duration::hours(1);
                            return self
                                .give_up(&left, reschedule, at, auth_words(&e), summary)
                                .await;
                        }
                    }
                }
                other => other,
            };
            match result {
                Ok(read) => {
                    self.store(batch, read, reschedule, summary).await?;
                    left.retain(|p| !batch.iter().any(|b| b.post == p.post));
                }
                Err(e) => {
                    // A rate limit stops this account's reads until the window resets; any
                    // other failure, for a few minutes. Either way, later batches wait too.
                    let at = match &e {
                        SendError::RateLimited { reset: Some(r), .. } if *r > Utc::now() => *r,
                        SendError::RateLimited { .. } => Utc::now() + chrono::Duration::minutes(15),
                        // No credits for reads either: try again much later (a send that
                        // meets the 402 holds the account, which stops reads altogether).
                        SendError::OutOfCredits(_) => Utc::now() + chrono::Duration::hours(6),
                        _ => Utc::now() + chrono::Duration::minutes(10),
                    };
                    return self
                        .give_up(&left, reschedule, at, e.to_string(), summary)
                        .await;
                }
            }
        }
        Ok(())
    }

    async fn ask(
        &self,
        network: &dyn Network,
        token: &Secret,
        ids: &[String],
        private: bool,
    ) -> Result<MetricsRead, SendError> {
        let deadline = Instant::now() + self.timeout;
        network.metrics(token, ids, private, deadline).await
    }

    async fn store(
        &self,
        batch: &[&ToRead],
        got: MetricsRead,
        reschedule: bool,
        summary: &mut Summary,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        let of = |x: &str| batch.iter().find(|p| p.x_id == x);
        let mut read = Read::default();
        for (x_id, m) in got.found {
            if let Some(p) = of(&x_id) {
                read.found.push((p.post, m));
            }
        }
        for x_id in &got.gone {
            if let Some(p) = of(x_id) {
                read.gone.push(p.post);
            }
        }
        if reschedule {
            read.next = batch
                .iter()
                .filter(|p| !read.gone.contains(&p.post))
                .map(|p| (p.post, metrics::next_read(p.posted_at, now)))
                .collect();
        }
        let mut c = self.db.client().await?;
        analytics::record(&mut c, &read).await?;
        if let Some(p) = batch.first() {
            *summary.read.entry(p.account).or_default() += read.found.len();
        }
        summary.gone += read.gone.len();
        Ok(())
    }

    /// These reads cannot happen now: say why, and (for the collector) try again at `at`.
    async fn give_up(
        &self,
        posts: &[&ToRead],
        reschedule: bool,
        at: DateTime<Utc>,
        why: String,
        summary: &mut Summary,
    ) -> Result<(), StoreError> {
        if reschedule && !posts.is_empty() {
            let ids: Vec<PostId> = posts.iter().map(|p| p.post).collect();
            let c = self.db.client().await?;
            analytics::postpone(&c, &ids, at).await?;
        }
        summary.problems.push(why);
        Ok(())
    }
}

fn auth_words(e: &AuthError) -> String {
    format!("cannot read metrics: {e}")
}

/// How many due posts the collector takes at once, and how long it holds them: another
/// collector reads them after that if this one died.
const TAKE: i64 = 500;
const HOLD: Duration = Duration::from_mins(10);
/// The longest the collector sleeps: posts that just went out are first due an hour later,
/// so they are read at most this late.
const NAP: Duration = Duration::from_mins(5);

/// The collector: reads due metrics until `stop` changes, telling what it did.
pub(crate) async fn collect(
    inner: Arc<crate::Inner>,
    mut stop: tokio::sync::watch::Receiver<crate::Stop>,
) {
    let reader = Reader {
        db: &inner.db,
        networks: &inner.networks,
        credentials: &inner.credentials,
        timeout: inner.opts.request_timeout,
    };
    loop {
        if *stop.borrow() != crate::Stop::No {
            return;
        }
        let nap = match round(&reader).await {
            Ok((summary, next)) => {
                if summary != Summary::default() {
                    inner.emit(crate::Event::MetricsRead(summary));
                }
                next.map_or(NAP, |t| {
                    (t - Utc::now()).to_std().unwrap_or(Duration::ZERO).min(NAP)
                })
            }
            // The publisher says when the database is down; the collector just waits.
            Err(_) => NAP / 5,
        };
        tokio::select! {
            () = tokio::time::sleep(nap) => {}
            _ = stop.changed() => {}
        }
    }
}

/// One round: every post due now, then when the next is due.
async fn round(reader: &Reader<'_>) -> Result<(Summary, Option<DateTime<Utc>>), StoreError> {
    let mut summary = Summary::default();
    loop {
        let due = {
            let c = reader.db.client().await?;
            analytics::take_due(&c, TAKE, HOLD.as_millis() as i64).await?
        };
        if due.is_empty() {
            break;
        }
        let got = reader.read(&due, true).await?;
        for (a, n) in got.read {
            *summary.read.entry(a).or_default() += n;
        }
        summary.gone += got.gone;
        summary.problems.extend(got.problems);
        if due.len() < TAKE as usize {
            break;
        }
    }
    let c = reader.db.client().await?;
    Ok((summary, analytics::next_due(&c).await?))
}
