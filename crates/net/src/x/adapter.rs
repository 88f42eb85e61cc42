//! X behind the [`Network`] trait: X's answers become network-neutral [`SendError`]s whose
//! words are X's, and "is it already there?" is answered from the account's timeline.

use std::time::{Duration, Instant};

use chirp_core::SendError;
use chrono::{DateTime, Utc};

use super::{MediaUpload, XClient, XError, same_post};
use crate::Secret;
use crate::network::{
    BoxFuture, Capabilities, Chunks, Lookup, MediaKind, MetricsRead, Network, Part, RemoteAccount,
    Sent, Upload, Uploaded,
};

/// How far back reconciliation reads the timeline at most (X's timeline endpoint returns up
/// to 3,200 posts).
const TIMELINE_MAX: usize = 3200;

/// X, as the publisher drives it.
#[derive(Debug, Clone)]
pub struct XNetwork {
    client: XClient,
}

impl XNetwork {
    pub fn new(api_base_url: &str, timeout: Duration) -> XNetwork {
        XNetwork {
            client: XClient::new(api_base_url, timeout),
        }
    }
}

/// X's error in the publisher's terms. The sentences are the ones the user reads when a post
/// fails, so they name X and quote X's own message.
impl From<XError> for SendError {
    fn from(e: XError) -> SendError {
        let words = e.to_string();
        match e {
            XError::Unauthorized => SendError::Unauthorized(words),
            XError::Duplicate(m) => {
                SendError::Duplicate(format!("X refused it as a duplicate: {m}"))
            }
            // X's words for an upload it no longer holds (expired, or never finished).
            XError::Refused {
                status: 400,
                message,
            } if message.contains("media IDs are invalid") => {
                SendError::MediaGone(format!("X no longer holds its media (400): {message}"))
            }
            XError::Refused { status, message } => {
                SendError::Refused(format!("X refused it ({status}): {message}"))
            }
            XError::PaymentRequired(m) => {
                SendError::OutOfCredits(format!("X says the account is out of credits (402): {m}"))
            }
            XError::RateLimited { reset } => SendError::RateLimited {
                reset,
                message: words,
            },
            XError::Server { .. } | XError::NoAnswer(_) => SendError::Unknown(words),
            XError::NotSent(_) => SendError::NotSent(words),
            XError::Unexpected { .. } => SendError::Unexpected(words),
            XError::MediaFailed(_) => SendError::Refused(words),
        }
    }
}

/// Whether `tweet` carries exactly `ours` (in any order); true when either side does not
/// say (no uploads known, or X gave no attachments field).
fn same_media(tweet: &super::Tweet, ours: &[String]) -> bool {
    match tweet.media_ids() {
        Some(mut theirs) if !ours.is_empty() => {
            let mut ours = ours.to_vec();
            theirs.sort();
            ours.sort();
            theirs == ours
        }
        _ => true,
    }
}

impl Network for XNetwork {
    fn name(&self) -> &'static str {
        "X"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            idempotency_key: false,
            threads: true,
            // 1–4 images, or one GIF or video.
            max_media: 4,
        }
    }

    fn publish<'a>(
        &'a self,
        token: &'a Secret,
        part: Part<'a>,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            let a = self
                .client
                .create_post(
                    token,
                    part.text,
                    part.reply_to,
                    part.media_ids,
                    Some(deadline),
                )
                .await?;
            Ok(Sent {
                id: a.value.id,
                quota: a.rate,
            })
        })
    }

    fn upload_media<'a>(
        &'a self,
        token: &'a Secret,
        upload: Upload<'a>,
        chunks: &'a mut dyn Chunks,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Uploaded, SendError>> {
        Box::pin(async move {
            let media = MediaUpload {
                media_type: upload.media_type,
                category: match upload.kind {
                    MediaKind::Image => "tweet_image",
                    MediaKind::Gif => "tweet_gif",
                    MediaKind::Video => "tweet_video",
                },
                total_bytes: upload.total_bytes,
                alt_text: upload.alt_text,
            };
            let done = self
                .client
                .upload_media(token, &media, chunks, Some(deadline))
                .await?;
            Ok(Uploaded {
                id: done.id,
                expires_at: done.expires_at,
            })
        })
    }

    fn delete<'a>(
        &'a self,
        token: &'a Secret,
        id: &'a str,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            self.client.delete_post(token, id, Some(deadline)).await?;
            Ok(())
        })
    }

    fn metrics<'a>(
        &'a self,
        token: &'a Secret,
        ids: &'a [String],
        private: bool,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<MetricsRead, SendError>> {
        Box::pin(async move {
            let page = self
                .client
                .metrics(token, ids, private, Some(deadline))
                .await?;
            let mut read = MetricsRead {
                found: page.found,
                gone: page.gone,
                quota: page.rate,
            };
            // Posts X would not show private numbers for (older than it counts 30 days):
            // their public ones, in a second request.
            if private && !page.not_shown.is_empty() {
                let again = self
                    .client
                    .metrics(token, &page.not_shown, false, Some(deadline))
                    .await?;
                read.found.extend(again.found);
                read.gone.extend(again.gone);
                read.quota = again.rate.or(read.quota);
            }
            Ok(read)
        })
    }

    fn find_sent<'a>(
        &'a self,
        token: &'a Secret,
        account: RemoteAccount<'a>,
        part: Part<'a>,
        since: DateTime<Utc>,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Lookup, SendError>> {
        Box::pin(async move {
            let tweets = self
                .client
                .timeline(token, account.user_id, since, TIMELINE_MAX, Some(deadline))
                .await?;
            let mut found: Vec<String> = tweets
                .into_iter()
                // The same text, in the same place (a thread's part replies to the part
                // before), with the same uploads when chirp knows which the send carried.
                .filter(|t| same_post(t, part.text) && t.replies_to() == part.reply_to)
                .filter(|t| same_media(t, part.media_ids))
                .map(|t| t.id)
                .collect();
            Ok(match found.len() {
                0 => Lookup::Absent,
                1 => Lookup::Found(found.remove(0)),
                n => Lookup::Unsure(format!(
                    "X has {n} posts with this text since the attempt began ({})",
                    found.join(", ")
                )),
            })
        })
    }
}
