//! Typed queries on posts. Every status change locks the row, asks the domain whether it is
//! allowed, and writes it in one transaction; the audit trigger records it in that same
//! transaction with the actor and detail set here.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use deadpool_postgres::{Object, Transaction};
use tokio_postgres::Row;

use super::{DbError, Refusal, StoreError};
use chirp_core::status::{check_settled, transition};
use chirp_core::{AccountId, Action, Post, PostId, PostPart, Status};

use crate::accounts::text_rule;

pub const COLUMNS: &str = "id, x_account_id, status, content, scheduled_at, posted_at, \
     x_tweet_id, error_message, attempts, needs_reconcile, next_attempt_at, created_at, updated_at, \
     (SELECT count(*)::int FROM post_parts pp WHERE pp.post_id = posts.id) AS parts, \
     (SELECT count(pp.remote_id)::int FROM post_parts pp WHERE pp.post_id = posts.id) AS parts_sent, unpublished_at, group_id, queued, gone_from_x_at";

pub fn from_row(r: &Row) -> Result<Post, StoreError> {
    let status: String = r.get("status");
    Ok(Post {
        id: r.get("id"),
        x_account_id: r.get("x_account_id"),
        status: status.parse()?,
        content: r.get("content"),
        scheduled_at: r.get("scheduled_at"),
        posted_at: r.get("posted_at"),
        x_tweet_id: r.get("x_tweet_id"),
        error_message: r.get("error_message"),
        attempts: r.get("attempts"),
        outcome_unknown: r.get("needs_reconcile"),
        next_attempt_at: r.get("next_attempt_at"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
        parts: r.get("parts"),
        parts_sent: r.get("parts_sent"),
        unpublished_at: r.get("unpublished_at"),
        group_id: r.get("group_id"),
        queued: r.get("queued"),
        gone_from_x_at: r.get("gone_from_x_at"),
    })
}

/// Who is acting, for the audit log: `cli`, `tui`, `publisher:<host>:<pid>`...
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a>(pub &'a str);

/// Opens a transaction whose audit rows carry `actor` and `detail`.
pub async fn begin<'a>(
    client: &'a mut Object,
    actor: Actor<'_>,
    detail: Option<&str>,
) -> Result<Transaction<'a>, StoreError> {
    let tx = client.transaction().await?;
    tx.execute(
        "SELECT set_config('chirp.actor', $1, true), set_config('chirp.detail', $2, true)",
        &[&actor.0, &detail.unwrap_or("")],
    )
    .await?;
    Ok(tx)
}

/// What the audit rows written next in `tx` say about why.
async fn set_detail(tx: &Transaction<'_>, detail: &str) -> Result<(), StoreError> {
    tx.execute("SELECT set_config('chirp.detail', $1, true)", &[&detail])
        .await?;
    Ok(())
}

/// Parts 2.. of post `id`, in order (the first part came with the post's own text: the
/// database makes it from `posts.content`).
async fn insert_rest(tx: &Transaction<'_>, id: PostId, rest: &[String]) -> Result<(), StoreError> {
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    tx.execute(
        "INSERT INTO post_parts (post_id, position, content)
         SELECT $1, 1 + ord, c FROM unnest($2::text[]) WITH ORDINALITY AS u(c, ord)",
        &[&id, &rest],
    )
    .await?;
    Ok(())
}

/// Locks the post and checks that `action` is allowed; returns the post and its new status.
async fn lock_for(
    tx: &Transaction<'_>,
    id: PostId,
    action: Action,
) -> Result<(Post, Option<Status>), StoreError> {
    let row = tx
        .query_opt(
            &format!("SELECT {COLUMNS} FROM posts WHERE id = $1 FOR UPDATE"),
            &[&id],
        )
        .await?
        .ok_or(Refusal::NotFound(id))?;
    let post = from_row(&row)?;
    let to = transition(post.status, action).map_err(|err| Refusal::Transition { id, err })?;
    check_settled(action, post.outcome_unknown).map_err(|e| Refusal::Refused {
        id,
        msg: e.to_string(),
    })?;
    Ok((post, to))
}

/// When a new post goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Not yet: a draft.
    Draft,
    At(DateTime<Utc>),
    /// The next free slot of its account's queue.
    Queue,
    /// This slot of its account's queue (a queued post restored from an export).
    Slot(DateTime<Utc>),
}

