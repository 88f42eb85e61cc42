//! Leases and the heartbeat. A publisher holds each post it claimed until its lease runs out;
//! the heartbeat extends every lease it still holds, which also tells whether the database
//! still answers. A call to the network is made only while both are fresh: a publisher cut
//! off from the database may already have been declared dead and its posts handed to another.
//!
//! The rules ([`Leases::call_until`], [`Leases::send_until`]) take the time as an argument, so
//! their tests run on a clock of their own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chirp_core::PostId;
use chirp_store::publishing as store;

use crate::outcome::Outcome;
use crate::{Inner, lock};

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

/// The leases this publisher holds, as far as it knows, and when the database last answered.
#[derive(Debug)]
pub(crate) struct Leases {
    held: Mutex<HashMap<PostId, Lease>>,
    /// When the database last answered this publisher: while it does, its connections exist
    /// and nobody rescues its posts.
    alive_at: Mutex<Instant>,
    lease: Duration,
    grace: Duration,
    request_timeout: Duration,
}

impl Leases {
    pub(crate) fn new(lease: Duration, grace: Duration, request_timeout: Duration) -> Leases {
        Leases {
            held: Mutex::new(HashMap::new()),
            alive_at: Mutex::new(Instant::now()),
            lease,
            grace,
            request_timeout,
        }
    }

    /// The database answered a question asked at `asked`.
    pub(crate) fn answered(&self, asked: Instant) {
        let mut at = lock(&self.alive_at);
        *at = (*at).max(asked);
    }

    /// `post` was claimed by a statement sent at `asked` and answered at `known_at`.
    pub(crate) fn claimed(&self, post: PostId, asked: Instant, known_at: Instant) {
        lock(&self.held).insert(
            post,
            Lease {
                until: asked + self.lease,
                known_at,
                lost: false,
            },
        );
    }

    /// The posts this publisher works on now.
    pub(crate) fn posts(&self) -> Vec<PostId> {
        lock(&self.held).keys().copied().collect()
    }

    /// The attempt on `post` is over.
    pub(crate) fn done(&self, post: PostId) {
        lock(&self.held).remove(&post);
    }

    /// A heartbeat asked at `asked` and still holds `held`: those leases run from then; a
    /// post known to be held before that but not among them was taken over.
    pub(crate) fn renewed(&self, held: &[PostId], asked: Instant) {
        self.answered(asked);
        let mut leases = lock(&self.held);
        for (post, lease) in leases.iter_mut() {
            if held.contains(post) {
                lease.until = lease.until.max(asked + self.lease);
            } else if lease.known_at < asked {
                lease.lost = true;
            }
        }
    }

    /// Until when a call to the network for `post` may run: within its lease, and ending
    /// before anyone could have declared this publisher dead and looked for the post on the
    /// network (the database last answered at `alive_at`; a rescuer looks after the grace
    /// period, so a call ends a second before that). Without time for a call, the outcome
    /// that says why nothing was sent.
    pub(crate) fn call_until(&self, post: PostId, now: Instant) -> Result<Instant, Outcome> {
        let Some(lease) = lock(&self.held).get(&post).copied() else {
            return Err(Outcome::LeaseLost);
        };
        if lease.lost {
            return Err(Outcome::LeaseLost);
        }
        let alive_at = *lock(&self.alive_at);
        // A second to spare, or half the grace period when that is shorter (tests).
        let margin = Duration::from_secs(1).min(self.grace / 2);
        let until = lease
            .until
            .min(alive_at + self.grace.saturating_sub(margin));
        if until.saturating_duration_since(now) < Duration::from_millis(500) {
            // The heartbeat extends leases while the database answers: it did not.
            return Err(Outcome::Abandoned);
        }
        Ok(until)
    }

    /// Like [`Leases::call_until`], for a send: one is started only while the lease has a
    /// whole request timeout left, so a send is never cut short by its own lease. Otherwise
    /// the post goes back to the queue and the attempt does not count.
    pub(crate) fn send_until(&self, post: PostId, now: Instant) -> Result<Instant, Outcome> {
        let until = self.call_until(post, now)?;
        let lease_left = lock(&self.held)
            .get(&post)
            .map_or(Duration::ZERO, |l| l.until.saturating_duration_since(now));
        if lease_left < self.request_timeout {
            return Err(Outcome::Requeue {
                at: None,
                reason: "its lease ran short before it was sent: back in the queue".into(),
                unknown: false,
                uncount: true,
            });
        }
        Ok(until)
    }
}

/// Extends the leases of the posts in flight, every fraction of the grace period (and of the
/// lease).
pub(crate) async fn heartbeat(inner: Arc<Inner>) {
    let every = (inner.opts.grace.min(inner.opts.lease) / 4)
        .clamp(Duration::from_millis(100), Duration::from_secs(2));
    let lease_ms = inner.opts.lease.as_millis() as i64;
    loop {
        let asked = Instant::now();
        let held = tokio::time::timeout(every, async {
            let c = inner.db.client().await.ok()?;
            let mine = inner.leases.posts();
            store::extend_leases(&c, &inner.me, &mine, lease_ms)
                .await
                .ok()
        })
        .await
        .ok()
        .flatten();
        if let Some(held) = held {
            // The answer is as old as the question.
            inner.leases.renewed(&held, asked);
        }
        tokio::time::sleep(every.saturating_sub(asked.elapsed())).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn leases() -> (Leases, Instant) {
        // A 120 s lease, 30 s grace, 30 s requests: the defaults.
        let l = Leases::new(120 * S, 30 * S, 30 * S);
        let t0 = Instant::now();
        l.answered(t0);
        l.claimed(1, t0, t0);
        (l, t0)
    }

    #[test]
    fn a_call_ends_before_anyone_could_rescue_the_post() {
        let (l, t0) = leases();
        // The database answered at t0: a rescuer looks after 30 s, so calls end at 29 s.
        assert_eq!(l.call_until(1, t0), Ok(t0 + 29 * S));
    }

    #[test]
    fn a_silent_database_stops_every_call() {
        let (l, t0) = leases();
        assert_eq!(l.call_until(1, t0 + 29 * S), Err(Outcome::Abandoned));
        // The heartbeat gets an answer: calls may run again.
        l.renewed(&[1], t0 + 28 * S);
        assert_eq!(l.call_until(1, t0 + 29 * S), Ok(t0 + 57 * S));
    }

    #[test]
    fn a_post_the_heartbeat_did_not_get_back_was_taken_over() {
        let (l, t0) = leases();
        l.renewed(&[], t0 + S);
        assert_eq!(l.call_until(1, t0 + S), Err(Outcome::LeaseLost));
        // A post claimed after the heartbeat asked is not lost by its answer.
        l.claimed(2, t0 + S, t0 + 2 * S);
        l.renewed(&[], t0 + S);
        assert!(l.call_until(2, t0 + 2 * S).is_ok());
    }

    #[test]
    fn an_unknown_post_is_not_ours() {
        let (l, t0) = leases();
        l.done(1);
        assert_eq!(l.call_until(1, t0), Err(Outcome::LeaseLost));
    }

    #[test]
    fn a_send_needs_a_whole_request_left_on_the_lease() {
        let (l, t0) = leases();
        // Kept alive to the end, but only 20 s left of the lease: not sent, not counted.
        l.answered(t0 + 100 * S);
        match l.send_until(1, t0 + 100 * S) {
            Err(Outcome::Requeue { uncount, .. }) => assert!(uncount),
            other => panic!("{other:?}"),
        }
        assert!(l.send_until(1, t0 + 80 * S).is_ok());
    }
}
