//! Publisher benchmark: dispatch lag and throughput against the fake X on loopback, with a
//! throwaway PostgreSQL cluster (crash-safe settings, as a user would run it).
//!
//!     cargo bench -p chirp-publisher --bench bench_publisher
//!
//! Prints figures; asserts nothing about time. Exits non-zero if any post reached X twice.
// Tests and benchmarks stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use chirp_credentials::{Credentials, Refresh, Why};
use chirp_fake_x::{FakeConfig, FakeX};
use chirp_net::Secret;
use chirp_net::secret::{Cipher, Column};
use chirp_net::x::XConfig;
use chirp_publisher::{self as publisher, Event, Options};
use chirp_store::accounts::{self, StoredTokens};
use chirp_store::{Cluster, Db};
use chrono::Utc;
use tokio::sync::{mpsc, watch};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
    let cluster = Cluster::new(dir.path().join("pg"))?;
    let mut conf = vec!["max_connections = 200"];
    if std::env::var_os("BENCH_NO_SYNC_COMMIT").is_some() {
        conf.push("synchronous_commit = off");
    }
    cluster.ensure_running(&conf)?;
    println!(
        "machine: {} cores; PostgreSQL durable defaults (fsync on)",
        std::thread::available_parallelism()?.get()
    );

    let (lag_ok, lag) = lag_run(&cluster).await?;
    println!(
        "dispatch lag, 300 posts due at spread-out times, 1 publisher: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (early: {})",
        lag.0, lag.1, lag.2, lag_ok
    );
    let mut duplicates = false;
    for publishers in [1, 2] {
        let (rate, dups) = throughput_run(&cluster, publishers).await?;
        duplicates |= dups > 0;
        println!(
            "throughput, 10,000 posts already due across 100 accounts, {publishers} publisher(s): {rate:.0} posts/s, duplicates at X: {dups}"
        );
    }
    let r = refresh_run(&cluster).await?;
    duplicates |= r.duplicates > 0;
    println!(
        "token refreshes, 2 publishers, 10 accounts with 6-second tokens, 600 posts over 30 s: {} refreshes in {:.1} s = {:.2} per account per token lifetime; {} of them made a send wait (the rest ahead of expiry); duplicates at X: {}",
        r.refreshes, r.elapsed, r.per_lifetime, r.at_send, r.duplicates
    );
    cluster.kill()?;
    if duplicates {
        std::process::exit(1);
    }
    Ok(())
}

async fn database(cluster: &Cluster, name: &str) -> Result<Db, Box<dyn std::error::Error>> {
    chirp_store::create_database(cluster, name).await?;
    let db = Db::from_config(cluster.pg_config(name), None);
    db.migrate().await?;
    Ok(db)
}

fn cipher() -> Cipher {
    Cipher::from_key(&[3; 32])
}

async fn connect(db: &Db, fake: &FakeX, user: &str) -> Result<i32, Box<dyn std::error::Error>> {
    connect_for(db, fake, user, chrono::Duration::hours(2)).await
}

async fn connect_for(
    db: &Db,
    fake: &FakeX,
    user: &str,
    lifetime: chrono::Duration,
) -> Result<i32, Box<dyn std::error::Error>> {
    let (access, refresh) = fake.issue_tokens_for(user);
    let c = cipher();
    let stored = StoredTokens {
        access: c
            .encrypt(Column::AccessToken, &Secret::new(access))
            .unwrap(),
        refresh: Some(
            c.encrypt(Column::RefreshToken, &Secret::new(refresh))
                .unwrap(),
        ),
        expires_at: Some(Utc::now() + lifetime),
        lifetime_secs: i32::try_from(lifetime.num_seconds()).ok(),
        scope: Some(chirp_net::x::oauth::SCOPES.join(" ")),
    };
    let mut client = db.client().await?;
    Ok(accounts::save_connected(&mut client, user, &format!("user{user}"), &stored).await?)
}

fn start(
    db: &Db,
    fake: &FakeX,
) -> (
    watch::Sender<publisher::Stop>,
    tokio::task::JoinHandle<()>,
    mpsc::UnboundedReceiver<Event>,
) {
    let cfg = XConfig {
        client_id: Some("bench".into()),
        api_base_url: fake.base_url(),
        authorize_url: fake.authorize_url(),
        ..XConfig::default()
    };
    let networks = chirp_net::Networks::from_config(&chirp_net::NetworksConfig {
        x: cfg,
        timeout: Duration::from_secs(30),
    });
    let credentials = Credentials::new(&networks, cipher());
    let (tx, rx) = mpsc::unbounded_channel();
    let (stop, stop_rx) = watch::channel(publisher::Stop::No);
    let mut opts = Options::default();
    if let Some(n) = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        opts.concurrency = n;
    }
    let task = tokio::spawn(publisher::run(
        db.pg.clone(),
        networks,
        credentials,
        opts,
        tx,
        stop_rx,
    ));
    (stop, task, rx)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Lag from `scheduled_at` to the fake X receiving the request.