impl Schedule {
    /// The time it names, if it names one.
    pub fn at(self) -> Option<DateTime<Utc>> {
        match self {
            Schedule::At(at) | Schedule::Slot(at) => Some(at),
            Schedule::Draft | Schedule::Queue => None,
        }
    }
}

impl From<Option<DateTime<Utc>>> for Schedule {
    fn from(at: Option<DateTime<Utc>>) -> Schedule {
        at.map_or(Schedule::Draft, Schedule::At)
    }
}

/// A new post: a draft when `at` is None, else scheduled for `at`.
pub async fn create(
    client: &mut Object,
    actor: Actor<'_>,
    account: AccountId,
    content: &str,
    at: Option<DateTime<Utc>>,
) -> Result<Post, StoreError> {
    text_rule(&*client, account).await?.validate(content)?;
    let status = if at.is_some() {
        Status::Scheduled
    } else {
        Status::Draft
    };
    let tx = begin(client, actor, None).await?;
    let row = tx
        .query_one(
            &format!(
                "INSERT INTO posts (x_account_id, content, status, scheduled_at)
                 VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
            ),
            &[&account, &content, &status.as_str(), &at],
        )
        .await?;
    tx.commit().await?;
    from_row(&row)
}

/// A new thread of `parts` (at least one), in order: a draft when `at` is None, else
/// scheduled for `at`. Every part must pass X's text rule.
pub async fn create_thread(
    client: &mut Object,
    actor: Actor<'_>,
    account: AccountId,
    parts: &[String],
    at: Option<DateTime<Utc>>,
) -> Result<Post, StoreError> {
    let mut made = create_for_accounts(client, actor, &[account], parts, at).await?;
    made.pop()
        .ok_or_else(|| DbError::Unexpected("no post was made".into()).into())
}

/// One text (a thread of `parts`) for each of `accounts`, in one transaction: one post per
/// account, each scheduled, claimed and audited on its own. With several accounts the posts
/// share a group (the first one's id), so lists can say "sent to 2 of 3".
pub async fn create_for_accounts(
    client: &mut Object,
    actor: Actor<'_>,
    accounts: &[AccountId],
    parts: &[String],
    at: Option<DateTime<Utc>>,
) -> Result<Vec<Post>, StoreError> {
    create_with_media(client, actor, accounts, parts, &[], at.into()).await
}

/// [`create_for_accounts`] with attachments: `media[i]` goes on part `i + 1` of every post
/// made. A part may have media and no text. Queued, each post takes its own account's next
/// free slot.
pub async fn create_with_media(
    client: &mut Object,
    actor: Actor<'_>,
    accounts: &[AccountId],
    parts: &[String],
    media: &[Vec<crate::media::NewAttachment>],
    when: Schedule,
) -> Result<Vec<Post>, StoreError> {
    create_owing(client, actor, accounts, parts, media, when, &[]).await
}

/// [`create_with_media`] for a post from a template whose placeholders `unfilled` were left
/// for the person to fill: while its text holds any of them, the database refuses to
/// schedule, queue or publish it ([`Refusal::Unfilled`]), in this transaction or any later.
pub async fn create_owing(
    client: &mut Object,
    actor: Actor<'_>,
    accounts: &[AccountId],
    parts: &[String],
    media: &[Vec<crate::media::NewAttachment>],
    when: Schedule,
    unfilled: &[String],
) -> Result<Vec<Post>, StoreError> {
    // Each account's network's rule: one text may fit X and not Bluesky.
    for &account in accounts {
        text_rule(&*client, account)
            .await?
            .validate_parts_with(parts, &|i| media.get(i).is_some_and(|m| !m.is_empty()))?;
    }
    let (status, at) = match when {
        Schedule::At(at) | Schedule::Slot(at) => (Status::Scheduled, Some(at)),
        Schedule::Draft | Schedule::Queue => (Status::Draft, None),
    };
    let tx = begin(client, actor, None).await?;
    let mut ids: Vec<PostId> = Vec::with_capacity(accounts.len());
    for account in accounts {
        let group = (accounts.len() > 1).then(|| ids.first().copied()).flatten();
        let id: PostId = tx
            .query_one(
                "INSERT INTO posts (x_account_id, content, status, scheduled_at, group_id, unfilled)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[account, &parts[0], &status.as_str(), &at, &group, &unfilled],
            )
            .await?
            .get(0);
        insert_rest(&tx, id, &parts[1..]).await?;
        for (i, files) in media.iter().enumerate() {
            if !files.is_empty() {
                let position = i32::try_from(i + 1).unwrap_or(i32::MAX);
                crate::media::attach(&tx, id, position, files).await?;
            }
        }
        crate::queue::place(&tx, id, *account, when).await?;
        ids.push(id);
    }
    if accounts.len() > 1 {
        // The first post is in its own group too (its id was not known when it was made).
        tx.execute("UPDATE posts SET group_id = $1 WHERE id = $1", &[&ids[0]])
            .await?;
    }
    let rows = tx
        .query(
            &format!("SELECT {COLUMNS} FROM posts WHERE id = ANY($1) ORDER BY id"),
            &[&ids],
        )
        .await?;
    tx.commit().await?;
    rows.iter().map(from_row).collect()
}

