//! Media files, stored once per content in chunks, and the attachments of each part. Bytes
//! go in and out a chunk at a time: no caller ever holds a whole video.

use chirp_core::PostId;
use chirp_core::media::{self, Chunks, MediaKind};
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object, Transaction};

use super::{Db, DbError, Refusal, StoreError};

/// How much of a file one stored chunk holds (and so one append to X, and the most any
/// reader holds at once).
pub const CHUNK: usize = 4 * 1024 * 1024;

/// A stored file.
pub type MediaId = i32;

/// A file about to be stored: what it is, from its content, read before.
#[derive(Debug, Clone)]
pub struct NewMedia<'a> {
    /// SHA-256 of the whole content: identical files are stored once.
    pub sha256: &'a [u8],
    pub media_type: &'a str,
    pub kind: MediaKind,
    pub size: u64,
}

/// One attachment of a part, as listed and as the publisher uploads it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Attachment {
    /// The part (1: the post's own text) and the place among its attachments (from 1).
    pub position: i32,
    pub ord: i32,
    pub media_id: MediaId,
    pub kind: MediaKind,
    pub media_type: String,
    pub size_bytes: i64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    pub alt_text: Option<String>,
    /// The upload X holds for it, while X holds it.
    #[serde(skip)]
    pub remote_media_id: Option<String>,
    #[serde(skip)]
    pub remote_media_expires_at: Option<DateTime<Utc>>,
}

/// An attachment to add to a part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment {
    pub media_id: MediaId,
    pub alt_text: Option<String>,
}

/// Stores a file's bytes, read from `chunks`, unless the same content is stored already;
/// returns its id. One transaction: a file is there whole or not at all. `chunks` must give
/// exactly `meta.size` bytes.
pub async fn store(
    client: &mut Object,
    meta: &NewMedia<'_>,
    chunks: &mut dyn Chunks,
) -> Result<MediaId, StoreError> {
    if let Some(id) = find(&*client, meta.sha256).await? {
        return Ok(id);
    }
    let tx = client.transaction().await?;
    // The same file stored by two processes at once: the second waits, then finds it.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(encode($1, 'hex'), 0))",
        &[&meta.sha256],
    )
    .await?;
    if let Some(id) = find(&tx, meta.sha256).await? {
        return Ok(id);
    }
    let size =
        i64::try_from(meta.size).map_err(|_| DbError::Unexpected("file too large".into()))?;
    let id: MediaId = tx
        .query_one(
            "INSERT INTO media (sha256, media_type, kind, size_bytes) VALUES ($1, $2, $3, $4)
             RETURNING id",
            &[&meta.sha256, &meta.media_type, &meta.kind.as_str(), &size],
        )
        .await?
        .get(0);
    let mut seq = 0i32;
    let mut total = 0u64;
    while let Some(chunk) = chunks
        .next_chunk()
        .await
        .map_err(|e| StoreError::from(Refusal::File(format!("cannot read the file: {e}"))))?
    {
        total += chunk.len() as u64;
        tx.execute(
            "INSERT INTO media_chunks (media_id, seq, data) VALUES ($1, $2, $3)",
            &[&id, &seq, &chunk],
        )
        .await?;
        seq += 1;
    }
    if total != meta.size {
        return Err(StoreError::from(Refusal::File(format!(
            "the file changed while it was read ({} bytes, then {total}): nothing was stored",
            meta.size
        ))));
    }
    // Files left by a save that never came (the process died between storing and attaching).
    sweep(&tx).await?;
    tx.commit().await?;
    Ok(id)
}

async fn find(client: &impl GenericClient, sha256: &[u8]) -> Result<Option<MediaId>, StoreError> {
    Ok(client
        .query_opt("SELECT id FROM media WHERE sha256 = $1", &[&sha256])
        .await?
        .map(|r| r.get(0)))
}

