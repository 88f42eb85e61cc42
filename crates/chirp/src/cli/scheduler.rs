//! `chirp scheduler`: the headless publisher for tmux or systemd. One line per event on
//! stdout; SIGINT/SIGTERM stop claiming, finish what is in flight, and exit (a second signal
//! exits at once: unfinished posts are reconciled by the next publisher).

use chirp_core::AccountId;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use chrono::{SecondsFormat, Utc};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use std::sync::Arc;

use chirp_credentials::{Refresh, Why};
use chirp_publisher::{Event, Options, Stop};

use crate::config::Config;
use crate::error::UsageError;
use crate::present::inert;

/// The scheduler's timing, as given on the command line.
pub(super) struct Timing {
    pub lease: u64,
    pub x_timeout: u64,
    pub retry_base_ms: u64,
    pub grace: Option<u64>,
}

impl Timing {
    /// The publisher's options, or what is wrong with the numbers.
    fn options(&self) -> Result<Options, UsageError> {
        let bad = |m: String| Err(UsageError(m));
        if !(1..=300).contains(&self.x_timeout) {
            return bad(format!(
                "--x-timeout must be 1 to 300 seconds, not {}",
                self.x_timeout
            ));
        }
        // A send starts only with a whole request timeout of lease left, and the heartbeat
        // extends leases a few times per lease: a request must fit well inside one.
        if self.lease < 2 * self.x_timeout || self.lease > 3600 {
            return bad(format!(
                "--lease must be at least twice --x-timeout ({} s) and at most 3600 s, not {}: a send must fit well inside its lease",
                2 * self.x_timeout,
                self.lease
            ));
        }
        if !(1..=900_000).contains(&self.retry_base_ms) {
            return bad(format!(
                "--retry-base-ms must be 1 to 900000 (15 minutes), not {}",
                self.retry_base_ms
            ));
        }
        let grace = self.grace.unwrap_or(self.x_timeout.max(2));
        if !(2..=3600).contains(&grace) {
            return bad(format!("--grace must be 2 to 3600 seconds, not {grace}"));
        }
        // A request the dead publisher had on the wire must have ended before anyone looks.
        if grace < self.x_timeout {
            return bad(format!(
                "--grace must be at least --x-timeout ({} s), not {grace}: a request still on the wire must have ended before the post is checked on X",
                self.x_timeout
            ));
        }
        let mut opts = Options {
            lease: Duration::from_secs(self.lease),
            grace: Duration::from_secs(grace),
            request_timeout: Duration::from_secs(self.x_timeout),
            ..Options::default()
        };
        opts.policy.base = chrono::Duration::milliseconds(self.retry_base_ms as i64);
        Ok(opts)
    }
}

/// Runs a publisher until stopped; with `notify`, events worth attention are also announced
/// (bell, OSC 9 / 777) on stdout.
pub(super) async fn run(
    config: &Config,
    timing: &Timing,
    notify: Option<crate::notify::NotifyConfig>,
) -> Result<ExitCode> {
    let opts = Options {
        collect_metrics: config.publisher.read_metrics,
        ..timing.options()?
    };
    let (db, _) = crate::cli::open_db(config).await?;
    let db = Arc::new(db);
    let cipher = match chirp_credentials::key(&db).await {
        Ok(c) => c,
        Err(e) => {
            db.close();
            return Err(e.into());
        }
    };
    let timeout = Duration::from_secs(timing.x_timeout);
    let networks = config.networks(timeout);
    let credentials = crate::cli::credentials(config, &networks, cipher, timeout);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut publisher = crate::running::Publisher::start(&db, networks, credentials, opts, tx);
    let names_db = db.clone();
    let printer = tokio::spawn(async move {
        use std::io::Write as _;
        // Accounts by handle; read again when an event names one not seen yet.
        let mut names = std::collections::HashMap::new();
        while let Some(e) = rx.recv().await {
            if accounts_of(&e).iter().any(|a| !names.contains_key(a)) {
                names = handles(&names_db).await;
            }
            let who = |a: AccountId| {
                names
                    .get(&a)
                    .map_or_else(|| format!("account {a}"), |h| format!("@{h}"))
            };
            // A closed stdout (a log reader that quit) must not stop the publisher.
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "{} {}",
                Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
                line(&e, &who)
            );
            if let Some((kind, text)) = notify
                .as_ref()
                .and_then(|_| crate::notify::notice(&e, &who))
            {
                let bytes = notify
                    .map_or_else(Vec::new, |n| n.bytes(kind, &text, crate::notify::in_tmux()));
                let _ = out.write_all(&bytes).and_then(|()| out.flush());
            }
        }
    });
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut stopping = false;
    loop {
        tokio::select! {
            _ = &mut publisher.task => break,
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        if stopping {
            eprintln!(
                "chirp: stopping now: the posts in flight are handed back, to be checked on X before any resend"
            );
            publisher.stop(Stop::Release);
            // Handing back is one statement; if the database does not answer, leases run out.
            if tokio::time::timeout(Duration::from_secs(10), &mut publisher.task)
                .await
                .is_err()
            {
                publisher.task.abort();
            }
            break;
        }
        stopping = true;
        eprintln!("chirp: stopping: finishing the posts in flight (signal again to quit at once)");
        publisher.stop(Stop::Finish);
    }
    let _ = printer.await;
    db.close();
    Ok(ExitCode::SUCCESS)
}

