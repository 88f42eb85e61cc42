//! The TUI in a real terminal (tmux): type a post, save it, schedule it in plain words, and
//! watch the background publisher send it to the fake X, without another keypress.
// Tests and benchmarks stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use chirp_fake_x::{FakeConfig, FakeX};

fn chirp_bin() -> std::path::PathBuf {
    env!("CARGO_BIN_EXE_chirp").into()
}

struct Tmux {
    socket: String,
    /// Where the shell that runs chirp writes its exit status.
    exit_file: std::path::PathBuf,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            // CI may run without a TERM; tmux needs one to start its server.
            .env("TERM", "xterm-256color")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux is installed");
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "e2e"])
    }

    /// Waits until the screen shows `text`. A terminal has no "drawn" event to wait on, so
    /// this reads the screen again until it appears or the deadline passes.
    fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?}"), |s| s.contains(text))
    }

    /// Waits until the screen is as `ok` wants it (`what` says how, for a failure).
    fn wait_until(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "{what} never appeared; screen:\n{s}\nprocesses:\n{}",
                self.processes()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Tmux {
    /// The pane's processes and their threads, with where each waits (for a failure).
    fn processes(&self) -> String {
        let pid = self.run(&["display", "-p", "-t", "e2e", "#{pane_pid}"]);
        Command::new("ps")
            .args([
                "-L",
                "-o",
                "pid,lwp,stat,wchan:32,cmd",
                "--ppid",
                pid.trim(),
                "-p",
                pid.trim(),
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default()
    }

    /// Waits until chirp has ended; its exit status, as the shell that ran it saw it. Not
    /// from the screen, nor from tmux: a pane's last output and its end may reach tmux in
    /// either order, or late.
    fn wait_for_exit(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(status) = std::fs::read_to_string(&self.exit_file)
                && status.ends_with('\n')
            {
                return status.trim().to_string();
            }
            assert!(
                Instant::now() < deadline,
                "chirp did not quit; screen:\n{}\nprocesses:\n{}",
                self.screen(),
                self.processes()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

/// Starts chirp's TUI in a tmux session of its own (100×30) on `t`, talking to `fake`.
fn launch(t: &chirp_testing::TestDb, fake: &FakeX, home: &std::path::Path, name: &str) -> Tmux {
    launch_with(t, fake, home, name, "")
}

/// The command line that runs chirp's TUI on `t` talking to `fake`, with more
/// `NAME='value'` words for `env`.
fn command_line(
    t: &chirp_testing::TestDb,
    fake: &FakeX,
    home: &std::path::Path,
    env: &str,
) -> String {
    let cfg = home.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[x]\nclient_id = \"c\"\napi_base_url = \"{}\"\nauthorize_url = \"{}\"\nredirect_uri = \"http://127.0.0.1:{}/callback\"\n",
            fake.base_url(),
            fake.authorize_url(),
            chirp_testing::free_port()
        ),
    )
    .unwrap();
    format!(
        "env DATABASE_URL='{}' CHIRP_SECRET_KEY='{}' HOME='{}' XDG_STATE_HOME='{}/state' TZ=UTC TERM=xterm-256color {env} {} --config {}",
        t.url(),
        chirp_testing::test_key_b64(),
        home.display(),
        home.display(),
        chirp_bin().display(),
        cfg.display()
    )
}

/// [`launch`], with more `NAME='value'` words for `env`.
fn launch_with(
    t: &chirp_testing::TestDb,
    fake: &FakeX,
    home: &std::path::Path,
    name: &str,
    env: &str,
) -> Tmux {
    let cmd = command_line(t, fake, home, env);
    let tmux = Tmux {
        socket: format!("chirp-{name}-{}", std::process::id()),
        exit_file: home.join("exit-status"),
    };
    // A pane whose chirp ended stays on screen with its last words, so that a failing test
    // shows why chirp left instead of an empty screen; the shell keeps its exit status.
    let conf = home.join("tmux.conf");
    // OSC 52 from chirp becomes a tmux buffer a test can read.
    std::fs::write(&conf, "set -g remain-on-exit on\nset -g set-clipboard on\n").unwrap();
    let script = home.join("run.sh");
    std::fs::write(
        &script,
        format!("{cmd}\necho $? > {}\n", tmux.exit_file.display()),
    )
    .unwrap();
    let cmd = format!("sh {}", script.display());
    tmux.run(&[
        "-f",
        conf.to_str().unwrap(),
        "new-session",
        "-d",
        "-s",
        "e2e",
        "-x",
        "100",
        "-y",
        "30",
        &cmd,
    ]);
    tmux
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_pane_while_composing_keeps_the_text() {
    let fake = FakeX::start(FakeConfig::default(), 0).await.unwrap();
    let t = chirp_testing::fresh_db().await;
    let home = tempfile::tempdir().unwrap();
    let tmux = launch(&t, &fake, home.path(), "kill-pane");
    tmux.wait_for("no drafts");
    tmux.keys(&["n"]);
    tmux.wait_for("New post");
    tmux.keys(&["-l", "words typed before the pane closed"]);
    tmux.wait_for("34/280");
    // The pane (and its terminal) goes away under chirp, as closing a tmux window does.
    tmux.run(&["kill-pane", "-t", "e2e"]);
    let n = chirp_testing::wait_for_count(
        &t.db,
        "SELECT count(*) FROM posts WHERE status = 'draft' AND content = 'words typed before the pane closed'",
        1,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(n, 1, "the text was lost with the pane");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn type_save_schedule_and_watch_it_go_out() {
    assert!(
        Command::new("tmux").arg("-V").output().is_ok(),
        "tmux is needed for the end-to-end test (apt-get install tmux)"
    );
    let fake = FakeX::start(FakeConfig::default(), 0).await.unwrap();
    let t = chirp_testing::fresh_db().await;
    chirp_testing::connect_account(&t.db, &fake, chrono::Duration::hours(1)).await;
    let home = tempfile::tempdir().unwrap();
    let tmux = launch(&t, &fake, home.path(), "e2e");
    tmux.wait_for("no drafts");
    tmux.wait_for("@chirp_tester");

    tmux.keys(&["n"]);
    tmux.wait_for("New post");
    tmux.keys(&["-l", "Hello from tmux 👋"]);
    tmux.wait_for("18/280");
    tmux.keys(&["C-s"]);
    tmux.wait_for("saved post");
    // The list reloads after the save: `s` acts on the selected row, so wait for it.
    tmux.wait_for("Drafts (1/1)");
    tmux.keys(&["s"]);
    tmux.wait_for("Schedule post");
    tmux.keys(&["-l", "in 2s"]);
    tmux.wait_for("(in 2s)");
    tmux.keys(&["Enter"]);
    tmux.wait_for("scheduled for");

    // The background publisher sends it; the Posted pane shows it without a keypress.
    assert_eq!(fake.wait_for_posts(1, Duration::from_secs(30)).await, 1);
    assert_eq!(fake.posts()[0].text, "Hello from tmux 👋");
    tmux.keys(&["Tab", "Tab"]);
    // The row, then its detail (drawn once the row is selected).
    tmux.wait_for("✓ Hello from tmux");
    tmux.wait_for("X id");

    // q quits and gives the terminal back.
    tmux.keys(&["q"]);
    assert_eq!(tmux.wait_for_exit(), "0", "chirp's exit status");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_a_three_part_thread_schedule_it_and_see_it_go_out_as_a_chain() {
    let fake = FakeX::start(FakeConfig::default(), 0).await.unwrap();
    let t = chirp_testing::fresh_db().await;
    chirp_testing::connect_account(&t.db, &fake, chrono::Duration::hours(1)).await;
    let home = tempfile::tempdir().unwrap();
    let tmux = launch(&t, &fake, home.path(), "thread");
    tmux.wait_for("no drafts");
    tmux.wait_for("@chirp_tester");

    tmux.keys(&["n"]);
    tmux.wait_for("New post");
    tmux.keys(&["-l", "tmux thread 1/3"]);
    // Ctrl-T adds a part; so does Alt-Enter.
    tmux.keys(&["C-t"]);
    tmux.wait_for("part 2/2");
    tmux.keys(&["-l", "tmux thread 2/3"]);
    tmux.keys(&["M-Enter"]);
    tmux.wait_for("part 3/3");
    tmux.keys(&["-l", "tmux thread 3/3"]);
    // Each part has its own counter.
    tmux.wait_until("three counters at 15/280", |s| {
        s.matches("15/280").count() == 3
    });
    tmux.keys(&["C-s"]);
    tmux.wait_for("saved post");
    tmux.wait_for("thread of 3");
    tmux.keys(&["s"]);
    tmux.wait_for("Schedule post");
    tmux.keys(&["-l", "in 2s"]);
    tmux.wait_for("(in 2s)");
    tmux.keys(&["Enter"]);
    tmux.wait_for("scheduled for");

    // The publisher sends the parts as one chain, each replying to the one before.
    assert_eq!(fake.wait_for_posts(3, Duration::from_secs(30)).await, 3);
    let ids = chirp_testing::thread_chain(&fake, "tmux thread", 3);
    tmux.keys(&["Tab", "Tab"]);
    tmux.wait_for(&format!("part 3/3 · on X as {}", ids[2]));

    // U unpublishes it, after asking: every part is deleted on X.
    tmux.keys(&["U"]);
    tmux.wait_for("Delete all 3 parts of post 1 on X?");
    tmux.keys(&["y"]);
    tmux.wait_for("post 1 unpublished");
    assert!(fake.posts().iter().all(|p| p.deleted), "{:?}", fake.posts());
    // The post stays, shown as unpublished, each part as deleted.
    tmux.wait_for("⊘ tmux thread 1/3");
    tmux.wait_for(&chrono::Utc::now().format("unpublished %a").to_string());
    tmux.wait_for(&format!("part 3/3 · deleted on X (was {})", ids[2]));
    tmux.keys(&["q"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_external_editor_turns_a_post_into_a_thread_with_dashes() {
    let fake = FakeX::start(FakeConfig::default(), 0).await.unwrap();
    let t = chirp_testing::fresh_db().await;
    let home = tempfile::tempdir().unwrap();
    // An "editor" that adds a second part after a line holding only ---.
    let editor = home.path().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nprintf '\\n---\\nsecond, from the editor\\n' >> \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let env = format!("EDITOR='{}' VISUAL=", editor.display());
    let tmux = launch_with(&t, &fake, home.path(), "editor", &env);
    tmux.wait_for("no drafts");
    tmux.keys(&["n"]);
    tmux.wait_for("New post");
    tmux.keys(&["-l", "first, typed here"]);
    tmux.wait_for("17/280");
    tmux.keys(&["C-e"]);
    tmux.wait_for("second, from the editor");
    tmux.keys(&["C-s"]);
    tmux.wait_for("thread of 2");
    let parts: Vec<String> = t
        .client()
        .await
        .query(
            "SELECT content FROM post_parts ORDER BY post_id, position",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(parts, ["first, typed here", "second, from the editor"]);
    tmux.keys(&["q"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_three_photos_to_a_thread_part_schedule_it_and_see_them_on_x() {
    let fake = FakeX::start(FakeConfig::default(), 0).await.unwrap();
    let t = chirp_testing::fresh_db().await;
    chirp_testing::connect_account(&t.db, &fake, chrono::Duration::hours(1)).await;
    let home = tempfile::tempdir().unwrap();
    let pics = home.path().join("pics");
    std::fs::create_dir(&pics).unwrap();
    let mut hashes = Vec::new();
    for (i, name) in ["one.png", "two.png", "three.png"].iter().enumerate() {
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.extend(std::iter::repeat_n(i as u8 + 1, 2000));
        std::fs::write(pics.join(name), &bytes).unwrap();
        use sha2::Digest;
        hashes.push(format!("{:x}", sha2::Sha256::digest(&bytes)));
    }
    let tmux = launch(&t, &fake, home.path(), "media");
    tmux.wait_for("no drafts");
    tmux.wait_for("@chirp_tester");
    tmux.keys(&["n"]);
    tmux.wait_for("New post");
    tmux.keys(&["-l", "photos below"]);
    tmux.keys(&["C-t"]);
    tmux.wait_for("─ 2/2 ");
    tmux.keys(&["-l", "three photos"]);
    for (i, name) in ["one.png", "two.png", "three.png"].iter().enumerate() {
        tmux.keys(&["M-m"]);
        tmux.wait_for("Attach a file");
        // Tab completes the directory from ~.
        tmux.keys(&["-l", "~/pi"]);
        tmux.keys(&["Tab"]);
        tmux.wait_for("path: ~/pics/");
        tmux.keys(&["-l", name]);
        tmux.keys(&["Enter"]);
        tmux.wait_for(&format!("· {name} ·"));
        if i == 0 {
            tmux.keys(&["M-t"]);
            tmux.wait_for("Alt text");
            tmux.keys(&["-l", "the first photo"]);
            tmux.keys(&["Enter"]);
            tmux.wait_for("alt: the first photo");
        }
    }
    tmux.keys(&["C-s"]);
    tmux.wait_for("saved post");
    tmux.wait_for("3 media");
    tmux.keys(&["s"]);
    tmux.wait_for("Schedule post");
    tmux.keys(&["-l", "in 2s"]);
    tmux.wait_for("(in 2s)");
    tmux.keys(&["Enter"]);
    assert_eq!(fake.wait_for_posts(2, Duration::from_secs(30)).await, 2);
    let on_x = fake.posts();
    let part2 = on_x.iter().find(|p| p.text == "three photos").unwrap();
    assert_eq!(part2.reply_to.as_deref(), Some(&*on_x[0].id));
    let media = fake.media();
    let sent: Vec<_> = part2
        .media_ids
        .iter()
        .map(|id| media.iter().find(|m| &m.id == id).unwrap())
        .collect();
    assert_eq!(
        sent.iter()
            .map(|m| m.sha256.clone().unwrap())
            .collect::<Vec<_>>(),
        hashes
    );
    assert_eq!(sent[0].alt_text.as_deref(), Some("the first photo"));
    assert_eq!(fake.count("POST", "/2/tweets"), 2, "each part once");
    tmux.keys(&["q"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_z_suspends_to_the_shell_and_fg_brings_it_back_redrawn() {
    let fake = FakeX::start(FakeConfig::default(), 0).await.unwrap();
    let t = chirp_testing::fresh_db().await;
    chirp_testing::connect_account(&t.db, &fake, chrono::Duration::hours(1)).await;
    let home = tempfile::tempdir().unwrap();
    let cmd = command_line(&t, &fake, home.path(), "");
    // An interactive shell with job control, as a user's.
    let tmux = Tmux {
        socket: format!("chirp-suspend-{}", std::process::id()),
        exit_file: home.path().join("exit-status"),
    };
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "e2e",
        "-x",
        "100",
        "-y",
        "30",
        "env PS1='$ ' bash --norc --noprofile -i",
    ]);
    tmux.wait_for("$");
    tmux.keys(&[&cmd, "Enter"]);
    tmux.wait_for("Drafts");
    tmux.keys(&["n"]);
    tmux.wait_for("New post");
    tmux.keys(&["-l", "kept across a suspend"]);
    tmux.wait_for("kept across a suspend");
    tmux.keys(&["C-z"]);
    // The shell has the terminal: its job table says chirp is stopped.
    let s = tmux.wait_for("Stopped");
    assert!(!s.contains("New post"), "{s}");
    tmux.keys(&["fg", "Enter"]);
    // Back, drawn again whole, the text as it was.
    let s = tmux.wait_until("the composer redrawn", |s| {
        s.contains("New post") && s.contains("kept across a suspend") && s.contains("Drafts")
    });
    assert!(!s.contains("Stopped"), "{s}");
    // It still takes keys: close (discarding), quit.
    tmux.keys(&["Escape"]);
    tmux.wait_for("Discard");
    tmux.keys(&["y"]);
    tmux.keys(&["q"]);
    // Quit for good: the shell has its prompt back and chirp's status.
    tmux.wait_until("the shell's prompt", |s| !s.contains("Drafts"));
    tmux.keys(&["echo exited $?", "Enter"]);
    tmux.wait_for("exited 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_is_connected_from_the_tui_without_leaving_it() {
    chirp_net::init_tls();
    let fake = FakeX::start(FakeConfig::default(), 0).await.unwrap();
    let t = chirp_testing::fresh_db().await;
    let home = tempfile::tempdir().unwrap();
    let tmux = launch(&t, &fake, home.path(), "connect");
    // No account yet: the status bar says which key connects one.
    tmux.wait_for("not connected (C connects)");
    tmux.keys(&["C"]);
    tmux.wait_for("Open this address in a browser");
    assert!(tmux.screen().contains("ssh -L"), "{}", tmux.screen());
    // Ctrl-Y puts the address on the clipboard (here: a tmux buffer), whole, however it wraps.
    tmux.keys(&["C-y"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let url = loop {
        let b = tmux.run(&["show-buffer"]);
        if b.starts_with("http") {
            break b.trim().to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nothing was copied; screen:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    // The "browser": X approves at once and sends it back to chirp's listener.
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(page.contains("go back to the terminal"), "{page}");
    let s = tmux.wait_for("connected as @chirp_tester");
    assert!(!s.contains("Open this address"), "{s}");
    tmux.wait_until("the account in the status bar", |s| {
        s.contains(" @chirp_tester ") && !s.contains("not connected")
    });
    tmux.keys(&["q"]);
    assert_eq!(tmux.wait_for_exit(), "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quitting_the_tui_while_x_holds_a_refresh_keeps_the_account() {
    // X takes 3 s to answer a refresh; the token has expired: the TUI's publisher refreshes
    // at once.
    let (t, fake, account) = chirp_testing::with_slow_refresh(Duration::from_secs(3)).await;
    let home = tempfile::tempdir().unwrap();
    let tmux = launch(&t, &fake, home.path(), "quit-refresh");
    tmux.wait_for("no drafts");
    assert_eq!(fake.wait_for_refreshes(1, Duration::from_secs(30)).await, 1);
    tmux.keys(&["q"]);
    assert_eq!(tmux.wait_for_exit(), "0");
    let r = t
        .client()
        .await
        .query_one(
            "SELECT refreshes, needs_reconnect FROM x_accounts WHERE id = $1",
            &[&account],
        )
        .await
        .unwrap();
    assert_eq!(
        r.get::<_, i64>(0),
        1,
        "X's answer was stored before the TUI was gone"
    );
    assert!(!r.get::<_, bool>(1), "the account is connected");
    assert_eq!(fake.refreshes(), 1);
}