/// A new draft with the same parts and files (and alt texts) as post `id`, on its account.
pub async fn duplicate(
    client: &mut Object,
    actor: Actor<'_>,
    id: PostId,
) -> Result<Post, StoreError> {
    let tx = begin(client, actor, Some(&format!("a copy of post {id}"))).await?;
    let new: PostId = tx
        .query_opt(
            "INSERT INTO posts (x_account_id, content, status, unfilled)
             SELECT x_account_id, content, 'draft', unfilled FROM posts WHERE id = $1
             RETURNING id",
            &[&id],
        )
        .await?
        .ok_or(Refusal::NotFound(id))?
        .get(0);
    tx.execute(
        "INSERT INTO post_parts (post_id, position, content)
         SELECT $2, position, content FROM post_parts WHERE post_id = $1 AND position > 1",
        &[&id, &new],
    )
    .await?;
    tx.execute(
        "INSERT INTO part_media (post_id, position, ord, media_id, alt_text)
         SELECT $2, position, ord, media_id, alt_text FROM part_media WHERE post_id = $1",
        &[&id, &new],
    )
    .await?;
    let row = tx
        .query_one(
            &format!("SELECT {COLUMNS} FROM posts WHERE id = $1"),
            &[&new],
        )
        .await?;
    tx.commit().await?;
    from_row(&row)
}

