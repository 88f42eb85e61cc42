//! TUI benchmark: time to first frame, resident memory, CPU per frame and bytes written to the
//! terminal per keystroke, with 0 and 100,000 posts in the database.
//!
//!     cargo bench -p chirp --bench bench_tui
//!
//! First frame, CPU and bytes are measured in-process with the TUI's own update/view and the
//! real crossterm backend writing into a counter (what an SSH link would carry); resident
//! memory is read from /proc for the real `chirp` binary running in tmux.
// Tests and benchmarks stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chirp::tui::model::{Answer, Cmd, Model, Msg};
use chirp::tui::update::{load_account, reload_all, update};
use chirp::tui::view::view;
use chirp_store::posts;
use chirp_store::{Cluster, Db, accounts};
use chrono::Utc;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// Counts what would go to the terminal.
#[derive(Clone, Default)]
struct Counter(Arc<Mutex<usize>>);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        *self.0.lock().unwrap() += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Counter {
    fn take(&self) -> usize {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
    let cluster = Cluster::new(dir.path().join("pg"))?;
    cluster.ensure_running(&[])?;
    for n in [0i64, 100_000] {
        let name = format!("tui{n}");
        let db = database(&cluster, &name, n).await?;
        let (first_ms, cpu_us, list_bytes, compose_bytes) = in_process(&db).await?;
        let rss = real_binary_rss(&cluster, &name, &[])?;
        println!(
            "{n:>7} posts: first frame {first_ms:.1} ms (median of 5) · {cpu_us:.0} µs CPU per frame · bytes per keystroke: list move {list_bytes:.0}, composing {compose_bytes:.0} (mean) · chirp RSS {rss}"
        );
    }
    hostile_previews(&cluster).await?;
    cluster.kill()?;
    Ok(())
}

/// Four drafts, each with a picture bomb stored as its image (put there with SQL: attaching
/// refuses them): two PNGs of zeros claiming 11001×11001 grey pixels (about 350 KB each, 121 MB
/// decoded) and two claiming 8000×8000 RGBA (256 MB decoded, within X's sides). The real
/// binary in tmux shows each in turn (its preview is asked for), and its peak memory is read.
async fn hostile_previews(cluster: &Cluster) -> Result<(), Box<dyn std::error::Error>> {
    use image::ImageEncoder as _;
    let name = "hostile";
    let db = database(cluster, name, 0).await?;
    let mut c = db.client().await?;
    let account = accounts::default_account(&mut c).await?;
    let mut sizes = Vec::new();
    for (i, (side, colour)) in [
        (11001u32, image::ExtendedColorType::L8),
        (11002, image::ExtendedColorType::L8),
        (8000, image::ExtendedColorType::Rgba8),
        (8001, image::ExtendedColorType::Rgba8),
    ]
    .into_iter()
    .enumerate()
    {
        let channels = if colour == image::ExtendedColorType::L8 {
            1
        } else {
            4
        };
        let pixels = vec![0u8; side as usize * side as usize * channels];
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png).write_image(&pixels, side, side, colour)?;
        drop(pixels);
        sizes.push(png.len());
        let (media, _) =
            chirp_testing::store_media(&db, &png, "image/png", chirp_core::MediaKind::Image).await;
        let post: i32 = c
            .query_one(
                "INSERT INTO posts (x_account_id, content, status) VALUES ($1, $2, 'draft') RETURNING id",
                &[&account, &format!("hostile image {}", i + 1)],
            )
            .await?
            .get(0);
        c.execute(
            "INSERT INTO part_media (post_id, position, ord, media_id) VALUES ($1, 1, 1, $2)",
            &[&post, &media],
        )
        .await?;
    }
    let rss = real_binary_rss(cluster, name, &["j", "j", "j", "k", "k", "k"])?;
    let kb: Vec<String> = sizes.iter().map(|s| format!("{} KB", s / 1024)).collect();
    println!(
        "four picture bombs ({}) previewed in turn: chirp RSS {rss}",
        kb.join(", ")
    );
    Ok(())
}

async fn database(cluster: &Cluster, name: &str, n: i64) -> Result<Db, Box<dyn std::error::Error>> {
    chirp_store::create_database(cluster, name).await?;
    let db = Db::from_config(cluster.pg_config(name), None);
    db.migrate().await?;
    let mut c = db.client().await?;
    let account = accounts::default_account(&mut c).await?;
    c.execute(
        "INSERT INTO posts (x_account_id, content, status, scheduled_at, posted_at, x_tweet_id)
         SELECT $1, 'benchmark post number ' || g || ' with some text to fill a line',
                (ARRAY['draft','scheduled','posted'])[1 + g % 3],
                CASE WHEN g % 3 = 1 THEN now() + g * interval '1 minute' END,
                CASE WHEN g % 3 = 2 THEN now() END,
                CASE WHEN g % 3 = 2 THEN g::text END
         FROM generate_series(1, $2::bigint) g",
        &[&account, &n],
    )
    .await?;
    c.batch_execute("ANALYZE posts").await?;
    Ok(db)
}

