//! What the publisher did, as values: whoever runs it (the scheduler's log, the TUI's pane)
//! decides how to show them. Nothing here prints.

use chirp_core::{AccountId, PostId, Quota};
use chirp_credentials::Refresh;
use chrono::{DateTime, Utc};

use crate::metrics;

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
        /// The network's id of its first part.
        remote_id: String,
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
        remote_id: String,
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
