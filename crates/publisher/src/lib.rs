//! The publishing engine: sends every due post exactly once. One loop claims due posts (a single
//! `FOR UPDATE SKIP LOCKED` statement, so any number of publishers cooperate), sends each in its
//! own task, and records the outcome under the lease. It sleeps exactly until the next due time
//! or a NOTIFY from the posts trigger, with a slow safety poll for anything missed, and it hands
//! expired leases of crashed publishers back to the queue to be reconciled before any resend.
//!
//! It knows no screen and no X specifics: it drives a [`Network`](chirp_net::Network) from the registry ([`Networks`]) and gets tokens from the
//! [`Credentials`] service; what it did comes out as [`Event`]s for whoever runs it to show.

//!
//! Its rooms, after River's: [`producer`] (the claim loop), [`lease`] (leases and the
//! heartbeat), [`rescuer`] (dead publishers' posts), [`attempt`] (the one way a post is sent,
//! part by part) with [`reconcile`] and [`media`], [`tokens`] (the token cache and keeper),
//! [`outcome`] (what an attempt decided, as one value) and [`writer`] (that value written by
//! one statement fenced on the lease).

mod attempt;
mod events;
mod io;
mod lease;
mod media;
pub mod metrics;
mod outcome;
mod producer;
mod reconcile;
mod rescuer;
#[cfg(test)]
mod testio;
mod tokens;
pub mod unpublish;
mod writer;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chirp_core::{AccountId, PostId};
use chirp_credentials::{AuthError, Credentials};
use chirp_net::{Chunks, Networks, Secret};
use chirp_store::media::{Attachment, MediaId};
use chirp_store::publishing::{self as store, Claimed};
use chirp_store::{Db, StoreError};
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};

pub use events::Event;

pub use chirp_core::RetryPolicy;

#[derive(Debug, Clone)]
pub struct Options {
    /// How long a claim is valid. Must comfortably exceed the X request timeout.
    pub lease: Duration,
    /// Posts claimed per statement.
    pub batch: i64,
    /// Posts in flight at once.
    pub concurrency: usize,
    /// Poll this often even without notifications (missed NOTIFY, clock changes).
    pub safety_poll: Duration,
    /// How long a post handed back by a stopped publisher, or rescued from a dead one, waits
    /// before it is checked on the network: a request still on the wire lands meanwhile.
    pub grace: Duration,
    /// The longest one request to the network may take. A send is started only while the
    /// post's lease has at least this much left (the heartbeat keeps extending it).
    pub request_timeout: Duration,
    pub policy: RetryPolicy,
    /// Read posted posts' metrics when they are due (see [`metrics`]).
    pub collect_metrics: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            lease: Duration::from_mins(2),
            batch: 64,
            concurrency: 64,
            safety_poll: Duration::from_secs(30),
            grace: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
            policy: RetryPolicy::default(),
            collect_metrics: true,
        }
    }
}

/// A random number in 0..1 (for jitter).
fn unit() -> f64 {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// What a panic said, as far as it said anything.
fn panic_words(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

/// The application_name this publisher's connections carry: `chirp-<pid>-pub-<tag>`, short
/// enough for PostgreSQL's 63 bytes, so that `pg_stat_activity` tells whether it lives.
fn liveness_name(me: &str) -> String {
    let tag = me.rsplit(':').next().unwrap_or("0");
    format!("chirp-{}-pub-{tag}", std::process::id())
}

/// A unique name for this publisher: host, process and a random tag.
pub fn publisher_id() -> String {
    let host = chirp_credentials::host();
    let mut tag = [0u8; 3];
    let _ = getrandom::fill(&mut tag);
    let tag = tag.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    });
    // Only characters that survive a `-c name=value` startup option.
    let host: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{host}:{}:{tag}", std::process::id())
}

