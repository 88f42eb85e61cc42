//! The post lifecycle as one state machine. Every status change in the app goes through
//! [`transition`], so an illegal change (editing a posted post, publishing a draft) is refused
//! in one place with one message.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a post is in its life. `publishing` means a publisher holds a lease on it and a request
/// to X may be in flight; it is the only state in which X may be called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Draft,
    Scheduled,
    Publishing,
    Posted,
    Failed,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Draft,
        Status::Scheduled,
        Status::Publishing,
        Status::Posted,
        Status::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Scheduled => "scheduled",
            Status::Publishing => "publishing",
            Status::Posted => "posted",
            Status::Failed => "failed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status `{0}`: use one of draft, scheduled, publishing, posted, failed")]
pub struct UnknownStatus(pub String);

impl FromStr for Status {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

/// What someone (a person or a publisher) wants to do to a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Change the text.
    Edit,
    /// Set (or move) the time it goes out.
    Schedule,
    /// Take it back to a draft.
    Unschedule,
    /// Remove it from chirp (X is not touched).
    Delete,
    /// A publisher takes the lease to send it.
    Claim,
    /// X confirmed it (or reconciliation found it).
    MarkPosted,
    /// It cannot go out; the reason is kept.
    MarkFailed,
    /// A publisher gives it back to try again later (back-off, rate limit, shutdown).
    Requeue,
    /// A person asks for a failed post to be tried again.
    Retry,
    /// A thread that stopped part-way ends at its parts on X (which make it posted); the
    /// parts not sent become a new draft.
    SplitOff,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Edit => "edited",
            Action::Schedule => "scheduled",
            Action::Unschedule => "unscheduled",
            Action::Delete => "deleted",
            Action::Claim => "claimed for publishing",
            Action::MarkPosted => "marked posted",
            Action::MarkFailed => "marked failed",
            Action::Requeue => "requeued",
            Action::Retry => "retried",
            Action::SplitOff => "split",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {from} post cannot be {}{}", .action.verb(), hint(*.from, *.action))]
pub struct TransitionError {
    pub from: Status,
    pub action: Action,
}

fn hint(from: Status, action: Action) -> &'static str {
    match (from, action) {
        (Status::Posted, Action::Edit | Action::Schedule) => {
            " (it is already on X: duplicate it as a new draft instead)"
        }
        (Status::Publishing, _) => " (a publisher is sending it right now: wait for the outcome)",
        (Status::Draft, Action::Retry) => " (schedule it instead)",
        (_, Action::SplitOff) => " (only a thread that stopped part-way can be)",
        _ => "",
    }
}

/// The status a post has after `action`, or why the action is not allowed. `None` means the post
/// no longer exists (deleted).
pub fn transition(from: Status, action: Action) -> Result<Option<Status>, TransitionError> {
    use Action as A;
    use Status as S;
    let to = match (from, action) {
        (S::Draft | S::Scheduled | S::Failed, A::Edit) => Some(from),
        (S::Draft | S::Scheduled | S::Failed, A::Schedule) => Some(S::Scheduled),
        (S::Scheduled | S::Failed, A::Unschedule) => Some(S::Draft),
        (S::Draft | S::Scheduled | S::Failed | S::Posted, A::Delete) => None,
        (S::Scheduled, A::Claim) => Some(S::Publishing),
        (S::Publishing, A::MarkPosted) => Some(S::Posted),
        (S::Publishing, A::MarkFailed) => Some(S::Failed),
        (S::Publishing, A::Requeue) => Some(S::Scheduled),
        (S::Failed, A::Retry) => Some(S::Scheduled),
        (S::Failed, A::SplitOff) => Some(S::Posted),
        _ => return Err(TransitionError { from, action }),
    };
    Ok(to)
}

/// Refused while a post's last send has an unknown outcome (no answer came, or a publisher
/// died sending it): X may have it, and only its text as sent lets chirp find it there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "its last send may have reached X (no answer came), so it cannot be {} until chirp has checked X; the publisher does that next: try again once it is posted or failed",
    .0.verb()
)]
pub struct Unsettled(pub Action);

