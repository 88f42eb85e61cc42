//! The publishing engine: sends every due post exactly once. One loop claims due posts (a single
//! `FOR UPDATE SKIP LOCKED` statement, so any number of publishers cooperate), sends each in its
//! own task, and records the outcome under the lease. It sleeps exactly until the next due time
//! or a NOTIFY from the posts trigger, with a slow safety poll for anything missed, and it hands
//! expired leases of crashed publishers back to the queue to be reconciled before any resend.
//!
//! It knows no screen and no X specifics: it drives a [`Network`] and gets tokens from the
//! [`Credentials`] service; what it did comes out as [`Event`]s for whoever runs it to show.

pub mod metrics;
pub mod unpublish;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chirp_core::policy::{self, Next};
use chirp_core::{AccountId, PostId, Quota, SendError, text};
use chirp_credentials::{AuthError, Credentials, Refresh};
use chirp_net::{Lookup, Network, Part, RemoteAccount, Secret, Upload};
use chirp_store::accounts::grants_media;
use chirp_store::media::Attachment;
use chirp_store::notify::{self, Heard};
use chirp_store::publishing::{self as store, Claimed};
use chirp_store::{Db, DbError};
use chrono::{DateTime, Utc};
use futures_util::FutureExt as _;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

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

/// How long X may take to process an uploaded GIF or video before the attempt gives up.
const UPLOAD_PROCESSING: Duration = Duration::from_mins(10);

/// What the publisher did, one line each (the scheduler prints them, the TUI shows them).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Started {
        id: String,
    },
    Claimed {
        post: PostId,
        attempt: i32,
    },
    Posted {
        post: PostId,
        x_id: String,
        /// What the network said is left of the account's posting window, when it said so.
        quota: Option<Quota>,
    },
    Reconciled {
        post: PostId,
        found: Option<String>,
    },
    /// One part of a thread is on the network (its id stored before the next is sent).
    PartPosted {
        post: PostId,
        part: usize,
        of: usize,
        x_id: String,
    },
    /// A file of part `part` was uploaded (the network's id), just before the part is sent.
    MediaUploaded {
        post: PostId,
        part: usize,
        media: String,
    },
    /// Certainly on the network, but its id is unknown: why.
    PostedWithoutId {
        post: PostId,
        note: String,
    },
    Retrying {
        post: PostId,
        at: Option<DateTime<Utc>>,
        reason: String,
    },
    Failed {
        post: PostId,
        reason: String,
    },
    RateLimited {
        account: AccountId,
        until: DateTime<Utc>,
    },
    /// The account is out of credits: its posts wait until it is resumed.
    OutOfCredits {
        account: AccountId,
        post: PostId,
        reason: String,
    },
    Rescued {
        post: PostId,
    },
    /// A forced stop handed this post back; it is checked on the network before any resend.
    Released {
        post: PostId,
    },
    /// The attempt's task panicked (a bug): the post is back in the queue, to be checked on
    /// the network before any resend.
    Crashed {
        post: PostId,
        reason: String,
    },
    /// Not sent: the database stopped answering this publisher, which may have been declared
    /// dead; whoever takes the post over checks the network first.
    Abandoned {
        post: PostId,
    },
    LeaseLost {
        post: PostId,
    },
    DatabaseDown {
        error: String,
    },
    DatabaseBack,
    Listening,
    /// Nothing due now; the next thing to do is at this time (None: nothing pending).
    Waiting {
        next: Option<DateTime<Utc>>,
    },
    /// Something happened to an account's tokens (refreshed, refused, failed).
    Token(Refresh),
    /// The collector read posts' metrics.
    MetricsRead(metrics::Summary),
    Stopped,
}

/// `delay` from now, spread a little (see [`policy::jittered`]).
fn later(delay: chrono::Duration) -> DateTime<Utc> {
    let delay = delay.to_std().unwrap_or_default();
    Utc::now() + chrono::Duration::from_std(policy::jittered(delay, unit())).unwrap_or_default()
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
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map_or_else(|_| "host".into(), |h| h.trim().to_string());
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
    network: Arc<dyn Network>,
    credentials: Credentials,
    me: String,
    /// The application_name of this publisher's connections (see [`liveness_name`]).
    app: String,
    /// When the database last answered this publisher: while it does, its connections exist
    /// and nobody rescues its posts.
    alive_at: Mutex<Instant>,
    opts: Options,
    events: mpsc::UnboundedSender<Event>,
    /// Access tokens per account, with until when each may be reused (the credentials
    /// service says: before it would be refreshed, at most a minute); dropped on a 401.
    tokens: Mutex<HashMap<AccountId, (Secret, Instant)>>,
    stopping: watch::Receiver<Stop>,
    /// The leases this publisher holds, as far as it knows (see [`Lease`]).
    held: Mutex<HashMap<PostId, Lease>>,
    last_rescue: Mutex<Option<Instant>>,
    posted: mpsc::UnboundedSender<PostedWrite>,
}

/// What a publisher knows of one of its leases.
#[derive(Debug, Clone, Copy)]
struct Lease {
    /// Until when it surely holds the post: the lease counted from before the database set it,
    /// so never later than the database's own expiry.
    until: Instant,
    /// When it learnt that (a heartbeat asked after this and did not get the post back: lost).
    known_at: Instant,
    lost: bool,
}

/// One "X has it" waiting to be written with others: (post, X id, where to say how it went).
type PostedWrite = (PostId, String, oneshot::Sender<Result<bool, String>>);

