//! The fake X API, standalone, for demos:
//!
//!     cargo run --example fake_x -- --port 8080
//!
//! then point chirp at it with `[x] api_base_url = "http://127.0.0.1:8080"`,
//! `authorize_url = "http://127.0.0.1:8080/i/oauth2/authorize"` and any `client_id`.
// Tests and benchmarks stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chirp_fake_x::{FakeConfig, FakeX};
use clap::Parser;

#[derive(Parser)]
#[command(about = "A fake X API on 127.0.0.1 for chirp demos")]
struct Args {
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Access-token lifetime in seconds (X: 7200).
    #[arg(long, default_value_t = 7200)]
    token_lifetime: u64,
    /// Posts per user per 15 minutes before 429 (X: 100).
    #[arg(long, default_value_t = 100)]
    posts_per_window: u32,
    /// Require this client secret (confidential client).
    #[arg(long)]
    client_secret: Option<String>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let cfg = FakeConfig {
        token_lifetime: Duration::from_secs(args.token_lifetime),
        posts_per_window: args.posts_per_window,
        client_secret: args.client_secret,
        ..FakeConfig::default()
    };
    let fake = FakeX::start(cfg, args.port).await?;
    println!("fake X listening on {}", fake.base_url());
    println!("  authorize_url = \"{}\"", fake.authorize_url());
    tokio::signal::ctrl_c().await?;
    let posts = fake.posts();
    println!("received {} post(s)", posts.len());
    for p in posts {
        println!("  {} {}", p.id, p.text.escape_debug());
    }
    Ok(())
}
