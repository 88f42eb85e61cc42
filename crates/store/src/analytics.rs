//! How posts did: metrics read from X, one row per post and read (`post_analytics`), and the
//! sums the stats screen and `chirp stats` show. Which posts are due for a read is in the
//! posts table (`metrics_due_at`, scheduled by a trigger when a post goes out); collectors on
//! any number of hosts take due posts with `SKIP LOCKED` and a provisional next time, so a
//! read is never made twice at once and a collector that dies leaves nothing stuck.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::GenericClient;

use crate::StoreError;
use crate::accounts::USABLE;
use chirp_core::{AccountId, Metrics, PostId};

/// A posted post whose metrics are to be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToRead {
    pub post: PostId,
    pub account: AccountId,
    pub x_id: String,
    pub posted_at: DateTime<Utc>,
}

const TO_READ: &str = "p.id, p.x_account_id, p.x_tweet_id, \
     coalesce(p.posted_at, p.updated_at) AS posted_at";

fn to_read(r: &tokio_postgres::Row) -> ToRead {
    ToRead {
        post: r.get("id"),
        account: r.get("x_account_id"),
        x_id: r.get("x_tweet_id"),
        posted_at: r.get("posted_at"),
    }
}

/// Takes up to `limit` posts due for a read, oldest due first, and moves their next read
/// `hold_ms` ahead: if this collector dies, another reads them then.
pub async fn take_due(
    c: &impl GenericClient,
    limit: i64,
    hold_ms: i64,
) -> Result<Vec<ToRead>, StoreError> {
    let rows = c
        .query(
            &format!(
                "WITH due AS (
                     SELECT p.id FROM posts p JOIN x_accounts a ON a.id = p.x_account_id
                     WHERE p.metrics_due_at <= now() AND p.status = 'posted'
                       AND p.x_tweet_id IS NOT NULL AND p.x_deleted_at IS NULL
                       AND p.gone_from_x_at IS NULL AND {USABLE}
                     ORDER BY p.metrics_due_at, p.id
                     LIMIT $1
                     FOR UPDATE OF p SKIP LOCKED
                 )
                 UPDATE posts p SET metrics_due_at = now() + $2 * interval '1 millisecond'
                 FROM due WHERE p.id = due.id
                 RETURNING {TO_READ}"
            ),
            &[&limit, &(hold_ms as f64)],
        )
        .await?;
    Ok(rows.iter().map(to_read).collect())
}

/// When the next read of any post is due (None: none is scheduled).
pub async fn next_due(c: &impl GenericClient) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(c.query_one(
        &format!(
            "SELECT min(p.metrics_due_at) FROM posts p JOIN x_accounts a ON a.id = p.x_account_id
             WHERE p.metrics_due_at IS NOT NULL AND p.status = 'posted' AND {USABLE}"
        ),
        &[],
    )
    .await?
    .get(0))
}

/// The posts a read on demand covers: posted since `since` (of one account, or all), still
/// on X as far as chirp knows.
pub async fn posted_since(
    c: &impl GenericClient,
    account: Option<AccountId>,
    since: DateTime<Utc>,
) -> Result<Vec<ToRead>, StoreError> {
    let rows = c
        .query(
            &format!(
                "SELECT {TO_READ} FROM posts p
                 WHERE p.status = 'posted' AND p.x_tweet_id IS NOT NULL
                   AND p.x_deleted_at IS NULL AND p.gone_from_x_at IS NULL
                   AND coalesce(p.posted_at, p.updated_at) >= $1
                   AND ($2::int IS NULL OR p.x_account_id = $2)
                 ORDER BY p.x_account_id, p.id"
            ),
            &[&since, &account],
        )
        .await?;
    Ok(rows.iter().map(to_read).collect())
}

/// What one read found.
#[derive(Debug, Clone, Default)]
pub struct Read {
    pub found: Vec<(PostId, Metrics)>,
    /// Posts X no longer has.
    pub gone: Vec<PostId>,
    /// The next scheduled read of each post (None: the schedule is over). Posts read on
    /// demand are left out and keep their schedule.
    pub next: Vec<(PostId, Option<DateTime<Utc>>)>,
}