/// Every part of a post, the first one (the post's own text) included, in order.
pub async fn parts(client: &impl GenericClient, id: PostId) -> Result<Vec<PostPart>, StoreError> {
    Ok(parts_of(client, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default())
}

/// A part as `SELECT post_parts.*` reads it.
fn part_from(r: &Row) -> PostPart {
    PostPart {
        position: r.get("position"),
        content: r.get("content"),
        remote_id: r.get("remote_id"),
        posted_at: r.get("posted_at"),
        remote_deleted_at: r.get("remote_deleted_at"),
    }
}

/// [`parts`] of each of `ids`, in one query.
pub async fn parts_of(
    client: &impl GenericClient,
    ids: &[PostId],
) -> Result<std::collections::HashMap<PostId, Vec<PostPart>>, StoreError> {
    let rows = client
        .query(
            "SELECT post_id, position, content, remote_id, posted_at, remote_deleted_at
             FROM post_parts WHERE post_id = ANY($1)
             ORDER BY post_id, position",
            &[&ids],
        )
        .await?;
    let mut out: std::collections::HashMap<PostId, Vec<PostPart>> =
        std::collections::HashMap::new();
    for r in &rows {
        out.entry(r.get("post_id")).or_default().push(part_from(r));
    }
    Ok(out)
}

/// Replaces the text of a draft, scheduled or failed post.
pub async fn edit(
    client: &mut Object,
    actor: Actor<'_>,
    id: PostId,
    content: &str,
) -> Result<Post, StoreError> {
    let tx = begin(client, actor, None).await?;
    let (post, _) = lock_for(&tx, id, Action::Edit).await?;
    text_rule(&tx, post.x_account_id).await?.validate(content)?;
    if post.parts_sent > 0 {
        // A thread that stopped part-way: what is published stays as it is.
        return Err(StoreError::from(Refusal::Refused {
            id,
            msg: "its first part is on X already, so its text cannot change".into(),
        }));
    }
    let row = tx
        .query_one(
            &format!("UPDATE posts SET content = $2 WHERE id = $1 RETURNING {COLUMNS}"),
            &[&id, &content],
        )
        .await?;
    tx.commit().await?;
    from_row(&row)
}

/// Replaces every part of a draft, scheduled or failed post with `parts` (a single post
/// may become a thread and back). The first part's change is audited by the trigger; a
/// change to the later parts is audited here, with what they were.
pub async fn edit_thread(
    client: &mut Object,
    actor: Actor<'_>,
    id: PostId,
    parts: &[String],
) -> Result<Post, StoreError> {
    edit_parts(client, actor, id, parts, None, false).await
}

/// [`edit_thread`] that also replaces every file of the post: `media[i]` on part `i + 1`
/// (files kept are referred to again, new ones were stored before).
pub async fn edit_with_media(
    client: &mut Object,
    actor: Actor<'_>,
    id: PostId,
    parts: &[String],
    media: &[Vec<crate::media::NewAttachment>],
) -> Result<Post, StoreError> {
    edit_parts(client, actor, id, parts, Some(media), false).await
}

/// [`edit_with_media`], then into its account's next free queue slot ([`enqueue`]), in one
/// transaction: both or neither (the composer's "save into the queue" on a post it edits).
pub async fn edit_into_queue(
    client: &mut Object,
    actor: Actor<'_>,
    id: PostId,
    parts: &[String],
    media: &[Vec<crate::media::NewAttachment>],
) -> Result<Post, StoreError> {
    edit_parts(client, actor, id, parts, Some(media), true).await
}

async fn edit_parts(
    client: &mut Object,
    actor: Actor<'_>,
    id: PostId,
    parts: &[String],
    media: Option<&[Vec<crate::media::NewAttachment>]>,
    then_enqueue: bool,
) -> Result<Post, StoreError> {
    let files = media.unwrap_or_default();
    let tx = begin(client, actor, None).await?;
    let (post, _) = lock_for(&tx, id, Action::Edit).await?;
    text_rule(&tx, post.x_account_id)
        .await?
        .validate_parts_with(parts, &|i| files.get(i).is_some_and(|m| !m.is_empty()))?;
    if post.parts_sent > 0 {
        return Err(StoreError::from(Refusal::Refused {
            id,
            msg: "its first part is on X already, so its text cannot change".into(),
        }));
    }
    if let Some(media) = media {
        crate::media::replace(&tx, id, media).await?;
    }
    let n = i32::try_from(parts.len()).unwrap_or(i32::MAX);
    let orphaned: Option<i32> = tx
        .query_one(
            "SELECT min(position) FROM part_media WHERE post_id = $1 AND position > $2",
            &[&id, &n],
        )
        .await?
        .get(0);
    if let Some(part) = orphaned {
        // Files are never dropped silently with the text around them.
        return Err(StoreError::from(Refusal::Refused {
            id,
            msg: format!(
                "part {part} has media attached and the new text has {n} part(s): keep that part, or remove its media first"
            ),
        }));
    }
    let old_rest: Vec<String> = tx
        .query(
            "SELECT content FROM post_parts WHERE post_id = $1 AND position > 1
             ORDER BY position",
            &[&id],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let rest: Vec<&str> = parts[1..].iter().map(String::as_str).collect();
    if old_rest != rest {
        tx.execute(
            "DELETE FROM post_parts WHERE post_id = $1 AND position > 1",
            &[&id],
        )
        .await?;
        insert_rest(&tx, id, &parts[1..]).await?;
        let was = if old_rest.is_empty() {
            "parts after the first were: none".to_string()
        } else {
            format!("parts after the first were: {}", old_rest.join("\n---\n"))
        };
        tx.execute(
            "INSERT INTO post_events (post_id, event, from_status, to_status, actor, detail, attempt)
             SELECT id, 'edited', status, status, $2, $3, attempts FROM posts WHERE id = $1",
            &[&id, &actor.0, &was],
        )
        .await?;
    }
    let mut row = tx
        .query_one(
            &format!("UPDATE posts SET content = $2 WHERE id = $1 RETURNING {COLUMNS}"),
            &[&id, &parts[0]],
        )
        .await?;
    if then_enqueue {
        let (post, _) = lock_for(&tx, id, Action::Schedule).await?;
        check_first_part(&tx, &post).await?;
        crate::queue::take_slot(&tx, id, post.x_account_id).await?;
        row = tx
            .query_one(
                &format!("SELECT {COLUMNS} FROM posts WHERE id = $1"),
                &[&id],
            )
            .await?;
    }
    tx.commit().await?;
    from_row(&row)
}

/// A thread that stopped part-way (failed, some parts on X) ends at the parts on X, which
/// make it posted; the parts not sent become a new draft thread on the same account.
/// Returns (the post as it now is, the new draft).
pub async fn split_off(
    client: &mut Object,
    actor: Actor<'_>,
    id: PostId,
) -> Result<(Post, Post), StoreError> {
    let tx = begin(client, actor, None).await?;
    let (post, _) = lock_for(&tx, id, Action::SplitOff).await?;
    if post.parts_sent == 0 {
        return Err(StoreError::from(Refusal::Refused {
            id,
            msg: "none of its parts is on X: edit it or retry it instead".into(),
        }));
    }
    let unsent: Vec<String> = tx
        .query(
            "SELECT content FROM post_parts WHERE post_id = $1 AND remote_id IS NULL
             ORDER BY position",
            &[&id],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let (Some(first), true) = (unsent.first(), post.parts_sent > 0) else {
        return Err(StoreError::from(Refusal::Refused {
            id,
            msg: "every part of it is on X already".into(),
        }));
    };
    set_detail(&tx, &format!("the unsent parts of post {id}")).await?;
    let new_id: PostId = tx
        .query_one(
            "INSERT INTO posts (x_account_id, content, status) VALUES ($1, $2, 'draft')
             RETURNING id",
            &[&post.x_account_id, first],
        )
        .await?
        .get(0);
    insert_rest(&tx, new_id, &unsent[1..]).await?;
    // The unsent parts' files go with them, renumbered from 1 (the sent parts are a prefix).
    tx.execute(
        "UPDATE part_media SET post_id = $2, position = position - $3,
                remote_media_id = NULL, remote_media_expires_at = NULL
         WHERE post_id = $1 AND position > $3",
        &[&id, &new_id, &post.parts_sent],
    )
    .await?;
    tx.execute(
        "DELETE FROM post_parts WHERE post_id = $1 AND position > 1 AND remote_id IS NULL",
        &[&id],
    )
    .await?;
    // The status change is audited by the trigger, with this detail.
    set_detail(
        &tx,
        &format!(
            "ended at its {} part(s) on X; the {} unsent part(s) became post {new_id}",
            post.parts_sent,
            unsent.len()
        ),
    )
    .await?;
    let row = tx
        .query_one(
            &format!(
                "UPDATE posts SET status = 'posted', error_message = NULL, next_attempt_at = NULL
                 WHERE id = $1 RETURNING {COLUMNS}"
            ),
            &[&id],
        )
        .await?;
    let fresh = tx
        .query_one(
            &format!("SELECT {COLUMNS} FROM posts WHERE id = $1"),
            &[&new_id],
        )
        .await?;
    tx.commit().await?;
    Ok((from_row(&row)?, from_row(&fresh)?))
}

/// Schedules (or reschedules) a post for `at`. A failed post scheduled again starts afresh.
pub async fn schedule(
    client: &mut Object,
    actor: Actor<'_>,
    id: PostId,
    at: DateTime<Utc>,
) -> Result<Post, StoreError> {
    set_schedule(client, actor, id, Action::Schedule, Some(at)).await
}

/// Schedules (or moves) a post into its account's next free queue slot.
pub async fn enqueue(
    client: &mut Object,
    actor: Actor<'_>,
    id: PostId,
) -> Result<Post, StoreError> {
    let tx = begin(client, actor, Some("added to the queue")).await?;
    let (post, _) = lock_for(&tx, id, Action::Schedule).await?;
    check_first_part(&tx, &post).await?;
    crate::queue::take_slot(&tx, id, post.x_account_id).await?;
    let row = tx
        .query_one(
            &format!("SELECT {COLUMNS} FROM posts WHERE id = $1"),
            &[&id],
        )
        .await?;
    tx.commit().await?;
    from_row(&row)
}

/// Takes a scheduled or failed post back to a draft.
pub async fn unschedule(
    client: &mut Object,
    actor: Actor<'_>,
    id: PostId,
) -> Result<Post, StoreError> {
    set_schedule(client, actor, id, Action::Unschedule, None).await
}

/// Puts a failed post back in the queue, due now (`chirp retry`).
pub async fn retry(client: &mut Object, actor: Actor<'_>, id: PostId) -> Result<Post, StoreError> {
    set_schedule(client, actor, id, Action::Retry, Some(Utc::now())).await
}

/// The text may have been written by plain SQL, or the network's rule may have changed: check again
/// before a post can go out (a first part with media may have no text).
async fn check_first_part(tx: &Transaction<'_>, post: &Post) -> Result<(), StoreError> {
    let with_media: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM part_media WHERE post_id = $1 AND position = 1)",
            &[&post.id],
        )
        .await?
        .get(0);
    let rule = text_rule(tx, post.x_account_id).await?;
    rule.validate_part(&post.content, with_media).map_err(|e| {
        Refusal::Refused {
            id: post.id,
            msg: e.to_string(),
        }
        .into()
    })
}

async fn set_schedule(
    client: &mut Object,
    actor: Actor<'_>,
    id: PostId,
    action: Action,
    at: Option<DateTime<Utc>>,
) -> Result<Post, StoreError> {
    let tx = begin(client, actor, None).await?;
    let (post, to) = lock_for(&tx, id, action).await?;
    if to == Some(Status::Scheduled) {
        check_first_part(&tx, &post).await?;
    }
    let status = to.map(Status::as_str);
    // needs_reconcile is kept on purpose: a post whose last send had an unknown outcome is
    // looked for on X before it is sent again, whoever asked for it to go out.
    let row = tx
        .query_one(
            &format!(
                "UPDATE posts SET status = $2, scheduled_at = $3, attempts = 0,
                        next_attempt_at = NULL, error_message = NULL, queued = false
                 WHERE id = $1 RETURNING {COLUMNS}"
            ),
            &[&id, &status, &at],
        )
        .await?;
    tx.commit().await?;
    from_row(&row)
}

/// Removes a post from chirp (X is not touched). Returns what it was.
pub async fn delete(client: &mut Object, actor: Actor<'_>, id: PostId) -> Result<Post, StoreError> {
    let tx = begin(client, actor, None).await?;
    let (post, _) = lock_for(&tx, id, Action::Delete).await?;
    tx.execute("DELETE FROM posts WHERE id = $1", &[&id])
        .await?;
    tx.commit().await?;
    Ok(post)
}

pub async fn get(client: &impl GenericClient, id: PostId) -> Result<Post, StoreError> {
    let row = client
        .query_opt(
            &format!("SELECT {COLUMNS} FROM posts WHERE id = $1"),
            &[&id],
        )
        .await?
        .ok_or(Refusal::NotFound(id))?;
    from_row(&row)
}

/// How a list is ordered, and so how its pages are keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Newest first (by id, which grows with creation).
    Newest,
    /// Soonest due first (scheduled_at, then id); posts without a time come first.
    Soonest,
    /// Latest out first: posted ones by when they were posted, failed ones by when they
    /// failed (their last change), then id.
    Latest,
}

