//! Refreshes in a helper process. From the moment the network receives a refresh until its
//! answer is stored, a kill of the process that asked loses the account (the old refresh
//! token is spent, the new one is only in the answer). So the scheduler and the TUI do not
//! ask themselves: each refresh is a short-lived `chirp` process of its own, in its own
//! process group and deaf to SIGINT, SIGTERM and SIGHUP, which asks, keeps the answer in the
//! journal, stores it and exits. A SIGKILL of the scheduler (or a closed terminal, or
//! `systemctl stop`) leaves it to finish; the caller, if still there, reads the new token from
//! the database.
//!
//! The helper says what happened on stdout, one JSON value per line: what it told (the same
//! [`Refresh`] values an in-process refresh reports), then its result. No secret crosses.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;

use chirp_core::AccountId;
use chirp_net::TokenError;
use chirp_store::Db;
use tokio::sync::mpsc;

use crate::{Ask, AuthError, Credentials, Refresh};

/// How to start a helper: a program and the arguments before the account's (for chirp: its
/// own binary, `--config PATH refresh-token --x-timeout S`).
#[derive(Debug, Clone)]
pub struct Helper {
    program: PathBuf,
    args: Vec<OsString>,
}

/// One line of a helper's answer.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
enum Line {
    Told(Refresh),
    Done(Result<(), Failure>),
}

/// Why a helper's refresh gave no token, as the caller's error says it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
enum Failure {
    NotConnected,
    NeedsReconnect(String),
    Failed { message: String, retryable: bool },
}

impl Helper {
    pub fn new(program: impl Into<PathBuf>, args: impl IntoIterator<Item = OsString>) -> Helper {
        Helper {
            program: program.into(),
            args: args.into_iter().collect(),
        }
    }

    /// Runs one helper for `account` and waits for it: what it told, and how it ended.
    pub(crate) async fn refresh(
        &self,
        account: AccountId,
        ask: Ask,
    ) -> (Vec<Refresh>, Result<(), AuthError>) {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&self.args)
            .args(["--account", &account.to_string(), "--ask", &ask.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Not in the caller's process group: a Ctrl-C or a closed terminal is not for it.
            .process_group(0)
            .kill_on_drop(false);
        let out = match cmd.output().await {
            Ok(out) => out,
            Err(e) => return (Vec::new(), Err(failed(format!("cannot start it: {e}")))),
        };
        let mut told = Vec::new();
        let mut done = None;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            match serde_json::from_str::<Line>(line) {
                Ok(Line::Told(r)) => told.push(r),
                Ok(Line::Done(r)) => done = Some(r),
                Err(_) => {}
            }
        }
        let result = match done {
            Some(Ok(())) => Ok(()),
            Some(Err(Failure::NotConnected)) => Err(AuthError::NotConnected),
            Some(Err(Failure::NeedsReconnect(r))) => Err(AuthError::NeedsReconnect(r)),
            Some(Err(Failure::Failed { message, retryable })) => {
                Err(AuthError::Token(TokenError::Failed { message, retryable }))
            }
            None => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let last = stderr.lines().last().unwrap_or("").trim();
                Err(failed(format!("it stopped ({}): {last}", out.status)))
            }
        };
        (told, result)
    }
}

fn failed(why: String) -> AuthError {
    AuthError::Token(TokenError::Failed {
        message: format!("the refresh helper failed: {why}"),
        retryable: true,
    })
}

/// The helper's side: refreshes `account` here and prints what happened (see the module
/// documentation). `credentials` must not have a helper of its own.
pub async fn serve(credentials: Credentials, db: &Db, account: AccountId, ask: Ask) -> String {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let here = Credentials {
        helper: None,
        ..credentials.reporting(tx)
    };
    let result = here.refresh_here(db, account, ask).await;
    drop(here);
    let mut lines = Vec::new();
    while let Ok(r) = rx.try_recv() {
        lines.push(Line::Told(r));
    }
    lines.push(Line::Done(result.map(drop).map_err(|e| match e {
        AuthError::NotConnected => Failure::NotConnected,
        AuthError::NeedsReconnect(r) => Failure::NeedsReconnect(r),
        e => Failure::Failed {
            message: e.to_string(),
            retryable: e.retryable(),
        },
    })));
    lines
        .iter()
        .filter_map(|l| serde_json::to_string(l).ok())
        .map(|l| l + "\n")
        .collect()
}

impl std::fmt::Display for Ask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ask::Ahead => write!(f, "ahead"),
            Ask::Expiring => write!(f, "expiring"),
            Ask::Rejected(g) => write!(f, "rejected:{g}"),
        }
    }
}

impl std::str::FromStr for Ask {
    type Err = String;

    fn from_str(s: &str) -> Result<Ask, String> {
        match s {
            "ahead" => Ok(Ask::Ahead),
            "expiring" => Ok(Ask::Expiring),
            _ => s
                .strip_prefix("rejected:")
                .and_then(|g| g.parse().ok())
                .map(Ask::Rejected)
                .ok_or_else(|| format!("not a refresh to ask for: {s}")),
        }
    }
}