/// Stores a read in one transaction, then tells listeners once (op `metrics`).
pub async fn record(c: &mut deadpool_postgres::Object, read: &Read) -> Result<(), StoreError> {
    let tx = c.transaction().await?;
    let reads: Vec<(PostId, Option<DateTime<Utc>>, &Metrics)> =
        read.found.iter().map(|(p, m)| (*p, None, m)).collect();
    insert_reads(&tx, &reads).await?;
    let (ids, next): (Vec<PostId>, Vec<Option<DateTime<Utc>>>) = read.next.iter().copied().unzip();
    tx.execute(
        "UPDATE posts p SET metrics_due_at = u.next
         FROM unnest($1::int[], $2::timestamptz[]) AS u(id, next) WHERE p.id = u.id",
        &[&ids, &next],
    )
    .await?;
    tx.execute(
        "UPDATE posts SET gone_from_x_at = now(), metrics_due_at = NULL WHERE id = ANY($1)",
        &[&read.gone],
    )
    .await?;
    tx.execute(
        "SELECT pg_notify('chirp_posts', json_build_object(
             'op', 'metrics', 'id', 0, 'status', 'posted', 'account', 0)::text)",
        &[],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Stores reads, one statement for all: (post, when it was read — None: now —, numbers).
pub(crate) async fn insert_reads(
    c: &impl GenericClient,
    reads: &[(PostId, Option<DateTime<Utc>>, &Metrics)],
) -> Result<(), StoreError> {
    if reads.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&Metrics) -> i64| reads.iter().map(|(_, _, m)| f(m)).collect::<Vec<i64>>();
    let opt = |f: fn(&Metrics) -> Option<i64>| {
        reads
            .iter()
            .map(|(_, _, m)| f(m))
            .collect::<Vec<Option<i64>>>()
    };
    let posts: Vec<PostId> = reads.iter().map(|r| r.0).collect();
    let at: Vec<Option<DateTime<Utc>>> = reads.iter().map(|r| r.1).collect();
    let private: Vec<Option<serde_json::Value>> =
        reads.iter().map(|(_, _, m)| m.private.clone()).collect();
    c.execute(
        "INSERT INTO post_analytics (post_id, fetched_at, impressions, likes, reposts, replies,
             quotes, bookmarks, url_clicks, profile_clicks, private)
         SELECT post_id, coalesce(at, now()), impressions, likes, reposts, replies, quotes,
                bookmarks, url_clicks, profile_clicks, private
         FROM unnest($1::int[], $2::timestamptz[], $3::bigint[], $4::bigint[], $5::bigint[],
                     $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[],
                     $11::jsonb[])
              AS u(post_id, at, impressions, likes, reposts, replies, quotes, bookmarks,
                   url_clicks, profile_clicks, private)",
        &[
            &posts,
            &at,
            &col(|m| m.impressions),
            &col(|m| m.likes),
            &col(|m| m.reposts),
            &col(|m| m.replies),
            &col(|m| m.quotes),
            &col(|m| m.bookmarks),
            &opt(|m| m.url_clicks),
            &opt(|m| m.profile_clicks),
            &private,
        ],
    )
    .await?;
    Ok(())
}

/// Moves the next read of `posts` to `at` (X said wait, or could not answer).
pub async fn postpone(
    c: &impl GenericClient,
    posts: &[PostId],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    c.execute(
        "UPDATE posts SET metrics_due_at = $2 WHERE id = ANY($1) AND metrics_due_at IS NOT NULL",
        &[&posts, &at],
    )
    .await?;
    Ok(())
}

/// The [`METRICS`] columns of a row.
fn metrics_of(r: &tokio_postgres::Row) -> Metrics {
    Metrics {
        impressions: r.get("impressions"),
        likes: r.get("likes"),
        reposts: r.get("reposts"),
        replies: r.get("replies"),
        quotes: r.get("quotes"),
        bookmarks: r.get("bookmarks"),
        url_clicks: r.get("url_clicks"),
        profile_clicks: r.get("profile_clicks"),
        private: r.get("private"),
    }
}

const METRICS: &str =
    "impressions, likes, reposts, replies, quotes, bookmarks, url_clicks, profile_clicks, private";

/// The latest read of each of `posts` that has one.
pub async fn latest(
    c: &impl GenericClient,
    posts: &[PostId],
) -> Result<HashMap<PostId, Metrics>, StoreError> {
    let rows = c
        .query(
            &format!(
                "SELECT DISTINCT ON (post_id) post_id, {METRICS} FROM post_analytics
                 WHERE post_id = ANY($1) ORDER BY post_id, fetched_at DESC, id DESC"
            ),
            &[&posts],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("post_id"), metrics_of(r)))
        .collect())
}