/// Where the next page starts: the last row of the previous page, with the time it is
/// ordered by (its due time for [`Order::Soonest`], when it went out for [`Order::Latest`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub id: PostId,
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub statuses: Vec<Status>,
    pub order: Order,
    pub after: Option<Cursor>,
    pub limit: i64,
    /// Case-insensitive substring of the text.
    pub text: Option<String>,
    /// Only this account's posts.
    pub account: Option<AccountId>,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            statuses: Vec::new(),
            order: Order::Newest,
            after: None,
            limit: 100,
            text: None,
            account: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Page {
    pub posts: Vec<Post>,
    /// Set when there may be more rows after this page.
    pub next: Option<Cursor>,
    /// Every part of each thread on the page, in order (single posts have no entry).
    pub threads: std::collections::HashMap<PostId, Vec<PostPart>>,
    /// How far each group on the page got (one text sent to several accounts).
    pub groups: std::collections::HashMap<PostId, Group>,
    /// The files of the posts on the page that have any.
    pub media: std::collections::HashMap<PostId, Vec<crate::media::Attachment>>,
    /// Every metrics read of the posts on the page that have any, oldest first.
    pub metrics: crate::analytics::Histories,
}

/// One text sent to several accounts: how many posts it made, and how many are on X.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Group {
    pub posts: i64,
    pub posted: i64,
}

