//! The completer: writes each attempt's [`Outcome`] with one statement fenced on the lease
//! (`status = 'publishing' AND claimed_by = me`), so a publisher that lost its lease can never
//! overwrite what another decided. The network's answer must not be lost to a database
//! hiccup, so a write is retried until it lands, the lease is gone (then another publisher
//! reconciles), or the publisher is stopping and the lease has run out. "Posted" outcomes are
//! written in batches: under load, one statement and one commit for many posts.

use std::time::{Duration, Instant};

use chirp_core::PostId;
use chirp_store::publishing::{self as store, Claimed, LastPart};
use chirp_store::{DbError, StoreError};
use tokio::sync::{mpsc, oneshot};

use crate::outcome::Outcome;
use crate::{Event, Inner, Stop};

/// One "the network has it" waiting to be written with others, and where to say how it went.
pub(crate) type PostedWrite = (LastPart, oneshot::Sender<Result<bool, String>>);

/// Writes "posted" outcomes in batches. Each sender learns whether its own row was written.
pub(crate) async fn posted_writer(
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
        let rows: Vec<LastPart> = batch.iter().map(|(l, _)| l.clone()).collect();
        let result = match pool.get().await {
            Ok(c) => store::mark_posted_many(&c, &me, &rows)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(StoreError::from(e).to_string()),
        };
        for (l, reply) in batch {
            let _ = reply.send(
                result
                    .as_ref()
                    .map(|done| done.contains(&l.post))
                    .map_err(Clone::clone),
            );
        }
    }
}

impl Inner {
    /// Writes the outcome, then says what was written.
    pub(crate) async fn record(&self, p: &Claimed, o: Outcome) {
        if o.writes_nothing() {
            for e in o.events(p.id, p.account) {
                self.emit(e);
            }
            return;
        }
        let started = Instant::now();
        let mut wait = Duration::from_millis(100);
        let mut down = false;
        loop {
            match self.write(p, &o).await {
                Ok(true) => {
                    if down {
                        self.emit(Event::DatabaseBack);
                    }
                    for e in o.events(p.id, p.account) {
                        self.emit(e);
                    }
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

    /// The one statement for an outcome. False: the lease was lost.
    async fn write(&self, p: &Claimed, o: &Outcome) -> Result<bool, StoreError> {
        let id: PostId = p.id;
        if let Outcome::Posted {
            position,
            of,
            remote_id,
            ..
        } = o
        {
            let (tx, rx) = oneshot::channel();
            let last = LastPart {
                post: id,
                position: *position,
                of: i32::try_from(*of).unwrap_or(i32::MAX),
                remote_id: remote_id.clone(),
            };
            let _ = self.posted.send((last, tx));
            return match rx.await {
                Ok(r) => r.map_err(|e| DbError::Pool(e).into()),
                Err(_) => Err(DbError::Pool("the publisher is stopping".into()).into()),
            };
        }
        let mut c = self.db.client().await?;
        match o {
            Outcome::Posted { .. } | Outcome::Abandoned | Outcome::LeaseLost => Ok(true),
            Outcome::Finished { .. } => store::finish_thread(&c, &self.me, id).await,
            Outcome::PostedWithoutId(note) => {
                store::mark_posted_without_id(&c, &self.me, id, note).await
            }
            Outcome::Failed(reason) => store::mark_failed(&c, &self.me, id, reason).await,
            Outcome::Requeue {
                at,
                reason,
                unknown,
                uncount,
            } => store::requeue(&c, &self.me, id, *at, Some(reason), *unknown, *uncount).await,
            Outcome::RateLimited { until, reason } => {
                store::rate_limited(&mut c, &self.me, id, p.account, *until, reason).await
            }
            Outcome::OutOfCredits(reason) => {
                store::out_of_credits(&mut c, &self.me, id, p.account, reason).await
            }
        }
    }
}
