//! Zero config: chirp's private database as a new user meets it — created on first use, kept
//! running between commands, safe when many chirp processes start at once, brought back when
//! its server dies under a running scheduler, and stopped only when nobody uses it.
// Tests and benchmarks stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

fn chirp_bin() -> PathBuf {
    env!("CARGO_BIN_EXE_chirp").into()
}

/// A home of its own, with chirp's data in `CHIRP_DATA_DIR`; its server is stopped at the end
/// whatever happens (nothing is left running after the tests).
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        // As root the server runs as `postgres`, which must be able to walk in.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
        Home { dir }
    }

    fn chirp(&self) -> Command {
        let mut cmd = Command::new(chirp_bin());
        cmd.env_remove("DATABASE_URL")
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("CHIRP_DATA_DIR", self.data())
            .env("XDG_STATE_HOME", self.dir.path().join("state"))
            .env("TZ", "UTC")
            .stdin(Stdio::null());
        cmd
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, args: &[&str]) -> Output {
        self.chirp().args(args).output().unwrap()
    }

    fn status(&self) -> Value {
        let out = self.run(&["db", "status", "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let root = self.data().join("postgres");
        if let Ok(c) = chirp_store::Cluster::new(root) {
            let _ = c.stop();
        }
    }
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_first_command_creates_it_says_so_and_it_stays_up() {
    let home = Home::new();
    let out = home.run(&["post", "zero config", "--draft"]);
    ok(&out);
    let said = String::from_utf8_lossy(&out.stderr);
    let root = home.data().join("postgres");
    assert_eq!(
        said.lines().next().unwrap(),
        format!(
            "chirp: creating chirp's private database (first use: a few seconds) in {}",
            root.display()
        )
    );
    assert!(root.join("data/PG_VERSION").exists(), "{said}");
    // The next command finds it running: nothing to say, nothing to wait for.
    let out = home.run(&["list", "--json"]);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let posts: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(posts[0]["content"], "zero config");
    let st = home.status();
    assert_eq!(
        (st["created"].as_bool(), st["running"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(st["path"], root.display().to_string());
    assert!(st["size_bytes"].as_u64().unwrap() > 1_000_000, "{st}");
    assert_eq!(
        ok(&home.run(&["db", "path"])).trim(),
        root.display().to_string()
    );
    // Stopped on request (nobody uses it), and started again by the next command.
    assert_eq!(ok(&home.run(&["db", "stop"])).trim(), "stopped");
    assert_eq!(home.status()["running"], false);
    let out = home.run(&["status"]);
    ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("chirp: starting chirp's private database in"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        ok(&home.run(&["db", "start"])).trim(),
        format!("already running: data in {}", root.display())
    );
}

#[test]
fn two_hundred_posts_eight_at_a_time_on_a_fresh_machine_all_land() {
    let home = Home::new();
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        for worker in 0..8 {
            let tx = tx.clone();
            let home = &home;
            s.spawn(move || {
                for i in 0..25 {
                    let out = home.run(&["post", &format!("parallel {worker}-{i}"), "--draft"]);
                    tx.send((
                        out.status.code(),
                        String::from_utf8_lossy(&out.stderr).into_owned(),
                    ))
                    .unwrap();
                }
            });
        }
    });
    drop(tx);
    let results: Vec<(Option<i32>, String)> = rx.iter().collect();
    let failures: Vec<&(Option<i32>, String)> = results
        .iter()
        .filter(|(code, _)| *code != Some(0))
        .collect();
    assert_eq!(results.len(), 200);
    assert!(failures.is_empty(), "{failures:#?}");
    // Exactly one of them created the database and said so.
    let created = results
        .iter()
        .filter(|(_, err)| err.contains("creating chirp's private database"))
        .count();
    assert_eq!(created, 1);
    let posts: Value = serde_json::from_str(&ok(&home.run(&["list", "--json"]))).unwrap();
    assert_eq!(posts.as_array().unwrap().len(), 200);
}

/// Reads a child's stdout lines on a thread, so a test can wait for one with a timeout.
fn lines(child: &mut Child) -> mpsc::Receiver<String> {
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_for(rx: &mpsc::Receiver<String>, what: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_mins(1)) {
            Ok(line) => {
                let found = line.contains(what);
                seen.push(line);
                if found {
                    return seen;
                }
            }
            Err(e) => panic!("no line with {what:?} ({e}); saw {seen:#?}"),
        }
    }
}

struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_scheduler_and_a_command_started_together_both_run_and_the_server_comes_back() {
    let home = Home::new();
    // The day-one tmux setup: a scheduler and another chirp in the same instant, no database.
    let mut scheduler = Reap(
        home.chirp()
            .args(["scheduler"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let status = home.run(&["status"]);
    ok(&status);
    let rx = lines(&mut scheduler.0);
    wait_for(&rx, "listening for post changes");
    // While the scheduler uses it, the server is not stopped.
    let out = home.run(&["db", "stop"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("(chirp scheduler)") && err.contains("stop it first"),
        "{err}"
    );
    // The server dies under it (a crash, the OOM killer): the scheduler starts it again.
    let pid = home.status()["server_pid"].as_u64().unwrap();
    Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    let seen = wait_for(&rx, "database reachable again");
    assert!(
        seen.iter().any(|l| l.contains("database unavailable")),
        "{seen:#?}"
    );
    assert!(
        !seen.iter().any(|l| l.contains("DATABASE_URL")),
        "a zero-config user is not told about DATABASE_URL: {seen:#?}"
    );
    let st = home.status();
    assert_eq!(st["running"], true);
    assert_ne!(st["server_pid"].as_u64(), Some(pid));
    let users: Vec<u64> = st["used_by"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    assert_eq!(users, vec![u64::from(scheduler.0.id())]);
}

#[test]
fn a_command_right_after_the_server_crashed_starts_it_again_and_succeeds() {
    let home = Home::new();
    ok(&home.run(&["db", "start"]));
    let pid = home.status()["server_pid"].as_u64().unwrap();
    Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    // At once: the old server's processes may still be on their way out.
    let out = home.run(&["post", "after the crash", "--draft"]);
    ok(&out);
    let posts: Value = serde_json::from_str(&ok(&home.run(&["list", "--json"]))).unwrap();
    assert_eq!(posts[0]["content"], "after the crash");
    assert_ne!(home.status()["server_pid"].as_u64(), Some(pid));
}