impl Group {
    /// "sent to 2 of 3".
    pub fn label(&self) -> String {
        format!("sent to {} of {}", self.posted, self.posts)
    }
}

/// One page of posts, keyset-paginated so that page N costs the same as page 1.
pub async fn list(client: &impl GenericClient, q: &ListQuery) -> Result<Page, StoreError> {
    let statuses: Option<Vec<&str>> =
        (!q.statuses.is_empty()).then(|| q.statuses.iter().map(|s| s.as_str()).collect());
    let pattern = q.text.as_ref().filter(|t| !t.is_empty()).map(|t| {
        format!(
            "%{}%",
            t.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    let after_id = q.after.map(|c| c.id);
    let after_at = q.after.map(|c| c.at.unwrap_or(DateTime::<Utc>::MIN_UTC));
    let (keyset, order) = match q.order {
        Order::Newest => ("($2::int IS NULL OR id < $2)", "id DESC"),
        Order::Soonest => (
            "($2::int IS NULL OR (coalesce(scheduled_at, '-infinity'), id) > ($6::timestamptz, $2))",
            "coalesce(scheduled_at, '-infinity'), id",
        ),
        Order::Latest => (
            "($2::int IS NULL OR (coalesce(posted_at, updated_at), id) < ($6::timestamptz, $2))",
            "coalesce(posted_at, updated_at) DESC, id DESC",
        ),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM posts
         WHERE ($1::text[] IS NULL OR status = ANY($1)) AND {keyset}
           AND ($4::text IS NULL OR content ILIKE $4)
           AND ($5::int IS NULL OR x_account_id = $5)
         ORDER BY {order} LIMIT $3"
    );
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
        vec![&statuses, &after_id, &q.limit, &pattern, &q.account];
    if matches!(q.order, Order::Soonest | Order::Latest) {
        params.push(&after_at);
    }
    let rows = client.query(&sql, &params).await?;
    let posts = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    let next = (posts.len() as i64 == q.limit && q.limit > 0)
        .then(|| posts.last())
        .flatten()
        .map(|p| Cursor {
            id: p.id,
            at: match q.order {
                Order::Latest => Some(p.posted_at.unwrap_or(p.updated_at)),
                _ => p.scheduled_at,
            },
        });
    let threads = thread_parts(client, &posts).await?;
    let groups = groups(client, &posts).await?;
    let ids: Vec<PostId> = posts.iter().map(|p| p.id).collect();
    let media = crate::media::for_posts(client, &ids).await?;
    let metrics = crate::analytics::histories(client, &ids).await?;
    Ok(Page {
        posts,
        next,
        threads,
        groups,
        media,
        metrics,
    })
}

/// The posts of a group (one text sent to several accounts), oldest first.
pub async fn group(client: &impl GenericClient, group: PostId) -> Result<Vec<Post>, StoreError> {
    let rows = client
        .query(
            &format!("SELECT {COLUMNS} FROM posts WHERE group_id = $1 ORDER BY id"),
            &[&group],
        )
        .await?;
    rows.iter().map(from_row).collect()
}

/// How far the groups of `posts` got, in one query.
async fn groups(
    client: &impl GenericClient,
    posts: &[Post],
) -> Result<std::collections::HashMap<PostId, Group>, StoreError> {
    let mut ids: Vec<PostId> = posts.iter().filter_map(|p| p.group_id).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let rows = client
        .query(
            "SELECT group_id, count(*) AS posts, count(*) FILTER (WHERE status = 'posted') AS posted
             FROM posts WHERE group_id = ANY($1) GROUP BY group_id",
            &[&ids],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get("group_id"),
                Group {
                    posts: r.get("posts"),
                    posted: r.get("posted"),
                },
            )
        })
        .collect())
}