/// The accounts an event is about.
fn accounts_of(e: &Event) -> Vec<AccountId> {
    match e {
        Event::RateLimited { account, .. }
        | Event::OutOfCredits { account, .. }
        | Event::Token(
            Refresh::Refreshed { account, .. }
            | Refresh::Refused { account, .. }
            | Refresh::Failed { account, .. },
        ) => vec![*account],
        Event::MetricsRead(s) => s.read.keys().copied().collect(),
        _ => Vec::new(),
    }
}

/// Every account's handle, by id (none when the database does not answer: ids are shown).
async fn handles(db: &chirp_store::Db) -> std::collections::HashMap<AccountId, String> {
    let Ok(c) = db.client().await else {
        return std::collections::HashMap::new();
    };
    chirp_store::accounts::list(&c)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter_map(|a| Some((a.id, a.username?)))
        .collect()
}

/// What the metrics collector did, in one line.
fn metrics_line(
    s: &chirp_publisher::metrics::Summary,
    who: &dyn Fn(AccountId) -> String,
) -> String {
    let each: Vec<String> = s
        .read
        .iter()
        .map(|(a, n)| format!("{} {n}", who(*a)))
        .collect();
    let total: usize = s.read.values().sum();
    let mut line = if each.is_empty() {
        "read no metrics".to_string()
    } else {
        format!("read the metrics of {total} post(s): {}", each.join(", "))
    };
    if s.gone > 0 {
        line.push_str(&format!("; {} post(s) deleted on X", s.gone));
    }
    if !s.problems.is_empty() {
        line.push_str(&format!(
            "; later: {}",
            inert(&s.problems.join("; "), false)
        ));
    }
    line
}

