//! Post templates (the seed's `post_templates`): a post's parts and files kept under a name,
//! to make new posts from.

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object};

use crate::media::NewAttachment;
use crate::{Refusal, StoreError};
use chirp_core::PostId;

/// A template in full: its parts, in order, and each part's files.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub name: String,
    pub parts: Vec<String>,
    /// `media[i]`: the files of part `i + 1`.
    pub media: Vec<Vec<NewAttachment>>,
    pub updated_at: DateTime<Utc>,
}

/// A template as lists show it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Summary {
    pub name: String,
    pub parts: i64,
    pub files: i64,
    pub first: String,
    pub updated_at: DateTime<Utc>,
}

/// Keeps post `post`'s parts and files as template `name` (of the post's user). An existing
/// template of that name is refused, unless `replace`.
pub async fn save_from_post(
    client: &mut Object,
    post: PostId,
    name: &str,
    replace: bool,
) -> Result<(), StoreError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(StoreError::from(Refusal::BadTemplateName(name.to_string())));
    }
    let tx = client.transaction().await?;
    let user: i32 = tx
        .query_opt(
            "SELECT a.user_id FROM posts p JOIN x_accounts a ON a.id = p.x_account_id
             WHERE p.id = $1",
            &[&post],
        )
        .await?
        .ok_or(Refusal::NotFound(post))?
        .get(0);
    let existing: Option<i32> = tx
        .query_opt(
            "SELECT id FROM post_templates WHERE user_id = $1 AND name = $2 FOR UPDATE",
            &[&user, &name],
        )
        .await?
        .map(|r| r.get(0));
    match existing {
        Some(_) if !replace => {
            return Err(StoreError::from(Refusal::TemplateExists(name.to_string())));
        }
        // Replacing is a new template under the old name: its files go if nothing else uses them.
        Some(id) => {
            tx.execute("DELETE FROM post_templates WHERE id = $1", &[&id])
                .await?;
        }
        None => {}
    }
    let id: i32 = tx
        .query_one(
            "INSERT INTO post_templates (user_id, name, content)
             SELECT $1, $2, content FROM posts WHERE id = $3 RETURNING id",
            &[&user, &name, &post],
        )
        .await?
        .get(0);
    tx.execute(
        "INSERT INTO template_parts (template_id, position, content)
         SELECT $1, position, content FROM post_parts WHERE post_id = $2 AND position > 1",
        &[&id, &post],
    )
    .await?;
    tx.execute(
        "INSERT INTO template_media (template_id, position, ord, media_id, alt_text)
         SELECT $1, position, ord, media_id, alt_text FROM part_media WHERE post_id = $2",
        &[&id, &post],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// chirp's user's templates, by name.
pub async fn list(client: &impl GenericClient) -> Result<Vec<Summary>, StoreError> {
    let rows = client
        .query(
            "SELECT t.name,
                    1 + (SELECT count(*) FROM template_parts p WHERE p.template_id = t.id) AS parts,
                    (SELECT count(*) FROM template_media m WHERE m.template_id = t.id) AS files,
                    t.content, t.updated_at
             FROM post_templates t
             WHERE t.user_id = (SELECT min(id) FROM users)
             ORDER BY t.name",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Summary {
            name: r.get("name"),
            parts: r.get("parts"),
            files: r.get("files"),
            first: r.get("content"),
            updated_at: r.get("updated_at"),
        })
        .collect())
}

/// Template `name` in full; an unknown name says which there are.
pub async fn get(client: &impl GenericClient, name: &str) -> Result<Template, StoreError> {
    let name = name.trim();
    let Some(row) = client
        .query_opt(
            "SELECT id, content, updated_at FROM post_templates
             WHERE user_id = (SELECT min(id) FROM users) AND name = $1",
            &[&name],
        )
        .await?
    else {
        return Err(unknown(client, name).await);
    };
    let id: i32 = row.get("id");
    let mut parts: Vec<String> = vec![row.get("content")];
    for r in client
        .query(
            "SELECT content FROM template_parts WHERE template_id = $1 ORDER BY position",
            &[&id],
        )
        .await?
    {
        parts.push(r.get(0));
    }
    let mut media: Vec<Vec<NewAttachment>> = vec![Vec::new(); parts.len()];
    for r in client
        .query(
            "SELECT position, media_id, alt_text FROM template_media
             WHERE template_id = $1 ORDER BY position, ord",
            &[&id],
        )
        .await?
    {
        let position: i32 = r.get("position");
        if let Some(files) = usize::try_from(position - 1)
            .ok()
            .and_then(|i| media.get_mut(i))
        {
            files.push(NewAttachment {
                media_id: r.get("media_id"),
                alt_text: r.get("alt_text"),
            });
        }
    }
    Ok(Template {
        name: name.to_string(),
        parts,
        media,
        updated_at: row.get("updated_at"),
    })
}

async fn unknown(client: &impl GenericClient, name: &str) -> StoreError {
    match list(client).await {
        Ok(all) => StoreError::from(Refusal::UnknownTemplate {
            name: name.to_string(),
            known: all.into_iter().map(|t| t.name).collect(),
        }),
        Err(e) => e,
    }
}

/// Deletes template `name` (its files go if nothing else uses them).
pub async fn delete(client: &impl GenericClient, name: &str) -> Result<(), StoreError> {
    let n = client
        .execute(
            "DELETE FROM post_templates
             WHERE user_id = (SELECT min(id) FROM users) AND name = $1",
            &[&name.trim()],
        )
        .await?;
    if n == 0 {
        return Err(unknown(client, name.trim()).await);
    }
    Ok(())
}

/// Template `name`'s files, as a post's attachments are listed (part, order, kind, size, alt).
pub async fn files(
    client: &impl GenericClient,
    name: &str,
) -> Result<Vec<crate::media::Attachment>, StoreError> {
    let rows = client
        .query(
            "SELECT tm.position, tm.ord, m.id AS media_id, m.kind, m.media_type, m.size_bytes,
                    encode(m.sha256, 'hex') AS sha256, tm.alt_text,
                    NULL::varchar AS remote_media_id, NULL::timestamptz AS remote_media_expires_at
             FROM post_templates t
             JOIN template_media tm ON tm.template_id = t.id
             JOIN media m ON m.id = tm.media_id
             WHERE t.user_id = (SELECT min(id) FROM users) AND t.name = $1
             ORDER BY tm.position, tm.ord",
            &[&name.trim()],
        )
        .await?;
    rows.iter().map(crate::media::attachment_of).collect()
}