/// The parts of those of `posts` that are threads, in one query.
async fn thread_parts(
    client: &impl GenericClient,
    posts: &[Post],
) -> Result<std::collections::HashMap<PostId, Vec<PostPart>>, StoreError> {
    let ids: Vec<PostId> = posts.iter().filter(|p| p.parts > 1).map(|p| p.id).collect();
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    parts_of(client, &ids).await
}

/// How many posts there are in each status (statuses with none are absent).
/// How many posts there are in each status (of one account, or of all).
pub async fn counts(
    client: &impl GenericClient,
    account: Option<AccountId>,
) -> Result<Vec<(Status, i64)>, StoreError> {
    let rows = client
        .query(
            "SELECT status, count(*) AS n FROM posts WHERE ($1::int IS NULL OR x_account_id = $1)
             GROUP BY status ORDER BY status",
            &[&account],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let s: String = r.get("status");
            let status = s.parse()?;
            Ok((status, r.get("n")))
        })
        .collect()
}

/// When the next scheduled post is due (its time or its back-off, whichever is later).
pub async fn next_due(
    client: &impl GenericClient,
    account: Option<AccountId>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(client
        .query_one(
            "SELECT min(greatest(scheduled_at, next_attempt_at)) FROM posts
             WHERE status = 'scheduled' AND ($1::int IS NULL OR x_account_id = $1)",
            &[&account],
        )
        .await?
        .get(0))
}

