//! Faults during token refreshes: X's tokens live 4 s and its token endpoint answers after
//! 300 ms (spending the old refresh token on receipt, as X does). While `chirp scheduler`
//! publishes 100 posts due over 10 s, each fault is struck the moment X has received a
//! refresh and is still thinking: SIGTERM to the scheduler (then started again), PostgreSQL
//! stopped and started (fast, then immediate), or SIGKILL to one of two schedulers (then
//! started again). Five runs of each; every run must keep the account connected and send
//! every post exactly once.
//!
//!     cargo bench -p chirp --bench bench_refresh_faults
//!
//! `BENCH_RUNS=N` changes the runs per fault; `BENCH_FAULTS=pgfast,sigkill` picks faults.
// Tests and benchmarks stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chirp_fake_x::{FakeConfig, FakeX};
use chirp_testing::{TestCluster, TestDb};

const POSTS: i64 = 100;

#[derive(Clone, Copy, Debug)]
enum Fault {
    Sigterm,
    PgFast,
    PgImmediate,
    Sigkill,
}

struct Outcome {
    faults: usize,
    during_refresh: usize,
    refreshes: usize,
    at_x: usize,
    unique: usize,
    lost: Option<String>,
    secs: f64,
}

fn scheduler(t: &TestDb, fake: &FakeX, home: &Path) -> Child {
    let cfg = home.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[x]\nclient_id = \"bench-client\"\napi_base_url = \"{}\"\nauthorize_url = \"{}\"\n",
            fake.base_url(),
            fake.authorize_url()
        ),
    )
    .unwrap();
    Command::new(env!("CARGO_BIN_EXE_chirp"))
        .args(["--config", cfg.to_str().unwrap(), "scheduler"])
        .args(["--lease", "6", "--x-timeout", "2", "--grace", "2"])
        .args(["--retry-base-ms", "100"])
        .env("DATABASE_URL", t.url())
        .env("CHIRP_SECRET_KEY", chirp_testing::test_key_b64())
        .env("HOME", home)
        .env_remove("XDG_STATE_HOME")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(log(home))
        .stderr(log(home))
        .spawn()
        .unwrap()
}

/// The schedulers' output, all in one file of the run's home (shown for a run that fails).
fn log(home: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(home.join("schedulers.log"))
        .unwrap()
}