/// Whether `action` may be done to a post whose last send has an unknown outcome
/// (`unsettled`). Changing its text, taking it back or deleting it would lose track of a post
/// that may be live on X; moving its time is harmless, as X is checked before any resend.
pub fn check_settled(action: Action, unsettled: bool) -> Result<(), Unsettled> {
    match action {
        Action::Edit | Action::Unschedule | Action::Delete | Action::SplitOff if unsettled => {
            Err(Unsettled(action))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACTIONS: [Action; 10] = [
        Action::Edit,
        Action::Schedule,
        Action::Unschedule,
        Action::Delete,
        Action::Claim,
        Action::MarkPosted,
        Action::MarkFailed,
        Action::Requeue,
        Action::Retry,
        Action::SplitOff,
    ];

    #[test]
    fn the_whole_table() {
        use Status as S;
        // (from, action, expected) for every legal pair; every other pair must be refused.
        let legal: &[(S, Action, Option<S>)] = &[
            (S::Draft, Action::Edit, Some(S::Draft)),
            (S::Scheduled, Action::Edit, Some(S::Scheduled)),
            (S::Failed, Action::Edit, Some(S::Failed)),
            (S::Draft, Action::Schedule, Some(S::Scheduled)),
            (S::Scheduled, Action::Schedule, Some(S::Scheduled)),
            (S::Failed, Action::Schedule, Some(S::Scheduled)),
            (S::Scheduled, Action::Unschedule, Some(S::Draft)),
            (S::Failed, Action::Unschedule, Some(S::Draft)),
            (S::Draft, Action::Delete, None),
            (S::Scheduled, Action::Delete, None),
            (S::Failed, Action::Delete, None),
            (S::Posted, Action::Delete, None),
            (S::Scheduled, Action::Claim, Some(S::Publishing)),
            (S::Publishing, Action::MarkPosted, Some(S::Posted)),
            (S::Publishing, Action::MarkFailed, Some(S::Failed)),
            (S::Publishing, Action::Requeue, Some(S::Scheduled)),
            (S::Failed, Action::Retry, Some(S::Scheduled)),
            (S::Failed, Action::SplitOff, Some(S::Posted)),
        ];
        for from in Status::ALL {
            for action in ACTIONS {
                let expected = legal
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                match (transition(from, action), expected) {
                    (Ok(to), Some(exp)) => assert_eq!(to, exp, "{from} {action:?}"),
                    (Err(_), None) => {}
                    (got, exp) => panic!("{from} {action:?}: got {got:?}, expected {exp:?}"),
                }
            }
        }
    }

    #[test]
    fn refusals_say_why() {
        let err = transition(Status::Posted, Action::Edit).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a posted post cannot be edited (it is already on X: duplicate it as a new draft instead)"
        );
        let err = transition(Status::Publishing, Action::Delete).unwrap_err();
        assert!(err.to_string().contains("a publisher is sending it"));
    }

    #[test]
    fn an_unknown_outcome_freezes_text_and_existence() {
        for a in [Action::Edit, Action::Unschedule, Action::Delete] {
            assert_eq!(check_settled(a, true), Err(Unsettled(a)));
            assert_eq!(check_settled(a, false), Ok(()));
        }
        for a in [Action::Schedule, Action::Retry, Action::Claim] {
            assert_eq!(check_settled(a, true), Ok(()));
        }
        assert!(Unsettled(Action::Edit).to_string().starts_with(
            "its last send may have reached X (no answer came), so it cannot be edited"
        ));
    }

    #[test]
    fn status_parses_and_rejects() {
        assert_eq!("Posted".parse::<Status>().unwrap(), Status::Posted);
        let err = "sent".parse::<Status>().unwrap_err();
        assert!(err.to_string().starts_with("unknown status `sent`"));
    }
}
