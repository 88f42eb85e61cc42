//! `chirp db`: chirp's private database — where it lives, whether its server runs, how big it
//! is and who uses it; start and stop it. The server stays up between commands (so each one
//! is quick) until `chirp db stop`, which refuses while a chirp process uses it.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use super::UsageError;
use crate::config::Config;
use chirp_store::cluster::ClusterError;
use chirp_store::{Cluster, Started};

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Where the data lives, whether the server runs, its size, who uses it.
    Status {
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Start the server (creating the database on first use).
    Start,
    /// Stop the server, unless a chirp process (a TUI, a scheduler) uses it.
    Stop,
    /// Print the private database's directory.
    Path,
}

pub(super) async fn run(command: DbCommand, config: &Config) -> Result<ExitCode> {
    if config.database.url.is_some() {
        return Err(UsageError(
            "chirp is set to use database.url / DATABASE_URL, not its private database: `chirp db` looks after the private one only".into(),
        )
        .into());
    }
    let cluster = Cluster::new(Cluster::default_root()?)?;
    match command {
        DbCommand::Path => outln!("{}", cluster.root.display()),
        DbCommand::Start => {
            let was_running = cluster.exists() && cluster.is_running();
            // Opening starts it (saying so) and makes the database inside it, so the next
            // command waits for neither.
            let (db, _) = super::open_db(config).await?;
            db.close();
            let how = if was_running {
                "already running"
            } else {
                "running"
            };
            outln!("{how}: data in {}", cluster.root.display());
        }
        DbCommand::Stop => {
            let c = cluster.clone();
            match tokio::task::spawn_blocking(move || c.stop_unused()).await? {
                Ok(true) => outln!("stopped"),
                Ok(false) => outln!("not running"),
                Err(ClusterError::InUse) => {
                    let pids = chirp_store::private_users(&cluster)
                        .await
                        .unwrap_or_default();
                    anyhow::bail!(
                        "chirp's private database is in use{}: stop {} first, then run `chirp db stop` again",
                        if pids.is_empty() {
                            String::new()
                        } else {
                            format!(" by {}", users(&pids))
                        },
                        match pids.len() {
                            0 => "the chirp processes using it (a TUI, a `chirp scheduler`)",
                            1 => "it",
                            _ => "them",
                        }
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
        DbCommand::Status { json } => status(&cluster, json).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The line said before a start: what, and where.
pub(super) fn announcement(did: Started, root: &std::path::Path) -> String {
    let what = match did {
        Started::Created => "creating chirp's private database (first use: a few seconds)",
        _ => "starting chirp's private database",
    };
    format!("{what} in {}", root.display())
}

async fn status(cluster: &Cluster, json: bool) -> Result<()> {
    let exists = cluster.exists();
    let running = exists && cluster.is_running();
    let pids = if running {
        chirp_store::private_users(cluster)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let size = if exists { cluster.size() } else { 0 };
    if json {
        let v = serde_json::json!({
            "path": cluster.root,
            "created": exists,
            "running": running,
            "server_pid": if running { cluster.server_pid() } else { None },
            "size_bytes": size,
            "used_by": pids,
        });
        outln!("{v}");
        return Ok(());
    }
    outln!("private database  {}", cluster.root.display());
    let server = match (exists, running, cluster.server_pid()) {
        (false, _, _) => "not created yet (the first chirp command creates it)".to_string(),
        (true, false, _) => "stopped (the next chirp command starts it)".to_string(),
        (true, true, Some(pid)) => format!("running (pid {pid})"),
        (true, true, None) => "running".to_string(),
    };
    outln!("server            {server}");
    if exists {
        outln!("size              {}", megabytes(size));
    }
    if running {
        let who = if pids.is_empty() {
            "no chirp process".to_string()
        } else {
            users(&pids)
        };
        outln!("used by           {who}");
    }
    Ok(())
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// "pid 12 (chirp scheduler), pid 34 (chirp)": each process and what it runs.
fn users(pids: &[u32]) -> String {
    pids.iter()
        .map(|pid| {
            let what = std::fs::read(format!("/proc/{pid}/cmdline"))
                .ok()
                .map(|raw| describe_command(&raw))
                .unwrap_or_default();
            if what.is_empty() {
                format!("pid {pid}")
            } else {
                format!("pid {pid} ({what})")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `chirp` and its subcommand, from a /proc cmdline (NUL-separated), options left out.
fn describe_command(raw: &[u8]) -> String {
    let mut args = raw
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned());
    let program = args
        .next()
        .map(|p| p.rsplit('/').next().unwrap_or("chirp").to_string())
        .unwrap_or_default();
    let mut skip_value = false;
    let sub = args.find(|a| {
        if skip_value {
            skip_value = false;
            return false;
        }
        if a == "--config" {
            skip_value = true;
            return false;
        }
        !a.starts_with('-')
    });
    match sub {
        Some(s) => crate::present::inert(&format!("{program} {s}"), false),
        None => crate::present::inert(&program, false),
    }
}