/// A query that waits out a database restart (the pool hands out new connections).
async fn ask(t: &TestDb, sql: &str) -> deadpool_postgres::tokio_postgres::Row {
    for _ in 0..300 {
        if let Ok(c) = t.db.client().await
            && let Ok(r) = c.query_one(sql, &[]).await
        {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the database did not come back");
}

async fn run(cluster: &'static TestCluster, fault: Fault) -> Outcome {
    let fake = FakeX::start(
        FakeConfig {
            posts_per_window: 1_000_000,
            token_lifetime: Duration::from_secs(4),
            token_latency: Duration::from_millis(300),
            ..FakeConfig::default()
        },
        0,
    )
    .await
    .unwrap();
    let t = cluster.fresh_database(true).await;
    let (account, _, _) =
        chirp_testing::connect_account(&t.db, &fake, chrono::Duration::seconds(4)).await;
    t.client()
        .await
        .execute(
            "INSERT INTO posts (x_account_id, content, status, scheduled_at)
             SELECT $1, 'faults #' || g, 'scheduled', now() + g * interval '100 ms'
             FROM generate_series(1, $2::bigint) g",
            &[&account, &POSTS],
        )
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let n = if matches!(fault, Fault::Sigkill) {
        2
    } else {
        1
    };
    let mut running: Vec<Child> = (0..n).map(|_| scheduler(&t, &fake, home.path())).collect();
    let began = Instant::now();
    let (mut faults, mut during) = (0, 0);
    let lost = loop {
        let r = ask(
            &t,
            "SELECT (SELECT count(*) FROM posts WHERE status = 'posted'),
                    bool_or(needs_reconnect), string_agg(needs_reconnect_reason, '')
             FROM x_accounts",
        )
        .await;
        if r.get::<_, Option<bool>>(1) == Some(true) {
            break r.get::<_, Option<String>>(2);
        }
        if r.get::<_, i64>(0) == POSTS || began.elapsed() > Duration::from_mins(3) {
            break None;
        }
        // Strike while X holds a refresh it has not answered yet.
        let spent = fake.refreshes();
        if fake
            .wait_for_refreshes(spent + 1, Duration::from_secs(5))
            .await
            <= spent
        {
            continue;
        }
        // Whether X was still thinking when the fault struck (every refresh spent, answered).
        let in_flight = fake.count("POST", "/2/oauth2/token") < fake.refreshes();
        match fault {
            Fault::Sigterm => {
                let child = running.pop().unwrap();
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
                let out = child.wait_with_output().unwrap();
                assert!(out.status.success(), "the scheduler's clean stop failed");
                running.push(scheduler(&t, &fake, home.path()));
            }
            Fault::PgFast => {
                cluster.stop().unwrap();
                cluster.restart().unwrap();
            }
            Fault::PgImmediate => {
                cluster.kill().unwrap();
                cluster.restart().unwrap();
            }
            Fault::Sigkill => {
                let mut child = running.remove(faults % 2);
                child.kill().unwrap();
                child.wait().unwrap();
                running.insert(faults % 2, scheduler(&t, &fake, home.path()));
            }
        }
        faults += 1;
        during += usize::from(in_flight);
    };
    let secs = began.elapsed().as_secs_f64();
    // What a run that did not finish left behind, for whoever looks into it.
    if let Ok(c) = t.db.client().await
        && let Ok(rows) = c
            .query(
                "SELECT id, status, coalesce(error_message, ''), attempts, scheduled_at::text,
                        coalesce(claimed_by, ''), claim_expires_at::text
                 FROM posts WHERE status <> 'posted' ORDER BY id",
                &[],
            )
            .await
    {
        for r in rows {
            eprintln!(
                "  post {} {} attempts {} due {} by {:?} lease {:?}: {}",
                r.get::<_, i32>(0),
                r.get::<_, String>(1),
                r.get::<_, i32>(3),
                r.get::<_, String>(4),
                r.get::<_, String>(5),
                r.get::<_, Option<String>>(6),
                r.get::<_, String>(2)
            );
        }
    }
    for mut c in running {
        let _ = c.kill();
        let _ = c.wait();
    }
    if std::env::var_os("BENCH_KEEP_LOGS").is_some() {
        static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = RUN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let kept = std::env::temp_dir().join(format!("bench-faults-{fault:?}-{n}.log"));
        let _ = std::fs::copy(home.path().join("schedulers.log"), &kept);
        eprintln!("  schedulers' log: {}", kept.display());
    }
    let texts: Vec<String> = fake.posts().into_iter().map(|p| p.text).collect();
    let unique = texts.iter().collect::<HashSet<_>>().len();
    Outcome {
        faults,
        during_refresh: during,
        refreshes: fake.refreshes(),
        at_x: texts.len(),
        unique,
        lost,
        secs,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let cluster = chirp_testing::own_cluster(true);
    println!(
        "| fault | run | faults (during a refresh) | refreshes | posts at X (unique) | account | time |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let mut failed = false;
    let only = std::env::var("BENCH_FAULTS").unwrap_or_default();
    for fault in [
        Fault::Sigterm,
        Fault::PgFast,
        Fault::PgImmediate,
        Fault::Sigkill,
    ] {
        if !only.is_empty()
            && !only
                .split(',')
                .any(|f| format!("{fault:?}").eq_ignore_ascii_case(f))
        {
            continue;
        }
        for i in 1..=runs {
            let o = run(cluster, fault).await;
            let ok = o.lost.is_none() && o.at_x == POSTS as usize && o.unique == o.at_x;
            failed |= !ok;
            println!(
                "| {fault:?} | {i} | {} ({}) | {} | {} ({}) | {} | {:.1} s |",
                o.faults,
                o.during_refresh,
                o.refreshes,
                o.at_x,
                o.unique,
                o.lost
                    .map_or_else(|| "connected".to_string(), |r| format!("LOST: {r}")),
                o.secs
            );
        }
    }
    if failed {
        eprintln!("a run lost the account or a post, or sent one twice");
        std::process::exit(1);
    }
}
