//! The `chirp` binary end to end: spawned as a user would run it, against a real PostgreSQL.
// Tests and benchmarks stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use chirp_testing::{TestDb, fresh_db};
use chrono::{DateTime, Utc};
use serde_json::Value;

fn chirp_bin() -> std::path::PathBuf {
    env!("CARGO_BIN_EXE_chirp").into()
}

/// `chirp` with a clean environment: no user config, the given database.
fn chirp(db_url: Option<&str>, home: &std::path::Path) -> Command {
    let mut cmd = Command::new(chirp_bin());
    cmd.env_remove("DATABASE_URL")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("TZ", "UTC")
        .stdin(Stdio::null());
    if let Some(url) = db_url {
        cmd.env("DATABASE_URL", url);
    }
    cmd
}

fn run(cmd: &mut Command, stdin: Option<&[u8]>) -> Output {
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(bytes) = stdin {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    child.wait_with_output().unwrap()
}

struct Env {
    t: TestDb,
    home: tempfile::TempDir,
}

impl Env {
    async fn new() -> Env {
        Env {
            t: fresh_db().await,
            home: tempfile::tempdir().unwrap(),
        }
    }
    fn run(&self, args: &[&str]) -> Output {
        run(
            chirp(Some(&self.t.url()), self.home.path()).args(args),
            None,
        )
    }
    fn run_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        run(
            chirp(Some(&self.t.url()), self.home.path()).args(args),
            Some(stdin),
        )
    }
    fn list(&self) -> Vec<Value> {
        let out = self.run(&["list", "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// A failure: non-zero exit, exactly one line on stderr, which is returned.
fn one_line_error(o: &Output) -> String {
    assert!(
        !o.status.success(),
        "expected failure, got {:?} {}",
        o.status,
        stdout(o)
    );
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err:?}"
    );
    assert!(err.starts_with("chirp: "), "{err}");
    err.trim().to_string()
}

#[tokio::test]
async fn post_list_show_and_change() {
    let e = Env::new().await;
    let out = e.run(&["post", "hello from the cli", "--at", "in 2h"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id: i64 = stdout(&out).parse().expect("post prints the new id");
    let out = e.run_stdin(&["post", "-", "--draft"], "from stdin ✓\n".as_bytes());
    assert!(out.status.success());
    let posts = e.list();
    assert_eq!(posts.len(), 2);
    // Newest first, every documented field, RFC 3339 UTC times.
    assert_eq!(
        posts[0]["content"], "from stdin ✓",
        "one trailing newline is dropped"
    );
    assert_eq!(posts[0]["status"], "draft");
    assert_eq!(posts[1]["id"], id);
    assert_eq!(posts[1]["status"], "scheduled");
    for key in [
        "id",
        "status",
        "content",
        "scheduled_at",
        "posted_at",
        "x_tweet_id",
        "error_message",
        "created_at",
        "updated_at",
    ] {
        assert!(posts[1].get(key).is_some(), "{key} missing");
    }
    let at: DateTime<Utc> = posts[1]["scheduled_at"].as_str().unwrap().parse().unwrap();
    let ahead = at - Utc::now();
    assert!(
        ahead > chrono::Duration::minutes(118) && ahead <= chrono::Duration::hours(2),
        "{ahead}"
    );
    assert!(posts[1]["scheduled_at"].as_str().unwrap().ends_with('Z'));

    // Readable table; filter by status.
    let table = stdout(&e.run(&["list"]));
    assert!(
        table.contains("hello from the cli") && table.contains("scheduled"),
        "{table}"
    );
    let drafts = stdout(&e.run(&["list", "--status", "draft", "--json"]));
    assert_eq!(
        serde_json::from_str::<Value>(&drafts)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Schedule the draft, unschedule, edit, delete.
    let draft_id = posts[0]["id"].to_string();
    assert!(
        e.run(&["schedule", &draft_id, "--at", "tomorrow 9am"])
            .status
            .success()
    );
    assert!(e.run(&["unschedule", &draft_id]).status.success());
    assert!(e.run(&["edit", &draft_id, "edited"]).status.success());
    let shown = stdout(&e.run(&["show", &draft_id]));
    assert!(
        shown.contains("│ edited") && shown.contains("created") && shown.contains("by cli"),
        "{shown}"
    );
    // Each line of its history says when, in the configured zone (UTC here).
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let history: Vec<&str> = shown.lines().filter(|l| l.contains(" by cli")).collect();
    assert!(history.len() >= 4, "{shown}");
    assert!(
        history.iter().all(|l| l.trim_start().starts_with(&today)),
        "{shown}"
    );
    assert!(e.run(&["delete", &draft_id]).status.success());
    assert_eq!(e.list().len(), 1);
    let err = one_line_error(&e.run(&["delete", &draft_id]));
    assert!(
        err.contains(&format!("no post with id {draft_id}")),
        "{err}"
    );
}

#[tokio::test]
async fn bad_input_is_refused_and_writes_nothing() {
    let e = Env::new().await;
    let long = "a".repeat(281);
    type Case<'a> = (Vec<&'a str>, Option<&'a [u8]>, &'a str);
    let cases: Vec<Case> = vec![
        (vec!["post", &long], None, "281/280 weighted characters"),
        (vec!["post", ""], None, "the post is empty"),
        (vec!["post", "-"], Some(b"a\0b"), "NUL byte"),
        (
            vec!["post", "-"],
            Some(b"caf\xe9"),
            "stdin is not valid UTF-8",
        ),
        (
            vec!["post", "x", "--at", "yesterday 9am"],
            None,
            "cannot understand `yesterday 9am`",
        ),
        (
            vec!["post", "x", "--at", "2020-01-01 10:00"],
            None,
            "is Wed 2020-01-01 10:00 UTC, which is in the past",
        ),
        (
            vec!["list", "--status", "sent"],
            None,
            "unknown status `sent`",
        ),
    ];
    for (args, stdin, want) in cases {
        let out = match stdin {
            Some(b) => e.run_stdin(&args, b),
            None => e.run(&args),
        };
        let err = one_line_error(&out);
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(2), "bad input exits 2: {args:?}");
    }
    assert!(e.list().is_empty(), "nothing half-written");
}

#[tokio::test]
async fn count_follows_x() {
    let home = tempfile::tempdir().unwrap();
    let out = run(
        chirp(None, home.path()).args(["count", "日本語 https://example.com/a/very/long/path"]),
        None,
    );
    assert_eq!(stdout(&out), "30/280  $0.20 (a link makes it a URL post)");
    assert!(out.status.success());
    let out = run(
        chirp(None, home.path()).args(["count", "plain words"]),
        None,
    );
    assert_eq!(stdout(&out), "11/280  $0.015");
    let out = run(
        chirp(None, home.path()).args(["count", "--json"]),
        Some("字".repeat(141).as_bytes()),
    );
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"weighted_length": 282, "limit": 280, "valid": false,
            "network": "x", "price_usd": 0.015, "has_url": false})
    );
    // Prices come from [x.pricing].
    let cfg = home.path().join("priced.toml");
    std::fs::write(&cfg, "[x.pricing]\ncreate_with_url = 0.5\n").unwrap();
    let out = run(
        chirp(None, home.path()).args([
            "--config",
            cfg.to_str().unwrap(),
            "count",
            "--json",
            "a.com",
        ]),
        None,
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["price_usd"], 0.5);
    // A bare domain is a URL to X, as in twitter-text's parseTweet.
    for (text, shown) in [
        ("test.com", "23/280  $0.20 (a link makes it a URL post)"),
        (
            "see example.com/a today",
            "33/280  $0.20 (a link makes it a URL post)",
        ),
    ] {
        let out = run(chirp(None, home.path()).args(["count", text]), None);
        assert_eq!(stdout(&out), shown, "{text}");
    }
    // Longer than any post X takes: refused before it is counted.
    let out = run(
        chirp(None, home.path()).args(["count"]),
        Some("a".repeat(100_000).as_bytes()),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("more than X takes in any post (25000)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn database_down_or_refusing_is_one_clear_line() {
    let home = tempfile::tempdir().unwrap();
    let down = format!(
        "host={} port=5432 user=chirp dbname=chirp",
        home.path().display()
    );
    let err = one_line_error(&run(
        chirp(Some(&down), home.path()).args(["post", "x"]),
        None,
    ));
    assert!(
        err.contains("cannot connect to the database")
            && err.contains("check that PostgreSQL is running"),
        "{err}"
    );

    let t = fresh_db().await;
    let c = t.client().await;
    c.batch_execute("CREATE ROLE pw_user LOGIN PASSWORD 'right'")
        .await
        .unwrap();
    let url = format!("{} user=pw_user password=wrong", t.url());
    let err = one_line_error(&run(chirp(Some(&url), home.path()).args(["list"]), None));
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(
        !err.contains("wrong"),
        "the password is never printed: {err}"
    );
}

#[tokio::test]
async fn bad_config_exits_2_naming_the_key() {
    let home = tempfile::tempdir().unwrap();
    let cfg = home.path().join("c.toml");
    std::fs::write(&cfg, "[ui]\ntimezone = \"Mars/Base\"\n").unwrap();
    let out = run(
        chirp(None, home.path()).args(["--config", cfg.to_str().unwrap(), "list"]),
        None,
    );
    let err = one_line_error(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("ui.timezone") && err.contains("Mars/Base"),
        "{err}"
    );
    let out = run(
        chirp(None, home.path()).args(["--config", "/nonexistent/c.toml", "list"]),
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    // A DATABASE_URL that is not one is bad configuration too, with or without a file.
    std::fs::write(&cfg, "").unwrap();
    for with_file in [false, true] {
        let mut cmd = chirp(Some("postgres://[::1"), home.path());
        if with_file {
            cmd.args(["--config", cfg.to_str().unwrap()]);
        }
        let out = run(cmd.arg("list"), None);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            one_line_error(&out).contains("DATABASE_URL is not a PostgreSQL connection string")
        );
    }
    // A key binding that is not a key, or that takes another action's key.
    for (keys, says) in [
        (
            "[keys.lists]\nnew = \"Ctrl+N\"\n",
            "keys.lists.new: `Ctrl+N` is not a key",
        ),
        (
            "[keys.lists]\nnew = \"q\"\n",
            "keys.lists: `q` is bound to both new and quit",
        ),
        (
            "[keys.composer]\nsend = \"C-s\"\n",
            "keys.composer.send: no such action",
        ),
    ] {
        std::fs::write(&cfg, keys).unwrap();
        let out = run(
            chirp(None, home.path()).args(["--config", cfg.to_str().unwrap(), "list"]),
            None,
        );
        assert_eq!(out.status.code(), Some(2));
        let err = one_line_error(&out);
        assert!(err.contains(says), "{err}");
    }
}

#[tokio::test]
async fn migrate_reports_then_is_idempotent() {
    let t = chirp_testing::fresh_database(false).await;
    let home = tempfile::tempdir().unwrap();
    let first = stdout(&run(
        chirp(Some(&t.url()), home.path()).arg("migrate"),
        None,
    ));
    assert!(
        first.contains("applied V1__seed_schema") && first.contains("applied V2__publishing"),
        "{first}"
    );
    let second = stdout(&run(
        chirp(Some(&t.url()), home.path()).arg("migrate"),
        None,
    ));
    assert_eq!(second, "database is up to date");
}

#[tokio::test]
async fn list_limit_is_exact_across_pages() {
    let e = Env::new().await;
    assert!(e.run(&["post", "seed", "--draft"]).status.success());
    let c = e.t.client().await;
    c.execute(
        "INSERT INTO posts (x_account_id, content) SELECT 1, 'bulk ' || g FROM generate_series(1, 700) g",
        &[],
    )
    .await
    .unwrap();
    let out = e.run(&["list", "--limit", "600", "--json"]);
    let posts: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(posts.as_array().unwrap().len(), 600);
    assert_eq!(e.list().len(), 701, "without --limit, everything");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_leaves_early_ends_the_command_quietly() {
    let e = Env::new().await;
    for i in 0..5 {
        assert!(
            e.run(&["post", &format!("post {i}"), "--draft"])
                .status
                .success()
        );
    }
    // Like `chirp list | head -0`: the reading end is closed before chirp writes.
    let mut child = chirp(Some(&e.t.url()), e.home.path())
        .arg("list")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_ends_from_any_terminal_become_newlines() {
    let e = Env::new().await;
    let out = e.run_stdin(&["post", "-", "--draft"], b"one\r\ntwo\rthree\r\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(e.list()[0]["content"], "one\ntwo\nthree");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tz_chirp_cannot_read_is_a_clear_error() {
    let e = Env::new().await;
    let out = run(
        chirp(Some(&e.t.url()), e.home.path())
            .env("TZ", "Mars/Olympus")
            .arg("list"),
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = one_line_error(&out);
    assert!(
        err.contains("TZ=`Mars/Olympus` is not an IANA time zone"),
        "{err}"
    );
    // The zoneinfo path form is understood.
    let out = run(
        chirp(Some(&e.t.url()), e.home.path())
            .env("TZ", ":/usr/share/zoneinfo/Europe/Berlin")
            .arg("list"),
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_thread_from_stdin_is_stored_in_parts_and_shown_part_by_part() {
    let e = Env::new().await;
    let out = run(
        chirp(Some(&e.t.url()), e.home.path()).args(["post", "--thread", "-", "--draft"]),
        Some(b"first part\n---\nsecond, with example.com\n---\nthird\n"),
    );
    let id = stdout(&out);
    let out = run(
        chirp(Some(&e.t.url()), e.home.path()).args(["show", &id, "--json"]),
        None,
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["parts"].as_i64(), v["parts_sent"].as_i64()),
        (Some(3), Some(0))
    );
    let texts: Vec<&str> = v["thread"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["content"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["first part", "second, with example.com", "third"]);
    let shown = stdout(&run(
        chirp(Some(&e.t.url()), e.home.path()).args(["show", &id]),
        None,
    ));
    assert!(
        shown.starts_with(&format!("post {id} · draft · thread of 3")),
        "{shown}"
    );
    assert!(shown.contains("part 2/3 · not sent · 36/280"), "{shown}");
    let listed = stdout(&run(
        chirp(Some(&e.t.url()), e.home.path()).arg("list"),
        None,
    ));
    assert!(listed.contains("[3 parts] first part"), "{listed}");
    let out = run(
        chirp(Some(&e.t.url()), e.home.path()).args(["list", "--json"]),
        None,
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["thread"][2]["content"], "third");
    // A part X would refuse is named, and nothing is written.
    let err = one_line_error(&run(
        chirp(Some(&e.t.url()), e.home.path()).args(["post", "--thread", "-"]),
        Some(format!("ok\n---\n{}\n", "x".repeat(281)).as_bytes()),
    ));
    assert_eq!(
        err,
        "chirp: part 2 of 2: the post is 281/280 weighted characters: shorten it by 1"
    );
    assert_eq!(e.list().len(), 1);
    // --split cuts a long text into a thread, numbered on request.
    let long = "Every sentence here is short. ".repeat(30);
    let id = stdout(&run(
        chirp(Some(&e.t.url()), e.home.path()).args([
            "post",
            "--split",
            "--numbered",
            "--draft",
            &long,
        ]),
        None,
    ));
    let out = run(
        chirp(Some(&e.t.url()), e.home.path()).args(["show", &id, "--json"]),
        None,
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let parts = v["thread"].as_array().unwrap();
    assert!(parts.len() >= 4, "{v}");
    let n = parts.len();
    assert!(
        parts[0]["content"]
            .as_str()
            .unwrap()
            .ends_with(&format!("short. 1/{n}")),
        "{v}"
    );
    // count counts each part.
    let out = run(
        chirp(None, e.home.path()).args(["count"]),
        Some(b"hello\n---\nexample.com\n"),
    );
    assert_eq!(
        stdout(&out),
        "1/2 5/280  $0.015\n2/2 23/280  $0.20 (a link makes it a URL post)\nthread of 2: $0.215"
    );
    let out = run(
        chirp(None, e.home.path()).args(["count", "--json"]),
        Some(b"hello\n---\nexample.com\n"),
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["price_usd"], 0.215);
    assert_eq!(v["parts"][1]["has_url"], true);
}

/// The texts of a post's parts, as `chirp show --json` gives them.
fn part_texts(e: &Env, id: &str) -> Vec<String> {
    let out = e.run(&["show", id, "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["thread"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["content"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_thread_is_edited_whole_and_a_stopped_one_split_off() {
    let e = Env::new().await;
    let id = stdout(&e.run_stdin(
        &["post", "--thread", "-", "--draft"],
        b"one\n---\ntwo\n---\nthree\n",
    ));
    // edit --thread replaces every part; a part over the limit is named and changes nothing.
    let out = e.run_stdin(&["edit", &id, "--thread", "-"], b"uno\n---\ndos\n");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(part_texts(&e, &id), ["uno", "dos"]);
    let bad = format!("uno\n---\n{}\n", "y".repeat(300));
    let out = e.run_stdin(&["edit", &id, "--thread", "-"], bad.as_bytes());
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        one_line_error(&out),
        "chirp: part 2 of 2: the post is 300/280 weighted characters: shorten it by 20"
    );
    assert_eq!(part_texts(&e, &id), ["uno", "dos"]);
    // split-off is for a thread that stopped part-way.
    let out = e.run(&["split-off", &id]);
    assert_eq!(
        one_line_error(&out),
        format!(
            "chirp: post {id}: a draft post cannot be split (only a thread that stopped part-way can be)"
        )
    );
    // As the publisher leaves a thread X stopped at part 2 (plain SQL, as the seed allows).
    e.t.client()
        .await
        .execute(
            "UPDATE posts SET status = 'failed', x_tweet_id = '1777', posted_at = now(),
                    error_message = 'part 2/2: X refused it' WHERE id = $1",
            &[&id.parse::<i32>().unwrap()],
        )
        .await
        .unwrap();
    let out = e.run(&["split-off", &id]);
    assert!(out.status.success(), "{out:?}");
    let new = stdout(&out);
    assert_eq!(part_texts(&e, &new), ["dos"]);
    let v: Value = serde_json::from_slice(&e.run(&["show", &id, "--json"]).stdout).unwrap();
    assert_eq!(
        (v["status"].as_str(), v["parts"].as_i64()),
        (Some("posted"), Some(1))
    );
}

/// A file of `kind` ("png", "jpg", "gif", "mp4") with `extra` bytes of body after its header.
fn media_file(dir: &std::path::Path, name: &str, kind: &str, extra: usize) -> std::path::PathBuf {
    let mut bytes: Vec<u8> = match kind {
        "png" => b"\x89PNG\r\n\x1a\n".to_vec(),
        "jpg" => vec![0xFF, 0xD8, 0xFF, 0xE0],
        "mp4" => b"\0\0\0\x18ftypisom\0\0\x02\0".to_vec(),
        _ => b"not media at all".to_vec(),
    };
    bytes.extend((0..extra).map(|i| (i % 251) as u8));
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

async fn count_media(e: &Env) -> i64 {
    e.t.client()
        .await
        .query_one("SELECT count(*) FROM media", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn media_is_checked_by_content_stored_once_listed_and_exported() {
    let e = Env::new().await;
    let dir = tempfile::tempdir().unwrap();
    let cat = media_file(dir.path(), "cat.png", "png", 5000);
    let dog = media_file(dir.path(), "dog.jpg", "jpg", 7000);
    let clip = media_file(dir.path(), "clip.mp4", "mp4", 9000);
    let (cat, dog, clip) = (
        cat.to_str().unwrap(),
        dog.to_str().unwrap(),
        clip.to_str().unwrap(),
    );
    let out = e.run(&[
        "post",
        "two pets",
        "--draft",
        "--media",
        cat,
        "--alt",
        "A cat on a keyboard",
        "--media",
        dog,
    ]);
    assert!(out.status.success(), "{out:?}");
    let id = stdout(&out);
    let v: Value = serde_json::from_slice(&e.run(&["show", &id, "--json"]).stdout).unwrap();
    let media = v["media"].as_array().unwrap();
    assert_eq!(media.len(), 2);
    assert_eq!(media[0]["media_type"], "image/png");
    assert_eq!(media[0]["alt_text"], "A cat on a keyboard");
    assert_eq!(media[1]["media_type"], "image/jpeg");
    assert!(media[1]["alt_text"].is_null());
    let shown = stdout(&e.run(&["show", &id]));
    assert!(
        shown.contains("media      part 1 · image image/png · 5 KB · alt: A cat on a keyboard"),
        "{shown}"
    );
    let listed = stdout(&e.run(&["list"]));
    assert!(listed.contains("[2 media] two pets"), "{listed}");
    let v: Value = serde_json::from_slice(&e.run(&["list", "--json"]).stdout).unwrap();
    assert_eq!(v[0]["media"][0]["alt_text"], "A cat on a keyboard");
    // The same file again, on part 2 of a thread (with no text): stored once.
    let out = e.run_stdin(
        &[
            "post",
            "--thread",
            "-",
            "--draft",
            "--media",
            &format!("2:{cat}"),
            "--media",
            &format!("3:{clip}"),
        ],
        b"words first\n---\n\n---\nand a clip\n",
    );
    assert!(out.status.success(), "{out:?}");
    let thread = stdout(&out);
    assert_eq!(count_media(&e).await, 3, "cat.png is stored once");
    let v: Value = serde_json::from_slice(&e.run(&["show", &thread, "--json"]).stdout).unwrap();
    let at: Vec<(i64, &str)> = v["media"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["position"].as_i64().unwrap(), m["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(at, [(2, "image"), (3, "video")]);

    // Refused, one line, exit 2, nothing written.
    let fake_png = media_file(dir.path(), "fake.png", "txt", 10);
    let big = dir.path().join("big.png");
    std::fs::copy(cat, &big).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&big)
        .unwrap()
        .set_len(5 * 1024 * 1024 + 1)
        .unwrap();
    let big = big.to_str().unwrap();
    let fake_png = fake_png.to_str().unwrap();
    let five: Vec<&str> = std::iter::repeat_n(["--media", cat], 5).flatten().collect();
    let cat_part2 = format!("2:{cat}");
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["--media", fake_png],
            format!("chirp: {fake_png} is not an image (JPEG, PNG, WEBP, GIF) or a video (MP4, MOV) by its content: X would refuse it"),
        ),
        (
            vec!["--media", big],
            format!("chirp: {big} is 5242881 bytes: X takes at most 5 MB for an image"),
        ),
        (
            five,
            "chirp: a part takes up to 4 images, or 1 GIF, or 1 video: this one has 5 images".into(),
        ),
        (
            vec!["--media", cat, "--media", clip],
            "chirp: a part takes up to 4 images, or 1 GIF, or 1 video: images cannot go with a GIF or a video".into(),
        ),
        (
            vec!["--media", &cat_part2],
            format!("chirp: --media 2:{cat}: there is no part 2 (the post has 1)"),
        ),
        (
            vec!["--alt", "first?", "--media", cat],
            "chirp: --alt must follow the --media it describes".into(),
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec!["post", "refused", "--draft"];
        args.extend(extra);
        let out = e.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert_eq!(one_line_error(&out), want);
    }
    let long_alt = "a".repeat(1001);
    let out = e.run(&["post", "refused", "--media", cat, "--alt", &long_alt]);
    assert_eq!(
        one_line_error(&out),
        format!("chirp: {cat}: the alt text is 1001 characters: X takes at most 1000")
    );
    assert_eq!(e.list().len(), 2, "no post written");
    assert_eq!(count_media(&e).await, 3, "no file stored");

    // Export writes the files back, byte for byte, privately; never over a file.
    let out_dir = tempfile::tempdir().unwrap();
    let out = e.run(&["media", "export", &id, out_dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let first = out_dir.path().join(format!("{id}-1-1.png"));
    assert_eq!(std::fs::read(&first).unwrap(), std::fs::read(cat).unwrap());
    assert_eq!(
        std::fs::read(out_dir.path().join(format!("{id}-1-2.jpg"))).unwrap(),
        std::fs::read(dog).unwrap()
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&first).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let again = e.run(&["media", "export", &id, out_dir.path().to_str().unwrap()]);
    assert_ne!(again.status.code(), Some(0), "never over a file");

    // Deleting a post frees what no other post uses: the dog goes, the shared cat stays.
    assert!(e.run(&["delete", &id]).status.success());
    assert_eq!(count_media(&e).await, 2);
    assert!(e.run(&["delete", &thread]).status.success());
    assert_eq!(count_media(&e).await, 0);
}

/// An account @`name` as `chirp account connect` leaves it (the tokens do not matter here).
async fn add_account(e: &Env, x_user_id: &str, name: &str) {
    let c = e.t.client().await;
    c.batch_execute(
        "INSERT INTO users (name) SELECT 'local' WHERE NOT EXISTS (SELECT 1 FROM users)",
    )
    .await
    .unwrap();
    c.execute(
        "INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username)
         SELECT min(id), '', $1, $2 FROM users",
        &[&x_user_id, &name],
    )
    .await
    .unwrap();
}

fn json_out(o: &Output) -> Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn locals(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s["local"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn weekly_slots_fill_in_order_show_what_fills_them_and_keep_local_time_across_dst() {
    let e = Env::new().await;
    add_account(&e, "42", "alice").await;
    add_account(&e, "43", "bob").await;
    let out = e.run(&[
        "queue",
        "set",
        "@alice",
        "mon-fri 09:00,12:30,17:00; sat 10:00",
        "--tz",
        "Europe/Berlin",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout(&out).starts_with(
            "@alice: mon-fri 09:00,12:30,17:00; sat 10:00 (Europe/Berlin), 16 slots a week"
        ),
        "{}",
        stdout(&out)
    );
    // Berlin moves to summer time on Sun 2027-03-28: the slots stay at their local times.
    let next = json_out(&e.run(&[
        "queue",
        "next",
        "--account",
        "@alice",
        "--from",
        "2027-03-27",
        "--count",
        "5",
        "--json",
    ]));
    assert_eq!(
        locals(&next),
        [
            "Sat 2027-03-27 10:00 CET",
            "Mon 2027-03-29 09:00 CEST",
            "Mon 2027-03-29 12:30 CEST",
            "Mon 2027-03-29 17:00 CEST",
            "Tue 2027-03-30 09:00 CEST",
        ]
    );
    assert_eq!(next[0]["at"], "2027-03-27T09:00:00Z");
    assert_eq!(next[1]["at"], "2027-03-29T07:00:00Z");

    // Three posts added to the queue take the three next free slots, in order.
    let free = json_out(&e.run(&["queue", "next", "-a", "@alice", "--count", "3", "--json"]));
    let mut ids = Vec::new();
    for i in 0..3 {
        let out = e.run(&[
            "post",
            &format!("queued {i}"),
            "--at",
            "next",
            "-a",
            "@alice",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("queued for @alice: "),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ids.push(stdout(&out).parse::<i64>().unwrap());
    }
    let mut listed = e.list();
    listed.sort_by_key(|p| p["id"].as_i64());
    for (p, slot) in listed.iter().zip(free.as_array().unwrap()) {
        assert_eq!(p["scheduled_at"], slot["at"], "{p}");
        assert_eq!(p["queued"], true);
    }
    // `list` marks them: they hold queue slots.
    let text = stdout(&e.run(&["list"]));
    assert!(text.contains("[queued] queued 0"), "{text}");
    // A draft joins the queue with `schedule --at next`, after the others.
    let draft = stdout(&e.run(&["post", "a draft first", "--draft", "-a", "@alice"]));
    assert!(
        e.run(&["schedule", &draft, "--at", "next"])
            .status
            .success()
    );
    // `queue show` lists the slots and what fills them, then the free ones.
    let shown = json_out(&e.run(&["queue", "show", "--json"]));
    assert_eq!(shown.as_array().unwrap().len(), 1, "only @alice has slots");
    let slots = shown[0]["next"].as_array().unwrap();
    let filled: Vec<i64> = slots
        .iter()
        .filter_map(|s| s["post"]["id"].as_i64())
        .collect();
    assert_eq!(filled[..3], ids[..]);
    assert_eq!(filled[3], draft.parse::<i64>().unwrap());
    assert!(slots[4]["post"].is_null(), "{}", slots[4]);
    let text = stdout(&e.run(&["queue", "show", "-a", "@alice"]));
    assert!(text.contains(&format!("#{} queued 0", ids[0])), "{text}");
    assert!(text.contains("· free"), "{text}");

    // Unscheduling one frees its slot; compact moves the later ones up.
    assert!(e.run(&["unschedule", &ids[0].to_string()]).status.success());
    let out = e.run(&["queue", "compact", "-a", "@alice"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("@alice: 3 queued, 3 moved"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = e.list();
    let at = |id: i64| after.iter().find(|p| p["id"] == id).unwrap()["scheduled_at"].clone();
    assert_eq!(at(ids[1]), free[0]["at"]);

    // Mistakes are one line and exit 2, and write nothing.
    let before = e.list().len();
    for (args, want) in [
        (
            vec!["queue", "set", "@alice", "mon-fry 09:00"],
            "`mon-fry` is not a day",
        ),
        (
            vec!["queue", "set", "@alice", "mon 9:00", "--tz", "Mars/Base"],
            "`Mars/Base` is not a time zone",
        ),
        (
            vec!["queue", "set", "@carol", "mon 09:00"],
            "no connected account @carol",
        ),
        (
            vec!["post", "x", "--at", "next", "-a", "@bob"],
            "@bob has no queue slots: set them with `chirp queue set @bob",
        ),
        (
            vec!["queue", "next", "-a", "@bob"],
            "@bob has no queue slots",
        ),
    ] {
        let out = e.run(&args);
        let err = one_line_error(&out);
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    assert_eq!(e.list().len(), before, "nothing half-written");
}

/// An export with what tells one database from another taken out: ids, creation times,
/// where files were written; groups as the position of their first post; posts in order of
/// account and text.
fn comparable(export: &Value) -> Value {
    let mut posts: Vec<Value> = export["posts"].as_array().unwrap().clone();
    let index: Vec<Value> = posts.iter().map(|p| p["id"].clone()).collect();
    for p in &mut posts {
        let group = p["group"].clone();
        let o = p.as_object_mut().unwrap();
        o.remove("id");
        o.remove("created_at");
        o.insert(
            "group".into(),
            match index.iter().position(|id| *id == group) {
                Some(i) => Value::from(i),
                None => Value::Null,
            },
        );
        for part in o["parts"].as_array_mut().unwrap() {
            for m in part["media"].as_array_mut().unwrap() {
                m.as_object_mut().unwrap().remove("file");
            }
        }
    }
    // Group positions refer to the original order; compare them before sorting.
    let groups: Vec<(String, Value)> = posts
        .iter()
        .map(|p| {
            (
                format!("{}{}", p["account"], p["parts"][0]["text"]),
                p["group"].clone(),
            )
        })
        .collect();
    posts.sort_by_key(|p| format!("{}{}", p["account"], p["parts"][0]["text"]));
    serde_json::json!({ "queues": export["queues"], "posts": posts, "grouped": groups.iter().filter(|(_, g)| !g.is_null()).count() })
}

#[tokio::test]
async fn an_export_imported_into_an_empty_database_restores_the_same_posts_parts_and_files() {
    let a = Env::new().await;
    add_account(&a, "42", "alice").await;
    add_account(&a, "43", "bob").await;
    let dir = a.home.path();
    assert!(
        a.run(&[
            "queue",
            "set",
            "@alice",
            "daily 09:00,18:00",
            "--tz",
            "Europe/Berlin"
        ])
        .status
        .success()
    );
    let pic = media_file(dir, "pic.png", "png", 3000);
    let pic = pic.to_str().unwrap();
    // A thread with a picture on its second part, scheduled; a queued post; one text to two
    // accounts; and history: a posted thread and a failed post.
    let out = a.run_stdin(
        &[
            "post",
            "-",
            "--thread",
            "--at",
            "in 3h",
            "-a",
            "@alice",
            "--media",
            &format!("2:{pic}"),
            "--alt",
            "the picture",
        ],
        b"one of two\n---\ntwo of two",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        a.run(&["post", "in the queue", "--at", "next", "-a", "@alice"])
            .status
            .success()
    );
    assert!(
        a.run(&["post", "to both", "--draft", "-a", "@alice", "-a", "@bob"])
            .status
            .success()
    );
    let out = a.run_stdin(
        &["post", "-", "--thread", "-a", "@bob", "--at", "in 1h"],
        b"went out\n---\nall of it",
    );
    let posted = stdout(&out);
    assert!(
        a.run(&["post", "refused by X", "--at", "in 2h", "-a", "@bob"])
            .status
            .success()
    );
    let c = a.t.client().await;
    c.execute(
        "UPDATE posts SET status = 'posted', x_tweet_id = '1860000000000000001', posted_at = now()
         WHERE id = $1",
        &[&posted.parse::<i32>().unwrap()],
    )
    .await
    .unwrap();
    c.execute(
        "UPDATE post_parts SET remote_id = '1860000000000000002', posted_at = now()
         WHERE post_id = $1 AND position = 2",
        &[&posted.parse::<i32>().unwrap()],
    )
    .await
    .unwrap();
    c.batch_execute(
        "UPDATE posts SET status = 'failed', error_message = 'X refused it: duplicate content'
         WHERE content = 'refused by X'",
    )
    .await
    .unwrap();
    // How the posted thread did, read twice: history that must come back.
    c.execute(
        "INSERT INTO post_analytics (post_id, fetched_at, impressions, likes, reposts, replies,
                                     quotes, bookmarks, url_clicks)
         VALUES ($1, now() - interval '1 day', 120, 4, 1, 0, 0, 0, 3),
                ($1, now(), 1450, 32, 8, 4, 1, 2, NULL)",
        &[&posted.parse::<i32>().unwrap()],
    )
    .await
    .unwrap();

    let media_dir = dir.join("files");
    std::fs::create_dir(&media_dir).unwrap();
    let backup = dir.join("backup.json");
    let out = a.run(&[
        "export",
        "--with-media",
        media_dir.to_str().unwrap(),
        "-o",
        backup.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first: Value = serde_json::from_slice(&std::fs::read(&backup).unwrap()).unwrap();
    assert_eq!(first["posts"].as_array().unwrap().len(), 6);
    let went_out = first["posts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["status"] == "posted")
        .unwrap();
    assert_eq!(went_out["metrics"].as_array().unwrap().len(), 2);
    assert_eq!(went_out["metrics"][1]["impressions"], 1450);
    assert_eq!(went_out["metrics"][0]["url_clicks"], 3);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let over = a.run(&["export", "-o", backup.to_str().unwrap()]);
    assert!(one_line_error(&over).contains("exists: chirp never writes over a file"));
    assert_eq!(over.status.code(), Some(2));
    // Exported files are private, like everything the user wrote.
    let written: Vec<_> = std::fs::read_dir(&media_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(written.len(), 1);
    assert_eq!(
        std::fs::metadata(&written[0]).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Exporting again into the same folder keeps the file that is truly there; a file
    // planted under its name (same size, other bytes; or a symlink) is refused, not trusted.
    let again = |name: &str, dir: &std::path::Path| {
        a.run(&[
            "export",
            "--with-media",
            dir.to_str().unwrap(),
            "-o",
            a.home.path().join(name).to_str().unwrap(),
        ])
    };
    assert!(again("b2.json", &media_dir).status.success());
    let original = std::fs::read(&written[0]).unwrap();
    let mut planted = original.clone();
    let last = planted.len() - 1;
    planted[last] ^= 0xff;
    std::fs::write(&written[0], &planted).unwrap();
    let err = one_line_error(&again("b3.json", &media_dir));
    assert!(
        err.contains("is not the exported file (its content differs)"),
        "{err}"
    );
    std::fs::remove_file(&written[0]).unwrap();
    let elsewhere = a.home.path().join("elsewhere.png");
    std::fs::write(&elsewhere, &original).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &written[0]).unwrap();
    let err = one_line_error(&again("b4.json", &media_dir));
    assert!(err.contains("is not a plain file (a symlink?)"), "{err}");
    std::fs::remove_file(&written[0]).unwrap();
    std::fs::write(&written[0], &original).unwrap();
    // A folder that is not there yet is made, private.
    let fresh = a.home.path().join("new-media");
    assert!(again("b5.json", &fresh).status.success());
    assert_eq!(
        std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777,
        0o700
    );

    // A fresh database with the same accounts (ids differ), and nothing else.
    let b = Env::new().await;
    add_account(&b, "43", "bob").await;
    add_account(&b, "42", "alice").await;
    let dry = b.run(&["import", backup.to_str().unwrap(), "--dry-run"]);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(
        stdout(&dry).contains("6 post(s) would be imported"),
        "{}",
        stdout(&dry)
    );
    assert!(b.list().is_empty(), "a dry run writes nothing");
    let out = b.run(&["import", backup.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let second = json_out(&b.run(&["export"]));
    assert_eq!(comparable(&second), comparable(&first));
    // The picture came back byte for byte.
    let restored = b.t.client().await;
    let sha: String = restored
        .query_one("SELECT encode(sha256, 'hex') FROM media", &[])
        .await
        .unwrap()
        .get(0);
    use sha2::Digest;
    assert_eq!(
        sha,
        format!("{:x}", sha2::Sha256::digest(std::fs::read(pic).unwrap()))
    );
    // Importing it again would post everything twice: refused, nothing written.
    let again = b.run(&["import", backup.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already in chirp as post"));
    assert_eq!(b.list().len(), 6);
}

#[tokio::test]
async fn a_csv_goes_into_the_queue_and_one_bad_row_refuses_the_whole_file() {
    let e = Env::new().await;
    add_account(&e, "42", "alice").await;
    assert!(
        e.run(&[
            "queue",
            "set",
            "@alice",
            "mon-fri 09:00,12:30,17:00",
            "--tz",
            "America/New_York"
        ])
        .status
        .success()
    );
    let dir = e.home.path();
    media_file(dir, "cat.png", "png", 500);
    let mut csv = String::from("text,scheduled_at,account,part2,media,alt\n");
    for i in 1..=20 {
        csv.push_str(&format!(
            "\"Tip {i}: keep it short, \"\"quoted\"\" too\",,alice,,,\n"
        ));
    }
    csv.push_str("\"A thread\",,@alice,\"its second part\",cat.png,a cat\n");
    // One bad row among them: too long, an unknown account, a time that cannot be read.
    let long = "x".repeat(281);
    let bad = format!("{csv}{long},someday,carol,,missing.png,\n");
    let file = dir.join("posts.csv");
    std::fs::write(&file, &bad).unwrap();
    let out = e.run(&["import", file.to_str().unwrap(), "--to-queue"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("row 23, account: no connected account @carol")),
        "{err}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("row 23, text: ") && l.contains("281/280")),
        "{err}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("row 23, media: cannot read")),
        "{err}"
    );
    assert!(
        lines
            .last()
            .unwrap()
            .contains("nothing was imported: 3 problem(s)"),
        "{err}"
    );
    assert!(e.list().is_empty(), "one bad row writes nothing");
    // Without it, every post takes the next free slot in order, the thread with its file.
    let free = json_out(&e.run(&["queue", "next", "-a", "@alice", "--count", "21", "--json"]));
    std::fs::write(&file, &csv).unwrap();
    let out = e.run(&["import", file.to_str().unwrap(), "--to-queue"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut posts = e.list();
    posts.sort_by_key(|p| p["id"].as_i64());
    assert_eq!(posts.len(), 21);
    for (p, slot) in posts.iter().zip(free.as_array().unwrap()) {
        assert_eq!(p["scheduled_at"], slot["at"], "{p}");
    }
    assert_eq!(posts[0]["content"], "Tip 1: keep it short, \"quoted\" too");
    let thread = &posts[20];
    assert_eq!(thread["parts"], 2);
    let shown = stdout(&e.run(&["show", &thread["id"].to_string()]));
    // `media` is the first part's files (`media2` the second's).
    assert!(
        shown.contains("media      part 1 · image image/png"),
        "{shown}"
    );
    assert!(shown.contains("a cat"), "{shown}");
}

#[tokio::test]
async fn a_post_saved_as_a_template_makes_new_posts_with_its_placeholders_filled() {
    let e = Env::new().await;
    add_account(&e, "42", "alice").await;
    let pic = media_file(e.home.path(), "shot.png", "png", 700);
    let out = e.run_stdin(
        &["post", "-", "--thread", "--draft", "--media", &format!("2:{}", pic.display()), "--alt", "a screenshot"],
        b"Release {release} is out this {weekday} ({date})!\n---\nNotes: {url} {{not a placeholder}}",
    );
    let source = stdout(&out);
    let saved = e.run(&["template", "save", &source, "release"]);
    assert!(
        saved.status.success(),
        "{}",
        String::from_utf8_lossy(&saved.stderr)
    );
    assert_eq!(
        stdout(&saved),
        "saved template release (2 part(s), 1 file(s))"
    );
    // The same name again is refused unless replaced.
    let again = e.run(&["template", "save", &source, "release"]);
    assert!(one_line_error(&again).contains("a template named `release` exists"));
    assert_eq!(again.status.code(), Some(2));
    assert!(
        e.run(&["template", "save", &source, "release", "--replace"])
            .status
            .success()
    );
    let shown = stdout(&e.run(&["template", "show", "release"]));
    assert!(
        shown.contains("placeholders: {release}, {weekday}, {date}, {url}"),
        "{shown}"
    );
    // The template outlives the post it came from, files included.
    assert!(e.run(&["delete", &source]).status.success());

    // Missing values are all named; nothing is written.
    let before = e.list().len();
    let missing = e.run(&[
        "post",
        "--template",
        "release",
        "--var",
        "release=v2.1",
        "--draft",
    ]);
    let err = one_line_error(&missing);
    assert!(err.contains("no value for {url}"), "{err}");
    assert_eq!(missing.status.code(), Some(2));
    let unknown = e.run(&["post", "--template", "nope", "--draft"]);
    assert!(one_line_error(&unknown).contains("no template named `nope` (there are: release)"));
    assert_eq!(unknown.status.code(), Some(2));
    assert_eq!(e.list().len(), before, "nothing half-written");

    // {date} and {weekday} are the day it is scheduled for (Mon 2027-01-04 here).
    let out = e.run(&[
        "post",
        "--template",
        "release",
        "--var",
        "release=v2.1",
        "--var",
        "url=https://example.com/notes",
        "--at",
        "2027-01-04 10:00",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = stdout(&out);
    assert_eq!(
        part_texts(&e, &id),
        [
            "Release v2.1 is out this Monday (2027-01-04)!",
            "Notes: https://example.com/notes {not a placeholder}"
        ]
    );
    let v: Value = serde_json::from_slice(&e.run(&["show", &id, "--json"]).stdout).unwrap();
    assert_eq!(v["media"][0]["position"], 2);
    assert_eq!(v["media"][0]["alt_text"], "a screenshot");
    let listed = json_out(&e.run(&["template", "list", "--json"]));
    assert_eq!(listed[0]["name"], "release");
    assert_eq!(listed[0]["files"], 1);
    assert!(e.run(&["template", "delete", "release"]).status.success());
    // The new post keeps its file after the template is gone.
    assert_eq!(count_media(&e).await, 1);
}

#[tokio::test]
async fn posting_says_what_it_will_cost_before_it_goes_out() {
    let e = Env::new().await;
    let out = e.run(&["post", "see https://example.com/launch", "--at", "in 2h"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("costs $0.20 at X's prices (a link makes it a URL post)"),
        "{err}"
    );
    let out = e.run_stdin(
        &["post", "-", "--thread", "--at", "in 3h"],
        b"plain\n---\nwith example.com\n---\nplain again",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("costs $0.23 at X's prices (1 of its 3 parts has a link)"),
        "{err}"
    );
    // A draft goes nowhere yet: no price.
    let out = e.run(&["post", "later https://example.com", "--draft"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("costs"));
}

#[tokio::test]
async fn status_format_fills_a_tmux_line_from_one_look_and_never_starts_the_server() {
    // chirp's private server was never made here: the line says so, and nothing is created.
    let home = tempfile::tempdir().unwrap();
    let out = run(
        chirp(None, home.path()).args(["status", "--format", "{next} · {waiting} waiting"]),
        None,
    );
    assert!(out.status.success());
    assert_eq!(stdout(&out), "chirp: database stopped");
    assert!(!home.path().join("data").join("chirp").exists());
    // A bad placeholder is a usage error, said before the database is asked.
    let out = run(
        chirp(None, home.path()).args(["status", "--format", "{nope}"]),
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(one_line_error(&out).contains("no placeholder {nope}"));
    // A server that does not answer is said in the line itself.
    let out = run(
        chirp(Some("postgresql://chirp@127.0.0.1:1/chirp"), home.path())
            .args(["status", "--format", "{next}"]),
        None,
    );
    assert_eq!(stdout(&out), "chirp: database unreachable");
    assert_eq!(out.status.code(), Some(1));

    let e = Env::new().await;
    add_account(&e, "42", "alice").await;
    assert!(
        e.run(&["post", "soon", "--at", "in 2h", "-a", "@alice"])
            .status
            .success()
    );
    assert!(
        e.run(&["post", "later", "--at", "in 3h", "-a", "@alice"])
            .status
            .success()
    );
    let out = e.run(&[
        "status",
        "--format",
        "{next} ({next_at}) · {waiting} waiting · {failed} failed · {accounts} {{{db}}}",
    ]);
    let line = stdout(&out);
    assert!(
        line.starts_with("1h59m (") || line.starts_with("2h00m ("),
        "{line}"
    );
    assert!(
        line.ends_with(" · 2 waiting · 0 failed · @alice ok {up}"),
        "{line}"
    );
    // --json: a stable shape for scripts.
    let v: Value = serde_json::from_slice(&e.run(&["status", "--json"]).stdout).unwrap();
    assert_eq!(v["posts"]["scheduled"], 2);
    assert_eq!(v["accounts"][0]["handle"], "@alice");
    assert_eq!(v["accounts"][0]["state"], "ok");
    assert!(v["next_due"]["at"].is_string());
}

#[test]
fn completions_man_page_and_version_come_from_the_command_line_definitions() {
    let home = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run(chirp(None, home.path()).args(["completions", shell]), None);
        assert!(out.status.success(), "{shell}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("schedule"),
            "{shell}"
        );
    }
    // The bash script parses.
    let out = run(chirp(None, home.path()).args(["completions", "bash"]), None);
    let script = home.path().join("chirp.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let checked = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let man = run(chirp(None, home.path()).args(["man"]), None);
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH chirp"),
        "{page}"
    );
    assert!(page.contains("completions"), "{page}");
    let dir = home.path().join("man1");
    std::fs::create_dir(&dir).unwrap();
    assert!(
        run(
            chirp(None, home.path()).args(["man", dir.to_str().unwrap()]),
            None
        )
        .status
        .success()
    );
    assert!(dir.join("chirp-post.1").exists());
    let version = stdout(&run(chirp(None, home.path()).args(["--version"]), None));
    // "chirp 0.1.0 (<commit>)": the commit it was built from.
    assert!(
        version.starts_with(&format!("chirp {} (", env!("CARGO_PKG_VERSION")))
            && version.ends_with(')'),
        "{version}"
    );
    // Every flag of every command says what it is for.
    let mut missing = Vec::new();
    for page in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(page.unwrap().path()).unwrap();
        // clap_mangen writes each option as `.TP` then the flag line, then its help (if any).
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if *l == ".TP" {
                let flag = lines.get(i + 1).copied().unwrap_or_default();
                let help = lines.get(i + 2).copied().unwrap_or_default();
                if help.starts_with('.') || help.is_empty() {
                    missing.push(flag.to_string());
                }
            }
        }
    }
    assert!(missing.is_empty(), "flags without help: {missing:#?}");
}

#[tokio::test]
async fn count_and_post_follow_the_accounts_network() {
    let e = Env::new().await;
    add_account(&e, "42", "alice").await;
    e.t.client()
        .await
        .batch_execute(
            "INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username, network,
                                     server_url, remote_user_id, handle)
             SELECT min(id), '', '', '', 'mastodon', 'https://mastodon.social', '7',
                    '@me@mastodon.social' FROM users",
        )
        .await
        .unwrap();
    // 200 CJK characters: 400 of X's 280, 200 of Mastodon's 500 (and no X price).
    let cjk = "字".repeat(200);
    let out = e.run(&["count", "-a", "@me@mastodon.social", &cjk]);
    assert_eq!(stdout(&out), "200/500");
    assert!(out.status.success());
    let out = e.run(&["count", "-a", "@alice", &cjk]);
    assert!(stdout(&out).starts_with("400/280"), "{}", stdout(&out));
    assert_eq!(out.status.code(), Some(1));
    // Posted to both, it must fit both: refused as X refuses it, nothing written.
    let out = e.run(&["post", "-a", "@me@mastodon.social", "-a", "@alice", &cjk]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        one_line_error(&out),
        "chirp: the post is 400/280 weighted characters: shorten it by 120"
    );
    let out = e.run(&["post", "-a", "@me@mastodon.social", "--draft", &cjk]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Split for both, every part fits the stricter rule.
    let long = "word ".repeat(120);
    let out = e.run(&[
        "post",
        "-a",
        "@me@mastodon.social",
        "-a",
        "@alice",
        "--split",
        "--draft",
        &long,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parts: i64 =
        e.t.client()
            .await
            .query_one(
                "SELECT max(position)::bigint FROM post_parts pp JOIN posts p ON p.id = pp.post_id
             WHERE p.content LIKE 'word%'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
    assert_eq!(parts, 3, "600 characters in parts of at most 280");
}

#[tokio::test]
async fn the_kind_of_a_failure_decides_its_exit_code() {
    let e = Env::new().await;
    add_account(&e, "42", "alice").await;
    // A post id that names nothing is what was typed: 2.
    let out = e.run(&["show", "999"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(one_line_error(&out), "chirp: no post with id 999");
    // A draft cannot be retried: the state of things refuses it, 1.
    let out = e.run(&["post", "--draft", "a draft"]);
    let id = stdout(&out);
    let out = e.run(&["retry", &id]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        one_line_error(&out),
        format!("chirp: post {id}: a draft post cannot be retried (schedule it instead)")
    );
    // Text no network takes: 2, and nothing written.
    let out = e.run(&["edit", &id, ""]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(part_texts(&e, &id), ["a draft"]);
}

#[tokio::test]
async fn a_csv_export_cannot_run_a_formula_in_a_spreadsheet_and_reads_back_the_same() {
    let a = Env::new().await;
    add_account(&a, "42", "alice").await;
    let texts = [
        "=HYPERLINK(\"http://example.com/x\",\"click\")",
        "-5 degrees and falling",
        "'=quoted already",
        "plain words",
    ];
    for t in texts {
        let out = a.run(&["post", "--draft", "-a", "@alice", "--", t]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let csv = stdout(&a.run(&["export", "--format", "csv"]));
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let header = r.headers().unwrap().clone();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    for row in r.records() {
        let row = row.unwrap();
        for cell in &row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a cell a spreadsheet would run: {cell:?}"
            );
        }
        assert_eq!(&row[col("account")], "alice");
    }
    // Imported elsewhere, the posts are what they were.
    let b = Env::new().await;
    add_account(&b, "42", "alice").await;
    let file = b.home.path().join("posts.csv");
    std::fs::write(&file, &csv).unwrap();
    let out = b.run(&["import", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got: Vec<String> = b
        .list()
        .iter()
        .map(|p| p["content"].as_str().unwrap().to_string())
        .collect();
    got.sort();
    let mut want: Vec<String> = texts.iter().map(ToString::to_string).collect();
    want.sort();
    assert_eq!(got, want);
}

#[tokio::test]
async fn text_from_outside_is_printed_inert_in_template_lists_import_previews_and_errors() {
    let e = Env::new().await;
    add_account(&e, "42", "alice").await;
    // OSC 52 writes the clipboard; ESC [2J clears the screen.
    let osc = "\u{1b}]52;c;ZWNobyBob3N0aWxl\u{7}";
    let clear = "\u{1b}[2J";
    let raw = |o: &Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    let assert_inert = |what: &str, o: &Output| {
        let all = raw(o);
        assert!(
            !all.contains('\u{1b}'),
            "{what} printed an escape raw: {all:?}"
        );
        assert!(!all.contains('\u{7}'), "{what} printed a bell raw: {all:?}");
        assert!(all.contains("\\e"), "{what} shows it escaped: {all:?}");
    };
    let out = e.run(&[
        "post",
        "--draft",
        "-a",
        "@alice",
        &format!("look {clear}here{osc}"),
    ]);
    assert!(out.status.success(), "{}", raw(&out));
    let id = stdout(&out).trim().to_string();
    let out = e.run(&["template", "save", &id, &format!("rel{clear}")]);
    assert_inert("template save", &out);
    assert_inert("template list", &e.run(&["template", "list"]));
    // A CSV someone sent, previewed and refused.
    let file = e.home.path().join("sent.csv");
    std::fs::write(
        &file,
        format!("text,scheduled_at\n\"hi {osc} there\",\n\"again\",\"tomorrow {clear}9am\"\n"),
    )
    .unwrap();
    let out = e.run(&["import", file.to_str().unwrap(), "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", raw(&out));
    assert_inert("import's problems", &out);
    std::fs::write(&file, format!("text,scheduled_at\n\"hi {osc} there\",\n")).unwrap();
    let out = e.run(&["import", file.to_str().unwrap(), "--dry-run"]);
    assert!(out.status.success(), "{}", raw(&out));
    assert_inert("import --dry-run", &out);
    // The user's own arguments, quoted back in an error.
    let out = e.run(&["post", "x", "--at", &format!("soon{clear}")]);
    assert_eq!(out.status.code(), Some(2));
    assert_inert("an --at error", &out);
    let out = e.run(&["post", "x", "-a", &format!("@bob{osc}")]);
    assert_eq!(out.status.code(), Some(2));
    assert_inert("a -a error", &out);
    // clap's own refusal (it drops the sequence from what it quotes): nothing raw either.
    let out = e.run(&["show", &format!("7{clear}")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!raw(&out).contains('\u{1b}'), "{:?}", raw(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_split_or_a_dear_post_needs_yes_and_says_the_count_and_the_price() {
    let e = Env::new().await;
    // About 40 parts: X would charge $0.60, and more than 25 parts is worth a word.
    let long =
        "Every sentence of this long announcement is here for a reason, surely. ".repeat(120);
    let out = e.run(&["post", "--split", "--at", "tomorrow 9am", &long]);
    assert_eq!(out.status.code(), Some(2));
    let err = one_line_error(&out);
    assert!(
        err.starts_with("chirp: this is ")
            && err.contains(" parts costing $")
            && err.contains("(more than 25 parts)")
            && err.ends_with("add --yes to send it (or --draft to keep it a draft)"),
        "{err}"
    );
    assert!(e.list().is_empty(), "nothing was written");
    // A draft costs nothing yet; --yes sends it as asked.
    assert!(
        e.run(&["post", "--split", "--draft", &long])
            .status
            .success()
    );
    let out = e.run(&["post", "--split", "--at", "tomorrow 9am", "--yes", &long]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(e.list().len(), 2);
    // The price threshold is the config's: one link post over a ten-cent limit asks too.
    let cfg = e.home.path().join("config/chirp");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(cfg.join("config.toml"), "[x.pricing]\nask_over = 0.10\n").unwrap();
    let err = one_line_error(&e.run(&["post", "see https://example.com"]));
    assert!(
        err.contains("this is 1 post costing $0.20 at X's prices (more than the $0.10 of [x.pricing] ask_over)"),
        "{err}"
    );
    assert_eq!(e.list().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_that_would_cost_more_than_ask_over_needs_yes() {
    let e = Env::new().await;
    // Six link posts scheduled for tomorrow: $1.20 at X's prices, over the default $1.
    let mut csv = String::from("text,scheduled_at\n");
    for i in 1..=6 {
        csv.push_str(&format!("See https://example.com/{i},2030-01-0{i} 09:00\n"));
    }
    let file = e.home.path().join("posts.csv");
    std::fs::write(&file, &csv).unwrap();
    let f = file.to_str().unwrap();
    let dry = e.run(&["import", f, "--dry-run"]);
    assert!(
        stdout(&dry).contains(
            "6 post(s) would be imported; importing sends 6 post(s) costing $1.20 at X's prices"
        ),
        "{}",
        stdout(&dry)
    );
    let out = e.run(&["import", f]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        one_line_error(&out),
        "chirp: nothing was imported: it sends 6 post(s) costing $1.20 at X's prices (more than the $1.00 of [x.pricing] ask_over): add --yes to import it (--dry-run shows each post)"
    );
    assert!(e.list().is_empty());
    assert!(e.run(&["import", f, "--yes"]).status.success());
    assert_eq!(e.list().len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_attaches_only_files_in_its_own_folder_and_dry_run_names_each() {
    let e = Env::new().await;
    let dir = e.home.path().join("sent-to-me");
    std::fs::create_dir_all(dir.join("pics")).unwrap();
    media_file(&dir.join("pics"), "ok.png", "png", 100);
    let secret = media_file(e.home.path(), "secret.png", "png", 100);
    let csv = format!(
        "text,media\nmine,pics/ok.png\nup,../secret.png\nabsolute,{}\n",
        secret.display()
    );
    let file = dir.join("posts.csv");
    std::fs::write(&file, csv).unwrap();
    let f = file.to_str().unwrap();
    let out = e.run(&["import", f, "--dry-run"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("row 3, media: ")
            && err.contains("/../secret.png is outside the CSV's folder: move it there, or import with --allow-outside"),
        "{err}"
    );
    assert!(
        err.contains(&format!("row 4, media: {} is outside", secret.display())),
        "{err}"
    );
    assert!(!err.contains("row 2"), "{err}");
    // Allowed on purpose: the dry run names every file it would read and store.
    let dry = e.run(&["import", f, "--dry-run", "--allow-outside"]);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let said = stdout(&dry);
    assert!(
        said.contains(&format!("  attaches {}", dir.join("pics/ok.png").display())),
        "{said}"
    );
    assert!(
        said.contains("  attaches ") && said.contains("secret.png"),
        "{said}"
    );
    assert!(e.list().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_claiming_more_pixels_than_x_takes_is_refused_from_its_header() {
    let e = Env::new().await;
    let bomb = e.home.path().join("zeros.png");
    std::fs::write(&bomb, chirp_testing::png_claiming(11001, 0)).unwrap();
    let out = e.run(&["post", "--draft", "look", "--media", bomb.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        one_line_error(&out),
        format!(
            "chirp: {} is 11001×11001 pixels: X takes images of at most 8192×8192",
            bomb.display()
        )
    );
    assert!(e.list().is_empty(), "nothing was stored");
    // At the limit it goes.
    let fine = e.home.path().join("wide.png");
    std::fs::write(&fine, chirp_testing::png_claiming(8192, 0)).unwrap();
    let out = e.run(&["post", "--draft", "wide", "--media", fine.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_draft_keeps_what_it_owes_through_export_and_import() {
    let a = Env::new().await;
    add_account(&a, "42", "alice").await;
    let mut c = a.t.client().await;
    let account = chirp_store::accounts::find(&c, "@alice").await.unwrap();
    // A draft made from a template in the TUI, {version} still to fill.
    chirp_store::posts::create_owing(
        &mut c,
        chirp_store::posts::Actor("test"),
        &[account],
        &["Release {version} is out".into()],
        &[],
        chirp_store::posts::Schedule::Draft,
        &["version".into()],
    )
    .await
    .unwrap();
    let backup = a.home.path().join("b.json");
    assert!(
        a.run(&["export", "-o", backup.to_str().unwrap()])
            .status
            .success()
    );
    let mut v: Value = serde_json::from_slice(&std::fs::read(&backup).unwrap()).unwrap();
    assert_eq!(v["posts"][0]["unfilled"], serde_json::json!(["version"]));

    let b = Env::new().await;
    add_account(&b, "42", "alice").await;
    let out = b.run(&["import", backup.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = stdout(&out);
    // Imported, it still cannot be scheduled until {version} is filled.
    let err = one_line_error(&b.run(&["schedule", &id, "--at", "tomorrow 9am"]));
    assert!(err.contains("fill in {version} first"), "{err}");
    // A backup edited to schedule it is refused, naming the post, and nothing is written.
    v["posts"][0]["status"] = "scheduled".into();
    v["posts"][0]["scheduled_at"] = "2030-01-01T09:00:00Z".into();
    let edited = b.home.path().join("edited.json");
    std::fs::write(&edited, serde_json::to_vec(&v).unwrap()).unwrap();
    let c2 = Env::new().await;
    add_account(&c2, "42", "alice").await;
    let out = c2.run(&["import", edited.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("fill in {version} first (its template left it)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(c2.list().is_empty());
}
