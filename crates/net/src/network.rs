//! The seam between the publisher and a social network. The publisher claims a post, asks the
//! credentials service for a token, and drives a [`Network`]: publish a part (optionally as a
//! reply, always within a deadline), look for a part that may already be there after an
//! unknown outcome. It never sees X's URLs, JSON or error shapes: every adapter answers with
//! the network-neutral [`SendError`]. X implements it today ([`crate::x::XNetwork`]).

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use chirp_core::{Quota, SendError};
use chrono::{DateTime, Utc};

use crate::Secret;

/// A boxed future, so that networks can be chosen at run time (`dyn Network`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a network can do, so the publisher and the composer can refuse what it cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Whether a request can carry an idempotency key (then an unknown outcome can simply be
    /// sent again); X has none, so chirp reconciles instead.
    pub idempotency_key: bool,
    /// Whether a part can reply to an earlier one (threads).
    pub threads: bool,
    /// The most media a part can carry.
    pub max_media: usize,
}

/// The account a part goes out from, as the network knows it.
#[derive(Debug, Clone, Copy)]
pub struct RemoteAccount<'a> {
    /// The account's id on the network (X: the numeric user id).
    pub user_id: &'a str,
}

/// One part to publish.
#[derive(Debug, Clone, Copy)]
pub struct Part<'a> {
    pub text: &'a str,
    /// The network's id of the part this one answers (the previous part of a thread).
    pub reply_to: Option<&'a str>,
    /// Media already uploaded for this part (the network's ids).
    pub media_ids: &'a [String],
}

pub use chirp_core::MediaKind;

/// One file to upload.
#[derive(Debug, Clone, Copy)]
pub struct Upload<'a> {
    /// Its MIME type, from its content (`image/png`, `video/mp4`…).
    pub media_type: &'a str,
    pub kind: MediaKind,
    pub total_bytes: u64,
    pub alt_text: Option<&'a str>,
}

pub use chirp_core::media::Chunks;

/// A file the network holds, ready to attach until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    pub id: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// What a look for an already-sent part found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// It is there, with this id.
    Found(String),
    /// It is not there.
    Absent,
    /// Nobody can tell (two candidates, a link the network does not explain): why.
    Unsure(String),
}

/// A part the network accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The network's id for it.
    pub id: String,
    /// What the network says is left of the account's posting window.
    pub quota: Option<Quota>,
}

/// What a read of post metrics found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsRead {
    pub found: Vec<(String, chirp_core::Metrics)>,
    /// Ids the network no longer has (deleted there).
    pub gone: Vec<String>,
    /// What the network said is left of the account's read window.
    pub quota: Option<Quota>,
}

/// A social network, as the publisher needs it.
pub trait Network: Send + Sync {
    /// Its name, for messages ("X").
    fn name(&self) -> &'static str;

    fn capabilities(&self) -> Capabilities;

    /// Publishes one part. Nothing is sent once `deadline` has passed, and the request is cut
    /// off at it: the caller's lease must outlast the deadline.
    fn publish<'a>(
        &'a self,
        token: &'a Secret,
        part: Part<'a>,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Sent, SendError>>;

    /// Uploads one file for a part about to be sent (networks forget uploads after a while,
    /// so this happens just in time). Uploading twice is harmless: nothing is published.
    fn upload_media<'a>(
        &'a self,
        token: &'a Secret,
        upload: Upload<'a>,
        chunks: &'a mut dyn Chunks,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Uploaded, SendError>>;

    /// Deletes one published post (a part of a thread). Ok when it is gone, whether this
    /// deleted it or it was gone already.
    fn delete<'a>(
        &'a self,
        token: &'a Secret,
        id: &'a str,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<(), SendError>>;

    /// Reads the numbers of up to 100 of the account's posts (the network's ids); the
    /// private ones too when `private` (posts recent enough for the network to show them).
    fn metrics<'a>(
        &'a self,
        token: &'a Secret,
        ids: &'a [String],
        private: bool,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<MetricsRead, SendError>>;

    /// After an unknown outcome: whether the account already published `part` since `since`,
    /// matching its text and links exactly as the network renders them.
    fn find_sent<'a>(
        &'a self,
        token: &'a Secret,
        account: RemoteAccount<'a>,
        part: Part<'a>,
        since: DateTime<Utc>,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Lookup, SendError>>;
}
