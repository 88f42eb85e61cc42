//! X's media upload, as the fake serves it: chunked upload (initialize, append, finalize),
//! STATUS polling while a GIF or video is processed, alt text, and the check that a post only
//! attaches media that finished. Every media call needs the `media.write` scope.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Shared, bearer_with, lock, problem, record};

/// Where an upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaState {
    /// Initialized; segments arriving.
    Uploading,
    /// Finalized; X is processing it (GIF, video).
    Processing,
    Succeeded,
    Failed,
}

/// One upload the fake holds.
#[derive(Debug, Clone)]
pub struct FakeMedia {
    pub id: String,
    pub user_id: String,
    pub media_type: String,
    pub category: String,
    pub total_bytes: u64,
    pub state: MediaState,
    /// SHA-256 of the segments joined in order, once finalized (hex).
    pub sha256: Option<String>,
    /// How many segments arrived.
    pub segments_received: usize,
    pub alt_text: Option<String>,
    pub status_checks: u32,
    pub expires_at: DateTime<Utc>,
    segments: BTreeMap<u32, Vec<u8>>,
}

const EXPIRES_AFTER_SECS: i64 = 86_400;

fn invalid(detail: &str) -> Response {
    problem(StatusCode::BAD_REQUEST, "Invalid Request", detail)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InitBody {
    media_type: String,
    total_bytes: u64,
    media_category: String,
    #[serde(default)]
    shared: Option<bool>,
}

pub(super) async fn initialize(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let resp = match bearer_with(&s, &headers, Some("media.write")) {
        Err(r) => r,
        Ok(user) => match serde_json::from_slice::<InitBody>(&body) {
            Err(e) => invalid(&format!(
                "One or more parameters to your request was invalid. {e}"
            )),
            Ok(b) => {
                let _ = b.shared;
                let known = ["tweet_image", "tweet_gif", "tweet_video"];
                if !known.contains(&b.media_category.as_str()) || b.total_bytes == 0 {
                    invalid("One or more parameters to your request was invalid.")
                } else {
                    let mut inner = lock(&s.inner);
                    inner.next_id += 1;
                    let id = inner.next_id.to_string();
                    let expires_at = Utc::now() + chrono::Duration::seconds(EXPIRES_AFTER_SECS);
                    inner.media.insert(
                        id.clone(),
                        FakeMedia {
                            id: id.clone(),
                            user_id: user,
                            media_type: b.media_type,
                            category: b.media_category,
                            total_bytes: b.total_bytes,
                            state: MediaState::Uploading,
                            sha256: None,
                            segments_received: 0,
                            alt_text: None,
                            status_checks: 0,
                            expires_at,
                            segments: BTreeMap::new(),
                        },
                    );
                    axum::Json(json!({"data": {"id": id, "media_key": format!("3_{id}"), "expires_after_secs": EXPIRES_AFTER_SECS}})).into_response()
                }
            }
        },
    };
    record(
        &s,
        "POST",
        "/2/media/upload/initialize",
        resp.status().as_u16(),
    );
    resp
}

pub(super) async fn append(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    let latency = lock(&s.cfg).append_latency;
    tokio::time::sleep(latency).await;
    let resp = match bearer_with(&s, &headers, Some("media.write")) {
        Err(r) => r,
        Ok(user) => {
            let (mut bytes, mut index) = (None, None);
            while let Ok(Some(field)) = form.next_field().await {
                match field.name() {
                    Some("media") => bytes = field.bytes().await.ok(),
                    Some("segment_index") => {
                        index = field
                            .text()
                            .await
                            .ok()
                            .and_then(|t| t.trim().parse::<u32>().ok());
                    }
                    _ => {}
                }
            }
            let mut inner = lock(&s.inner);
            match (inner.media.get_mut(&id), bytes, index) {
                (Some(m), Some(b), Some(i))
                    if m.user_id == user && m.state == MediaState::Uploading && i < 1000 =>
                {
                    m.segments.insert(i, b.to_vec());
                    m.segments_received += 1;
                    axum::Json(json!({"data": {"expires_at": m.expires_at.timestamp()}}))
                        .into_response()
                }
                (None, _, _) => invalid("The media id is not valid."),
                _ => invalid("One or more parameters to your request was invalid."),
            }
        }
    };
    record(
        &s,
        "POST",
        "/2/media/upload/:id/append",
        resp.status().as_u16(),
    );
    resp
}

fn processing_info(m: &FakeMedia, check_after: u64) -> Option<Value> {
    match m.state {
        MediaState::Processing => Some(json!({
            "state": if m.status_checks == 0 { "pending" } else { "in_progress" },
            "check_after_secs": check_after,
            "progress_percent": 50,
        })),
        MediaState::Failed => Some(json!({
            "state": "failed",
            "progress_percent": 100,
            "error": {"code": 1, "name": "InvalidMedia", "message": "Unsupported video format"},
        })),
        MediaState::Succeeded if m.category != "tweet_image" => {
            Some(json!({"state": "succeeded", "progress_percent": 100}))
        }
        _ => None,
    }
}

fn media_json(m: &FakeMedia, check_after: u64) -> Value {
    let mut data = json!({
        "id": m.id,
        "media_key": format!("3_{}", m.id),
        "size": m.total_bytes,
        "expires_after_secs": (m.expires_at - Utc::now()).num_seconds().max(0),
    });
    if let Some(p) = processing_info(m, check_after) {
        data["processing_info"] = p;
    }
    json!({ "data": data })
}

pub(super) async fn finalize(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let cfg = lock(&s.cfg).clone();
    let mut hang = false;
    let resp = match bearer_with(&s, &headers, Some("media.write")) {
        Err(r) => r,
        Ok(user) => {
            let mut inner = lock(&s.inner);
            match inner.media.get_mut(&id) {
                Some(m) if m.user_id == user && m.state == MediaState::Uploading => {
                    let mut hash = Sha256::new();
                    let mut size = 0u64;
                    // Segments must be 0, 1, 2… with nothing missing.
                    let contiguous = m.segments.keys().copied().eq(0..m.segments.len() as u32);
                    for seg in m.segments.values() {
                        hash.update(seg);
                        size += seg.len() as u64;
                    }
                    if !contiguous || size != m.total_bytes {
                        invalid(&format!(
                            "Segments do not add up to provided total file size: got {size} bytes of {}",
                            m.total_bytes
                        ))
                    } else {
                        m.sha256 = Some(format!("{:x}", hash.finalize()));
                        m.segments.clear();
                        m.state = if m.category == "tweet_image" {
                            MediaState::Succeeded
                        } else {
                            MediaState::Processing
                        };
                        s.finalized.send_modify(|n| *n += 1);
                        let mut c = lock(&s.cfg);
                        if c.hang_finalize_answers > 0 {
                            c.hang_finalize_answers -= 1;
                            hang = true;
                        }
                        if c.lose_finalize_answers > 0 {
                            c.lose_finalize_answers -= 1;
                            problem(
                                StatusCode::SERVICE_UNAVAILABLE,
                                "Service Unavailable",
                                "Service Unavailable",
                            )
                        } else {
                            axum::Json(media_json(m, cfg.media_check_after_secs)).into_response()
                        }
                    }
                }
                Some(_) => invalid("The media is not waiting to be finalized."),
                None => invalid("The media id is not valid."),
            }
        }
    };
    record(
        &s,
        "POST",
        "/2/media/upload/:id/finalize",
        resp.status().as_u16(),
    );
    if hang {
        tokio::time::sleep(cfg.hang_for).await;
    }
    resp
}

#[derive(Deserialize)]
pub(super) struct StatusQuery {
    command: Option<String>,
    media_id: Option<String>,
}

pub(super) async fn status(
    State(s): State<Arc<Shared>>,
    Query(q): Query<StatusQuery>,
    headers: HeaderMap,
) -> Response {
    let cfg = lock(&s.cfg).clone();
    let resp = match bearer_with(&s, &headers, Some("media.write")) {
        Err(r) => r,
        Ok(user) if q.command.as_deref() == Some("STATUS") => {
            let mut inner = lock(&s.inner);
            match q.media_id.and_then(|id| inner.media.get_mut(&id)) {
                Some(m) if m.user_id == user => {
                    if m.state == MediaState::Processing {
                        m.status_checks += 1;
                        if m.status_checks > cfg.media_processing_checks {
                            m.state = if cfg.fail_media_processing {
                                MediaState::Failed
                            } else {
                                MediaState::Succeeded
                            };
                        }
                    }
                    axum::Json(media_json(m, cfg.media_check_after_secs)).into_response()
                }
                _ => invalid("The media id is not valid."),
            }
        }
        Ok(_) => invalid("One or more parameters to your request was invalid."),
    };
    record(&s, "GET", "/2/media/upload", resp.status().as_u16());
    resp
}

pub(super) async fn metadata(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let resp = match bearer_with(&s, &headers, Some("media.write")) {
        Err(r) => r,
        Ok(user) => {
            let v: Value = serde_json::from_slice(&body).unwrap_or_default();
            let id = v["id"].as_str().unwrap_or_default().to_string();
            let alt = v["metadata"]["alt_text"]["text"].as_str().map(String::from);
            let mut inner = lock(&s.inner);
            match (inner.media.get_mut(&id), alt) {
                (Some(m), Some(alt)) if m.user_id == user && alt.chars().count() <= 1000 => {
                    m.alt_text = Some(alt);
                    axum::Json(json!({"data": {"id": id, "associated_metadata": true}}))
                        .into_response()
                }
                (Some(_), Some(_)) => invalid("Alt text must be 1000 characters or fewer."),
                _ => invalid("One or more parameters to your request was invalid."),
            }
        }
    };
    record(&s, "POST", "/2/media/metadata", resp.status().as_u16());
    resp
}

/// The media ids a post wants to attach: each must be this user's, finished and unexpired;
/// 1–4 images, or 1 GIF, or 1 video. X's 400 otherwise.
pub(super) fn attachable(
    s: &Shared,
    user: &str,
    media: Option<&Value>,
) -> Result<Vec<String>, Response> {
    let Some(media) = media else {
        return Ok(Vec::new());
    };
    let ids: Vec<String> = media["media_ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let bad = || invalid("Your media IDs are invalid.");
    if ids.is_empty() || ids.len() > 4 {
        return Err(bad());
    }
    let inner = lock(&s.inner);
    let mut categories = Vec::new();
    for id in &ids {
        match inner.media.get(id) {
            Some(m)
                if m.user_id == user
                    && m.state == MediaState::Succeeded
                    && m.expires_at > Utc::now() =>
            {
                categories.push(m.category.clone());
            }
            _ => return Err(bad()),
        }
    }
    let single = categories.iter().any(|c| c != "tweet_image");
    if single && ids.len() > 1 {
        return Err(bad());
    }
    Ok(ids)
}
