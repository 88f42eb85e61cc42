//! What an attempt needs besides the network: its lease's deadlines, tokens, the post's files
//! and the few writes it makes before its outcome (each part's id as it goes). The publisher
//! implements it over PostgreSQL ([`crate::Inner`]); the unit tests over memory.

use std::future::Future;
use std::time::{Duration, Instant};

use chirp_core::{AccountId, PostId};
use chirp_credentials::AuthError;
use chirp_net::{Chunks, Secret};
use chirp_store::StoreError;
use chirp_store::media::{Attachment, MediaId};
use chrono::{DateTime, Utc};

use crate::Event;
use crate::outcome::Outcome;

pub(crate) trait Io: Send + Sync {
    /// Until when a call to the network for `post` may run ([`crate::lease::Leases`]).
    fn call_until(&self, post: PostId) -> Result<Instant, Outcome>;
    /// Until when a send for `post` may run, started only with a whole request's time left.
    fn send_until(&self, post: PostId) -> Result<Instant, Outcome>;

    /// The account's access token (kept a little while between posts).
    fn token(&self, account: AccountId) -> impl Future<Output = Result<Secret, AuthError>> + Send;
    /// After a 401 on `rejected`: a refreshed token (once per 401, shared across processes).
    fn refreshed(
        &self,
        account: AccountId,
        rejected: &Secret,
    ) -> impl Future<Output = Result<Secret, AuthError>> + Send;
    /// Drops the kept token: the next [`Io::token`] reads the stored one.
    fn forget_token(&self, account: AccountId);

    /// The post's files, and the scope its account's tokens were granted.
    fn attachments(
        &self,
        post: PostId,
        account: AccountId,
    ) -> impl Future<Output = Result<(Vec<Attachment>, Option<String>), StoreError>> + Send;
    /// A file's bytes, chunk by chunk.
    fn chunks(&self, media: MediaId) -> Box<dyn Chunks>;
    /// Remembers an upload the network holds for a file of a part (best effort).
    fn remember_upload(
        &self,
        post: PostId,
        position: i32,
        ord: i32,
        id: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> impl Future<Output = ()> + Send;
    /// Forgets every upload remembered for the post (the network no longer holds them).
    fn forget_uploads(&self, post: PostId) -> impl Future<Output = ()> + Send;

    /// Stores part `position`'s network id under the lease, before the next part is sent.
    /// False: the lease is lost (or the id is another part's).
    fn store_part(
        &self,
        post: PostId,
        position: i32,
        of: usize,
        remote_id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The post that has `remote_id` on one of its parts, other than `post`.
    fn owner_of(
        &self,
        remote_id: &str,
        post: PostId,
    ) -> impl Future<Output = Result<Option<PostId>, StoreError>> + Send;

    fn emit(&self, e: Event);
    /// Waits before trying a write again (the tests do not wait).
    fn pause(&self, d: Duration) -> impl Future<Output = ()> + Send;
}