async fn lag_run(cluster: &Cluster) -> Result<(bool, (f64, f64, f64)), Box<dyn std::error::Error>> {
    let fake = FakeX::start(
        FakeConfig {
            posts_per_window: u32::MAX,
            ..FakeConfig::default()
        },
        0,
    )
    .await?;
    let db = database(cluster, "lag").await?;
    let account = connect(&db, &fake, "1").await?;
    let (stop, task, mut events) = start(&db, &fake);
    // Let it settle into waiting, then schedule posts 2 s ahead, 50 ms apart (plus some jitter).
    while let Some(e) = events.recv().await {
        if matches!(e, Event::Waiting { .. }) {
            break;
        }
    }
    let c = db.client().await?;
    c.execute(
        "INSERT INTO posts (x_account_id, content, status, scheduled_at)
         SELECT $1, 'lag ' || g, 'scheduled',
                now() + interval '2 seconds' + g * interval '50 milliseconds' + (g % 7) * interval '3 milliseconds'
         FROM generate_series(1, 300) g",
        &[&account],
    )
    .await?;
    let got = fake.wait_for_posts(300, Duration::from_mins(2)).await;
    let _ = stop.send(publisher::Stop::Finish);
    task.await?;
    assert_eq!(got, 300);
    let rows = c
        .query("SELECT content, scheduled_at FROM posts", &[])
        .await?;
    let due: std::collections::HashMap<String, chrono::DateTime<Utc>> =
        rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    // Arrival times of the posts, in the order they were created at the fake.
    let arrivals: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/2/tweets")
        .collect();
    let posts = fake.posts();
    let mut lags: Vec<f64> = posts
        .iter()
        .zip(arrivals.iter())
        .map(|(p, r)| (r.at - due[&p.text]).num_microseconds().unwrap_or(0) as f64 / 1000.0)
        .collect();
    let never_early = lags.iter().all(|l| *l >= 0.0);
    lags.sort_by(f64::total_cmp);
    Ok((
        !never_early,
        (
            percentile(&lags, 0.5),
            percentile(&lags, 0.99),
            *lags.last().unwrap_or(&0.0),
        ),
    ))
}

async fn throughput_run(
    cluster: &Cluster,
    publishers: usize,
) -> Result<(f64, usize), Box<dyn std::error::Error>> {
    let fake = FakeX::start(
        FakeConfig {
            posts_per_window: u32::MAX,
            ..FakeConfig::default()
        },
        0,
    )
    .await?;
    let db = database(cluster, &format!("tp{publishers}")).await?;
    let mut ids = Vec::new();
    for u in 0..100 {
        ids.push(connect(&db, &fake, &format!("{}", 1000 + u)).await?);
    }
    let c = db.client().await?;
    c.execute(
        "INSERT INTO posts (x_account_id, content, status, scheduled_at)
         SELECT ($1::int[])[1 + g % 100], 'throughput ' || g, 'scheduled', now() - interval '1 second'
         FROM generate_series(1, 10000) g",
        &[&ids],
    )
    .await?;
    let t0 = Instant::now();
    let running: Vec<_> = (0..publishers).map(|_| start(&db, &fake)).collect();
    // Done when the database says every post is recorded as posted.
    loop {
        let n: i64 = c
            .query_one("SELECT count(*) FROM posts WHERE status = 'posted'", &[])
            .await?
            .get(0);
        if n == 10_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    for (stop, task, _) in running {
        let _ = stop.send(publisher::Stop::Finish);
        task.await?;
    }
    let texts: Vec<String> = fake.posts().into_iter().map(|p| p.text).collect();
    let unique: HashSet<&String> = texts.iter().collect();
    Ok((10_000.0 / elapsed, texts.len() - unique.len()))
}

struct RefreshFigures {
    refreshes: usize,
    elapsed: f64,
    per_lifetime: f64,
    at_send: usize,
    duplicates: usize,
}

/// Token refreshes under load: 6-second tokens on 10 accounts, two publishers sending 20 posts
/// a second for 30 s. Counts the refreshes X granted, and those a send had to wait for.
async fn refresh_run(cluster: &Cluster) -> Result<RefreshFigures, Box<dyn std::error::Error>> {
    const LIFETIME: u64 = 6;
    let fake = FakeX::start(
        FakeConfig {
            posts_per_window: u32::MAX,
            token_lifetime: Duration::from_secs(LIFETIME),
            ..FakeConfig::default()
        },
        0,
    )
    .await?;
    let db = database(cluster, "refresh").await?;
    let mut ids = Vec::new();
    for u in 0..10 {
        let lifetime = chrono::Duration::seconds(LIFETIME as i64);
        ids.push(connect_for(&db, &fake, &format!("{}", 2000 + u), lifetime).await?);
    }
    let c = db.client().await?;
    c.execute(
        "INSERT INTO posts (x_account_id, content, status, scheduled_at)
         SELECT ($1::int[])[1 + g % 10], 'refresh ' || g, 'scheduled',
                now() + g * interval '50 ms'
         FROM generate_series(1, 600) g",
        &[&ids],
    )
    .await?;
    let t0 = Instant::now();
    let mut running = Vec::new();
    let mut counters = Vec::new();
    for _ in 0..2 {
        let (stop, task, mut rx) = start(&db, &fake);
        running.push((stop, task));
        counters.push(tokio::spawn(async move {
            let mut at_send = 0;
            while let Some(e) = rx.recv().await {
                if let Event::Token(Refresh::Refreshed { why, .. }) = e
                    && why != Why::Ahead
                {
                    at_send += 1;
                }
            }
            at_send
        }));
    }
    loop {
        let n: i64 = c
            .query_one("SELECT count(*) FROM posts WHERE status = 'posted'", &[])
            .await?
            .get(0);
        if n == 600 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let refreshes = fake.refreshes();
    for (stop, task) in running {
        let _ = stop.send(publisher::Stop::Finish);
        task.await?;
    }
    let mut at_send = 0;
    for c in counters {
        at_send += c.await?;
    }
    let texts: Vec<String> = fake.posts().into_iter().map(|p| p.text).collect();
    let unique: HashSet<&String> = texts.iter().collect();
    Ok(RefreshFigures {
        refreshes,
        elapsed,
        per_lifetime: refreshes as f64 / (10.0 * elapsed / LIFETIME as f64),
        at_send,
        duplicates: texts.len() - unique.len(),
    })
}
