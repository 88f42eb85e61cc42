//! Metrics benchmark: the collector reading 10,000 posts of 10 accounts from the fake X on
//! loopback (with a throwaway PostgreSQL cluster), a send falling due in the middle of it,
//! and the queries the stats screen runs over 30,000 reads.
//!
//!     cargo bench -p chirp-publisher --bench bench_metrics
//!
//! Prints figures; asserts nothing about time.
// Tests and benchmarks stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use chirp_fake_x::{FakeConfig, FakeMetrics, FakeX};
use chirp_publisher::{Event, Options};
use chirp_store::analytics;
use chirp_store::posts::{self, Actor};
use chirp_store::{Cluster, Db};
use chirp_testing::publisher::Running;
use chrono::Utc;

const ACCOUNTS: usize = 10;
const PER_ACCOUNT: usize = 1000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
    let cluster = Cluster::new(dir.path().join("pg"))?;
    cluster.ensure_running(&["max_connections = 200"])?;
    chirp_store::create_database(&cluster, "bench").await?;
    let db = Db::from_config(cluster.pg_config("bench"), None);
    db.migrate().await?;
    println!(
        "machine: {} cores; PostgreSQL durable defaults (fsync on)",
        std::thread::available_parallelism()?.get()
    );
    let fake = FakeX::start(
        FakeConfig {
            // Enough reads for every request of the run: the point is the collector's pace.
            lookups_per_window: 100_000,
            ..FakeConfig::default()
        },
        0,
    )
    .await?;
    // 10 accounts, 1,000 posts each on X and here, posted two hours ago: all due.
    let mut accounts_made = Vec::new();
    let c = db.client().await?;
    for a in 0..ACCOUNTS {
        let user = format!("{}", 5000 + a);
        let (id, _, _) = chirp_testing::connect_account_as(
            &db,
            &fake,
            &user,
            &format!("user{user}"),
            chrono::Duration::hours(2),
        )
        .await;
        accounts_made.push(id);
        let mut ids = Vec::with_capacity(PER_ACCOUNT);
        let mut x_ids = Vec::with_capacity(PER_ACCOUNT);
        let mut texts = Vec::with_capacity(PER_ACCOUNT);
        for i in 0..PER_ACCOUNT {
            let text = format!("account {a} post {i}");
            let x = fake.seed_post(&user, &text);
            fake.set_metrics(
                &x,
                FakeMetrics {
                    impressions: 10 * i as u64,
                    likes: i as u64 % 50,
                    ..FakeMetrics::default()
                },
            );
            ids.push(id);
            x_ids.push(x);
            texts.push(text);
        }
        c.execute(
            "INSERT INTO posts (x_account_id, content, status, x_tweet_id, posted_at, metrics_due_at)
             SELECT a, t, 'posted', x, now() - interval '2 hours', now() - interval '1 hour'
             FROM unnest($1::int[], $2::text[], $3::text[]) AS u(a, t, x)",
            &[&ids, &texts, &x_ids],
        )
        .await?;
    }
    drop(c);
    let mut p = Running::start(&db, &fake, Options::default(), Duration::from_secs(30));
    // A send due while the collector is busy: how late does it go out?
    let send_at = Utc::now() + chrono::Duration::milliseconds(300);
    let post = {
        let mut c = db.client().await?;
        posts::create(
            &mut c,
            Actor("bench"),
            accounts_made[0],
            "due mid-read",
            Some(send_at),
        )
        .await?
        .id
    };
    let started = Instant::now();
    let mut read = 0usize;
    let mut lag_ms = None;
    let mut read_done = None;
    while read < ACCOUNTS * PER_ACCOUNT || lag_ms.is_none() {
        match tokio::time::timeout(Duration::from_mins(2), p.events.recv()).await {
            Ok(Some(Event::MetricsRead(s))) => {
                read += s.read.values().sum::<usize>();
                if read >= ACCOUNTS * PER_ACCOUNT {
                    read_done = Some(started.elapsed());
                }
            }
            Ok(Some(Event::Posted { post: p, .. })) if p == post => {
                lag_ms = Some((Utc::now() - send_at).num_milliseconds());
            }
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    p.stop().await;
    let secs = read_done.map_or(f64::NAN, |d| d.as_secs_f64());
    println!(
        "collector: {read} posts of {ACCOUNTS} accounts read in {secs:.2} s ({:.0} posts/s) with {} requests to X",
        read as f64 / secs,
        fake.count("GET", "/2/tweets")
    );
    println!(
        "a send falling due mid-read went out {} ms after its time (the collector runs beside the sends)",
        lag_ms.map_or("never".to_string(), |l| l.to_string())
    );
    // Two more reads of every post: the 30,000 rows a month of history looks like.
    let c = db.client().await?;
    c.batch_execute(
        "INSERT INTO post_analytics (post_id, fetched_at, impressions, likes, reposts, replies, quotes, bookmarks)
         SELECT post_id, fetched_at + interval '1 day', impressions * 2, likes, reposts, replies, quotes, bookmarks
         FROM post_analytics;
         INSERT INTO post_analytics (post_id, fetched_at, impressions, likes, reposts, replies, quotes, bookmarks)
         SELECT post_id, fetched_at + interval '7 days', impressions * 2, likes, reposts, replies, quotes, bookmarks
         FROM post_analytics WHERE fetched_at > now() + interval '12 hours'",
    )
    .await?;
    let rows: i64 = c
        .query_one("SELECT count(*) FROM post_analytics", &[])
        .await?
        .get(0);
    let since = Utc::now() - chrono::Duration::days(30);
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let all = analytics::posted(&c, None, since).await?;
        let usage = analytics::usage(&c, since).await?;
        assert_eq!(all.len(), ACCOUNTS * PER_ACCOUNT + 1);
        assert_eq!(usage.len(), ACCOUNTS);
        best = best.min(t.elapsed());
    }
    println!(
        "stats queries (every post of 30 days with its latest read, and the month's usage) over {} posts and {rows} reads: best of 5 {:.0} ms",
        ACCOUNTS * PER_ACCOUNT + 1,
        best.as_secs_f64() * 1000.0
    );
    cluster.kill()?;
    Ok(())
}
