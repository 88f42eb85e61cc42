//! Export and import: every post with its parts, attachments and X ids read out in one go,
//! and a whole file's posts written back in one transaction (all of them, or none).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object};

use crate::media::{Attachment, NewAttachment};
use crate::posts::{self, Actor, COLUMNS, Schedule, from_row};
use crate::{DbError, StoreError};
use chirp_core::{AccountId, Post, PostId, PostPart, Status};

/// Which posts to export.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<Status>,
    pub account: Option<AccountId>,
}

/// A post as exported: the row, whose account it is, its parts and their files.
#[derive(Debug, Clone)]
pub struct Exported {
    pub post: Post,
    pub handle: Option<String>,
    pub parts: Vec<PostPart>,
    pub media: Vec<Attachment>,
    /// Every metrics read of it, oldest first.
    pub metrics: Vec<(DateTime<Utc>, chirp_core::Metrics)>,
    /// The placeholders its template left to fill (see migration V19).
    pub unfilled: Vec<String>,
}

/// Every post `filter` lets through, oldest first.
pub async fn export(
    client: &impl GenericClient,
    filter: &Filter,
) -> Result<Vec<Exported>, StoreError> {
    let status = filter.status.map(|s| s.as_str().to_string());
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS}, posts.unfilled, (SELECT nullif(a.x_username, '') FROM x_accounts a
                                     WHERE a.id = posts.x_account_id) AS handle
                 FROM posts
                 WHERE ($1::text IS NULL OR status = $1) AND ($2::int IS NULL OR x_account_id = $2)
                 ORDER BY id"
            ),
            &[&status, &filter.account],
        )
        .await?;
    let ids: Vec<PostId> = rows.iter().map(|r| r.get("id")).collect();
    let mut parts = posts::parts_of(client, &ids).await?;
    let mut media = crate::media::for_posts(client, &ids).await?;
    let mut metrics = crate::analytics::histories(client, &ids).await?;
    rows.iter()
        .map(|r| {
            let post = from_row(r)?;
            Ok(Exported {
                handle: r.get("handle"),
                parts: parts.remove(&post.id).unwrap_or_default(),
                media: media.remove(&post.id).unwrap_or_default(),
                metrics: metrics.remove(&post.id).unwrap_or_default(),
                unfilled: r.get("unfilled"),
                post,
            })
        })
        .collect()
}