/// Drops files stored more than a day ago that no part or template uses.
async fn sweep(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM media m WHERE created_at < now() - interval '1 day'
           AND NOT EXISTS (SELECT 1 FROM part_media pm WHERE pm.media_id = m.id)
           AND NOT EXISTS (SELECT 1 FROM template_media tm WHERE tm.media_id = m.id)",
        &[],
    )
    .await?;
    Ok(())
}

/// Adds `new` to part `position` of a post, after its attachments; refused (nothing added)
/// when the part's attachments would not go together on X.
pub async fn attach(
    tx: &Transaction<'_>,
    post: PostId,
    position: i32,
    new: &[NewAttachment],
) -> Result<(), StoreError> {
    let mut kinds: Vec<MediaKind> = tx
        .query(
            "SELECT m.kind FROM part_media pm JOIN media m ON m.id = pm.media_id
             WHERE pm.post_id = $1 AND pm.position = $2",
            &[&post, &position],
        )
        .await?
        .iter()
        .filter_map(|r| MediaKind::parse(r.get(0)))
        .collect();
    for a in new {
        if let Some(alt) = &a.alt_text {
            media::check_alt(alt).map_err(|e| refused(post, position, &e))?;
        }
        let kind: String = tx
            .query_one("SELECT kind FROM media WHERE id = $1", &[&a.media_id])
            .await?
            .get(0);
        kinds.extend(MediaKind::parse(&kind));
    }
    media::check_part(&kinds).map_err(|e| refused(post, position, &e))?;
    for a in new {
        tx.execute(
            "INSERT INTO part_media (post_id, position, ord, media_id, alt_text)
             SELECT $1, $2, coalesce(max(ord), 0) + 1, $3, $4 FROM part_media
             WHERE post_id = $1 AND position = $2",
            &[&post, &position, &a.media_id, &a.alt_text],
        )
        .await?;
    }
    Ok(())
}

/// Replaces every attachment of a post with `media` (`media[i]` on part `i + 1`). The new
/// rows go in before the old ones go, so a file kept is never taken for unused meanwhile.
pub async fn replace(
    tx: &Transaction<'_>,
    post: PostId,
    media: &[Vec<NewAttachment>],
) -> Result<(), StoreError> {
    const ASIDE: i32 = 1_000_000;
    for (i, files) in media.iter().enumerate() {
        let position = i32::try_from(i + 1).unwrap_or(i32::MAX);
        let mut kinds = Vec::new();
        for a in files {
            if let Some(alt) = &a.alt_text {
                media::check_alt(alt).map_err(|e| refused(post, position, &e))?;
            }
            let kind: String = tx
                .query_one("SELECT kind FROM media WHERE id = $1", &[&a.media_id])
                .await?
                .get(0);
            kinds.extend(MediaKind::parse(&kind));
        }
        media::check_part(&kinds).map_err(|e| refused(post, position, &e))?;
        for (k, a) in files.iter().enumerate() {
            let ord = ASIDE + i32::try_from(k + 1).unwrap_or(0);
            tx.execute(
                "INSERT INTO part_media (post_id, position, ord, media_id, alt_text)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&post, &position, &ord, &a.media_id, &a.alt_text],
            )
            .await?;
        }
    }
    tx.execute(
        "DELETE FROM part_media WHERE post_id = $1 AND ord < $2",
        &[&post, &ASIDE],
    )
    .await?;
    tx.execute(
        "UPDATE part_media SET ord = ord - $2 WHERE post_id = $1",
        &[&post, &ASIDE],
    )
    .await?;
    Ok(())
}

fn refused(post: PostId, position: i32, e: &media::MediaError) -> StoreError {
    StoreError::from(Refusal::Refused {
        id: post,
        msg: format!("part {position}: {e}"),
    })
}

/// Every attachment of a post, by part then order.
pub async fn attachments(
    client: &impl GenericClient,
    post: PostId,
) -> Result<Vec<Attachment>, StoreError> {
    Ok(for_posts(client, &[post])
        .await?
        .remove(&post)
        .unwrap_or_default())
}

