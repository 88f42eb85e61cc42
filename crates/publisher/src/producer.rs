//! The producer: one loop that claims due posts (a single `FOR UPDATE SKIP LOCKED`
//! statement, so any number of publishers cooperate), sends each in its own task, and sleeps
//! exactly until the next due time or a NOTIFY from the posts trigger, with a slow safety poll
//! for anything missed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chirp_core::policy;
use chirp_store::StoreError;
use chirp_store::notify::{self, Heard};
use chirp_store::publishing as store;
use chrono::Utc;
use futures_util::FutureExt as _;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::{Event, Inner, Stop, panic_words, unit};

pub(crate) async fn main_loop(inner: Arc<Inner>, mut stop: watch::Receiver<Stop>) {
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

async fn recv(listener: &mut Option<notify::Listener>) -> Option<Heard> {
    match listener {
        Some(l) => l.rx.recv().await,
        None => std::future::pending().await,
    }
}

impl Inner {
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

    fn database_down(&self, already: &mut bool, e: &StoreError) {
        if !*already {
            *already = true;
            self.emit(Event::DatabaseDown {
                error: e.to_string(),
            });
        }
    }

    /// Rescues expired leases, claims what fits, and returns how long until the next thing is
    /// due (None when every slot is busy).
    pub(crate) async fn fill(
        self: &Arc<Self>,
        inflight: &mut JoinSet<()>,
    ) -> Result<Option<store::Wake>, StoreError> {
        let c = self.db.client().await?;
        // Leases run for minutes: looking for expired ones once a second is plenty.
        self.rescue(&c).await?;
        loop {
            let room = self.opts.concurrency.saturating_sub(inflight.len()) as i64;
            if room == 0 {
                return Ok(None);
            }
            let limit = room.min(self.opts.batch);
            let lease = self.opts.lease.as_millis() as i64;
            let asked = Instant::now();
            let kinds = self.networks.kinds();
            let claimed = store::claim(&c, &self.me, &self.app, limit, lease, &kinds).await?;
            let known_at = Instant::now();
            self.leases.answered(asked);
            let got = claimed.len() as i64;
            for post in claimed {
                self.leases.claimed(post.id, asked, known_at);
                self.emit(Event::Claimed {
                    post: post.id,
                    attempt: post.attempt,
                });
                let me = self.clone();
                inflight.spawn(async move {
                    let (id, network) = (post.id, post.network);
                    // A bug that panics in one attempt must not lose the post silently: say
                    // so, and hand it back to be checked on the network before any resend.
                    let attempt = std::panic::AssertUnwindSafe(me.clone().process(post));
                    if let Err(panic) = attempt.catch_unwind().await {
                        me.crashed(id, network, &panic_words(panic.as_ref())).await;
                    }
                    me.leases.done(id);
                });
            }
            if got < limit {
                return Ok(Some(store::next_wake(&c).await?));
            }
            // A full batch: there may be more due right now.
        }
    }
}
