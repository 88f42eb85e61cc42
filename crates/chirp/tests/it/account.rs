//! `chirp account` end to end against the fake X: connect by the redirect listener or by
//! pasting, refusals that save nothing, tokens only as ciphertext, disconnect.
// Tests and benchmarks stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use chirp_fake_x::{FakeConfig, FakeX};
use chirp_net::x::XConfig;
use chirp_testing::{TestDb, fresh_db};

fn chirp_bin() -> std::path::PathBuf {
    env!("CARGO_BIN_EXE_chirp").into()
}

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="; // 32 bytes 0..31

fn x_config(fake: &FakeX, secret: Option<&str>) -> XConfig {
    XConfig {
        client_id: Some("test-client".into()),
        client_secret: secret.map(String::from),
        redirect_uri: format!("http://127.0.0.1:{}/callback", chirp_testing::free_port()),
        api_base_url: fake.base_url(),
        authorize_url: fake.authorize_url(),
        ..chirp_net::x::XConfig::default()
    }
}

struct Env {
    t: TestDb,
    home: tempfile::TempDir,
    cfg: XConfig,
}

impl Env {
    async fn new(fake: &FakeX, secret: Option<&str>) -> Env {
        let t = fresh_db().await;
        let home = tempfile::tempdir().unwrap();
        let cfg = x_config(fake, secret);
        let mut toml = format!(
            "[x]\nclient_id = \"test-client\"\nredirect_uri = \"{}\"\napi_base_url = \"{}\"\nauthorize_url = \"{}\"\n",
            cfg.redirect_uri, cfg.api_base_url, cfg.authorize_url
        );
        if let Some(s) = secret {
            toml.push_str(&format!("client_secret = \"{s}\"\n"));
        }
        std::fs::write(home.path().join("config.toml"), toml).unwrap();
        Env { t, home, cfg }
    }

