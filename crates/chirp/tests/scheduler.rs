//! `chirp scheduler` as a process: killed with SIGKILL in the middle of a run, then restarted,
//! it loses nothing and sends nothing twice; SIGTERM stops it cleanly.
// Tests and benchmarks stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chirp_fake_x::{FakeConfig, FakeX, Fault};
use chirp_testing::{TestDb, fresh_db};

const T: Duration = Duration::from_mins(1);

fn chirp_bin() -> std::path::PathBuf {
    env!("CARGO_BIN_EXE_chirp").into()
}

async fn setup(cfg: FakeConfig) -> (TestDb, FakeX, i32) {
    let fake = FakeX::start(cfg, 0).await.unwrap();
    let t = fresh_db().await;
    let (account, _, _) =
        chirp_testing::connect_account(&t.db, &fake, chrono::Duration::hours(1)).await;
    (t, fake, account)
}

/// Kills a child process if the test fails before it is waited for.
struct Reap(Option<Child>);

impl Drop for Reap {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn scheduler(t: &TestDb, fake: &FakeX, home: &std::path::Path) -> Child {
    let cfg = home.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[x]\nclient_id = \"test-client\"\napi_base_url = \"{}\"\nauthorize_url = \"{}\"\n",
            fake.base_url(),
            fake.authorize_url()
        ),
    )
    .unwrap();
    Command::new(chirp_bin())
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "scheduler",
            "--lease",
            "3",
            "--x-timeout",
            "1",
            "--retry-base-ms",
            "100",
        ])
        .env("DATABASE_URL", t.url())
        .env("CHIRP_SECRET_KEY", chirp_testing::test_key_b64())
        .env("HOME", home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_run_then_restart_loses_nothing_and_sends_nothing_twice() {
    let (t, fake, account) = setup(FakeConfig {
        posts_per_window: 1_000_000,
        hang_for: Duration::from_secs(30),
        ..FakeConfig::default()
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let c = t.client().await;
    c.execute(
        "INSERT INTO posts (x_account_id, content, status, scheduled_at)
         SELECT $1, 'crash post #' || g, 'scheduled', now() FROM generate_series(1, 300) g",
        &[&account],
    )
    .await
    .unwrap();
    // One post is created at X but its answer never comes: the worst moment to die.
    fake.inject([Fault::HangAfterRecord]);
    let mut first = Reap(Some(scheduler(&t, &fake, home.path())));
    assert!(fake.wait_for_posts(100, T).await >= 100);
    let mut killed = first.0.take().unwrap();
    killed.kill().unwrap(); // SIGKILL
    killed.wait().unwrap();
    let mut second = Reap(Some(scheduler(&t, &fake, home.path())));
    let n = chirp_testing::wait_for_count(
        &t.db,
        "SELECT count(*) FROM posts WHERE status = 'posted'",
        300,
        T,
    )
    .await;
    assert_eq!(n, 300);
    let texts: Vec<String> = fake.posts().into_iter().map(|p| p.text).collect();
    let unique: HashSet<&String> = texts.iter().collect();
    assert_eq!(unique.len(), 300);
    assert_eq!(texts.len(), 300, "a post reached X twice");
    // SIGTERM: a clean stop.
    let second = second.0.take().unwrap();
    let sent = Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = second.wait_with_output().unwrap();
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.contains("rescued post") && log.contains("already on X"),
        "{log}"
    );
    assert!(log.trim_end().ends_with("publisher stopped"), "{log}");
}
