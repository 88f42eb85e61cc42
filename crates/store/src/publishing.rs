//! The publisher's SQL. Every write is one statement guarded by the lease
//! (`status = 'publishing' AND claimed_by = me`), so a publisher that lost its lease can never
//! overwrite what another one decided. The audit trigger records each change; the actor comes
//! from the publisher's connections (`chirp.actor` set at connect time).

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

use crate::StoreError;
use crate::accounts::USABLE;
use chirp_core::{AccountId, PostId};

/// A post this publisher holds the lease on.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: PostId,
    pub account: AccountId,
    /// The network its account lives on (the adapter that sends it).
    pub network: chirp_core::Network,
    /// The account's id on its network (what a look for a sent part searches).
    pub remote_user_id: String,
    /// Every part in order, the first included (a single post is a thread of one), each with
    /// its id on the network once it is there (a thread resumed part-way).
    pub parts: Vec<ClaimedPart>,
    /// The text of the send whose outcome is unknown (what to look for on the network): the
    /// first part not yet on the network, as it was when that send began.
    pub sent_content: String,
    /// This attempt's number (1 for the first).
    pub attempt: i32,
    /// The last send's outcome is unknown: look on the network before sending.
    pub needs_reconcile: bool,
    /// Since when to look on the account's timeline.
    pub attempt_started_at: DateTime<Utc>,
    /// Rescued from a publisher that stopped: looked for at once, but not sent before this
    /// (its request may still be on the wire).
    pub send_not_before: Option<DateTime<Utc>>,
    pub scheduled_at: Option<DateTime<Utc>>,
    /// Whether any part has files (to upload before it is sent).
    pub has_media: bool,
}

/// One part of a claimed post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedPart {
    pub position: i32,
    pub content: String,
    /// Its id on the network, once it is there.
    pub remote_id: Option<String>,
}

/// Claims up to `limit` due posts: one statement, `FOR UPDATE SKIP LOCKED` so that any number
/// of publishers can run it at once without waiting on or double-taking each other.
pub async fn claim(
    c: &impl GenericClient,
    me: &str,
    app: &str,
    limit: i64,
    lease_ms: i64,
    networks: &[chirp_core::Network],
) -> Result<Vec<Claimed>, StoreError> {
    // Posts of a network this publisher cannot reach wait for one that can.
    let networks: Vec<&str> = networks.iter().map(|n| n.as_str()).collect();
    let rows = c
        .query(
            &format!(
            "WITH due AS (
                 SELECT p.id FROM posts p JOIN x_accounts a ON a.id = p.x_account_id
                 WHERE p.status = 'scheduled'
                   AND (p.scheduled_at IS NULL OR p.scheduled_at <= now())
                   AND (p.next_attempt_at IS NULL OR p.next_attempt_at <= now())
                   AND {USABLE}
                   AND (a.rate_limited_until IS NULL OR a.rate_limited_until <= now())
                   AND a.network = ANY($5)
                 ORDER BY p.scheduled_at NULLS FIRST, p.id
                 LIMIT $2
                 FOR UPDATE OF p SKIP LOCKED
             )
             UPDATE posts p
             SET status = 'publishing', claimed_by = $1, claimed_by_app = $4,
                 claim_expires_at = now() + $3 * interval '1 millisecond',
                 attempts = p.attempts + 1,
                 -- Keep the start of the first unknown attempt: reconcile looks from there.
                 attempt_started_at = CASE WHEN p.needs_reconcile AND p.attempt_started_at IS NOT NULL
                                           THEN p.attempt_started_at ELSE now() END,
                 -- Likewise the text that was sent (of the first part not yet on the
                 -- network): that is what the network may have.
                 sent_content = CASE WHEN p.needs_reconcile AND p.sent_content IS NOT NULL
                                     THEN p.sent_content
                                     ELSE coalesce((SELECT pp.content FROM post_parts pp
                                                    WHERE pp.post_id = p.id AND pp.remote_id IS NULL
                                                    ORDER BY pp.position LIMIT 1), p.content) END
             FROM due, x_accounts a
             WHERE p.id = due.id AND a.id = p.x_account_id
             RETURNING p.id, p.x_account_id AS account, a.network, a.remote_user_id, p.attempts,
                       p.needs_reconcile, p.attempt_started_at, p.scheduled_at, p.sent_content,
                       p.send_not_before,
                       EXISTS (SELECT 1 FROM part_media pm WHERE pm.post_id = p.id) AS media"
            ),
            &[&me, &limit, &(lease_ms as f64), &app, &networks],
        )
        .await?;
    let ids: Vec<PostId> = rows.iter().map(|r| r.get("id")).collect();
    let mut parts: std::collections::HashMap<PostId, Vec<ClaimedPart>> =
        std::collections::HashMap::new();
    if !ids.is_empty() {
        for r in c
            .query(
                "SELECT post_id, position, content, remote_id FROM post_parts
                 WHERE post_id = ANY($1) ORDER BY post_id, position",
                &[&ids],
            )
            .await?
        {
            parts
                .entry(r.get("post_id"))
                .or_default()
                .push(ClaimedPart {
                    position: r.get("position"),
                    content: r.get("content"),
                    remote_id: r.get("remote_id"),
                });
        }
    }
    rows.iter()
        .map(|r| {
            Ok(Claimed {
                id: r.get("id"),
                account: r.get("account"),
                network: crate::accounts::network_from(r.get("network"))?,
                remote_user_id: r.get("remote_user_id"),
                parts: parts.remove(&r.get::<_, PostId>("id")).unwrap_or_default(),
                attempt: r.get("attempts"),
                needs_reconcile: r.get("needs_reconcile"),
                attempt_started_at: r.get("attempt_started_at"),
                send_not_before: r.get("send_not_before"),
                scheduled_at: r.get("scheduled_at"),
                sent_content: r.get("sent_content"),
                has_media: r.get("media"),
            })
        })
        .collect()
}