/// What the TUI does before its first frame: the first page of each pane and the account.
async fn first_frame(
    db: &Db,
    term: &mut Terminal<CrosstermBackend<Counter>>,
) -> Result<Model, Box<dyn std::error::Error>> {
    let mut m = Model::new(chrono_tz::UTC, Utc::now(), true);
    m.width = 100;
    let c = db.client().await?;
    // The same requests the TUI makes at start, answered here in-process.
    load_account(&mut m);
    // reload_all hands back every request made so far, the account's too.
    for r in reload_all(&mut m) {
        let answer = match r.cmd {
            Cmd::Load { pane, .. } => {
                Answer::Loaded(Ok(posts::list(&c, &pane.query(None, "", None)).await?))
            }
            Cmd::LoadAccount => Answer::Account(Ok(accounts::list(&c).await?)),
            _ => continue,
        };
        update(&mut m, Msg::Answer(r.id, answer));
    }
    term.draw(|f| view(&m, f))?;
    Ok(m)
}

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

async fn in_process(db: &Db) -> Result<(f64, f64, f64, f64), Box<dyn std::error::Error>> {
    let counter = Counter::default();
    let new_term = || {
        let viewport = ratatui::TerminalOptions {
            viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, 100, 30)),
        };
        Terminal::with_options(CrosstermBackend::new(counter.clone()), viewport)
    };
    let mut term = new_term()?;
    let mut times = Vec::new();
    let mut model = None;
    for _ in 0..5 {
        term = new_term()?;
        let t0 = Instant::now();
        model = Some(first_frame(db, &mut term).await?);
        times.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let mut m = model.expect("ran");
    counter.take();

    // Moving down the list: one keystroke, one frame.
    let frames = 500;
    let t0 = cpu_time();
    let mut list_bytes = 0;
    for i in 0..frames {
        update(
            &mut m,
            key(if i % 80 < 40 {
                KeyCode::Char('j')
            } else {
                KeyCode::Char('k')
            }),
        );
        term.draw(|f| view(&m, f))?;
        list_bytes += counter.take();
    }
    let cpu_us = cpu_time().checked_sub(t0).unwrap().as_secs_f64() * 1e6 / f64::from(frames);

    // Composing: type a post character by character.
    update(&mut m, key(KeyCode::Char('n')));
    term.draw(|f| view(&m, f))?;
    counter.take();
    let text = "Typing a post over SSH should cost a handful of bytes per key, not a screen. ";
    let mut compose_bytes = 0;
    for ch in text.chars() {
        update(&mut m, key(KeyCode::Char(ch)));
        term.draw(|f| view(&m, f))?;
        compose_bytes += counter.take();
    }
    Ok((
        times[2],
        cpu_us,
        list_bytes as f64 / f64::from(frames),
        compose_bytes as f64 / text.chars().count() as f64,
    ))
}

// A benchmark's own measuring tool, not product code (which has no unsafe outside
// chirp-store's `sys` module).
#[allow(unsafe_code)]
fn cpu_time() -> Duration {
    // SAFETY: an all-zero rusage is a valid value of this plain C struct, and getrusage only
    // writes into the struct we own and pass by a valid pointer.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &raw mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec * 1000) as u32);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// Starts the real binary in tmux on `dbname`, waits for its first frame, presses `keys` (a
/// second apart, for what each asks to arrive), reads VmRSS and its peak (VmHWM).
fn real_binary_rss(
    cluster: &Cluster,
    dbname: &str,
    keys: &[&str],
) -> Result<String, Box<dyn std::error::Error>> {
    let home = tempfile::tempdir()?;
    let url = format!(
        "host={} port=5432 user=chirp dbname={dbname}",
        cluster.socket_dir().display()
    );
    let bin = std::env::current_exe()?
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("chirp"))
        .ok_or("no target dir")?;
    let socket = format!("chirp-bench-{}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .arg("-L")
            .arg(&socket)
            .args(args)
            .output()
    };
    let cmd = format!(
        "exec env DATABASE_URL='{url}' HOME='{}' XDG_CONFIG_HOME='{}/c' XDG_STATE_HOME='{}/s' {} ",
        home.path().display(),
        home.path().display(),
        home.path().display(),
        bin.display()
    );
    let t0 = Instant::now();
    tmux(&[
        "new-session",
        "-d",
        "-s",
        "b",
        "-x",
        "100",
        "-y",
        "30",
        &cmd,
    ])?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let first;
    loop {
        let screen =
            String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", "b"])?.stdout).to_string();
        if screen.contains("Drafts (") && !screen.contains("loading") {
            first = t0.elapsed();
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("no first frame:\n{screen}").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    for k in keys {
        tmux(&["send-keys", "-t", "b", k])?;
        std::thread::sleep(Duration::from_secs(1));
    }
    let pid =
        String::from_utf8_lossy(&tmux(&["list-panes", "-t", "b", "-F", "#{pane_pid}"])?.stdout)
            .trim()
            .to_string();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map_or("?", |l| {
                l.trim_start_matches(name).trim_start_matches(':').trim()
            })
            .to_string()
    };
    let (rss, peak) = (field("VmRSS"), field("VmHWM"));
    let screen =
        String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", "b"])?.stdout).to_string();
    let said = if screen.contains("too large to preview") {
        " · the preview says \"too large to preview\""
    } else {
        ""
    };
    tmux(&["kill-server"])?;
    Ok(format!(
        "{rss} (peak {peak}), real binary's first frame seen after {:.0} ms{said}",
        first.as_secs_f64() * 1000.0
    ))
}
