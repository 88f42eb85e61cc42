//! A post as the app sees it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Status;

pub type PostId = i32;

/// The id of a connected account (a row of `x_accounts`).
pub type AccountId = i32;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Post {
    pub id: PostId,
    pub x_account_id: AccountId,
    pub status: Status,
    pub content: String,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub posted_at: Option<DateTime<Utc>>,
    pub x_tweet_id: Option<String>,
    pub error_message: Option<String>,
    pub attempts: i32,
    /// The last send's outcome is unknown (no answer came, or its publisher died): X may
    /// have it. Its text cannot change, and it cannot be unscheduled or deleted, until the
    /// publisher has checked X.
    pub outcome_unknown: bool,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// How many parts it has (1: a single post, more: a thread), and how many are on X.
    pub parts: i32,
    pub parts_sent: i32,
    /// When every part was deleted on X (`chirp unpublish`).
    pub unpublished_at: Option<DateTime<Utc>>,
    /// One text posted to several accounts: the posts share this group (the first one's id).
    pub group_id: Option<PostId>,
    /// It waits in one of its account's queue slots (`--at next`), not at a time of its own.
    pub queued: bool,
    /// When X said it no longer has the post (deleted there, not by chirp).
    pub gone_from_x_at: Option<DateTime<Utc>>,
}

impl Post {
    /// "3/5 sent" while a thread is under way or when it stopped part-way; None otherwise.
    pub fn progress(&self) -> Option<String> {
        (self.parts > 1 && self.parts_sent > 0 && self.parts_sent < self.parts)
            .then(|| format!("{}/{} sent", self.parts_sent, self.parts))
    }

    /// How a list marks a thread: how far it got while under way or stopped part-way
    /// ("2/5 sent"), else its size ("3 parts"); None for a single post.
    pub fn thread_label(&self) -> Option<String> {
        self.progress()
            .or_else(|| (self.parts > 1).then(|| format!("{} parts", self.parts)))
    }
}

/// One part of a post as stored: its place (1 for the first), text, and its id on the post's
/// network once sent. (The JSON names are the ones scripts already read.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostPart {
    pub position: i32,
    pub content: String,
    #[serde(rename = "x_tweet_id")]
    pub remote_id: Option<String>,
    pub posted_at: Option<DateTime<Utc>>,
    /// When it was deleted on its network, if it was.
    #[serde(rename = "x_deleted_at")]
    pub remote_deleted_at: Option<DateTime<Utc>>,
}