/// Writes "posted" outcomes in batches: under load, one statement and one commit for many
/// posts instead of one each. Each sender learns whether its own row was written.
async fn posted_writer(
    pool: deadpool_postgres::Pool,
    me: String,
    mut rx: mpsc::UnboundedReceiver<PostedWrite>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < 256 {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        let rows: Vec<(PostId, String)> = batch.iter().map(|(id, x, _)| (*id, x.clone())).collect();
        let result = match pool.get().await {
            Ok(c) => store::mark_posted_many(&c, &me, &rows)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(DbError::from(e).to_string()),
        };
        for (id, _, reply) in batch {
            let _ = reply.send(
                result
                    .as_ref()
                    .map(|done| done.contains(&id))
                    .map_err(Clone::clone),
            );
        }
    }
}

/// What to write for a post after trying it.
#[derive(Debug)]
enum Record {
    /// The network's id, and what it said is left of the rate-limit window.
    Posted(String, Option<Quota>),
    /// Certainly on the network, id unknown (a duplicate refusal after an unknown outcome).
    PostedWithoutId(String),
    /// Every part of a thread is on the network, each id stored: the first part's id.
    ThreadPosted(String, Option<Quota>),
    /// Not sent: the database stopped answering, so another publisher may already own it.
    /// Nothing is written; whoever rescues it checks the network first.
    Abandoned,
    /// Not sent: the heartbeat found the post taken over (rescued or released). Nothing is
    /// written; it is the new owner's.
    LeaseLost,
    Failed(String),
    Requeue {
        at: Option<DateTime<Utc>>,
        reason: String,
        unknown: bool,
        uncount: bool,
    },
    RateLimited {
        until: DateTime<Utc>,
        reason: String,
    },
    OutOfCredits(String),
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
    network: Arc<dyn Network>,
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
    let writer = tokio::spawn(posted_writer(db.pool.clone(), me.clone(), posted_rx));
    let inner = Arc::new(Inner {
        db,
        network,
        credentials,
        me: me.clone(),
        app,
        alive_at: Mutex::new(Instant::now()),
        opts,
        events,
        tokens: Mutex::new(HashMap::new()),
        stopping: stop.clone(),
        held: Mutex::new(HashMap::new()),
        last_rescue: Mutex::new(None),
        posted,
    });
    inner.emit(Event::Started { id: me });
    let heartbeat = tokio::spawn(heartbeat(inner.clone()));
    let keeper = tokio::spawn(keeper(inner.clone()));
    let mut tasks = vec![heartbeat, keeper];
    if inner.opts.collect_metrics {
        tasks.push(tokio::spawn(metrics::collect(inner.clone(), stop.clone())));
    }
    main_loop(inner.clone(), stop).await;
    for task in tasks {
        task.abort();
        let _ = task.await;
    }
    let events = inner.events.clone();
    let pool = inner.db.pool.clone();
    // Every post task has finished: dropping the last sender ends the writer.
    drop(inner);
    let _ = writer.await;
    let _ = teller.await;
    pool.close();
    let _ = events.send(Event::Stopped);
}

async fn main_loop(inner: Arc<Inner>, mut stop: watch::Receiver<Stop>) {
    let mut inflight: JoinSet<()> = JoinSet::new();
    let mut listener: Option<notify::Listener> = None;
    let mut db_down = false;
    let mut last_waiting: Option<Option<i64>> = None;
    let mut retry_in = Duration::from_millis(250);
    let mut look = true;
    let mut deadline = tokio::time::Instant::now();
    loop {
        let mode = *stop.borrow();
        if mode == Stop::Release {
            inflight.abort_all();
            while inflight.join_next().await.is_some() {}
            inner.release().await;
            return;
        }
        let stopping = mode != Stop::No;
        if stopping && inflight.is_empty() {
            return;
        }
        if look && !stopping {
            if listener.is_none() {
                match notify::listen(&inner.db).await {
                    Ok(l) => {
                        listener = Some(l);
                        inner.emit(Event::Listening);
                    }
                    Err(e) => inner.database_down(&mut db_down, &e),
                }
            }
            // Claim while there is room; learn when to look again.
            let wake = match inner.fill(&mut inflight).await {
                Ok(next) => {
                    // Back means answering *and* listening: a server just restarted may take
                    // a query a moment before it takes the LISTEN.
                    if db_down && listener.is_some() {
                        db_down = false;
                        inner.emit(Event::DatabaseBack);
                    }
                    // What is announced is when the next post is due, not when we next look.
                    if let Some(w) = next {
                        inner.announce_wait(&mut last_waiting, w.due_ms.unwrap_or(i64::MAX));
                    }
                    // Full (None): a finished post wakes us.
                    let ms = next.and_then(|w| w.wake_ms).unwrap_or(i64::MAX).max(0) as u64;
                    let wake = inner.opts.safety_poll.min(Duration::from_millis(ms));
                    if listener.is_some() {
                        retry_in = Duration::from_millis(250);
                        wake
                    } else {
                        // Not listening yet: try again soon, not at the next poll, or changes
                        // go unheard until then.
                        let again = policy::jittered(retry_in, unit());
                        retry_in = (retry_in * 2).min(Duration::from_secs(10));
                        wake.min(again)
                    }
                }
                Err(e) => {
                    // The listener's own connection says when it is lost; keep it otherwise.
                    inner.database_down(&mut db_down, &e);
                    let wait = policy::jittered(retry_in, unit());
                    retry_in = (retry_in * 2).min(Duration::from_secs(10));
                    wait
                }
            };
            deadline = tokio::time::Instant::now() + wake;
        }
        look = false;
        tokio::select! {
            Some(_) = inflight.join_next(), if !inflight.is_empty() => {
                while inflight.try_join_next().is_some() {}
                // Refill in batches: one claim per half-emptied pipeline, not one per post.
                look |= inflight.len() <= inner.opts.concurrency / 2;
            }
            heard = recv(&mut listener), if listener.is_some() => {
                // Take every notification already queued: one look serves them all. Only a
                // post becoming due (or due sooner) matters; our own updates do not.
                let mut pending = vec![heard];
                if let Some(l) = listener.as_mut() {
                    while let Ok(h) = l.rx.try_recv() {
                        pending.push(Some(h));
                    }
                }
                for h in pending {
                    match h {
                        Some(Heard::Change(c)) => look |= c.status == "scheduled",
                        // The connection ended: listen again, and look (changes may be lost).
                        Some(Heard::Lost(_)) | None => {
                            listener = None;
                            look = true;
                        }
                    }
                }
            }
            () = tokio::time::sleep_until(deadline) => look = true,
            _ = stop.changed() => look = true,
        }
    }
}

