//! "Add to queue": each account's weekly slots (in its own zone) and the posts that fill them.
//! Taking a slot locks the account's queue row, so processes adding at once take turns; the
//! unique index `posts_queue_slot_key` makes two waiting posts in one slot impossible anyway.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use deadpool_postgres::{GenericClient, Object, Transaction};

use crate::posts::{self, Actor, COLUMNS, from_row};
use crate::{DbError, Refusal, StoreError};
use chirp_core::slots::WeeklySlots;
use chirp_core::{AccountId, Post, PostId};

/// An account's slots and the zone they are read in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub account: AccountId,
    pub slots: WeeklySlots,
    pub tz: Tz,
}

/// A slot and the post waiting in it, if any.
#[derive(Debug, Clone)]
pub struct Slot {
    pub at: DateTime<Utc>,
    pub post: Option<Post>,
}

/// Sets `account`'s slots (no slots removes its queue). Posts already queued keep their times;
/// [`compact`] moves them onto the new slots.
pub async fn set(
    client: &impl GenericClient,
    account: AccountId,
    slots: &WeeklySlots,
    tz: Tz,
) -> Result<(), StoreError> {
    if slots.is_empty() {
        client
            .execute(
                "DELETE FROM queue_slots WHERE x_account_id = $1",
                &[&account],
            )
            .await?;
        return Ok(());
    }
    client
        .execute(
            "INSERT INTO queue_slots (x_account_id, spec, timezone) VALUES ($1, $2, $3)
             ON CONFLICT (x_account_id) DO UPDATE SET spec = $2, timezone = $3",
            &[&account, &slots.to_string(), &tz.name()],
        )
        .await?;
    Ok(())
}

/// `account`'s queue, None when it has no slots.
pub async fn get(
    client: &impl GenericClient,
    account: AccountId,
) -> Result<Option<Queue>, StoreError> {
    let row = client
        .query_opt(
            "SELECT spec, timezone FROM queue_slots WHERE x_account_id = $1",
            &[&account],
        )
        .await?;
    row.map(|r| queue_of(account, r.get("spec"), r.get("timezone")))
        .transpose()
}

/// `account`'s queue; [`Refusal::NoQueue`] (saying how to set one) when it has no slots.
pub async fn require(client: &impl GenericClient, account: AccountId) -> Result<Queue, StoreError> {
    match get(client, account).await? {
        Some(q) => Ok(q),
        None => Err(no_queue(client, account).await),
    }
}

/// Every account's queue, by account id.
pub async fn all(client: &impl GenericClient) -> Result<Vec<Queue>, StoreError> {
    let rows = client
        .query(
            "SELECT x_account_id, spec, timezone FROM queue_slots ORDER BY x_account_id",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| queue_of(r.get("x_account_id"), r.get("spec"), r.get("timezone")))
        .collect()
}

fn queue_of(account: AccountId, spec: String, tz: String) -> Result<Queue, StoreError> {
    let bad = |what: String| DbError::Unexpected(format!("queue of account {account}: {what}"));
    Ok(Queue {
        account,
        slots: spec
            .parse()
            .map_err(|e: chirp_core::slots::SlotsError| bad(e.to_string()))?,
        tz: tz
            .parse()
            .map_err(|_| bad(format!("unknown time zone {tz}")))?,
    })
}

/// Locks `account`'s queue for this transaction; a clear error when it has no slots.
async fn lock(tx: &Transaction<'_>, account: AccountId) -> Result<Queue, StoreError> {
    let row = tx
        .query_opt(
            "SELECT spec, timezone FROM queue_slots WHERE x_account_id = $1 FOR UPDATE",
            &[&account],
        )
        .await?;
    match row {
        Some(r) => queue_of(account, r.get("spec"), r.get("timezone")),
        None => Err(no_queue(tx, account).await),
    }
}