/// Each post's reads, oldest first.
pub type Histories = HashMap<PostId, Vec<(DateTime<Utc>, Metrics)>>;

/// Every read of each of `posts` that has any, oldest first.
pub async fn histories(c: &impl GenericClient, posts: &[PostId]) -> Result<Histories, StoreError> {
    let mut out = Histories::new();
    if posts.is_empty() {
        return Ok(out);
    }
    let rows = c
        .query(
            &format!(
                "SELECT post_id, fetched_at, {METRICS} FROM post_analytics
                 WHERE post_id = ANY($1) ORDER BY post_id, fetched_at, id"
            ),
            &[&posts],
        )
        .await?;
    for r in &rows {
        out.entry(r.get("post_id"))
            .or_default()
            .push((r.get("fetched_at"), metrics_of(r)));
    }
    Ok(out)
}

/// Every read of a post, oldest first.
pub async fn history(
    c: &impl GenericClient,
    post: PostId,
) -> Result<Vec<(DateTime<Utc>, Metrics)>, StoreError> {
    let rows = c
        .query(
            &format!(
                "SELECT fetched_at, {METRICS} FROM post_analytics
                 WHERE post_id = $1 ORDER BY fetched_at, id"
            ),
            &[&post],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("fetched_at"), metrics_of(r)))
        .collect())
}

/// A post as the stats show it: what it said, when it went out, its latest numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct PostStats {
    pub post: PostId,
    pub account: AccountId,
    pub content: String,
    pub posted_at: DateTime<Utc>,
    pub gone: bool,
    pub metrics: Option<Metrics>,
}

/// Every post that went out since `since` (of one account, or all), with its latest numbers,
/// newest first. The day-by-day sums and the best posts are made from this.
pub async fn posted(
    c: &impl GenericClient,
    account: Option<AccountId>,
    since: DateTime<Utc>,
) -> Result<Vec<PostStats>, StoreError> {
    let rows = c
        .query(
            &format!(
                "SELECT p.id, p.x_account_id, p.content,
                        coalesce(p.posted_at, p.updated_at) AS posted_at,
                        p.gone_from_x_at IS NOT NULL OR p.x_deleted_at IS NOT NULL AS gone,
                        m.post_id IS NOT NULL AS read, {}
                 FROM posts p
                 LEFT JOIN LATERAL (
                     SELECT * FROM post_analytics a WHERE a.post_id = p.id
                     ORDER BY a.fetched_at DESC, a.id DESC LIMIT 1
                 ) m ON true
                 WHERE p.status = 'posted' AND coalesce(p.posted_at, p.updated_at) >= $1
                   AND ($2::int IS NULL OR p.x_account_id = $2)
                 ORDER BY coalesce(p.posted_at, p.updated_at) DESC, p.id DESC",
                METRICS
                    .split(", ")
                    .map(|c| format!("m.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            &[&since, &account],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| PostStats {
            post: r.get("id"),
            account: r.get("x_account_id"),
            content: r.get("content"),
            posted_at: r.get("posted_at"),
            gone: r.get("gone"),
            metrics: r.get::<_, bool>("read").then(|| metrics_of(r)),
        })
        .collect())
}

/// What an account did on X since the start of a period, to be priced: the text of every
/// part it sent, the posts it deleted, the files it described, the metrics it read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    pub parts: Vec<String>,
    pub deletes: u64,
    pub metadata: u64,
    pub reads: u64,
}

/// Each account's usage since `since`.
pub async fn usage(
    c: &impl GenericClient,
    since: DateTime<Utc>,
) -> Result<HashMap<AccountId, Usage>, StoreError> {
    let mut out: HashMap<AccountId, Usage> = HashMap::new();
    // Every part sent, each with its own time.
    for r in c
        .query(
            "SELECT p.x_account_id, pp.content FROM post_parts pp JOIN posts p ON p.id = pp.post_id
             WHERE pp.remote_id IS NOT NULL AND pp.posted_at >= $1",
            &[&since],
        )
        .await?
    {
        out.entry(r.get("x_account_id"))
            .or_default()
            .parts
            .push(r.get("content"));
    }
    let counts = c
        .query(
            "SELECT p.x_account_id, 'delete' AS what, count(*) AS n FROM post_parts pp JOIN posts p ON p.id = pp.post_id
             WHERE pp.remote_deleted_at >= $1 GROUP BY 1
             UNION ALL
             SELECT p.x_account_id, 'read', count(*) FROM post_analytics a JOIN posts p ON p.id = a.post_id
             WHERE a.fetched_at >= $1 GROUP BY 1
             UNION ALL
             SELECT p.x_account_id, 'metadata', count(*) FROM part_media pm
             JOIN posts p ON p.id = pm.post_id
             WHERE p.posted_at >= $1 AND p.x_tweet_id IS NOT NULL
               AND coalesce(pm.alt_text, '') <> '' GROUP BY 1",
            &[&since],
        )
        .await?;
    for r in counts {
        let n = u64::try_from(r.get::<_, i64>("n")).unwrap_or(0);
        let u = out.entry(r.get("x_account_id")).or_default();
        match r.get::<_, &str>("what") {
            "delete" => u.deletes += n,
            "read" => u.reads += n,
            _ => u.metadata += n,
        }
    }
    Ok(out)
}