/// One log line for a publisher event, accounts named by `who`. Reasons quote the network's
/// words, so they are made inert before they reach a terminal.
pub(super) fn line(e: &Event, who: &dyn Fn(AccountId) -> String) -> String {
    let safe = |s: &str| inert(s, false);
    match e {
        Event::Started { id } => format!("publisher {id} started"),
        Event::Claimed { post, attempt } => format!("claimed post {post} (attempt {attempt})"),
        Event::Posted {
            post,
            remote_id: x_id,
            quota,
        } => {
            let left = match quota {
                Some(chirp_core::Quota {
                    remaining: Some(r),
                    limit: Some(l),
                    ..
                }) => format!(" (X: {r} of {l} posts left in this window)"),
                _ => String::new(),
            };
            format!("posted post {post} as X post {x_id}{left}")
        }
        Event::Reconciled {
            post,
            found: Some(id),
        } => format!("reconciled post {post}: already on X as {id}, not sent again"),
        Event::PartPosted {
            post,
            part,
            of,
            remote_id: x_id,
        } => format!("post {post}: part {part}/{of} on X as {x_id}"),
        Event::MediaUploaded { post, part, media } => {
            format!("post {post}: uploaded media {media} for part {part}")
        }
        Event::PostedWithoutId { post, note } => {
            format!("posted post {post}, X id unknown: {}", safe(note))
        }
        Event::Reconciled { post, found: None } => {
            format!("reconciled post {post}: not on X, sending it")
        }
        Event::Retrying { post, at, reason } => match at {
            Some(at) => format!(
                "retrying post {post} at {}: {}",
                at.format("%Y-%m-%d %H:%M:%S UTC"),
                safe(reason)
            ),
            None => format!("holding post {post}: {}", safe(reason)),
        },
        Event::Failed { post, reason } => format!("failed post {post}: {}", safe(reason)),
        Event::RateLimited { account, until } => format!(
            "{} rate limited by X: holding its posts until {}",
            who(*account),
            until.format("%H:%M:%S UTC")
        ),
        Event::OutOfCredits {
            account,
            post,
            reason,
        } => {
            let who = who(*account);
            format!(
                "{who} is out of credits, holding its posts (post {post}: {}); top up, then run `chirp account resume {who}`",
                safe(reason)
            )
        }
        Event::MetricsRead(s) => metrics_line(s, who),
        Event::Crashed { post, reason } => format!("post {post}: {}", safe(reason)),
        Event::Abandoned { post } => format!(
            "not sending post {post}: the database stopped answering (whoever takes it over checks X first)"
        ),
        Event::Released { post } => {
            format!("handed back post {post} (it is checked on X before any resend)")
        }
        Event::Rescued { post } => {
            format!(
                "rescued post {post} from a publisher that died or hung (will check X before resending)"
            )
        }
        Event::LeaseLost { post } => {
            format!("lost the lease on post {post}: another publisher took over")
        }
        Event::DatabaseDown { error } => {
            format!("database unavailable ({}): retrying", safe(error))
        }
        Event::DatabaseBack => "database reachable again".into(),
        Event::Listening => "listening for post changes".into(),
        Event::Waiting { next: Some(t) } => {
            format!("idle; next due {}", t.format("%Y-%m-%d %H:%M:%S%.3f UTC"))
        }
        Event::Waiting { next: None } => "idle; nothing scheduled".into(),
        Event::Token(r) => token_line(r, who),
        Event::Stopped => "publisher stopped".into(),
    }
}

fn token_line(r: &Refresh, who: &dyn Fn(AccountId) -> String) -> String {
    match r {
        Refresh::Refreshed {
            account,
            expires_at,
            why,
        } => {
            let why = match why {
                Why::Ahead => "ahead of expiry",
                Why::Expiring => "it was about to expire",
                Why::Rejected => "X rejected the old one",
            };
            let until = expires_at.map_or_else(String::new, |e| {
                format!(", valid until {}", e.format("%H:%M:%S UTC"))
            });
            format!(
                "{}: refreshed the X access token ({why}{until})",
                who(*account)
            )
        }
        Refresh::Refused { account, reason } => format!(
            "{} needs reconnecting: {}; its posts wait. Run `chirp account connect`",
            who(*account),
            inert(reason, false)
        ),
        Refresh::Failed { account, reason } => format!(
            "{}: could not refresh the X access token ({}); trying again",
            who(*account),
            inert(reason, false)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_name_accounts_by_handle() {
        let who = |a: AccountId| {
            if a == 2 {
                "@project".to_string()
            } else {
                format!("account {a}")
            }
        };
        let until = chrono::DateTime::parse_from_rfc3339("2026-11-27T10:15:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(
            line(&Event::RateLimited { account: 2, until }, &who),
            "@project rate limited by X: holding its posts until 10:15:00 UTC"
        );
        assert_eq!(
            line(
                &Event::Token(Refresh::Refused {
                    account: 7,
                    reason: "X refused the refresh token".into()
                }),
                &who
            ),
            "account 7 needs reconnecting: X refused the refresh token; its posts wait. Run `chirp account connect`"
        );
        assert_eq!(
            line(
                &Event::OutOfCredits {
                    account: 2,
                    post: 9,
                    reason: "X says the account is out of credits (402): no credits".into()
                },
                &who
            ),
            "@project is out of credits, holding its posts (post 9: X says the account is out of credits (402): no credits); top up, then run `chirp account resume @project`"
        );
        let read = chirp_publisher::metrics::Summary {
            read: [(2, 100), (7, 3)].into_iter().collect(),
            gone: 1,
            problems: vec!["X rate limit reached".into()],
        };
        assert_eq!(
            line(&Event::MetricsRead(read), &who),
            "read the metrics of 103 post(s): @project 100, account 7 3; 1 post(s) deleted on X; later: X rate limit reached"
        );
        // The accounts an event names are looked up by handle.
        assert_eq!(
            accounts_of(&Event::MetricsRead(chirp_publisher::metrics::Summary {
                read: [(4, 1)].into_iter().collect(),
                ..Default::default()
            })),
            vec![4]
        );
    }
}
