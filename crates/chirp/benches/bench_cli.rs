//! CLI latency: how long `chirp list`, `chirp post` and `chirp status` take on the zero-config
//! private database against the same commands with `DATABASE_URL`, the first start and a later
//! start of the private server, and 200 `chirp post` run 8 at a time (failures counted).
//!
//!     cargo build --release --bin chirp && cargo bench -p chirp --bench bench_cli
//!
//! It runs the real `chirp` binary beside this program (target/release/chirp).
// Tests and benchmarks stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use chirp_store::Cluster;

const RUNS: usize = 21;

fn chirp_bin() -> PathBuf {
    std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("chirp"))
        .unwrap()
}

fn chirp(home: &Path, url: Option<&str>, args: &[&str]) -> Command {
    let mut cmd = Command::new(chirp_bin());
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("CHIRP_DATA_DIR", home.join("data"))
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(u) = url {
        cmd.env("DATABASE_URL", u);
    }
    cmd
}

/// Wall time of one run, in ms; panics if the command fails.
fn time(home: &Path, url: Option<&str>, args: &[&str]) -> f64 {
    let t = Instant::now();
    let st = chirp(home, url, args).status().unwrap();
    assert!(st.success(), "{args:?} failed");
    t.elapsed().as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let home = dir.path();
    // DATABASE_URL: a running server of our own, for comparison.
    let server = Cluster::new(home.join("server")).unwrap();
    server.ensure_running(&[]).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(chirp_store::create_database(&server, "bench"))
        .unwrap();
    let url = format!(
        "host={} port=5432 user=chirp dbname=bench",
        server.socket_dir().display()
    );
    let first = time(home, None, &["status"]);
    time(home, None, &["db", "stop"]);
    let restart = time(home, None, &["status"]);
    println!(
        "private database: first start (create) {first:.0} ms, start after `db stop` {restart:.0} ms"
    );
    time(home, Some(&url), &["migrate"]);
    for (name, args) in [
        ("list", vec!["list", "--limit", "20"]),
        ("post", vec!["post", "bench post", "--draft"]),
        ("status", vec!["status"]),
        // What tmux runs every few seconds.
        (
            "status --format",
            vec![
                "status",
                "--format",
                "{next} · {waiting} waiting · {account}",
            ],
        ),
    ] {
        let mut zero = Vec::new();
        let mut with_url = Vec::new();
        for _ in 0..RUNS {
            zero.push(time(home, None, &args));
            with_url.push(time(home, Some(&url), &args));
        }
        let (z, u) = (median(zero), median(with_url));
        println!(
            "chirp {name:<15} median of {RUNS}: zero-config {z:.1} ms, DATABASE_URL {u:.1} ms ({:.2}x)",
            z / u
        );
    }
    // 200 posts, 8 at a time, on the private database.
    let failures = std::sync::atomic::AtomicUsize::new(0);
    let t = Instant::now();
    std::thread::scope(|s| {
        for w in 0..8 {
            let failures = &failures;
            s.spawn(move || {
                for i in 0..25 {
                    let ok = chirp(
                        home,
                        None,
                        &["post", &format!("parallel {w}-{i}"), "--draft"],
                    )
                    .status()
                    .is_ok_and(|s| s.success());
                    if !ok {
                        failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    println!(
        "200 `chirp post`, 8 at a time, zero-config: {:.1} s, {} failures",
        t.elapsed().as_secs_f64(),
        failures.into_inner()
    );
    time(home, None, &["db", "stop"]);
    server.stop().unwrap();
}