/// The attachments of each of `posts` that has any, in one query.
pub async fn for_posts(
    client: &impl GenericClient,
    posts: &[PostId],
) -> Result<std::collections::HashMap<PostId, Vec<Attachment>>, StoreError> {
    let mut out: std::collections::HashMap<PostId, Vec<Attachment>> =
        std::collections::HashMap::new();
    if posts.is_empty() {
        return Ok(out);
    }
    let rows = client
        .query(
            "SELECT pm.position, pm.ord, m.id AS media_id, m.kind, m.media_type, m.size_bytes,
                    encode(m.sha256, 'hex') AS sha256, pm.alt_text, pm.remote_media_id,
                    pm.remote_media_expires_at, pm.post_id
             FROM part_media pm JOIN media m ON m.id = pm.media_id
             WHERE pm.post_id = ANY($1) ORDER BY pm.post_id, pm.position, pm.ord",
            &[&posts],
        )
        .await?;
    for r in &rows {
        let a = attachment_of(r)?;
        out.entry(r.get("post_id")).or_default().push(a);
    }
    Ok(out)
}

/// An attachment from a row with columns position, ord, media_id, kind, media_type,
/// size_bytes, sha256 (hex), alt_text, remote_media_id and remote_media_expires_at.
pub(crate) fn attachment_of(r: &tokio_postgres::Row) -> Result<Attachment, StoreError> {
    let kind: String = r.get("kind");
    Ok(Attachment {
        position: r.get("position"),
        ord: r.get("ord"),
        media_id: r.get("media_id"),
        kind: MediaKind::parse(&kind)
            .ok_or_else(|| DbError::Unexpected(format!("media kind {kind}")))?,
        media_type: r.get("media_type"),
        size_bytes: r.get("size_bytes"),
        sha256: r.get("sha256"),
        alt_text: r.get("alt_text"),
        remote_media_id: r.get("remote_media_id"),
        remote_media_expires_at: r.get("remote_media_expires_at"),
    })
}

/// Remembers the upload X holds for an attachment, so a retry reuses it while X does.
pub async fn remember_upload(
    client: &impl GenericClient,
    post: PostId,
    position: i32,
    ord: i32,
    remote_media_id: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    client
        .execute(
            "UPDATE part_media SET remote_media_id = $4, remote_media_expires_at = $5
             WHERE post_id = $1 AND position = $2 AND ord = $3",
            &[&post, &position, &ord, &remote_media_id, &expires_at],
        )
        .await?;
    Ok(())
}

/// Forgets every upload remembered for a post (the network no longer holds them).
pub async fn forget_uploads(client: &impl GenericClient, post: PostId) -> Result<(), StoreError> {
    client
        .execute(
            "UPDATE part_media SET remote_media_id = NULL, remote_media_expires_at = NULL
             WHERE post_id = $1",
            &[&post],
        )
        .await?;
    Ok(())
}

/// Reads a stored file a chunk at a time, each from the pool when it is asked for.
pub struct Reader {
    pool: deadpool_postgres::Pool,
    media: MediaId,
    next: i32,
}

impl Reader {
    pub fn new(db: &Db, media: MediaId) -> Reader {
        Reader {
            pool: db.pool.clone(),
            media,
            next: 0,
        }
    }
}

impl Chunks for Reader {
    fn next_chunk(&mut self) -> chirp_core::media::NextChunk<'_> {
        Box::pin(async move {
            let c = self.pool.get().await.map_err(|e| e.to_string())?;
            let row = c
                .query_opt(
                    "SELECT data FROM media_chunks WHERE media_id = $1 AND seq = $2",
                    &[&self.media, &self.next],
                )
                .await
                .map_err(|e| e.to_string())?;
            self.next += 1;
            Ok(row.map(|r| r.get(0)))
        })
    }
}