struct Inner {
    db: Db,
    networks: Networks,
    credentials: Credentials,
    me: String,
    /// The application_name of this publisher's connections (see [`liveness_name`]).
    app: String,
    opts: Options,
    events: mpsc::UnboundedSender<Event>,
    tokens: tokens::TokenCache,
    stopping: watch::Receiver<Stop>,
    leases: lease::Leases,
    last_rescue: Mutex<Option<Instant>>,
    posted: mpsc::UnboundedSender<writer::PostedWrite>,
}

/// What whoever runs a publisher wants of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Keep publishing.
    No,
    /// Claim nothing more, finish the posts in flight, then return.
    Finish,
    /// Return at once: the posts in flight are handed back, to be checked on the network
    /// (after the grace period) before any resend, instead of waiting out their leases.
    Release,
}

/// Runs a publisher until `stop` says otherwise, then finishes (or hands back) what it holds
/// and returns.
/// `target` is the database to use; the publisher opens its own connections, named after it
/// (and starts chirp's private database again if it went away).
pub async fn run(
    target: impl Into<chirp_store::Target>,
    networks: Networks,
    credentials: Credentials,
    opts: Options,
    events: mpsc::UnboundedSender<Event>,
    stop: watch::Receiver<Stop>,
) {
    let me = publisher_id();
    let app = liveness_name(&me);
    // A lease shorter than a request would hold every send back forever (callers check this
    // and say so; this only keeps the engine from livelocking if one did not).
    let opts = Options {
        request_timeout: opts.request_timeout.min(opts.lease / 2),
        ..opts
    };
    let mut target = target.into();
    // Every change this publisher makes is audited under its name.
    target.pg.options(format!("-c chirp.actor=publisher:{me}"));
    // While any connection with this name is open, other publishers know this one lives.
    target.pg.application_name(&app);
    let db = Db::from_target(target);
    // What happens to tokens is told like everything else the publisher does.
    let (refreshes, mut refreshes_rx) = mpsc::unbounded_channel();
    let credentials = credentials.reporting(refreshes);
    let told = events.clone();
    let teller = tokio::spawn(async move {
        while let Some(r) = refreshes_rx.recv().await {
            let _ = told.send(Event::Token(r));
        }
    });
    let (posted, posted_rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(writer::posted_writer(
        db.pool.clone(),
        me.clone(),
        posted_rx,
    ));
    let inner = Arc::new(Inner {
        db,
        networks,
        credentials,
        me: me.clone(),
        app,
        leases: lease::Leases::new(opts.lease, opts.grace, opts.request_timeout),
        opts,
        events,
        tokens: tokens::TokenCache::default(),
        stopping: stop.clone(),
        last_rescue: Mutex::new(None),
        posted,
    });
    inner.emit(Event::Started { id: me });
    let heartbeat = tokio::spawn(lease::heartbeat(inner.clone()));
    let keeper = tokio::spawn(tokens::keeper(inner.clone()));
    let mut tasks = vec![heartbeat, keeper];
    if inner.opts.collect_metrics {
        tasks.push(tokio::spawn(metrics::collect(inner.clone(), stop.clone())));
    }
    producer::main_loop(inner.clone(), stop).await;
    for task in tasks {
        task.abort();
        let _ = task.await;
    }
    // A refresh under way runs on (it is not the keeper's to cut): the network may have spent
    // the refresh token, and its answer must be stored before the process goes.
    if !inner
        .credentials
        .settle(inner.opts.request_timeout + Duration::from_secs(5))
        .await
    {
        tracing::warn!("stopping with a refresh under way; its answer is in the token journal");
    }
    let events = inner.events.clone();
    let pool = inner.db.pool.clone();
    // Every post task has finished: dropping the last sender ends the writer.
    drop(inner);
    let _ = writer.await;
    // A refresh still under way past the bound holds a sender: do not wait for it here.
    let mut teller = teller;
    if tokio::time::timeout(Duration::from_millis(200), &mut teller)
        .await
        .is_err()
    {
        teller.abort();
    }
    pool.close();
    let _ = events.send(Event::Stopped);
}

impl Inner {
    fn emit(&self, e: Event) {
        let _ = self.events.send(e);
    }

    async fn process(self: Arc<Self>, post: Claimed) {
        let outcome = match self.networks.get(post.network) {
            Ok(net) => {
                attempt::Attempt {
                    io: self.as_ref(),
                    net: net.as_ref(),
                    policy: &self.opts.policy,
                    request_timeout: self.opts.request_timeout,
                    p: &post,
                }
                .run()
                .await
            }
            // Claims take only networks this publisher reaches; were one missing, the post
            // waits (uncounted) for a publisher that does.
            Err(e) => outcome::Outcome::Requeue {
                at: Some(Utc::now() + chrono::Duration::minutes(5)),
                reason: e.to_string(),
                unknown: false,
                uncount: true,
            },
        };
        self.record(&post, outcome).await;
    }
}

/// The attempt's needs, over PostgreSQL and this publisher's leases and tokens.
impl io::Io for Inner {
    fn call_until(&self, post: PostId) -> Result<Instant, outcome::Outcome> {
        self.leases.call_until(post, Instant::now())
    }

    fn send_until(&self, post: PostId) -> Result<Instant, outcome::Outcome> {
        self.leases.send_until(post, Instant::now())
    }

    async fn token(&self, account: AccountId) -> Result<Secret, AuthError> {
        if let Some(t) = self.tokens.get(account, Instant::now()) {
            return Ok(t);
        }
        let (t, reuse) = self.credentials.token_to_reuse(&self.db, account).await?;
        self.tokens.keep(account, &t, Instant::now() + reuse);
        Ok(t)
    }

    async fn refreshed(&self, account: AccountId, rejected: &Secret) -> Result<Secret, AuthError> {
        self.tokens.forget(account);
        let fresh = self
            .credentials
            .token_after_401(&self.db, account, rejected)
            .await?;
        // Its expiry is in the database: the next attempt reads it.
        self.tokens.keep(account, &fresh, Instant::now());
        Ok(fresh)
    }

    fn forget_token(&self, account: AccountId) {
        self.tokens.forget(account);
    }

    async fn attachments(
        &self,
        post: PostId,
        account: AccountId,
    ) -> Result<(Vec<Attachment>, Option<String>), StoreError> {
        let c = self.db.client().await?;
        let files = chirp_store::media::attachments(&c, post).await?;
        let scope = if files.is_empty() {
            None
        } else {
            chirp_store::accounts::stored(&c, account)
                .await?
                .and_then(|a| a.tokens.scope)
        };
        Ok((files, scope))
    }

    fn chunks(&self, media: MediaId) -> Box<dyn Chunks> {
        Box::new(chirp_store::media::Reader::new(&self.db, media))
    }

    async fn remember_upload(
        &self,
        post: PostId,
        position: i32,
        ord: i32,
        id: &str,
        expires_at: Option<DateTime<Utc>>,
    ) {
        if let Ok(c) = self.db.client().await {
            let _ =
                chirp_store::media::remember_upload(&c, post, position, ord, id, expires_at).await;
        }
    }

    async fn forget_uploads(&self, post: PostId) {
        if let Ok(c) = self.db.client().await {
            let _ = chirp_store::media::forget_uploads(&c, post).await;
        }
    }

    async fn store_part(
        &self,
        post: PostId,
        position: i32,
        of: usize,
        remote_id: &str,
    ) -> Result<bool, StoreError> {
        let mut c = self.db.client().await?;
        store::mark_part_sent(&mut c, &self.me, post, position, of, remote_id).await
    }

    async fn owner_of(&self, remote_id: &str, post: PostId) -> Result<Option<PostId>, StoreError> {
        let c = self.db.client().await?;
        store::remote_id_owner(&c, remote_id, post).await
    }

    fn emit(&self, e: Event) {
        Inner::emit(self, e);
    }

    async fn pause(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
