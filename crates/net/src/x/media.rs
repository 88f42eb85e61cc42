//! X's chunked media upload: initialize, append each chunk in order, finalize, poll STATUS
//! while X processes a GIF or video, then set the alt text. Chunks come from a [`Chunks`]
//! source one at a time, so a 512 MB video is never held in memory.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use super::{Body, XClient, XError};
use crate::Secret;
use crate::network::Chunks;

/// One file to upload.
#[derive(Debug, Clone, Copy)]
pub struct MediaUpload<'a> {
    /// `image/png`, `video/mp4`…
    pub media_type: &'a str,
    /// X's `media_category`: `tweet_image`, `tweet_gif` or `tweet_video`.
    pub category: &'a str,
    pub total_bytes: u64,
    /// Up to 1,000 characters, set after the upload.
    pub alt_text: Option<&'a str>,
}

/// An upload X finished: its id and when X forgets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedMedia {
    pub id: String,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct MediaData {
    id: String,
    expires_after_secs: Option<i64>,
    processing_info: Option<Processing>,
}

#[derive(Debug, Deserialize)]
struct Processing {
    state: String,
    check_after_secs: Option<u64>,
    error: Option<ProcessingError>,
}

#[derive(Debug, Deserialize)]
struct ProcessingError {
    message: Option<String>,
    name: Option<String>,
}

impl XClient {
    /// Uploads one file. Nothing is attached to any post here: the id returned goes into
    /// the post that is sent next. With a `deadline`, every request is made before it, and
    /// processing that is not over by then is reported as "not sent" (safe to try again).
    pub async fn upload_media(
        &self,
        token: &Secret,
        media: &MediaUpload<'_>,
        chunks: &mut dyn Chunks,
        deadline: Option<Instant>,
    ) -> Result<UploadedMedia, XError> {
        let init = json!({
            "media_type": media.media_type,
            "total_bytes": media.total_bytes,
            "media_category": media.category,
        });
        let started = Utc::now();
        let id = self
            .media_call(
                Method::POST,
                "/2/media/upload/initialize",
                token,
                Body::Json(init),
                deadline,
            )
            .await?
            .id;
        let mut index = 0u32;
        while let Some(chunk) = chunks
            .next_chunk()
            .await
            .map_err(|e| XError::NotSent(format!("cannot read the media to upload: {e}")))?
        {
            let form = reqwest::multipart::Form::new()
                .text("segment_index", index.to_string())
                .part("media", reqwest::multipart::Part::bytes(chunk));
            let path = format!("/2/media/upload/{id}/append");
            self.call::<serde_json::Value>(
                Method::POST,
                &path,
                token,
                &[],
                Some(Body::Form(form)),
                deadline,
            )
            .await?;
            index += 1;
        }
        let path = format!("/2/media/upload/{id}/finalize");
        let mut state = self
            .media_call(Method::POST, &path, token, Body::Json(json!({})), deadline)
            .await?;
        while let Some(p) = state.processing_info.as_ref() {
            match p.state.as_str() {
                "succeeded" => break,
                "failed" => {
                    let why = p
                        .error
                        .as_ref()
                        .and_then(|e| e.message.clone().or(e.name.clone()));
                    return Err(XError::MediaFailed(
                        why.unwrap_or_else(|| "processing failed".into()),
                    ));
                }
                _ => {}
            }
            let wait = Duration::from_secs(p.check_after_secs.unwrap_or(1).min(60));
            if deadline.is_some_and(|d| Instant::now() + wait >= d) {
                return Err(XError::NotSent(
                    "X was still processing the media at the attempt's deadline".into(),
                ));
            }
            tokio::time::sleep(wait).await;
            state = self.media_status(token, &id, deadline).await?;
        }
        if let Some(alt) = media.alt_text.filter(|a| !a.is_empty()) {
            let body = json!({"id": id, "metadata": {"alt_text": {"text": alt}}});
            self.call::<serde_json::Value>(
                Method::POST,
                "/2/media/metadata",
                token,
                &[],
                Some(Body::Json(body)),
                deadline,
            )
            .await?;
        }
        Ok(UploadedMedia {
            expires_at: state
                .expires_after_secs
                .map(|s| started + chrono::Duration::seconds(s)),
            id,
        })
    }

    async fn media_call(
        &self,
        method: Method,
        path: &str,
        token: &Secret,
        body: Body,
        deadline: Option<Instant>,
    ) -> Result<MediaData, XError> {
        Ok(self
            .call_some(method, path, token, Some(body), deadline)
            .await?
            .value)
    }

    async fn media_status(
        &self,
        token: &Secret,
        id: &str,
        deadline: Option<Instant>,
    ) -> Result<MediaData, XError> {
        let query = [
            ("command", "STATUS".to_string()),
            ("media_id", id.to_string()),
        ];
        self.call::<MediaData>(
            Method::GET,
            "/2/media/upload",
            token,
            &query,
            None,
            deadline,
        )
        .await?
        .value
        .ok_or_else(|| XError::Unexpected {
            status: 200,
            message: "the media status has no data".into(),
        })
    }
}