/// A post to write back. Drafts and scheduled posts go out as any other (a scheduled one at
/// `when`); posted and failed ones are history, kept with their X ids and messages.
#[derive(Debug, Clone)]
pub struct NewPost {
    pub account: AccountId,
    pub status: Status,
    /// For drafts and scheduled posts, when they go out; for posted and failed ones, the
    /// time they were scheduled for (`At`), if any.
    pub when: Schedule,
    pub parts: Vec<NewPart>,
    pub error_message: Option<String>,
    pub unpublished_at: Option<DateTime<Utc>>,
    /// Posts with the same key share a group (one text posted to several accounts).
    pub group: Option<i64>,
    /// History: its metrics reads, and when X said it no longer has it.
    pub metrics: Vec<(DateTime<Utc>, chirp_core::Metrics)>,
    pub gone_from_x_at: Option<DateTime<Utc>>,
    /// The placeholders its template left to fill: it still cannot be scheduled while its
    /// text holds one.
    pub unfilled: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct NewPart {
    pub text: String,
    pub x_tweet_id: Option<String>,
    pub posted_at: Option<DateTime<Utc>>,
    pub x_deleted_at: Option<DateTime<Utc>>,
    pub media: Vec<NewAttachment>,
}

/// Writes `new` in one transaction and returns their ids, in order. The caller has checked
/// every post; a constraint the database still finds broken writes nothing.
pub async fn import(
    client: &mut Object,
    actor: Actor<'_>,
    new: &[NewPost],
) -> Result<Vec<PostId>, StoreError> {
    let tx = posts::begin(client, actor, Some("imported")).await?;
    let mut ids = Vec::with_capacity(new.len());
    let mut groups: HashMap<i64, PostId> = HashMap::new();
    for p in new {
        let first = p.parts.first().cloned().unwrap_or_default();
        let to_send = matches!(p.status, Status::Draft | Status::Scheduled);
        let (status, at) = match p.when.at() {
            Some(at) if to_send => (Status::Scheduled, Some(at)),
            None if to_send => (Status::Draft, None),
            // History keeps the time it was scheduled for.
            at => (p.status, at),
        };
        let group = p.group.and_then(|g| groups.get(&g).copied());
        let id: PostId = tx
            .query_one(
                "INSERT INTO posts (x_account_id, content, status, scheduled_at, posted_at,
                                    x_tweet_id, x_deleted_at, error_message, unpublished_at,
                                    group_id, gone_from_x_at, unfilled)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
                &[
                    &p.account,
                    &first.text,
                    &status.as_str(),
                    &at,
                    &first.posted_at,
                    &first.x_tweet_id,
                    &first.x_deleted_at,
                    &p.error_message,
                    &p.unpublished_at,
                    &group,
                    &p.gone_from_x_at,
                    &p.unfilled,
                ],
            )
            .await?
            .get(0);
        // Reads are history: only for posts that went out.
        if !to_send {
            let reads: Vec<_> = p.metrics.iter().map(|(at, m)| (id, Some(*at), m)).collect();
            crate::analytics::insert_reads(&tx, &reads).await?;
        }
        if let Some(g) = p.group {
            let lead = *groups.entry(g).or_insert(id);
            if lead == id {
                tx.execute("UPDATE posts SET group_id = id WHERE id = $1", &[&id])
                    .await?;
            }
        }
        for (i, part) in p.parts.iter().enumerate() {
            let position = i32::try_from(i + 1).unwrap_or(i32::MAX);
            if i > 0 {
                tx.execute(
                    "INSERT INTO post_parts (post_id, position, content, remote_id, posted_at,
                                             remote_deleted_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    &[
                        &id,
                        &position,
                        &part.text,
                        &part.x_tweet_id,
                        &part.posted_at,
                        &part.x_deleted_at,
                    ],
                )
                .await?;
            }
            if !part.media.is_empty() {
                crate::media::attach(&tx, id, position, &part.media).await?;
            }
        }
        if to_send {
            crate::queue::place(&tx, id, p.account, p.when).await?;
        }
        ids.push(id);
    }
    tx.commit().await?;
    Ok(ids)
}

/// The stored file with this content, if any (an import into the database it came from
/// needs no copy of its files).
pub async fn media_by_hash(
    client: &impl GenericClient,
    sha256_hex: &str,
) -> Result<Option<crate::media::MediaId>, StoreError> {
    Ok(client
        .query_opt(
            "SELECT id FROM media WHERE sha256 = decode($1, 'hex')",
            &[&sha256_hex],
        )
        .await?
        .map(|r| r.get(0)))
}

/// The kind of a stored file.
pub async fn media_kind(
    client: &impl GenericClient,
    id: crate::media::MediaId,
) -> Result<chirp_core::MediaKind, StoreError> {
    let kind: String = client
        .query_one("SELECT kind FROM media WHERE id = $1", &[&id])
        .await?
        .get(0);
    chirp_core::MediaKind::parse(&kind)
        .ok_or_else(|| DbError::Unexpected(format!("media kind {kind}")).into())
}

/// A post of `account` that an imported one would repeat: one holding any of `x_ids` (on X
/// already), or, for a post still to send (`text` given), one still to send with the same
/// first text and time (any time when `at` is None). Its id.
pub async fn already_here(
    client: &impl GenericClient,
    account: AccountId,
    text: Option<&str>,
    at: Option<DateTime<Utc>>,
    x_ids: &[String],
) -> Result<Option<PostId>, StoreError> {
    Ok(client
        .query_opt(
            "SELECT id FROM posts
             WHERE x_tweet_id = ANY($4)
                OR id IN (SELECT post_id FROM post_parts WHERE remote_id = ANY($4))
                OR ($2::text IS NOT NULL AND x_account_id = $1 AND content = $2
                    AND status IN ('draft', 'scheduled')
                    AND ($3::timestamptz IS NULL OR scheduled_at = $3))
             ORDER BY id LIMIT 1",
            &[&account, &text, &at, &x_ids],
        )
        .await?
        .map(|r| r.get(0)))
}
