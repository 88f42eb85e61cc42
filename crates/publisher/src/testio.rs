//! The attempt's [`Io`] over memory, for unit tests: a lease that holds until told otherwise,
//! a token that can be refused and refreshed, files as bytes, and every write it was asked for
//! kept to be looked at. Nothing waits: [`Io::pause`] only counts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chirp_core::media::NextChunk;
use chirp_core::{AccountId, MediaKind, PostId};
use chirp_credentials::AuthError;
use chirp_net::{Chunks, Secret};
use chirp_store::media::{Attachment, MediaId};
use chirp_store::publishing::{Claimed, ClaimedPart};
use chirp_store::{DbError, StoreError};
use chrono::{DateTime, Utc};

use crate::Event;
use crate::io::Io;
use crate::lock;
use crate::outcome::Outcome;

#[derive(Default)]
pub(crate) struct MemIo {
    /// The lease is gone (taken over).
    pub lost: Mutex<bool>,
    pub token: Mutex<String>,
    /// What a refresh gives (None: the refresh is refused).
    pub fresh: Mutex<Option<String>>,
    pub refreshes: Mutex<u32>,
    pub files: Mutex<Vec<Attachment>>,
    pub bytes: Mutex<HashMap<MediaId, Vec<u8>>>,
    /// (post, position, id) per stored part.
    pub stored: Mutex<Vec<(PostId, i32, String)>>,
    /// The next this many part writes fail (the database is down).
    pub store_failures: Mutex<u32>,
    /// Ids recorded for other posts.
    pub owners: Mutex<HashMap<String, PostId>>,
    pub remembered: Mutex<Vec<(i32, i32, String)>>,
    pub forgot_uploads: Mutex<u32>,
    pub events: Mutex<Vec<Event>>,
    pub pauses: Mutex<Vec<Duration>>,
}

impl MemIo {
    pub(crate) fn new() -> MemIo {
        let io = MemIo::default();
        *lock(&io.token) = "t1".into();
        *lock(&io.fresh) = Some("t2".into());
        io
    }

    /// Attaches `bytes` to part `position` as an image.
    pub(crate) fn attach(&self, position: i32, media: MediaId, bytes: &[u8]) {
        let mut files = lock(&self.files);
        let ord = i32::try_from(files.iter().filter(|f| f.position == position).count() + 1)
            .unwrap_or(i32::MAX);
        files.push(Attachment {
            position,
            ord,
            media_id: media,
            kind: MediaKind::Image,
            media_type: "image/png".into(),
            size_bytes: i64::try_from(bytes.len()).unwrap_or(0),
            sha256: String::new(),
            alt_text: None,
            remote_media_id: None,
            remote_media_expires_at: None,
        });
        lock(&self.bytes).insert(media, bytes.to_vec());
    }

    pub(crate) fn events(&self) -> Vec<Event> {
        lock(&self.events).clone()
    }
}

/// A claimed post of account 1 with these parts (text, id once sent).
pub(crate) fn claimed(parts: &[(&str, Option<&str>)]) -> Claimed {
    let parts: Vec<ClaimedPart> = parts
        .iter()
        .zip(1..)
        .map(|((text, id), position)| ClaimedPart {
            position,
            content: (*text).into(),
            remote_id: id.map(Into::into),
        })
        .collect();
    let sent = parts
        .iter()
        .find(|p| p.remote_id.is_none())
        .map(|p| p.content.clone())
        .unwrap_or_default();
    Claimed {
        id: 7,
        account: 1,
        network: chirp_core::Network::X,
        remote_user_id: "42".into(),
        parts,
        sent_content: sent,
        attempt: 1,
        needs_reconcile: false,
        send_not_before: None,
        attempt_started_at: Utc::now(),
        scheduled_at: None,
        has_media: false,
    }
}

struct MemChunks(Option<Vec<u8>>);

impl Chunks for MemChunks {
    fn next_chunk(&mut self) -> NextChunk<'_> {
        let next = self.0.take();
        Box::pin(async move { Ok(next) })
    }
}

impl Io for MemIo {
    fn call_until(&self, _post: PostId) -> Result<Instant, Outcome> {
        if *lock(&self.lost) {
            return Err(Outcome::LeaseLost);
        }
        Ok(Instant::now() + Duration::from_mins(1))
    }

    fn send_until(&self, post: PostId) -> Result<Instant, Outcome> {
        self.call_until(post)
    }

    async fn token(&self, _account: AccountId) -> Result<Secret, AuthError> {
        Ok(Secret::new(lock(&self.token).clone()))
    }

    async fn refreshed(
        &self,
        _account: AccountId,
        _rejected: &Secret,
    ) -> Result<Secret, AuthError> {
        *lock(&self.refreshes) += 1;
        match lock(&self.fresh).clone() {
            Some(t) => {
                *lock(&self.token) = t.clone();
                Ok(Secret::new(t))
            }
            None => Err(AuthError::NeedsReconnect(
                "the refresh token was refused".into(),
            )),
        }
    }

    fn forget_token(&self, _account: AccountId) {}

    async fn attachments(
        &self,
        _post: PostId,
        _account: AccountId,
    ) -> Result<(Vec<Attachment>, Option<String>), StoreError> {
        Ok((
            lock(&self.files).clone(),
            Some("tweet.write media.write".into()),
        ))
    }

    fn chunks(&self, media: MediaId) -> Box<dyn Chunks> {
        Box::new(MemChunks(lock(&self.bytes).get(&media).cloned()))
    }

    async fn remember_upload(
        &self,
        _post: PostId,
        position: i32,
        ord: i32,
        id: &str,
        _expires_at: Option<DateTime<Utc>>,
    ) {
        lock(&self.remembered).push((position, ord, id.into()));
    }

    async fn forget_uploads(&self, _post: PostId) {
        *lock(&self.forgot_uploads) += 1;
    }

    async fn store_part(
        &self,
        post: PostId,
        position: i32,
        _of: usize,
        remote_id: &str,
    ) -> Result<bool, StoreError> {
        {
            let mut failures = lock(&self.store_failures);
            if *failures > 0 {
                *failures -= 1;
                return Err(DbError::Pool("the database went away".into()).into());
            }
        }
        if *lock(&self.lost) {
            return Ok(false);
        }
        lock(&self.stored).push((post, position, remote_id.into()));
        Ok(true)
    }

    async fn owner_of(&self, remote_id: &str, post: PostId) -> Result<Option<PostId>, StoreError> {
        Ok(lock(&self.owners)
            .get(remote_id)
            .copied()
            .filter(|p| *p != post))
    }

    fn emit(&self, e: Event) {
        lock(&self.events).push(e);
    }

    async fn pause(&self, d: Duration) {
        lock(&self.pauses).push(d);
    }
}
