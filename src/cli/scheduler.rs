//! `chirp scheduler`: the headless publisher for tmux or systemd. One line per event on
//! stdout; SIGINT/SIGTERM stop claiming, finish what is in flight, and exit (a second signal
//! exits at once: unfinished posts are reconciled by the next publisher).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use chrono::{SecondsFormat, Utc};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

use crate::config::Config;
use crate::db::Db;
use crate::publisher::{self, Options};
use crate::x::secret::Cipher;
use crate::x::session::Session;

pub async fn run(
    config: &Config,
    lease: u64,
    x_timeout: u64,
    retry_base_ms: u64,
) -> Result<ExitCode> {
    let cipher = Cipher::load_default()?;
    let (db, _) = Db::open(config).await?;
    let session = Session::new(&config.x, cipher, Duration::from_secs(x_timeout));
    let mut opts = Options {
        lease: Duration::from_secs(lease.max(x_timeout + 5)),
        ..Options::default()
    };
    opts.policy.base = chrono::Duration::milliseconds(retry_base_ms as i64);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut task = tokio::spawn(publisher::run(db.pg.clone(), session, opts, tx, stop_rx));
    let printer = tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            println!(
                "{} {e}",
                Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
            );
        }
    });
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut stopping = false;
    loop {
        tokio::select! {
            _ = &mut task => break,
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        if stopping {
            eprintln!(
                "chirp: stopping now; posts still in flight will be checked on X by the next publisher"
            );
            task.abort();
            break;
        }
        stopping = true;
        eprintln!("chirp: stopping: finishing the posts in flight (signal again to quit at once)");
        let _ = stop_tx.send(true);
    }
    let _ = printer.await;
    db.close().await;
    Ok(ExitCode::SUCCESS)
}
