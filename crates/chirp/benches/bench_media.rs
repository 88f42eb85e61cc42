//! Memory while attaching and uploading a large video: `chirp post --media` stores a 512 MB
//! file into PostgreSQL, then `chirp scheduler` uploads it to the fake X in chunks. Prints each
//! step's wall time and the peak resident memory (ru_maxrss) of the `chirp` process. Target:
//! under 100 MB for both.
//!
//!     cargo build --release --bin chirp && cargo bench -p chirp --bench bench_media -- [MB]
//!
//! It runs the real `chirp` binary beside this program (target/release/chirp).
// Tests and benchmarks stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chirp_fake_x::{FakeConfig, FakeX};
use sha2::Digest;

fn chirp_bin() -> PathBuf {
    std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("chirp"))
        .unwrap()
}

/// Waits for `child` and returns (exit status, peak resident memory in MB). A benchmark's own
/// measuring tool, not product code: std has no wait with resource usage.
#[allow(unsafe_code)]
fn wait_rss(child: Child) -> (i32, f64) {
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: waits for our own child, with pointers to live locals.
    let r = unsafe { libc::wait4(pid, &raw mut status, 0, &raw mut usage) };
    assert_eq!(r, pid, "wait4");
    (status, usage.ru_maxrss as f64 / 1024.0)
}

fn chirp(home: &Path, url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(chirp_bin());
    cmd.arg("--config")
        .arg(home.join("config.toml"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("CHIRP_SECRET_KEY", chirp_testing::test_key_b64())
        .env("HOME", home)
        .env("TZ", "UTC")
        .stdin(Stdio::null());
    cmd
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` adds `--bench` to the arguments.
    let mb: usize = std::env::args()
        .skip(1)
        .find(|a| a != "--bench")
        .and_then(|a| a.parse().ok())
        .unwrap_or(512);
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("big.mp4");
    let mut hash = sha2::Sha256::new();
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&video).unwrap());
        let mut block = b"\0\0\0\x18ftypisom\0\0\x02\0".to_vec();
        block.resize(1024 * 1024, 0);
        for i in 0..mb {
            for (j, b) in block
                .iter_mut()
                .enumerate()
                .skip(if i == 0 { 16 } else { 0 })
            {
                *b = (i as u8).wrapping_add((j % 251) as u8);
            }
            hash.update(&block);
            f.write_all(&block).unwrap();
        }
    }
    let want = format!("{:x}", hash.finalize());
    let fake = FakeX::start(
        FakeConfig {
            media_check_after_secs: 0,
            ..FakeConfig::default()
        },
        0,
    )
    .await
    .unwrap();
    let t = chirp_testing::fresh_db().await;
    chirp_testing::connect_account(&t.db, &fake, chrono::Duration::hours(2)).await;
    let home = dir.path();
    std::fs::write(
        home.join("config.toml"),
        format!(
            "[x]\nclient_id = \"c\"\napi_base_url = \"{}\"\nauthorize_url = \"{}\"\n",
            fake.base_url(),
            fake.authorize_url()
        ),
    )
    .unwrap();
    let url = t.url();

    println!("a {mb} MB video");
    let started = Instant::now();
    let mut child = chirp(
        home,
        &url,
        &["post", "", "--draft", "--media", video.to_str().unwrap()],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit())
    .spawn()
    .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).unwrap();
        s
    });
    let (status, rss) = wait_rss(child);
    let out = reader.join().unwrap();
    assert_eq!(status, 0, "chirp post failed");
    let id = out.trim().to_string();
    println!(
        "  attach (chirp post --media): {:.1} s, peak RSS {rss:.1} MB",
        started.elapsed().as_secs_f64()
    );

    let st = chirp(home, &url, &["schedule", &id, "--at", "now"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let started = Instant::now();
    let child = chirp(
        home,
        &url,
        &["scheduler", "--x-timeout", "30", "--lease", "120"],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::inherit())
    .spawn()
    .unwrap();
    let pid = child.id();
    let posted = fake.wait_for_posts(1, Duration::from_mins(30)).await;
    let took = started.elapsed().as_secs_f64();
    // The scheduler finishes what is in flight and exits on SIGTERM.
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let (_, rss) = wait_rss(child);
    assert_eq!(posted, 1, "the post never went out");
    let got = fake.media();
    assert_eq!(
        got[0].sha256.as_deref(),
        Some(want.as_str()),
        "bytes differ"
    );
    println!(
        "  upload (chirp scheduler, {mb} MB to X in 4 MiB chunks): {took:.1} s, peak RSS {rss:.1} MB"
    );
}