/// One day's sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Day {
    pub day: NaiveDate,
    pub posts: i64,
    pub impressions: i64,
    pub engagements: i64,
}

/// Day by day in `tz` over the `days` days ending with `today` (oldest first, every day
/// present): the posts that went out that day and what they have done since.
pub fn daily(posts: &[PostStats], tz: chrono_tz::Tz, today: NaiveDate, days: u32) -> Vec<Day> {
    let first = today - chrono::Days::new(u64::from(days.saturating_sub(1)));
    let mut out: Vec<Day> = first
        .iter_days()
        .take(days as usize)
        .map(|day| Day {
            day,
            posts: 0,
            impressions: 0,
            engagements: 0,
        })
        .collect();
    for p in posts {
        let day = p.posted_at.with_timezone(&tz).date_naive();
        let Some(d) = out.iter_mut().find(|d| d.day == day) else {
            continue;
        };
        d.posts += 1;
        if let Some(m) = &p.metrics {
            d.impressions += m.impressions;
            d.engagements += m.engagements();
        }
    }
    out
}

/// The `n` posts people engaged with most (then by impressions), among those with numbers.
pub fn best(posts: &[PostStats], n: usize) -> Vec<&PostStats> {
    let mut with: Vec<&PostStats> = posts.iter().filter(|p| p.metrics.is_some()).collect();
    let key = |p: &PostStats| {
        p.metrics
            .as_ref()
            .map_or((0, 0), |m| (m.engagements(), m.impressions))
    };
    with.sort_by(|a, b| key(b).cmp(&key(a)).then(b.posted_at.cmp(&a.posted_at)));
    with.truncate(n);
    with
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(id: PostId, at: &str, likes: Option<i64>) -> PostStats {
        PostStats {
            post: id,
            account: 1,
            content: format!("post {id}"),
            posted_at: at.parse().unwrap(),
            gone: false,
            metrics: likes.map(|l| Metrics {
                impressions: l * 10,
                likes: l,
                ..Metrics::default()
            }),
        }
    }

    #[test]
    fn days_are_the_users_days_and_none_is_missing() {
        let tz: chrono_tz::Tz = "America/New_York".parse().unwrap();
        let posts = [
            // 02:00 UTC on the 27th is the evening of the 26th in New York.
            post(1, "2026-11-27T02:00:00Z", Some(3)),
            post(2, "2026-11-27T15:00:00Z", Some(1)),
            post(3, "2026-11-27T16:00:00Z", None),
            post(4, "2026-10-01T16:00:00Z", Some(9)),
        ];
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let days = daily(&posts, tz, today, 3);
        let got: Vec<(u32, i64, i64, i64)> = days
            .iter()
            .map(|d| {
                use chrono::Datelike;
                (d.day.day(), d.posts, d.impressions, d.engagements)
            })
            .collect();
        assert_eq!(got, vec![(25, 0, 0, 0), (26, 1, 30, 3), (27, 2, 10, 1)]);
    }

    #[test]
    fn the_best_posts_are_those_people_engaged_with_most() {
        let posts = [
            post(1, "2026-11-20T10:00:00Z", Some(3)),
            post(2, "2026-11-21T10:00:00Z", None),
            post(3, "2026-11-22T10:00:00Z", Some(7)),
            post(4, "2026-11-23T10:00:00Z", Some(3)),
        ];
        let ids: Vec<PostId> = best(&posts, 3).iter().map(|p| p.post).collect();
        // A tie goes to the newer post; a post without numbers is not ranked.
        assert_eq!(ids, vec![3, 4, 1]);
    }
}