/// The instants at which `account` has a post waiting (queued or not), from `from` on, but
/// for the posts in `except`.
async fn taken(
    client: &impl GenericClient,
    account: AccountId,
    from: DateTime<Utc>,
    except: &[PostId],
) -> Result<HashSet<DateTime<Utc>>, StoreError> {
    let rows = client
        .query(
            "SELECT scheduled_at FROM posts
             WHERE x_account_id = $1 AND status IN ('scheduled', 'publishing')
               AND scheduled_at >= $2 AND NOT id = ANY($3)",
            &[&account, &from, &except],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The first `count` free slots of `queue` from `from` on.
fn first_free(
    queue: &Queue,
    from: DateTime<Utc>,
    taken: &HashSet<DateTime<Utc>>,
    count: usize,
) -> Vec<DateTime<Utc>> {
    // Each waiting post blocks one slot at most: this many slots always hold `count` free.
    queue
        .slots
        .from(from, queue.tz)
        .take(taken.len() + count)
        .filter(|at| !taken.contains(at))
        .take(count)
        .collect()
}

/// Puts draft (or failed, or scheduled) post `id`, locked by the caller, into its account's
/// next free slot from now; returns the slot.
pub(crate) async fn take_slot(
    tx: &Transaction<'_>,
    id: PostId,
    account: AccountId,
) -> Result<DateTime<Utc>, StoreError> {
    let queue = lock(tx, account).await?;
    let now: DateTime<Utc> = tx.query_one("SELECT now()", &[]).await?.get(0);
    let taken = taken(tx, account, now, &[id]).await?;
    let at = *first_free(&queue, now, &taken, 1)
        .first()
        .ok_or_else(|| DbError::Unexpected("a queue with slots has no next slot".into()))?;
    tx.execute(
        "UPDATE posts SET status = 'scheduled', scheduled_at = $2, queued = true, attempts = 0,
                next_attempt_at = NULL, error_message = NULL
         WHERE id = $1",
        &[&id, &at],
    )
    .await?;
    Ok(at)
}

/// Puts new post `id` where `when` says, if that is in the queue: its next free slot, or the
/// slot named (which the unique index refuses if another post waits there).
pub(crate) async fn place(
    tx: &Transaction<'_>,
    id: PostId,
    account: AccountId,
    when: posts::Schedule,
) -> Result<(), StoreError> {
    match when {
        posts::Schedule::Queue => {
            take_slot(tx, id, account).await?;
        }
        posts::Schedule::Slot(_) => {
            tx.execute("UPDATE posts SET queued = true WHERE id = $1", &[&id])
                .await?;
        }
        posts::Schedule::Draft | posts::Schedule::At(_) => {}
    }
    Ok(())
}

/// The slots of `account` from `from` until (not including) `until`, each with the post
/// waiting in it.
pub async fn upcoming(
    client: &impl GenericClient,
    account: AccountId,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<Slot>, StoreError> {
    let Some(queue) = get(client, account).await? else {
        return Ok(Vec::new());
    };
    let times: Vec<DateTime<Utc>> = queue
        .slots
        .from(from, queue.tz)
        .take_while(|at| *at < until)
        .collect();
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM posts
                 WHERE x_account_id = $1 AND status IN ('scheduled', 'publishing')
                   AND scheduled_at = ANY($2)
                 ORDER BY queued DESC, id"
            ),
            &[&account, &times],
        )
        .await?;
    let waiting: Vec<Post> = rows.iter().map(from_row).collect::<Result<_, _>>()?;
    Ok(times
        .into_iter()
        .map(|at| Slot {
            at,
            post: waiting.iter().find(|p| p.scheduled_at == Some(at)).cloned(),
        })
        .collect())
}

/// The next `count` slots of `account` a new post would take, from `from` on.
pub async fn free(
    client: &impl GenericClient,
    account: AccountId,
    from: DateTime<Utc>,
    count: usize,
) -> Result<Vec<DateTime<Utc>>, StoreError> {
    let queue = require(client, account).await?;
    let taken = taken(client, account, from, &[]).await?;
    Ok(first_free(&queue, from, &taken, count))
}

/// "@h has no queue slots", naming the account by its handle.
async fn no_queue(client: &impl GenericClient, account: AccountId) -> StoreError {
    match crate::accounts::handle(client, account).await {
        Ok(h) => StoreError::from(Refusal::NoQueue(h.unwrap_or_else(|| account.to_string()))),
        Err(e) => e,
    }
}

/// Queued posts of `account` that wait at a time that is not one of its slots (after the
/// slots changed), earliest first.
pub async fn off_slot(
    client: &impl GenericClient,
    account: AccountId,
) -> Result<Vec<Post>, StoreError> {
    let Some(queue) = get(client, account).await? else {
        return Ok(Vec::new());
    };
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM posts
                 WHERE x_account_id = $1 AND queued AND status = 'scheduled'
                 ORDER BY scheduled_at, id"
            ),
            &[&account],
        )
        .await?;
    let waiting: Vec<Post> = rows.iter().map(from_row).collect::<Result<_, _>>()?;
    let Some(last) = waiting.last().and_then(|p| p.scheduled_at) else {
        return Ok(Vec::new());
    };
    let first = waiting.first().and_then(|p| p.scheduled_at).unwrap_or(last);
    let slots: HashSet<DateTime<Utc>> = queue
        .slots
        .from(first, queue.tz)
        .take_while(|at| *at <= last)
        .collect();
    Ok(waiting
        .into_iter()
        .filter(|p| p.scheduled_at.is_none_or(|at| !slots.contains(&at)))
        .collect())
}