/// One part is on the network: stores its id (before the next part is sent) and audits it,
/// under the lease. The unknown outcome, if there was one, was about this part: settled.
/// False when the lease was lost or the id already belongs to another post or part.
pub async fn mark_part_sent(
    c: &mut deadpool_postgres::Object,
    me: &str,
    id: PostId,
    position: i32,
    of: usize,
    remote_id: &str,
) -> Result<bool, StoreError> {
    let tx = c.transaction().await?;
    let held = tx
        .query_opt(
            "UPDATE posts SET needs_reconcile = false,
                    -- What goes out next is the next part, as it is now.
                    sent_content = coalesce((SELECT pp.content FROM post_parts pp
                                             WHERE pp.post_id = $1 AND pp.position > $4
                                             ORDER BY pp.position LIMIT 1), sent_content)
             WHERE id = $1 AND status = 'publishing' AND claimed_by = $2
               AND NOT EXISTS (SELECT 1 FROM post_parts pp WHERE pp.remote_id = $3
                               AND NOT (pp.post_id = $1 AND pp.position = $4))
             RETURNING attempts,
                       (SELECT initcap(a.network) FROM x_accounts a WHERE a.id = x_account_id)
                           AS network",
            &[&id, &me, &remote_id, &position],
        )
        .await?;
    let Some(held) = held else {
        return Ok(false);
    };
    // Part 1's id and time reach the seed's columns through the trigger.
    let n = tx
        .execute(
            "UPDATE post_parts SET remote_id = $3, posted_at = now()
             WHERE post_id = $1 AND position = $2 AND remote_id IS NULL",
            &[&id, &position, &remote_id],
        )
        .await?;
    if n != 1 {
        return Ok(false);
    }
    let attempt: i32 = held.get("attempts");
    let network: String = held.get("network");
    tx.execute(
        "INSERT INTO post_events (post_id, event, from_status, to_status, actor, detail, attempt)
         VALUES ($1, 'part', 'publishing', 'publishing',
                 coalesce(nullif(current_setting('chirp.actor', true), ''), 'sql:' || current_user),
                 $2, $3)",
        &[
            &id,
            &format!("part {position}/{of} on {network} as {remote_id}"),
            &attempt,
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Every part is on the network (each id stored as it went): the post is posted.
pub async fn finish_thread(
    c: &impl GenericClient,
    me: &str,
    id: PostId,
) -> Result<bool, StoreError> {
    let n = c
        .execute(
            "UPDATE posts SET status = 'posted', error_message = NULL, needs_reconcile = false,
                    next_attempt_at = NULL, claimed_by = NULL, claim_expires_at = NULL
             WHERE id = $1 AND status = 'publishing' AND claimed_by = $2
               AND NOT EXISTS (SELECT 1 FROM post_parts pp WHERE pp.post_id = $1
                               AND pp.remote_id IS NULL)",
            &[&id, &me],
        )
        .await?;
    Ok(n == 1)
}

/// Hands back posts whose publisher died (none of its connections is left) or whose lease
/// expired (it hung, or its host vanished). Nobody knows whether X received them, so they are
/// looked for on the network at once (those there are recorded), and one not found is sent
/// only after `grace_ms` (a request still on the wire lands meanwhile; a live publisher never
/// starts a send it could not finish by then), looked for again first.
pub async fn rescue_expired(
    c: &impl GenericClient,
    grace_ms: i64,
) -> Result<Vec<PostId>, StoreError> {
    let rows = c
        .query(
            "UPDATE posts p SET status = 'scheduled', claimed_by = NULL, claim_expires_at = NULL,
                    needs_reconcile = true,
                    next_attempt_at = now(),
                    send_not_before = now() + $1 * interval '1 millisecond',
                    error_message = format('a publisher stopped while sending it: checking %s before sending again',
                                           (SELECT initcap(a.network) FROM x_accounts a
                                            WHERE a.id = p.x_account_id))
             WHERE p.status = 'publishing'
               AND (p.claim_expires_at < now()
                    OR (p.claimed_by_app IS NOT NULL
                        AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                                        WHERE a.application_name = p.claimed_by_app)))
             RETURNING p.id",
            &[&(grace_ms as f64)],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// A forced stop: hands back every post `me` holds, to be looked for on the network at once
/// and sent (if not there) only after `grace_ms`.
pub async fn release_claims(
    c: &impl GenericClient,
    me: &str,
    grace_ms: i64,
) -> Result<Vec<PostId>, StoreError> {
    let rows = c
        .query(
            "UPDATE posts p SET status = 'scheduled', claimed_by = NULL, claim_expires_at = NULL,
                    needs_reconcile = true,
                    next_attempt_at = now(),
                    send_not_before = now() + $2 * interval '1 millisecond',
                    error_message = format('its publisher was stopped while sending it: checking %s before sending again',
                                           (SELECT initcap(a.network) FROM x_accounts a
                                            WHERE a.id = p.x_account_id))
             WHERE p.status = 'publishing' AND p.claimed_by = $1
             RETURNING p.id",
            &[&me, &(grace_ms as f64)],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The heartbeat: extends the lease of each of `posts` that `me` still holds, by `lease_ms`
/// from now. Returns those posts; one that is missing was taken from `me` (rescued or
/// released). Only the posts the publisher knows it holds: a claim whose answer was lost (the
/// connection died after the server committed it) is not kept alive forever by a publisher
/// that never works on it, but runs out and is rescued like any other.
pub async fn extend_leases(
    c: &impl GenericClient,
    me: &str,
    posts: &[PostId],
    lease_ms: i64,
) -> Result<Vec<PostId>, StoreError> {
    let rows = c
        .query(
            "UPDATE posts SET claim_expires_at = now() + $2 * interval '1 millisecond'
             WHERE status = 'publishing' AND claimed_by = $1 AND id = ANY($3)
             RETURNING id",
            &[&me, &(lease_ms as f64), &posts],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// When a publisher has something to do, in milliseconds from now by the database's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wake {
    /// Until the next post is due (its time, back-off or rate limit): None, nothing is.
    pub due_ms: Option<i64>,
    /// Until anything needs looking at: a post due, a lease expiring, or (while posts are in
    /// flight anywhere) the next check for publishers that died.
    pub wake_ms: Option<i64>,
}

pub async fn next_wake(c: &impl GenericClient) -> Result<Wake, StoreError> {
    let row = c
        .query_one(
            &format!(
                "WITH due AS (
                 SELECT min(greatest(coalesce(p.scheduled_at, '-infinity'),
                                     coalesce(p.next_attempt_at, '-infinity'),
                                     coalesce(a.rate_limited_until, '-infinity'))) AS at
                 FROM posts p JOIN x_accounts a ON a.id = p.x_account_id
                 WHERE p.status = 'scheduled' AND {USABLE}
             )
             SELECT (EXTRACT(EPOCH FROM ((SELECT at FROM due) - clock_timestamp())) * 1000)::float8
                        AS due_ms,
                    (EXTRACT(EPOCH FROM (least(
                        (SELECT at FROM due),
                        (SELECT min(claim_expires_at) FROM posts WHERE status = 'publishing'),
                        -- While posts are in flight, look each second for publishers that died.
                        (SELECT clock_timestamp() + interval '1 second' FROM posts
                         WHERE status = 'publishing' AND claimed_by_app IS NOT NULL LIMIT 1)
                    ) - clock_timestamp())) * 1000)::float8 AS wake_ms"
            ),
            &[],
        )
        .await?;
    // -infinity (a post with no time) means due now.
    let ms = |v: Option<f64>| {
        v.map(|m| {
            if m.is_finite() {
                m.ceil().max(0.0) as i64
            } else {
                0
            }
        })
    };
    Ok(Wake {
        due_ms: ms(row.get("due_ms")),
        wake_ms: ms(row.get("wake_ms")),
    })
}

/// The last part of a post is on the network: the post to mark posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastPart {
    pub post: PostId,
    pub position: i32,
    /// How many parts the post has (a thread's last part is audited like the others).
    pub of: i32,
    pub remote_id: String,
}

/// The last part of each of several posts is on the network: its id stored and the post
/// posted, in one statement (the publisher batches these under load). Returns the posts
/// written; the others' leases were lost.
pub async fn mark_posted_many(
    c: &impl GenericClient,
    me: &str,
    posted: &[LastPart],
) -> Result<Vec<PostId>, StoreError> {
    let ids: Vec<PostId> = posted.iter().map(|l| l.post).collect();
    let positions: Vec<i32> = posted.iter().map(|l| l.position).collect();
    let of: Vec<i32> = posted.iter().map(|l| l.of).collect();
    let remote: Vec<&str> = posted.iter().map(|l| l.remote_id.as_str()).collect();
    let rows = c
        .query(
            "WITH done AS (
                 UPDATE posts p SET status = 'posted',
                        -- The seed's columns say it at once (the trigger would, a moment later,
                        -- after the audit and the metrics schedule had looked).
                        x_tweet_id = CASE WHEN u.position = 1 AND a.network = 'x' THEN u.remote_id
                                          ELSE p.x_tweet_id END,
                        posted_at = CASE WHEN u.position = 1 THEN now() ELSE p.posted_at END,
                        error_message = NULL, needs_reconcile = false, next_attempt_at = NULL,
                        claimed_by = NULL, claim_expires_at = NULL
                 FROM unnest($2::int[], $3::int[], $4::int[], $5::text[])
                          AS u(id, position, of, remote_id),
                      x_accounts a
                 WHERE p.id = u.id AND a.id = p.x_account_id
                   AND p.status = 'publishing' AND p.claimed_by = $1
                   -- A network's id belongs to one part (a unique index says so too).
                   AND NOT EXISTS (SELECT 1 FROM post_parts o WHERE o.remote_id = u.remote_id
                                   AND NOT (o.post_id = p.id AND o.position = u.position))
                   -- Every part before it is on the network already.
                   AND NOT EXISTS (SELECT 1 FROM post_parts o WHERE o.post_id = p.id
                                   AND o.position <> u.position AND o.remote_id IS NULL)
                 RETURNING p.id, p.attempts, u.position, u.of, u.remote_id,
                           initcap(a.network) AS network
             ), parts AS (
                 UPDATE post_parts pp SET remote_id = d.remote_id, posted_at = now()
                 FROM done d WHERE pp.post_id = d.id AND pp.position = d.position
                 RETURNING pp.post_id
             ), audit AS (
                 INSERT INTO post_events (post_id, event, from_status, to_status, actor, detail,
                                          attempt)
                 SELECT d.id, 'part', 'publishing', 'publishing',
                        coalesce(nullif(current_setting('chirp.actor', true), ''),
                                 'sql:' || current_user),
                        format('part %s/%s on %s as %s', d.position, d.of, d.network, d.remote_id),
                        d.attempts
                 FROM done d WHERE d.of > 1
             )
             SELECT id FROM done",
            &[&me, &ids, &positions, &of, &remote],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// On X for certain, but its id could not be found (X refused a resend as a duplicate after
/// an unknown outcome): posted, with `note` saying so.
pub async fn mark_posted_without_id(
    c: &impl GenericClient,
    me: &str,
    id: PostId,
    note: &str,
) -> Result<bool, StoreError> {
    let n = c
        .execute(
            "UPDATE posts SET status = 'posted', posted_at = now(), error_message = $3,
                    needs_reconcile = false, next_attempt_at = NULL,
                    claimed_by = NULL, claim_expires_at = NULL
             WHERE id = $1 AND status = 'publishing' AND claimed_by = $2",
            &[&id, &me, &note],
        )
        .await?;
    Ok(n == 1)
}

/// The post that already has network id `remote_id` on one of its parts, other than `id`.
pub async fn remote_id_owner(
    c: &impl GenericClient,
    remote_id: &str,
    id: PostId,
) -> Result<Option<PostId>, StoreError> {
    Ok(c.query_opt(
        "SELECT post_id FROM post_parts WHERE remote_id = $1 AND post_id <> $2 LIMIT 1",
        &[&remote_id, &id],
    )
    .await?
    .map(|r| r.get(0)))
}

pub async fn mark_failed(
    c: &impl GenericClient,
    me: &str,
    id: PostId,
    reason: &str,
) -> Result<bool, StoreError> {
    let n = c
        .execute(
            "UPDATE posts SET status = 'failed', error_message = $3, next_attempt_at = NULL,
                    claimed_by = NULL, claim_expires_at = NULL
             WHERE id = $1 AND status = 'publishing' AND claimed_by = $2",
            &[&id, &me, &reason],
        )
        .await?;
    Ok(n == 1)
}

/// Back to the queue until `at`. `unknown`: reconcile before sending again. `uncount`: this
/// attempt does not count (rate limit, shutdown, no token).
pub async fn requeue(
    c: &impl GenericClient,
    me: &str,
    id: PostId,
    at: Option<DateTime<Utc>>,
    reason: Option<&str>,
    unknown: bool,
    uncount: bool,
) -> Result<bool, StoreError> {
    let n = c
        .execute(
            "UPDATE posts SET status = 'scheduled', next_attempt_at = $3,
                    error_message = coalesce($4, error_message),
                    needs_reconcile = needs_reconcile OR $5,
                    attempts = CASE WHEN $6 THEN greatest(attempts - 1, 0) ELSE attempts END,
                    claimed_by = NULL, claim_expires_at = NULL
             WHERE id = $1 AND status = 'publishing' AND claimed_by = $2",
            &[&id, &me, &at, &reason, &unknown, &uncount],
        )
        .await?;
    Ok(n == 1)
}

/// The account is out of credits: holds every post of the account until the user resumes
/// it ([`crate::accounts::resume`]), and gives this one back to the queue, in one transaction.
/// The attempt does not count. False when the lease was lost (then nothing is written).
pub async fn out_of_credits(
    c: &mut deadpool_postgres::Object,
    me: &str,
    id: PostId,
    account: AccountId,
    reason: &str,
) -> Result<bool, StoreError> {
    let tx = c.transaction().await?;
    if !requeue(&tx, me, id, None, Some(reason), false, true).await? {
        return Ok(false);
    }
    tx.execute(
        "UPDATE x_accounts SET out_of_credits_at = coalesce(out_of_credits_at, now()),
                out_of_credits_reason = $2
         WHERE id = $1",
        &[&account, &reason],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// X's window is exhausted: holds every post of the account until it resets, and gives this
/// one back to the queue until then, in one transaction (both or neither). The attempt does
/// not count. False when the lease was lost (then nothing is written).
pub async fn rate_limited(
    c: &mut deadpool_postgres::Object,
    me: &str,
    id: PostId,
    account: AccountId,
    until: DateTime<Utc>,
    reason: &str,
) -> Result<bool, StoreError> {
    let tx = c.transaction().await?;
    if !requeue(&tx, me, id, Some(until), Some(reason), false, true).await? {
        return Ok(false);
    }
    tx.execute(
        "UPDATE x_accounts SET rate_limited_until = greatest(coalesce(rate_limited_until, $2), $2)
         WHERE id = $1",
        &[&account, &until],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
