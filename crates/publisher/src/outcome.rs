//! What an attempt decided, as one value: the writer ([`crate::writer`]) turns it into one
//! statement fenced on the lease, and into the one [`Event`] that says so. Pure: no IO.

use chirp_core::policy::{self, Next};
use chirp_core::{AccountId, PostId, Quota, RetryPolicy, SendError};
use chrono::{DateTime, Utc};

use crate::Event;

/// What to write for a post after trying it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// The last part is on the network: its id is stored with the post's new status. `first`
    /// is the first part's id (the post's, as people link it); `of` how many parts it has.
    Posted {
        position: i32,
        of: usize,
        remote_id: String,
        first: String,
        quota: Option<Quota>,
    },
    /// Every part's id was stored already (a crash came between the last part and the end):
    /// the post is posted.
    Finished {
        first: String,
    },
    /// Certainly on the network, id unknown (a duplicate refusal after an unknown outcome).
    PostedWithoutId(String),
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
        /// Look on the network before sending again.
        unknown: bool,
        /// This attempt does not count towards the limit.
        uncount: bool,
    },
    RateLimited {
        until: DateTime<Utc>,
        reason: String,
    },
    OutOfCredits(String),
}

impl Outcome {
    /// Whether nothing is to be written (the post is someone else's, or nobody's until
    /// rescued).
    pub(crate) fn writes_nothing(&self) -> bool {
        matches!(self, Outcome::Abandoned | Outcome::LeaseLost)
    }

    /// The events that say this outcome was written, in order (a thread's last part, then
    /// the post).
    pub(crate) fn events(&self, post: PostId, account: AccountId) -> Vec<Event> {
        match self {
            Outcome::Posted {
                position,
                of,
                remote_id,
                first,
                quota,
            } => {
                let mut out = Vec::new();
                if *of > 1 {
                    out.push(Event::PartPosted {
                        post,
                        part: usize::try_from(*position).unwrap_or(0),
                        of: *of,
                        remote_id: remote_id.clone(),
                    });
                }
                out.push(Event::Posted {
                    post,
                    remote_id: first.clone(),
                    quota: *quota,
                });
                out
            }
            Outcome::Finished { first } => vec![Event::Posted {
                post,
                remote_id: first.clone(),
                quota: None,
            }],
            Outcome::PostedWithoutId(note) => vec![Event::PostedWithoutId {
                post,
                note: note.clone(),
            }],
            Outcome::Abandoned => vec![Event::Abandoned { post }],
            Outcome::LeaseLost => vec![Event::LeaseLost { post }],
            Outcome::Failed(reason) => vec![Event::Failed {
                post,
                reason: reason.clone(),
            }],
            Outcome::Requeue { at, reason, .. } => vec![Event::Retrying {
                post,
                at: *at,
                reason: reason.clone(),
            }],
            Outcome::RateLimited { until, .. } => vec![Event::RateLimited {
                account,
                until: *until,
            }],
            Outcome::OutOfCredits(reason) => vec![Event::OutOfCredits {
                account,
                post,
                reason: reason.clone(),
            }],
        }
    }
}

/// What to record after the network refused or failed a send, by the retry policy; `label`
/// prefixes the words ("part 3/5: ") for a thread. `jitter` is a number in 0..1 that spreads
/// retries.
pub(crate) fn after_error(
    e: &SendError,
    attempt: i32,
    rules: &RetryPolicy,
    label: &str,
    now: DateTime<Utc>,
    jitter: f64,
) -> Outcome {
    match policy::after_error(e, attempt, rules, now) {
        Next::Fail(m) => Outcome::Failed(format!("{label}{m}")),
        Next::Retry {
            at,
            reason,
            unknown,
            counts,
        } => Outcome::Requeue {
            at: Some(spread(now, at - now, jitter)),
            reason: format!("{label}{reason}"),
            unknown,
            uncount: !counts,
        },
        Next::RateLimited { until, reason } => Outcome::RateLimited { until, reason },
        Next::OutOfCredits(reason) => Outcome::OutOfCredits(format!("{label}{reason}")),
    }
}

/// `delay` after `now`, spread a little (see [`policy::jittered`]).
pub(crate) fn spread(now: DateTime<Utc>, delay: chrono::Duration, jitter: f64) -> DateTime<Utc> {
    let delay = delay.to_std().unwrap_or_default();
    now + chrono::Duration::from_std(policy::jittered(delay, jitter)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-12-07T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_thread_announces_its_last_part_before_the_post() {
        let o = Outcome::Posted {
            position: 3,
            of: 3,
            remote_id: "c".into(),
            first: "a".into(),
            quota: None,
        };
        let events = o.events(7, 1);
        assert_eq!(
            events,
            vec![
                Event::PartPosted {
                    post: 7,
                    part: 3,
                    of: 3,
                    remote_id: "c".into()
                },
                Event::Posted {
                    post: 7,
                    remote_id: "a".into(),
                    quota: None
                }
            ]
        );
    }

    #[test]
    fn a_single_post_announces_only_itself_by_its_id() {
        let o = Outcome::Posted {
            position: 1,
            of: 1,
            remote_id: "a".into(),
            first: "a".into(),
            quota: None,
        };
        let events = o.events(7, 1);
        assert!(matches!(&events[..], [Event::Posted { remote_id, .. }] if remote_id == "a"));
    }

    #[test]
    fn an_unknown_outcome_is_looked_for_and_counts() {
        let e = SendError::Unknown("timed out".into());
        let o = after_error(&e, 1, &RetryPolicy::default(), "part 2/3: ", now(), 0.5);
        match o {
            Outcome::Requeue {
                at,
                reason,
                unknown,
                uncount,
            } => {
                assert!(unknown && !uncount);
                assert!(reason.starts_with("part 2/3: "), "{reason}");
                assert!(at.is_some_and(|at| at > now()));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_refusal_fails_with_the_networks_words() {
        let e = SendError::Refused("X refused it: text too long".into());
        let o = after_error(&e, 1, &RetryPolicy::default(), "", now(), 0.5);
        assert!(matches!(o, Outcome::Failed(m) if m.contains("text too long")));
    }

    #[test]
    fn only_abandoned_and_lost_leases_write_nothing() {
        assert!(Outcome::Abandoned.writes_nothing());
        assert!(Outcome::LeaseLost.writes_nothing());
        assert!(!Outcome::Failed("x".into()).writes_nothing());
    }
}