/// Moves `account`'s queued posts onto its earliest free slots from now, keeping their order
/// (or in a random order, with `shuffle`), so that gaps left by unscheduled or deleted posts
/// close up. Posts scheduled for a time of their own stay where they are. Returns each
/// queued post's move (perhaps to where it was), in slot order.
pub async fn compact(
    client: &mut Object,
    actor: Actor<'_>,
    account: AccountId,
    shuffle: bool,
) -> Result<Vec<Move>, StoreError> {
    let detail = if shuffle {
        "queue shuffled"
    } else {
        "queue compacted"
    };
    let tx = posts::begin(client, actor, Some(detail)).await?;
    let queue = lock(&tx, account).await?;
    let now: DateTime<Utc> = tx.query_one("SELECT now()", &[]).await?.get(0);
    let order = if shuffle {
        "random()"
    } else {
        "scheduled_at, id"
    };
    let was: Vec<(PostId, DateTime<Utc>)> = tx
        .query(
            &format!(
                "SELECT id, scheduled_at FROM posts
                 WHERE x_account_id = $1 AND queued AND status = 'scheduled' AND scheduled_at >= $2
                 ORDER BY {order} FOR UPDATE"
            ),
            &[&account, &now],
        )
        .await?
        .iter()
        .map(|r| (r.get("id"), r.get("scheduled_at")))
        .collect();
    let ids: Vec<PostId> = was.iter().map(|(id, _)| *id).collect();
    let taken = taken(&tx, account, now, &ids).await?;
    let slots = first_free(&queue, now, &taken, ids.len());
    // Out of the index first, so that no move collides with a post not moved yet.
    tx.execute(
        "UPDATE posts SET queued = false WHERE id = ANY($1)",
        &[&ids],
    )
    .await?;
    let mut moved = Vec::with_capacity(ids.len());
    for ((id, from), to) in was.into_iter().zip(slots) {
        tx.execute(
            "UPDATE posts SET scheduled_at = $2, queued = true WHERE id = $1",
            &[&id, &to],
        )
        .await?;
        moved.push(Move { post: id, from, to });
    }
    moved.sort_by_key(|m| m.to);
    tx.commit().await?;
    Ok(moved)
}

/// Where [`compact`] put a queued post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    pub post: PostId,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}