/// Extends the leases of the posts in flight, every fraction of the grace period (and of the
/// lease), which also tells whether the database still answers. A call to the network is made
/// only while both are fresh (see [`Inner::call_until`]): a publisher cut off from the database
/// may already have been declared dead and its posts handed to another.
async fn heartbeat(inner: Arc<Inner>) {
    let every = (inner.opts.grace.min(inner.opts.lease) / 4)
        .clamp(Duration::from_millis(100), Duration::from_secs(2));
    let lease_ms = inner.opts.lease.as_millis() as i64;
    loop {
        let asked = Instant::now();
        let held = tokio::time::timeout(every, async {
            let c = inner.db.client().await.ok()?;
            store::extend_leases(&c, &inner.me, lease_ms).await.ok()
        })
        .await
        .ok()
        .flatten();
        if let Some(held) = held {
            // The answer is as old as the question.
            *lock(&inner.alive_at) = asked;
            inner.renewed(&held, asked);
        }
        tokio::time::sleep(every.saturating_sub(asked.elapsed())).await;
    }
}

/// Refreshes each account's token ahead of its expiry (see
/// [`chirp_credentials::refresh_due_at`]), so that sends almost never wait for a refresh. Every
/// publisher runs one; the credentials service makes sure only one of them refreshes per
/// lifetime. It looks at least once a minute for accounts connected meanwhile.
async fn keeper(inner: Arc<Inner>) {
    let mut backoff: HashMap<AccountId, (Instant, Duration)> = HashMap::new();
    loop {
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

async fn recv(listener: &mut Option<notify::Listener>) -> Option<Heard> {
    match listener {
        Some(l) => l.rx.recv().await,
        None => std::future::pending().await,
    }
}

impl Inner {
    fn emit(&self, e: Event) {
        let _ = self.events.send(e);
    }

    /// A heartbeat asked at `asked` and still holds `held`: those leases run from then; a
    /// post known to be held before that but not among them was taken over.
    fn renewed(&self, held: &[PostId], asked: Instant) {
        let mut leases = lock(&self.held);
        for (post, lease) in leases.iter_mut() {
            if held.contains(post) {
                lease.until = lease.until.max(asked + self.opts.lease);
            } else if lease.known_at < asked {
                lease.lost = true;
            }
        }
    }

    /// Hands every post this publisher holds back to the queue, to be checked on the network
    /// after the grace period. If the database cannot be reached, their leases run out instead.
    async fn release(&self) {
        let grace = self.opts.grace.as_millis() as i64;
        let released = match self.db.client().await {
            Ok(c) => store::release_claims(&c, &self.me, grace).await,
            Err(e) => Err(e),
        };
        match released {
            Ok(posts) => {
                for post in posts {
                    self.emit(Event::Released { post });
                }
            }
            Err(e) => self.emit(Event::DatabaseDown {
                error: e.to_string(),
            }),
        }
    }

    /// Tells listeners when the next post is due, once per change (to the second). `last`:
    /// None before the first announcement, then what was announced (None: nothing pending).
    #[allow(clippy::option_option)]
    fn announce_wait(&self, last: &mut Option<Option<i64>>, ms: i64) {
        let next = (ms < i64::MAX).then(|| Utc::now() + chrono::Duration::milliseconds(ms));
        let key = next.map(|t| t.timestamp());
        if *last != Some(key) {
            *last = Some(key);
            self.emit(Event::Waiting { next });
        }
    }

    fn database_down(&self, already: &mut bool, e: &DbError) {
        if !*already {
            *already = true;
            self.emit(Event::DatabaseDown {
                error: e.to_string(),
            });
        }
    }

    /// Rescues expired leases, claims what fits, and returns how long until the next thing is
    /// due (None when every slot is busy).
    async fn fill(
        self: &Arc<Self>,
        inflight: &mut JoinSet<()>,
    ) -> Result<Option<store::Wake>, DbError> {
        let c = self.db.client().await?;
        // Leases run for minutes: looking for expired ones once a second is plenty.
        let rescue_due =
            lock(&self.last_rescue).is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
        if rescue_due {
            let grace = self.opts.grace.as_millis() as i64;
            for post in store::rescue_expired(&c, grace).await? {
                self.emit(Event::Rescued { post });
            }
            *lock(&self.last_rescue) = Some(Instant::now());
        }
        loop {
            let room = self.opts.concurrency.saturating_sub(inflight.len()) as i64;
            if room == 0 {
                return Ok(None);
            }
            let limit = room.min(self.opts.batch);
            let lease = self.opts.lease.as_millis() as i64;
            let asked = Instant::now();
            let claimed = store::claim(&c, &self.me, &self.app, limit, lease).await?;
            let known_at = Instant::now();
            *lock(&self.alive_at) = asked;
            let got = claimed.len() as i64;
            for post in claimed {
                lock(&self.held).insert(
                    post.id,
                    Lease {
                        until: asked + self.opts.lease,
                        known_at,
                        lost: false,
                    },
                );
                self.emit(Event::Claimed {
                    post: post.id,
                    attempt: post.attempt,
                });
                let me = self.clone();
                inflight.spawn(async move {
                    let id = post.id;
                    // A bug that panics in one attempt must not lose the post silently: say
                    // so, and hand it back to be checked on the network before any resend.
                    let attempt = std::panic::AssertUnwindSafe(me.clone().process(post));
                    if let Err(panic) = attempt.catch_unwind().await {
                        me.crashed(id, &panic_words(panic.as_ref())).await;
                    }
                    lock(&me.held).remove(&id);
                });
            }
            if got < limit {
                return Ok(Some(store::next_wake(&c).await?));
            }
            // A full batch: there may be more due right now.
        }
    }

    /// An attempt's task panicked: the post goes back to the queue, outcome unknown.
    async fn crashed(&self, post: PostId, why: &str) {
        let reason = format!("the attempt crashed ({why}): checking X before sending again");
        self.emit(Event::Crashed {
            post,
            reason: reason.clone(),
        });
        let at = Utc::now() + chrono::Duration::from_std(self.opts.grace).unwrap_or_default();
        let written = match self.db.client().await {
            Ok(c) => store::requeue(&c, &self.me, post, Some(at), Some(&reason), true, false).await,
            Err(e) => Err(e),
        };
        // Not written: its lease runs out and it is rescued the same way.
        if let Err(e) = written {
            self.emit(Event::DatabaseDown {
                error: e.to_string(),
            });
        }
    }

    async fn process(self: Arc<Self>, post: Claimed) {
        let record = self.attempt(&post).await;
        self.record(&post, record).await;
    }

    /// One attempt: check the text, reconcile if the last outcome is unknown, send.
    async fn attempt(&self, p: &Claimed) -> Record {
        if !p.rest.is_empty() {
            return self.thread_attempt(p).await;
        }
        let files = match self.attachments(p).await {
            Ok(f) => f,
            Err(r) => return r,
        };
        if let Err(e) = text::validate_part(&p.content, !files.is_empty()) {
            return Record::Failed(format!("not sent: {e}"));
        }
        let mut token = match self.token(p.account).await {
            Ok(t) => t,
            Err(e) => return self.auth_problem(p, e),
        };
        if p.needs_reconcile {
            let earlier = remembered_uploads(&files, 1);
            let sent = Part {
                text: &p.sent_content,
                reply_to: None,
                media_ids: &earlier,
            };
            match self.reconcile(p, &mut token, sent).await {
                Ok(Some(id)) => return Record::Posted(id, None),
                Ok(None) => {}
                Err(record) => return record,
            }
        }
        // Uploaded just before the send (X forgets uploads): a retried upload sends nothing.
        let media_ids = match self.media_ids(p, &files, 1, &mut token, "").await {
            Ok(ids) => ids,
            Err(r) => return r,
        };
        let part = Part {
            text: &p.content,
            reply_to: None,
            media_ids: &media_ids,
        };
        let sent = match self.send(p, &mut token, part).await {
            Ok(sent) => sent,
            Err(r) => return r,
        };
        match sent {
            Ok(s) => Record::Posted(s.id, s.quota),
            // After an unknown outcome, "duplicate" proves the earlier send reached the
            // network: the post is out, never failed. Look once more for its id.
            Err(SendError::Duplicate(m)) if p.needs_reconcile => {
                self.posted_after_duplicate(p, &token, &m).await
            }
            Err(e) => {
                self.forget_uploads_if_gone(p, &e).await;
                self.after_error(p, &e, "")
            }
        }
    }

    /// What to record after the network refused or failed a send, by the retry policy;
    /// `part` prefixes the words ("part 3/5: ") for a thread.
    fn after_error(&self, p: &Claimed, e: &SendError, part: &str) -> Record {
        match policy::after_error(e, p.attempt, &self.opts.policy, Utc::now()) {
            Next::Fail(m) => Record::Failed(format!("{part}{m}")),
            Next::Retry {
                at,
                reason,
                unknown,
                counts,
            } => Record::Requeue {
                at: Some(later(at - Utc::now())),
                reason: format!("{part}{reason}"),
                unknown,
                uncount: !counts,
            },
            Next::RateLimited { until, reason } => Record::RateLimited { until, reason },
            Next::OutOfCredits(reason) => Record::OutOfCredits(format!("{part}{reason}")),
        }
    }

    /// Sends one part within the lease, refreshing the token once on a 401 and sending again.
    /// `Err(_)`: what to record instead of sending (no lease left, no token).
    async fn send(
        &self,
        p: &Claimed,
        token: &mut Secret,
        part: Part<'_>,
    ) -> Result<Result<chirp_net::Sent, SendError>, Record> {
        let sent = self
            .network
            .publish(token, part, self.send_until(p.id)?)
            .await;
        if !matches!(sent, Err(SendError::Unauthorized(_))) {
            return Ok(sent);
        }
        match self.refreshed(p, token).await {
            Ok(fresh) => {
                *token = fresh;
                Ok(self
                    .network
                    .publish(token, part, self.send_until(p.id)?)
                    .await)
            }
            Err(e) => Err(self.auth_problem(p, e)),
        }
    }

    /// One attempt at a thread: from the first part without an X id (reconciled first if the
    /// last send's outcome is unknown), each part as a reply to the one before, each id
    /// stored before the next part is sent.
    async fn thread_attempt(&self, p: &Claimed) -> Record {
        let n = 1 + p.rest.len();
        let mut parts: Vec<(i32, &str, Option<String>)> =
            vec![(1, p.content.as_str(), p.first_x_id.clone())];
        parts.extend(
            p.rest
                .iter()
                .map(|r| (r.position, r.content.as_str(), r.x_id.clone())),
        );
        let Some(first) = parts.iter().position(|x| x.2.is_none()) else {
            // Every id is stored: a crash came between the last part and the end.
            return Record::ThreadPosted(p.first_x_id.clone().unwrap_or_default(), None);
        };
        let files = match self.attachments(p).await {
            Ok(f) => f,
            Err(r) => return r,
        };
        for (i, (position, text, _)) in parts.iter().enumerate().skip(first) {
            let has_media = files.iter().any(|f| f.position == *position);
            if let Err(e) = text::validate_part(text, has_media) {
                return Record::Failed(format!("part {}/{n} not sent: {e}", i + 1));
            }
        }
        let mut token = match self.token(p.account).await {
            Ok(t) => t,
            Err(e) => return self.auth_problem(p, e),
        };
        let mut quota = None;
        for i in first..n {
            let (position, text, _) = parts[i];
            let reply_to = if i == 0 { None } else { parts[i - 1].2.clone() };
            let label = format!("part {}/{n}: ", i + 1);
            if i == first && p.needs_reconcile {
                // Looked for as it was sent: part 1's text as sent (it cannot change
                // meanwhile), with the uploads that send carried, before any new upload.
                let earlier = remembered_uploads(&files, position);
                let sent = Part {
                    text: if i == 0 { &p.sent_content } else { text },
                    reply_to: reply_to.as_deref(),
                    media_ids: &earlier,
                };
                match self.reconcile(p, &mut token, sent).await {
                    Ok(Some(id)) => {
                        if let Err(r) = self.store_part(p, position, n, &id).await {
                            return r;
                        }
                        parts[i].2 = Some(id);
                        continue;
                    }
                    Ok(None) => {}
                    Err(record) => return record,
                }
            }
            // Uploaded just before the send (X forgets uploads): a retried upload sends nothing.
            let media_ids = match self
                .media_ids(p, &files, position, &mut token, &label)
                .await
            {
                Ok(ids) => ids,
                Err(r) => return r,
            };
            let part = Part {
                text,
                reply_to: reply_to.as_deref(),
                media_ids: &media_ids,
            };
            let sent = match self.send(p, &mut token, part).await {
                Ok(sent) => sent,
                Err(r) => return r,
            };
            let k = i + 1;
            let id = match sent {
                Ok(s) => {
                    quota = s.quota.or(quota);
                    s.id
                }
                // The earlier send of this part reached the network: find its id, which the
                // next part needs.
                Err(SendError::Duplicate(m)) if i == first && p.needs_reconcile => {
                    // By text and place: the earlier send carried other uploads.
                    let earlier = Part {
                        media_ids: &[],
                        ..part
                    };
                    match self.look(p, &token, earlier).await {
                        Ok(Ok(Lookup::Found(id)))
                            if matches!(self.owner_of(&id, p.id).await, Ok(None)) =>
                        {
                            id
                        }
                        _ => {
                            let net = self.network.name();
                            return Record::Failed(format!(
                                "part {k}/{n} is on {net} but its id cannot be found ({m}): the parts after it were not sent. Check the thread on {net}"
                            ));
                        }
                    }
                }
                Err(e) => {
                    self.forget_uploads_if_gone(p, &e).await;
                    return self.after_error(p, &e, &format!("part {k}/{n}: "));
                }
            };
            if let Err(r) = self.store_part(p, position, n, &id).await {
                return r;
            }
            parts[i].2 = Some(id);
        }
        Record::ThreadPosted(parts[0].2.clone().unwrap_or_default(), quota)
    }

    /// The network no longer holds the uploads remembered for this post: forget them, so the
    /// next attempt uploads again. (If this write is lost, the next send is refused the same
    /// way and this runs again.)
    async fn forget_uploads_if_gone(&self, p: &Claimed, e: &SendError) {
        if matches!(e, SendError::MediaGone(_))
            && let Ok(c) = self.db.client().await
        {
            let _ = chirp_store::media::forget_uploads(&c, p.id).await;
        }
    }

    /// The post's attachments; a database that does not answer puts the post back. A post
    /// with media for an account whose tokens cannot upload media (connected before chirp
    /// asked for `media.write`) waits, saying so, instead of failing at the network.
    async fn attachments(&self, p: &Claimed) -> Result<Vec<Attachment>, Record> {
        // Most posts have none: no query for them on the publishing path.
        if !p.has_media {
            return Ok(Vec::new());
        }
        let read = async {
            let c = self.db.client().await?;
            let files = chirp_store::media::attachments(&c, p.id).await?;
            let scope = if files.is_empty() {
                None
            } else {
                chirp_store::accounts::stored(&c, p.account)
                    .await?
                    .and_then(|a| a.tokens.scope)
            };
            Ok::<_, DbError>((files, scope))
        }
        .await;
        match read {
            Ok((files, scope)) if !files.is_empty() && !grants_media(scope.as_deref()) => {
                Err(Self::reconnect_for_media())
            }
            Ok((files, _)) => Ok(files),
            Err(e) => Err(Record::Requeue {
                at: Some(later(self.opts.policy.backoff(p.attempt))),
                reason: format!("could not read its media: {e}"),
                unknown: false,
                uncount: true,
            }),
        }
    }

    /// The account must be connected again (granting `media.write`) before this post goes.
    fn reconnect_for_media() -> Record {
        Record::Requeue {
            at: Some(Utc::now() + chrono::Duration::minutes(15)),
            reason: "reconnect to post media: the account was connected before chirp asked X for media uploads (chirp account connect)".into(),
            unknown: false,
            uncount: true,
        }
    }

    /// The network's ids for the files of part `position`: an upload remembered and still
    /// valid when the part goes out, else uploaded now (and remembered at once). Uploading
    /// publishes nothing, so an upload whose answer was lost is simply done again.
    async fn media_ids(
        &self,
        p: &Claimed,
        files: &[Attachment],
        position: i32,
        token: &mut Secret,
        label: &str,
    ) -> Result<Vec<String>, Record> {
        let mut ids = Vec::new();
        for a in files.iter().filter(|a| a.position == position) {
            let fresh_enough = Utc::now() + chrono::Duration::minutes(10);
            if let (Some(id), Some(until)) = (&a.x_media_id, a.x_media_expires_at)
                && until > fresh_enough
            {
                ids.push(id.clone());
                continue;
            }
            let upload = Upload {
                media_type: &a.media_type,
                kind: a.kind,
                total_bytes: u64::try_from(a.size_bytes).unwrap_or(0),
                alt_text: a.alt_text.as_deref(),
            };
            let mut done = self.upload(p, token, upload, a.media_id).await?;
            if matches!(done, Err(SendError::Unauthorized(_))) {
                match self.refreshed(p, token).await {
                    Ok(t) => *token = t,
                    Err(e) => return Err(self.auth_problem(p, e)),
                }
                done = self.upload(p, token, upload, a.media_id).await?;
            }
            // A token kept from before the account was connected again (granting media):
            // the stored one may have what this one lacks.
            if matches!(&done, Err(SendError::Refused(m)) if m.contains("media.write")) {
                self.forget_token(p.account);
                match self.token(p.account).await {
                    Ok(t) if t.expose() != token.expose() => {
                        *token = t;
                        done = self.upload(p, token, upload, a.media_id).await?;
                    }
                    Ok(_) => {}
                    Err(e) => return Err(self.auth_problem(p, e)),
                }
            }
            match done {
                Ok(u) => {
                    // Not remembered: the next attempt uploads again, which is harmless.
                    if let Ok(c) = self.db.client().await {
                        let _ = chirp_store::media::remember_upload(
                            &c,
                            p.id,
                            a.position,
                            a.ord,
                            &u.id,
                            u.expires_at,
                        )
                        .await;
                    }
                    self.emit(Event::MediaUploaded {
                        post: p.id,
                        part: usize::try_from(position).unwrap_or(0),
                        media: u.id.clone(),
                    });
                    ids.push(u.id);
                }
                // An upload that may or may not have reached X made no post: not "unknown".
                Err(SendError::Unknown(m)) => {
                    return Err(self.after_error(p, &SendError::NotSent(m), label));
                }
                // X says the token cannot upload media (granted before chirp asked).
                Err(SendError::Refused(m)) if m.contains("media.write") => {
                    return Err(Self::reconnect_for_media());
                }
                Err(e) => {
                    let e = match e {
                        SendError::Refused(m) => {
                            SendError::Refused(format!("uploading its media: {m}"))
                        }
                        other => other,
                    };
                    return Err(self.after_error(p, &e, label));
                }
            }
        }
        Ok(ids)
    }

    async fn upload(
        &self,
        p: &Claimed,
        token: &Secret,
        upload: Upload<'_>,
        media: chirp_store::media::MediaId,
    ) -> Result<Result<chirp_net::Uploaded, SendError>, Record> {
        // Only while the post is ours; then as long as the upload's requests take. An upload
        // publishes nothing, so it may outlast the lease: the send after it may not
        // (`send_until`), and a publisher that lost the post never sends it. A large video on
        // a slow link would never finish within one lease.
        self.call_until(p.id)?;
        let requests = upload
            .total_bytes
            .div_ceil(chirp_store::media::CHUNK as u64)
            + 4;
        let deadline = Instant::now()
            + self.opts.request_timeout * u32::try_from(requests).unwrap_or(u32::MAX)
            + UPLOAD_PROCESSING;
        let mut chunks = chirp_store::media::Reader::new(&self.db, media);
        Ok(self
            .network
            .upload_media(token, upload, &mut chunks, deadline)
            .await)
    }

    /// Stores a part's X id under the lease, before anything else is sent. If the database
    /// does not take it, nothing more is sent: whoever takes the post over finds the part
    /// on the network by its text and the part it replies to.
    async fn store_part(
        &self,
        p: &Claimed,
        position: i32,
        of: usize,
        x_id: &str,
    ) -> Result<(), Record> {
        for wait in [100, 400, 1600] {
            let written = match self.db.client().await {
                Ok(mut c) => {
                    store::mark_part_sent(&mut c, &self.me, p.id, position, of, x_id).await
                }
                Err(e) => Err(e),
            };
            match written {
                Ok(true) => {
                    self.emit(Event::PartPosted {
                        post: p.id,
                        part: position as usize,
                        of,
                        x_id: x_id.to_string(),
                    });
                    return Ok(());
                }
                Ok(false) => return Err(Record::LeaseLost),
                Err(e) => {
                    self.emit(Event::DatabaseDown {
                        error: e.to_string(),
                    });
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
            }
        }
        Err(Record::Abandoned)
    }

    /// Looks for `sent` (what was sent, where) before sending anything again. `Ok(Some(id))`:
    /// it is on the network; `Ok(None)`: not there, send it; `Err(_)`: what to record instead
    /// (look again later, or give up). Every way this can go counts towards the attempt limit,
    /// so it always ends.
    async fn reconcile(
        &self,
        p: &Claimed,
        token: &mut Secret,
        sent: Part<'_>,
    ) -> Result<Option<String>, Record> {
        let net = self.network.name();
        let mut found = self.look(p, token, sent).await?;
        if matches!(found, Err(SendError::Unauthorized(_))) {
            match self.refreshed(p, token).await {
                Ok(fresh) => {
                    *token = fresh;
                    found = self.look(p, token, sent).await?;
                }
                Err(e) => return Err(self.auth_problem(p, e)),
            }
        }
        let last = p.attempt >= self.opts.policy.max_attempts;
        let unsure = |why: String| {
            if last {
                Record::Failed(format!(
                    "not known whether it is on {net}: {why}; after {} attempts chirp stopped looking. Check the account on {net}, then retry or delete it",
                    p.attempt
                ))
            } else {
                Record::Requeue {
                    at: Some(later(self.opts.policy.backoff(p.attempt))),
                    reason: format!("could not check {net} before sending again: {why}"),
                    unknown: true,
                    uncount: false,
                }
            }
        };
        let lookup = match found {
            Ok(l) => l,
            Err(e) => return Err(unsure(e.to_string())),
        };
        match lookup {
            Lookup::Found(id) => {
                // Reconciliation never gives a post another post's id.
                match self.owner_of(&id, p.id).await {
                    Ok(None) => {
                        self.emit(Event::Reconciled {
                            post: p.id,
                            found: Some(id.clone()),
                        });
                        Ok(Some(id))
                    }
                    Ok(Some(other)) => Err(unsure(format!(
                        "the only match on {net} ({id}) is recorded for post {other}"
                    ))),
                    Err(e) => Err(unsure(e.to_string())),
                }
            }
            Lookup::Unsure(why) => Err(unsure(why)),
            Lookup::Absent => {
                self.emit(Event::Reconciled {
                    post: p.id,
                    found: None,
                });
                if p.attempt > self.opts.policy.max_attempts {
                    return Err(Record::Failed(format!(
                        "{net} never confirmed it in {} attempts, and it is not on the account's timeline",
                        p.attempt - 1
                    )));
                }
                Ok(None)
            }
        }
    }

    /// A resend after an unknown outcome was refused as a duplicate: the earlier send is on
    /// the network. Its id, if a last look finds it; else posted without one, saying so.
    async fn posted_after_duplicate(&self, p: &Claimed, token: &Secret, words: &str) -> Record {
        let sent = Part {
            text: &p.sent_content,
            reply_to: None,
            media_ids: &[],
        };
        if let Ok(Ok(Lookup::Found(id))) = self.look(p, token, sent).await
            && matches!(self.owner_of(&id, p.id).await, Ok(None))
        {
            return Record::Posted(id, None);
        }
        let net = self.network.name();
        Record::PostedWithoutId(format!(
            "on {net}, id unknown: an earlier send got no answer, and {net} refused the resend as a duplicate ({words})"
        ))
    }

    /// Until when a call to the network for `post` may run: within its lease, and ending
    /// before anyone could have declared this publisher dead and looked for the post on the
    /// network (the database last answered at `alive_at`; a rescuer looks after the grace
    /// period, so a call ends a second before that). Without time for a call, the record that
    /// says why nothing was sent.
    fn call_until(&self, post: PostId) -> Result<Instant, Record> {
        let Some(lease) = lock(&self.held).get(&post).copied() else {
            return Err(Record::LeaseLost);
        };
        if lease.lost {
            return Err(Record::LeaseLost);
        }
        let alive_at = *lock(&self.alive_at);
        // A second to spare, or half the grace period when that is shorter (tests).
        let margin = Duration::from_secs(1).min(self.opts.grace / 2);
        let until = lease
            .until
            .min(alive_at + self.opts.grace.saturating_sub(margin));
        if until.saturating_duration_since(Instant::now()) < Duration::from_millis(500) {
            // The heartbeat extends leases while the database answers: it did not.
            return Err(Record::Abandoned);
        }
        Ok(until)
    }

    /// Like [`Inner::call_until`], for a send: one is started only while the lease has a whole
    /// request timeout left, so a send is never cut short by its own lease. Otherwise the post
    /// goes back to the queue and the attempt does not count.
    fn send_until(&self, post: PostId) -> Result<Instant, Record> {
        let until = self.call_until(post)?;
        let lease_left = lock(&self.held).get(&post).map_or(Duration::ZERO, |l| {
            l.until.saturating_duration_since(Instant::now())
        });
        if lease_left < self.opts.request_timeout {
            return Err(Record::Requeue {
                at: None,
                reason: "its lease ran short before it was sent: back in the queue".into(),
                unknown: false,
                uncount: true,
            });
        }
        Ok(until)
    }

    /// Looks on the network for the text that was sent, from a little before the attempt
    /// whose outcome is unknown began.
    /// `Err(_)`: no time left to look (the record says why).
    async fn look(
        &self,
        p: &Claimed,
        token: &Secret,
        sent: Part<'_>,
    ) -> Result<Result<Lookup, SendError>, Record> {
        let deadline = self.call_until(p.id)?;
        let since = p.attempt_started_at - chrono::Duration::seconds(5);
        let account = RemoteAccount {
            user_id: &p.x_user_id,
        };
        Ok(self
            .network
            .find_sent(token, account, sent, since, deadline)
            .await)
    }

    async fn owner_of(&self, x_id: &str, post: PostId) -> Result<Option<PostId>, DbError> {
        let c = self.db.client().await?;
        store::x_id_owner(&c, x_id, post).await
    }

    /// After a 401 on `rejected`: a refreshed token (once per 401, shared across processes).
    async fn refreshed(&self, p: &Claimed, rejected: &Secret) -> Result<Secret, AuthError> {
        self.forget_token(p.account);
        let fresh = self
            .credentials
            .token_after_401(&self.db, p.account, rejected)
            .await?;
        // Its expiry is in the database: the next attempt reads it.
        self.remember_token(p.account, &fresh, Duration::ZERO);
        Ok(fresh)
    }

    fn auth_problem(&self, p: &Claimed, e: AuthError) -> Record {
        let retry = e.retryable();
        Record::Requeue {
            // A disconnected account is held by the claim query itself; other problems wait.
            at: match e {
                AuthError::NotConnected | AuthError::NeedsReconnect(_) => None,
                _ if retry => Some(later(self.opts.policy.backoff(p.attempt))),
                _ => Some(Utc::now() + chrono::Duration::minutes(5)),
            },
            reason: e.to_string(),
            unknown: false,
            uncount: !retry,
        }
    }

    async fn token(&self, account: AccountId) -> Result<Secret, AuthError> {
        if let Some((t, until)) = lock(&self.tokens).get(&account)
            && Instant::now() < *until
        {
            return Ok(t.clone());
        }
        let (t, reuse) = self.credentials.token_to_reuse(&self.db, account).await?;
        self.remember_token(account, &t, reuse);
        Ok(t)
    }

    fn remember_token(&self, account: AccountId, t: &Secret, reuse: Duration) {
        lock(&self.tokens).insert(account, (t.clone(), Instant::now() + reuse));
    }

    fn forget_token(&self, account: AccountId) {
        lock(&self.tokens).remove(&account);
    }

    /// Writes the outcome. X's answer must not be lost to a database hiccup, so this retries
    /// until it is written, the lease is gone (then another publisher reconciles), or the
    /// publisher is stopping and the lease has run out.
    async fn record(&self, p: &Claimed, r: Record) {
        match r {
            Record::Abandoned => return self.emit(Event::Abandoned { post: p.id }),
            Record::LeaseLost => return self.emit(Event::LeaseLost { post: p.id }),
            _ => {}
        }
        let started = Instant::now();
        let mut wait = Duration::from_millis(100);
        let mut down = false;
        loop {
            match self.write(p, &r).await {
                Ok(true) => {
                    if down {
                        self.emit(Event::DatabaseBack);
                    }
                    self.emit(match &r {
                        Record::Posted(x_id, quota) => Event::Posted {
                            quota: *quota,
                            post: p.id,
                            x_id: x_id.clone(),
                        },
                        Record::Abandoned => Event::Abandoned { post: p.id },
                        Record::LeaseLost => Event::LeaseLost { post: p.id },
                        Record::PostedWithoutId(note) => Event::PostedWithoutId {
                            post: p.id,
                            note: note.clone(),
                        },
                        Record::ThreadPosted(x_id, quota) => Event::Posted {
                            quota: *quota,
                            post: p.id,
                            x_id: x_id.clone(),
                        },
                        Record::Failed(reason) => Event::Failed {
                            post: p.id,
                            reason: reason.clone(),
                        },
                        Record::Requeue { at, reason, .. } => Event::Retrying {
                            post: p.id,
                            at: *at,
                            reason: reason.clone(),
                        },
                        Record::RateLimited { until, .. } => Event::RateLimited {
                            account: p.account,
                            until: *until,
                        },
                        Record::OutOfCredits(reason) => Event::OutOfCredits {
                            account: p.account,
                            post: p.id,
                            reason: reason.clone(),
                        },
                    });
                    return;
                }
                Ok(false) => {
                    self.emit(Event::LeaseLost { post: p.id });
                    return;
                }
                Err(e) => {
                    if !down {
                        down = true;
                        self.emit(Event::DatabaseDown {
                            error: e.to_string(),
                        });
                    }
                    if *self.stopping.borrow() != Stop::No && started.elapsed() > self.opts.lease {
                        return;
                    }
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    async fn write(&self, p: &Claimed, r: &Record) -> Result<bool, DbError> {
        let c = self.db.client().await?;
        match r {
            Record::Posted(x_id, _) => {
                drop(c);
                let (tx, rx) = oneshot::channel();
                let _ = self.posted.send((p.id, x_id.clone(), tx));
                match rx.await {
                    Ok(r) => r.map_err(DbError::Pool),
                    Err(_) => Err(DbError::Pool("the publisher is stopping".into())),
                }
            }
            Record::PostedWithoutId(note) => {
                store::mark_posted_without_id(&c, &self.me, p.id, note).await
            }
            Record::ThreadPosted(..) => store::finish_thread(&c, &self.me, p.id).await,
            Record::Abandoned | Record::LeaseLost => Ok(true),
            Record::Failed(reason) => store::mark_failed(&c, &self.me, p.id, reason).await,
            Record::Requeue {
                at,
                reason,
                unknown,
                uncount,
            } => store::requeue(&c, &self.me, p.id, *at, Some(reason), *unknown, *uncount).await,
            Record::RateLimited { until, reason } => {
                let mut c = c;
                store::rate_limited(&mut c, &self.me, p.id, p.account, *until, reason).await
            }
            Record::OutOfCredits(reason) => {
                let mut c = c;
                store::out_of_credits(&mut c, &self.me, p.id, p.account, reason).await
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The uploads remembered for part `position`, when every file of it has one: what an
/// earlier send of the part carried (else none, and the part is matched by its text alone).
fn remembered_uploads(files: &[Attachment], position: i32) -> Vec<String> {
    let of_part: Vec<&Attachment> = files.iter().filter(|a| a.position == position).collect();
    let ids: Vec<String> = of_part
        .iter()
        .filter_map(|a| a.x_media_id.clone())
        .collect();
    if ids.len() == of_part.len() {
        ids
    } else {
        Vec::new()
    }
}