    fn chirp(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(chirp_bin());
        cmd.arg("--config")
            .arg(self.home.path().join("config.toml"))
            .args(args)
            .env("DATABASE_URL", self.t.url())
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("cfg"))
            .env("CHIRP_SECRET_KEY", KEY)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY");
        cmd
    }

    fn output(&self, args: &[&str]) -> std::process::Output {
        self.chirp(args).stdin(Stdio::null()).output().unwrap()
    }

    /// Starts `account connect` and returns it with the authorize URL it printed.
    fn start_connect(&self) -> (Child, String, BufReader<std::process::ChildStdout>) {
        let mut child = self
            .chirp(&["account", "connect", "--no-browser", "--timeout", "60"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut url = String::new();
        let mut line = String::new();
        while out.read_line(&mut line).unwrap() > 0 {
            if let Some(u) = line.trim().strip_prefix("http") {
                url = format!("http{u}");
            }
            // The prompt is the last line printed before waiting.
            if line.starts_with("Or paste") {
                break;
            }
            line.clear();
        }
        assert!(url.contains("code_challenge_method=S256"), "{url}");
        (child, url, out)
    }

    /// `account connect`, approved in a "browser" that lands on chirp's listener:
    /// (success, stdout, stderr).
    async fn connect_in_browser(&self) -> (bool, String, String) {
        let (child, url, out) = self.start_connect();
        let location = approve(&url).await;
        reqwest::get(&location).await.unwrap();
        tokio::task::spawn_blocking(move || finish(child, out))
            .await
            .unwrap()
    }

    /// Connects @chirp_tester as a user would: its id here.
    async fn connected(&self) -> i32 {
        let (ok, stdout, stderr) = self.connect_in_browser().await;
        assert!(ok, "{stdout} {stderr}");
        self.t
            .client()
            .await
            .query_one(
                "SELECT id FROM x_accounts WHERE x_username = 'chirp_tester'",
                &[],
            )
            .await
            .unwrap()
            .get(0)
    }

    fn status_json(&self) -> serde_json::Value {
        let out = self.output(&["account", "status", "--json"]);
        assert!(out.status.success());
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// What a browser does: follow the authorize URL to X's redirect (without following it).
async fn approve(url: &str) -> String {
    chirp_net::init_tls();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = http.get(url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 302);
    resp.headers()["location"].to_str().unwrap().to_string()
}

fn finish(child: Child, mut out: BufReader<std::process::ChildStdout>) -> (bool, String, String) {
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let o = child.wait_with_output().unwrap();
    (
        o.status.success(),
        rest,
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_through_the_redirect_listener() {
    let fake = FakeX::start(FakeConfig::default(), 0).await.unwrap();
    let env = Env::new(&fake, None).await;
    let (child, url, out) = env.start_connect();
    let location = approve(&url).await;
    assert!(location.starts_with(&env.cfg.redirect_uri), "{location}");
    // Anything else reaching the listener first (a page without this request's state, an old
    // or forged redirect) is ignored: the connect goes on waiting.
    for stray in [
        format!("{}?code=stolen", env.cfg.redirect_uri),
        format!("{}?error=access_denied&state=forged", env.cfg.redirect_uri),
    ] {
        let r = reqwest::get(&stray).await.unwrap();
        assert_eq!(r.status().as_u16(), 400);
        assert!(r.text().await.unwrap().contains("ignored"));
    }
    // The browser lands on chirp's listener.
    let page = reqwest::get(&location).await.unwrap().text().await.unwrap();
    assert!(page.contains("You can close this tab"));
    let (ok, stdout, stderr) = tokio::task::spawn_blocking(move || finish(child, out))
        .await
        .unwrap();
    assert!(ok, "{stdout} {stderr}");
    assert!(stdout.contains("connected as @chirp_tester"), "{stdout}");
    let st = env.status_json();
    assert_eq!(st["username"], "chirp_tester");
    assert_eq!(st["connected"], true);
    assert!(st["token_expires_at"].as_str().is_some());

    // Tokens are stored only as ciphertext: no issued token appears in a dump of the database.
    let bin = chirp_store::cluster::find_bin_dir().unwrap();
    let dump = Command::new(bin.join("pg_dump"))
        .args([
            "-h",
            chirp_testing::cluster().socket_dir().to_str().unwrap(),
            "-U",
            "chirp",
            &env.t.name,
        ])
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("chirp_tester"), "the dump has the account");
    let tokens = fake.issued_tokens();
    assert_eq!(tokens.len(), 2);
    for t in tokens {
        assert!(!dump.contains(&t), "token in plain text in the database");
        assert!(
            !stdout.contains(&t) && !stderr.contains(&t),
            "token printed"
        );
    }

    // Disconnect revokes both tokens at X and keeps the posts.
    assert!(env.output(&["post", "kept", "--draft"]).status.success());
    let out = env.output(&["account", "disconnect"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fake.count("POST", "/2/oauth2/revoke"), 2);
    let st = env.status_json();
    assert_eq!(st["connected"], false);
    let out = env.output(&["list", "--json"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("kept"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_by_pasting_and_as_confidential_client() {
    let fake = FakeX::start(
        FakeConfig {
            client_secret: Some("s3cret".into()),
            ..FakeConfig::default()
        },
        0,
    )
    .await
    .unwrap();
    let env = Env::new(&fake, Some("s3cret")).await;
    let (mut child, url, out) = env.start_connect();
    let location = approve(&url).await;
    // Over SSH without a tunnel: the user pastes where the browser ended up.
    writeln!(child.stdin.as_mut().unwrap(), "{location}").unwrap();
    let (ok, stdout, stderr) = tokio::task::spawn_blocking(move || finish(child, out))
        .await
        .unwrap();
    assert!(ok, "{stdout} {stderr}");
    assert_eq!(env.status_json()["connected"], true);
    // The token request authenticated with Basic (the fake refuses it otherwise).
    assert_eq!(fake.count("POST", "/2/oauth2/token"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_state_denied_consent_and_wrong_secret_save_nothing() {
    let fake = FakeX::start(FakeConfig::default(), 0).await.unwrap();
    let env = Env::new(&fake, None).await;

    let (mut child, url, out) = env.start_connect();
    let location = approve(&url).await;
    let forged = location.replace("state=", "state=forged");
    writeln!(child.stdin.as_mut().unwrap(), "{forged}").unwrap();
    let (ok, _, stderr) = tokio::task::spawn_blocking(move || finish(child, out))
        .await
        .unwrap();
    assert!(!ok);
    assert!(
        stderr.contains("state does not match") && stderr.contains("nothing was saved"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert_eq!(
        fake.count("POST", "/2/oauth2/token"),
        0,
        "no exchange after a bad state"
    );

    fake.configure(|c| c.deny_consent = true);
    let (ok, _, stderr) = env.connect_in_browser().await;
    assert!(!ok);
    assert!(
        stderr.contains("X did not grant access (access_denied)"),
        "{stderr}"
    );
    fake.configure(|c| c.deny_consent = false);

    // A confidential client with the wrong secret: X refuses the exchange.
    fake.configure(|c| c.client_secret = Some("right".into()));
    let (ok, _, stderr) = env.connect_in_browser().await;
    assert!(!ok);
    assert!(stderr.contains("X refused the token request"), "{stderr}");

    let st = env.status_json();
    assert_eq!(st["connected"], false);
    let c = env.t.client().await;
    let n: i64 = c
        .query_one("SELECT count(*) FROM x_accounts WHERE is_active", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);

    // No client id configured: one line saying what to set, exit 2.
    std::fs::write(env.home.path().join("config.toml"), "").unwrap();
    let out = env.output(&["account", "connect"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("set x.client_id"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_and_ctrl_c_save_nothing() {
    let fake = FakeX::start(FakeConfig::default(), 0).await.unwrap();
    let env = Env::new(&fake, None).await;
    let out = env
        .chirp(&["account", "connect", "--no-browser", "--timeout", "1"])
        .stdin(Stdio::piped())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no answer within 1 seconds: nothing was saved"),
        "{err}"
    );

    let (child, _url, out) = env.start_connect();
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let (ok, _, stderr) = tokio::task::spawn_blocking(move || finish(child, out))
        .await
        .unwrap();
    assert!(!ok);
    assert!(stderr.contains("cancelled: nothing was saved"), "{stderr}");
    assert_eq!(env.status_json()["connected"], false);
    assert_eq!(fake.count("POST", "/2/oauth2/token"), 0);
}

/// One line on stderr, exit 2: the user's input was wrong.
fn usage_error(o: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).trim().to_string();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_personal_and_a_project_account_each_get_their_posts() {
    let fake = FakeX::start(FakeConfig::default(), 0).await.unwrap();
    let env = Env::new(&fake, None).await;
    let (ok, stdout, _) = env.connect_in_browser().await;
    assert!(
        ok && stdout.contains("connected as @chirp_tester"),
        "{stdout}"
    );
    // The second login at X is another X user.
    fake.configure(|c| {
        c.user_id = "2002".into();
        c.username = "project".into();
    });
    let (ok, stdout, stderr) = env.connect_in_browser().await;
    assert!(ok, "{stdout} {stderr}");
    assert!(stdout.contains("connected as @project"), "{stdout}");
    assert!(
        stdout.contains(
            "posts go to @chirp_tester unless you say --account @project; to make @project the default: chirp account default @project"
        ),
        "{stdout}"
    );
    // Connecting it again renews its tokens: still two accounts.
    let (ok, _, _) = env.connect_in_browser().await;
    assert!(ok);
    let out = env.output(&["account", "list", "--json"]);
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<(&str, bool)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["username"].as_str().unwrap(),
                a["is_default"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(names, [("chirp_tester", true), ("project", false)]);
    let text = String::from_utf8_lossy(&env.output(&["account", "list"]).stdout).to_string();
    assert!(
        text.contains("* @chirp_tester  connected · 0 waiting"),
        "{text}"
    );
    assert!(
        text.contains("  @project       connected · 0 waiting"),
        "{text}"
    );

    // One announcement for both, a reply for one.
    let out = env.output(&[
        "post",
        "the announcement",
        "--draft",
        "-a",
        "@chirp_tester",
        "--account",
        "project",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    assert!(
        env.output(&["post", "just the project", "--draft", "-a", "@Project"])
            .status
            .success()
    );
    let listed: serde_json::Value =
        serde_json::from_slice(&env.output(&["list", "--json"]).stdout).unwrap();
    let rows: Vec<(&str, &str)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["account"].as_str().unwrap(),
                p["content"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("project", "just the project"),
            ("project", "the announcement"),
            ("chirp_tester", "the announcement"),
        ]
    );
    assert_eq!(listed[1]["group"]["posts"], 2);
    let text = String::from_utf8_lossy(&env.output(&["list"]).stdout).to_string();
    assert!(
        text.contains("@project       [sent to 0 of 2] the announcement"),
        "{text}"
    );
    let id = listed[1]["id"].as_i64().unwrap().to_string();
    let shown = String::from_utf8_lossy(&env.output(&["show", &id]).stdout).to_string();
    assert!(shown.contains("  account    @project"), "{shown}");
    assert!(
        shown.contains(&format!(
            "  also       post {} to @chirp_tester · draft",
            listed[2]["id"]
        )),
        "{shown}"
    );
    let mine = env.output(&["list", "--json", "-a", "@chirp_tester"]);
    let mine: serde_json::Value = serde_json::from_slice(&mine.stdout).unwrap();
    assert_eq!(mine.as_array().unwrap().len(), 1);

    // A handle that names no account: one line, exit 2, nothing written.
    let known = "(connected: @chirp_tester, @project; see chirp account list)";
    for args in [
        &["post", "lost", "-a", "@nobody"][..],
        &["list", "-a", "@nobody"],
        &["count", "-a", "@nobody", "hi"],
        &["status", "-a", "@nobody"],
        &["account", "default", "@nobody"],
    ] {
        let err = usage_error(&env.output(args));
        assert_eq!(err, format!("chirp: no connected account @nobody {known}"));
    }
    let listed: serde_json::Value =
        serde_json::from_slice(&env.output(&["list", "--json"]).stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 3);

    // The default moves; posts without --account follow it.
    let out = env.output(&["account", "default", "@project"]);
    assert!(out.status.success(), "{out:?}");
    env.output(&["post", "to the default", "--draft"]);
    let listed: serde_json::Value =
        serde_json::from_slice(&env.output(&["list", "--json"]).stdout).unwrap();
    assert_eq!(listed[0]["account"], "project");
    let status =
        String::from_utf8_lossy(&env.output(&["status", "-a", "@project"]).stdout).to_string();
    assert!(status.contains("account    @project"), "{status}");
    let status = String::from_utf8_lossy(&env.output(&["status"]).stdout).to_string();
    assert!(
        status.contains("accounts   @chirp_tester, @project (default)"),
        "{status}"
    );

    // Disconnecting asks which when several are connected.
    let err = usage_error(&env.output(&["account", "disconnect"]));
    assert!(err.contains("several accounts are connected"), "{err}");
    let out = env.output(&["account", "disconnect", "@chirp_tester"]);
    assert!(out.status.success(), "{out:?}");
    let st: serde_json::Value = serde_json::from_slice(
        &env.output(&["account", "status", "--json", "-a", "chirp_tester"])
            .stdout,
    )
    .unwrap();
    assert_eq!(st["connected"], false);
    assert_eq!(env.status_json()["connected"], true, "the default stays");
}

/// A post that is on X and here, posted `hours` ago: its id here.
async fn on_x(env: &Env, fake: &FakeX, account: i32, text: &str, hours: i64) -> (i32, String) {
    let x_id = fake.seed_post("1001", text);
    let c = env.t.client().await;
    let id: i32 = c
        .query_one(
            "INSERT INTO posts (x_account_id, content, status, x_tweet_id, posted_at)
             VALUES ($1, $2, 'posted', $3, now() - $4 * interval '1 hour') RETURNING id",
            &[&account, &text, &x_id, &(hours as f64)],
        )
        .await
        .unwrap()
        .get(0);
    (id, x_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_read_from_x_show_how_posts_did_and_what_the_month_cost() {
    let fake = FakeX::start(FakeConfig::default(), 0).await.unwrap();
    let env = Env::new(&fake, None).await;
    let account = env.connected().await;
    let (plain, plain_x) = on_x(&env, &fake, account, "plain words", 3).await;
    let (linked, linked_x) = on_x(&env, &fake, account, "read https://example.com/a", 2).await;
    fake.set_metrics(
        &plain_x,
        chirp_fake_x::FakeMetrics {
            impressions: 1200,
            likes: 40,
            reposts: 3,
            replies: 2,
            ..Default::default()
        },
    );
    fake.set_metrics(
        &linked_x,
        chirp_fake_x::FakeMetrics {
            impressions: 90,
            likes: 1,
            ..Default::default()
        },
    );
    // Before any read: the posts are there, without numbers.
    let out = env.output(&["stats"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("2 not read yet (chirp stats --refresh)"),
        "{text}"
    );
    let out = env.output(&["stats", "--refresh", "--json", "-a", "@chirp_tester"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("read the numbers of 2 post(s) on X ($0.002)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = &v[0];
    assert_eq!(a["account"], "@chirp_tester");
    assert_eq!(a["impressions"], 1290);
    assert_eq!(a["engagements"], 46);
    assert_eq!(a["days"].as_array().unwrap().len(), 30);
    assert_eq!(a["best"][0]["id"], plain);
    assert_eq!(a["best"][1]["id"], linked);
    // This month: two posts (one with a link) and two reads.
    let spend = &a["spend"];
    assert_eq!(spend["posts"], 2);
    assert_eq!(spend["url_posts"], 1);
    assert_eq!(spend["posts_usd"], 0.215);
    assert_eq!(spend["reads"], 2);
    assert_eq!(spend["total_usd"], 0.217);
    // `show` has them too.
    let out = env.output(&["show", &plain.to_string()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("numbers    1200 impressions · 40 likes · 3 reposts · 2 replies"),
        "{text}"
    );
    let out = env.output(&["show", &plain.to_string(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["metrics"][0]["likes"], 40);
    let out = env.output(&["stats", "--since", "7d"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("@chirp_tester · the last 7 day(s)"), "{text}");
    assert!(
        text.contains("2 post(s) · 1.3k impressions · 46 engagements"),
        "{text}"
    );
    assert!(
        text.contains("1.2k impr · 40 likes · 3 reposts · 2 replies  plain words"),
        "{text}"
    );
    assert!(
        text.contains("$0.217 · 2 post(s) sent $0.215 (1 with a link) · 2 metric read(s) $0.002"),
        "{text}"
    );
    // A post deleted on X is said so and marked.
    fake.delete_on_x(&plain_x);
    let out = env.output(&["stats", "--refresh"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("read the numbers of 1 post(s) on X ($0.001); 1 deleted on X"),
        "{text}"
    );
    let out = env.output(&["stats", "--since", "tomorrow"]);
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_out_of_credits_says_so_and_resumes() {
    let fake = FakeX::start(FakeConfig::default(), 0).await.unwrap();
    let env = Env::new(&fake, None).await;
    let account = env.connected().await;
    env.t
        .client()
        .await
        .execute(
            "UPDATE x_accounts SET out_of_credits_at = now(), out_of_credits_reason = 'X says the account is out of credits (402)' WHERE id = $1",
            &[&account],
        )
        .await
        .unwrap();
    let out = env.output(&["account", "list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("out of credits (top up, then chirp account resume @chirp_tester)"),
        "{text}"
    );
    let out = env.output(&["account", "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("out of credits since"), "{text}");
    let out = env.output(&["account", "resume", "@chirp_tester"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("@chirp_tester resumed"));
    let out = env.output(&["account", "resume", "@chirp_tester"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("was not held for credits"));
    let out = env.output(&["account", "resume", "@nobody"]);
    assert_eq!(out.status.code(), Some(2));
}