/// One row of a post's audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// created, status or deleted
    pub event: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub actor: String,
    pub detail: Option<String>,
    pub at: DateTime<Utc>,
}

/// The audit trail of one post, oldest first.
pub async fn history(client: &impl GenericClient, id: PostId) -> Result<Vec<Event>, StoreError> {
    let rows = client
        .query(
            "SELECT event, from_status, to_status, actor, detail, at FROM post_events
             WHERE post_id = $1 ORDER BY id",
            &[&id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Event {
            event: r.get("event"),
            from: r.get("from_status"),
            to: r.get("to_status"),
            actor: r.get("actor"),
            detail: r.get("detail"),
            at: r.get("at"),
        })
        .collect())
}

/// The parts of `post` to delete on X, last first: those with an X id not yet deleted.
/// Refused while the post is being published (its parts are still going out).
pub async fn unpublish_targets(
    client: &impl GenericClient,
    post: &Post,
) -> Result<Vec<(i32, String)>, StoreError> {
    if post.status == Status::Publishing {
        return Err(StoreError::from(Refusal::Refused {
            id: post.id,
            msg: "it is being published right now: unpublish it once that is done".into(),
        }));
    }
    let mut targets: Vec<(i32, String)> = parts(client, post.id)
        .await?
        .into_iter()
        .filter(|p| p.remote_deleted_at.is_none())
        .filter_map(|p| p.remote_id.map(|x| (p.position, x)))
        .collect();
    targets.reverse();
    Ok(targets)
}

/// One part is gone from X: when, audited.
pub async fn mark_part_deleted(
    client: &mut Object,
    actor: Actor<'_>,
    id: PostId,
    position: i32,
    of: usize,
) -> Result<(), StoreError> {
    let tx = begin(client, actor, None).await?;
    // Part 1's time reaches `posts.x_deleted_at` through the trigger (on X).
    tx.execute(
        "UPDATE post_parts SET remote_deleted_at = coalesce(remote_deleted_at, now())
         WHERE post_id = $1 AND position = $2",
        &[&id, &position],
    )
    .await?;
    tx.execute(
        "INSERT INTO post_events (post_id, event, actor, detail)
         VALUES ($1, 'part', $2, $3)",
        &[&id, &actor.0, &format!("part {position}/{of} deleted on X")],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Every part is gone from X: the post is unpublished (it stays here, with its ids).
pub async fn finish_unpublish(
    client: &mut Object,
    actor: Actor<'_>,
    id: PostId,
) -> Result<Post, StoreError> {
    let tx = begin(client, actor, None).await?;
    tx.execute(
        "INSERT INTO post_events (post_id, event, actor, detail)
         SELECT $1, 'unpublished', $2, 'every part deleted on X'
         WHERE NOT EXISTS (SELECT 1 FROM posts WHERE id = $1 AND unpublished_at IS NOT NULL)",
        &[&id, &actor.0],
    )
    .await?;
    let row = tx
        .query_one(
            &format!(
                "UPDATE posts SET unpublished_at = coalesce(unpublished_at, now())
                 WHERE id = $1 RETURNING {COLUMNS}"
            ),
            &[&id],
        )
        .await?;
    tx.commit().await?;
    from_row(&row)
}
