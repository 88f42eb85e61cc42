//! What to do after a failed send: pure rules on the network-neutral [`SendError`], no IO.

use chrono::{DateTime, Duration, Utc};

use crate::send::SendError;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Sends (or reconciliations) before a post is marked failed.
    pub max_attempts: i32,
    /// Back-off after the first failed attempt; doubles each time.
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base: Duration::seconds(10),
            cap: Duration::minutes(15),
        }
    }
}

impl RetryPolicy {
    /// The wait after `attempt` failed (1-based): base, 2·base, 4·base… up to the cap.
    pub fn backoff(&self, attempt: i32) -> Duration {
        let shift = (attempt.max(1) - 1).min(20) as u32;
        let ms = self.base.num_milliseconds().saturating_mul(1i64 << shift);
        Duration::milliseconds(ms).min(self.cap)
    }
}

/// `d` spread over ±20% by `unit` (a random number in 0..1 the caller draws), so that posts
/// (or processes) that failed together do not all try again at the same instant.
pub fn jittered(d: std::time::Duration, unit: f64) -> std::time::Duration {
    d.mul_f64(0.8 + 0.4 * unit.clamp(0.0, 1.0))
}

/// What becomes of a post after a failed send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Give up: X's own words, or why chirp stopped trying.
    Fail(String),
    /// Try again at `at`. `unknown`: X may have created it, so look before sending again.
    /// `counts`: whether this was a real failed attempt (a rate limit is not).
    Retry {
        at: DateTime<Utc>,
        reason: String,
        unknown: bool,
        counts: bool,
    },
    /// X's window is exhausted: hold every post of the account until `until`.
    RateLimited {
        until: DateTime<Utc>,
        reason: String,
    },
    /// The account has no credits left: hold every post of the account (nothing failed)
    /// until the user tops up and resumes it.
    OutOfCredits(String),
}

/// The rule table of DESIGN.md's publishing protocol, for everything but an expired credential
/// on the first try (which the publisher answers by refreshing it and sending once more).
pub fn after_error(
    err: &SendError,
    attempt: i32,
    policy: &RetryPolicy,
    now: DateTime<Utc>,
) -> Next {
    match err {
        SendError::RateLimited { reset, message } => {
            // Without a reset time, wait a whole window rather than hammer the network.
            let until = reset
                .filter(|r| *r > now)
                .unwrap_or(now + Duration::minutes(15));
            Next::RateLimited {
                until,
                reason: message.clone(),
            }
        }
        SendError::OutOfCredits(m) => Next::OutOfCredits(m.clone()),
        SendError::Duplicate(m) | SendError::Refused(m) => Next::Fail(m.clone()),
        SendError::Unauthorized(_)
        | SendError::Unknown(_)
        | SendError::NotSent(_)
        | SendError::MediaGone(_)
        | SendError::Unexpected(_) => {
            let unknown = err.outcome_unknown();
            if attempt >= policy.max_attempts && !unknown {
                return Next::Fail(format!("gave up after {attempt} attempts: {err}"));
            }
            Next::Retry {
                at: now + policy.backoff(attempt),
                reason: format!("attempt {attempt} failed: {err}"),
                unknown,
                counts: true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn backoff_doubles_to_a_cap() {
        let p = RetryPolicy::default();
        let secs: Vec<i64> = (1..=9).map(|a| p.backoff(a).num_seconds()).collect();
        assert_eq!(secs, vec![10, 20, 40, 80, 160, 320, 640, 900, 900]);
    }

    #[test]
    fn jitter_stays_within_a_fifth() {
        let d = std::time::Duration::from_secs(10);
        assert_eq!(jittered(d, 0.0), std::time::Duration::from_secs(8));
        assert_eq!(jittered(d, 1.0), std::time::Duration::from_secs(12));
        assert_eq!(jittered(d, 0.5), d);
        assert_eq!(
            jittered(d, 7.0),
            std::time::Duration::from_secs(12),
            "clamped"
        );
    }

    #[test]
    fn rules() {
        let p = RetryPolicy::default();
        let dup = SendError::Duplicate(
            "X refused it as a duplicate: You are not allowed to create a Tweet with duplicate content.".into(),
        );
        assert_eq!(
            after_error(&dup, 1, &p, now()),
            Next::Fail("X refused it as a duplicate: You are not allowed to create a Tweet with duplicate content.".into())
        );
        let forbidden = SendError::Refused("X refused it (403): nope".into());
        assert!(matches!(
            after_error(&forbidden, 1, &p, now()),
            Next::Fail(_)
        ));
        let reset = now() + Duration::seconds(90);
        let limited = SendError::RateLimited {
            reset: Some(reset),
            message: "rate limit reached".into(),
        };
        assert_eq!(
            after_error(&limited, 3, &p, now()),
            Next::RateLimited {
                until: reset,
                reason: "rate limit reached".into()
            }
        );
        // No reset time: a whole window, not a hammering loop.
        let unknown_reset = SendError::RateLimited {
            reset: None,
            message: "rate limit reached".into(),
        };
        assert!(matches!(
            after_error(&unknown_reset, 3, &p, now()),
            Next::RateLimited { until, .. } if until == now() + Duration::minutes(15)
        ));
        // Out of credits holds the account's posts, even on the last attempt: nothing failed.
        let broke = SendError::OutOfCredits("X says the account is out of credits".into());
        assert_eq!(
            after_error(&broke, p.max_attempts, &p, now()),
            Next::OutOfCredits("X says the account is out of credits".into())
        );
        // A 5xx may have created the post: retry, but look first.
        let s = SendError::Unknown("X had a server error (503): down".into());
        match after_error(&s, 2, &p, now()) {
            Next::Retry {
                at,
                unknown,
                counts,
                ..
            } => {
                assert_eq!(at, now() + Duration::seconds(20));
                assert!(unknown && counts);
            }
            other => panic!("{other:?}"),
        }
        // Unknown outcomes are never failed here: the reconcile step decides, after looking.
        assert!(matches!(
            after_error(&s, 9, &p, now()),
            Next::Retry { unknown: true, .. }
        ));
        // Not sent at all, too many times: give up with the reason.
        let ns = SendError::NotSent("could not reach X: connection refused".into());
        assert!(matches!(
            after_error(&ns, 2, &p, now()),
            Next::Retry { unknown: false, .. }
        ));
        match after_error(&ns, 5, &p, now()) {
            Next::Fail(m) => assert_eq!(
                m,
                "gave up after 5 attempts: could not reach X: connection refused"
            ),
            other => panic!("{other:?}"),
        }
    }
}
