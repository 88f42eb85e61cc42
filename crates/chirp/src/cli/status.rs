//! `chirp status`: database, accounts and posts at a glance; `--format` for a tmux status
//! line (one query, and chirp's private server is never started for it), `--json` for
//! scripts.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::json;

use super::UsageError;
use crate::config::Config;
use chirp_core::{Status, when};
use chirp_store::accounts::Glance;
use chirp_store::{Db, accounts, posts};

/// The plain status: database, accounts, posts by status, the next due.
pub(super) async fn show(db: &Db, account: Option<String>, tz: Tz) -> Result<ExitCode> {
    let c = db.client().await?;
    let account = match account {
        Some(h) => Some(accounts::find(&c, &h).await?),
        None => None,
    };
    let where_ = match &db.cluster {
        Some(cl) => format!("private cluster at {}", cl.root.display()),
        None => chirp_store::describe(&db.pg),
    };
    outln!("database   {where_}");
    let shown = match account {
        Some(id) => vec![accounts::status_by_id(&c, id).await?],
        None => accounts::list(&c).await?,
    };
    let line: Vec<String> = shown
        .iter()
        .map(|a| {
            let handle = format!("@{}", a.username.clone().unwrap_or_default());
            let default = if a.is_default && shown.len() > 1 {
                " (default)"
            } else {
                ""
            };
            if a.connected {
                format!("{handle}{default}")
            } else if a.needs_reconnect {
                format!("{handle}{default} needs reconnecting (chirp account connect)")
            } else {
                format!("{handle}{default} not connected (chirp account connect)")
            }
        })
        .collect();
    let line = if line.is_empty() {
        "not connected (chirp account connect)".to_string()
    } else {
        line.join(", ")
    };
    outln!(
        "{:<10} {line}",
        if shown.len() > 1 {
            "accounts"
        } else {
            "account"
        }
    );
    let counts = posts::counts(&c, account).await?;
    let line: Vec<String> = Status::ALL
        .iter()
        .map(|s| {
            let n = counts.iter().find(|(st, _)| st == s).map_or(0, |(_, n)| *n);
            format!("{n} {s}")
        })
        .collect();
    outln!("posts      {}", line.join(", "));
    let next = posts::next_due(&c, account).await?;
    outln!(
        "next due   {}",
        next.map_or_else(|| "nothing scheduled".into(), |t| when::show(t, &tz))
    );
    if std::io::stdout().is_terminal() {
        outln!("\nRun `chirp --help` for commands.");
    }
    Ok(ExitCode::SUCCESS)
}

/// `--format`: the placeholders filled from one query. chirp's private server is not started
/// for it: when it is down, that is what the line says.
pub(super) async fn formatted(
    config: &Config,
    account: Option<String>,
    format: &str,
    tz: Tz,
) -> Result<ExitCode> {
    // A bad format is said before anything is asked of the database.
    render(format, &Glance::default(), true, Utc::now(), tz).map_err(|e| anyhow!(UsageError(e)))?;
    let url = std::env::var("DATABASE_URL")
        .ok()
        .or_else(|| config.database.url.clone());
    let Some(db) = Db::open_if_running(url.as_deref())? else {
        outln!("chirp: database stopped");
        return Ok(ExitCode::SUCCESS);
    };
    // A status line shows what is wrong in the line itself (tmux shows stdout only).
    let Ok(c) = db.client().await else {
        outln!("chirp: database unreachable");
        return Ok(ExitCode::from(1));
    };
    let id = match account {
        Some(h) => Some(accounts::find(&c, &h).await?),
        None => None,
    };
    let g = accounts::glance(&c, id).await?;
    let line = render(format, &g, true, Utc::now(), tz).map_err(|e| anyhow!(UsageError(e)))?;
    outln!("{line}");
    Ok(ExitCode::SUCCESS)
}

/// `--json`: one object, its shape documented in the README.
pub(super) async fn as_json(db: &Db, account: Option<String>) -> Result<ExitCode> {
    let c = db.client().await?;
    let id = match account {
        Some(h) => Some(accounts::find(&c, &h).await?),
        None => None,
    };
    let g = accounts::glance(&c, id).await?;
    let counts = posts::counts(&c, id).await?;
    let by_status: serde_json::Map<String, serde_json::Value> = Status::ALL
        .iter()
        .map(|s| {
            let n = counts.iter().find(|(st, _)| st == s).map_or(0, |(_, n)| *n);
            (s.to_string(), json!(n))
        })
        .collect();
    let v = json!({
        "database": match &db.cluster {
            Some(cl) => format!("private cluster at {}", cl.root.display()),
            None => chirp_store::describe(&db.pg),
        },
        "accounts": g.accounts.iter().map(|(h, st)| json!({"handle": format!("@{h}"), "state": st})).collect::<Vec<_>>(),
        "posts": by_status,
        "next_due": g.next_at.map(|at| json!({"id": g.next_id, "at": at})),
        "failed_last_24h": g.failed,
    });
    outln!("{}", serde_json::to_string_pretty(&v)?);
    Ok(ExitCode::SUCCESS)
}

/// The placeholders `--format` knows, with what each is.
pub(super) const PLACEHOLDERS: &[(&str, &str)] = &[
    (
        "next",
        "time left to the next due post (2h05m, 45m, now; - when none)",
    ),
    (
        "next_at",
        "when it is due, local time (17:30; Fri 17:30 when not today)",
    ),
    ("next_id", "its id"),
    ("waiting", "posts scheduled or being sent"),
    ("drafts", "drafts"),
    ("failed", "posts that failed in the last 24 hours"),
    (
        "account",
        "ok, or the first account with a problem and what it is",
    ),
    (
        "accounts",
        "every account and its state (@me ok, @work reconnect)",
    ),
    ("db", "up"),
];

/// The line for `format` ("{next} · {waiting} waiting"); `{{` and `}}` are braces. An
/// unknown placeholder is an error naming it and the ones there are.
pub(super) fn render(
    format: &str,
    g: &Glance,
    db_up: bool,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = format;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(r) = tail.strip_prefix("{{") {
            out.push('{');
            rest = r;
        } else if let Some(r) = tail.strip_prefix("}}") {
            out.push('}');
            rest = r;
        } else if let Some(r) = tail.strip_prefix('{') {
            let Some(end) = r.find('}') else {
                return Err(format!("--format: `{{` without its `}}` in `{format}`"));
            };
            out.push_str(&value(&r[..end], g, db_up, now, tz)?);
            rest = &r[end + 1..];
        } else {
            return Err(format!(
                "--format: a lone `}}` in `{format}` (write `}}}}` for one)"
            ));
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn value(
    name: &str,
    g: &Glance,
    db_up: bool,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<String, String> {
    Ok(match name {
        "next" => g.next_at.map_or_else(|| "-".into(), |t| left(t, now)),
        "next_at" => g.next_at.map_or_else(
            || "-".into(),
            |t| {
                let local = t.with_timezone(&tz);
                if local.date_naive() == now.with_timezone(&tz).date_naive() {
                    local.format("%H:%M").to_string()
                } else {
                    local.format("%a %H:%M").to_string()
                }
            },
        ),
        "next_id" => g.next_id.map_or_else(|| "-".into(), |i| i.to_string()),
        "waiting" => g.waiting.to_string(),
        "drafts" => g.drafts.to_string(),
        "failed" => g.failed.to_string(),
        "account" => match g.accounts.iter().find(|(_, st)| st != "ok") {
            Some((h, st)) => format!("@{h} {st}"),
            None if g.accounts.is_empty() => "not connected".into(),
            None => "ok".into(),
        },
        "accounts" => {
            if g.accounts.is_empty() {
                "not connected".into()
            } else {
                g.accounts
                    .iter()
                    .map(|(h, st)| format!("@{h} {st}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        }
        "db" => if db_up { "up" } else { "down" }.into(),
        other => {
            let known: Vec<String> = PLACEHOLDERS
                .iter()
                .map(|(p, _)| format!("{{{p}}}"))
                .collect();
            return Err(format!(
                "--format: no placeholder {{{other}}}; there are {}",
                known.join(" ")
            ));
        }
    })
}

/// "2h05m", "45m", "3d4h", "now".
fn left(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let s = (at - now).num_seconds();
    if s <= 0 {
        return "now".into();
    }
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3600, (s % 3600 + 59) / 60);
    match (d, h) {
        (0, 0) => format!("{m}m"),
        (0, h) => format!("{h}h{:02}m", (s % 3600) / 60),
        (d, h) => format!("{d}d{h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn placeholders_fill_a_status_line() {
        let now = at("2026-11-27T15:00:00Z");
        let g = Glance {
            next_at: Some(at("2026-11-27T17:05:00Z")),
            next_id: Some(12),
            waiting: 3,
            drafts: 2,
            failed: 1,
            accounts: vec![
                ("me".into(), "ok".into()),
                ("work".into(), "reconnect".into()),
            ],
        };
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            render(
                "#{next_id} in {next} ({next_at}) · {waiting} waiting · {failed} failed · {account} {{db {db}}}",
                &g,
                true,
                now,
                tz
            ),
            Ok("#12 in 2h05m (18:05) · 3 waiting · 1 failed · @work reconnect {db up}".into())
        );
        assert_eq!(
            render("{accounts}", &g, true, now, tz),
            Ok("@me ok, @work reconnect".into())
        );
        let none = Glance::default();
        assert_eq!(
            render("{next} {next_at} {account}", &none, true, now, tz),
            Ok("- - not connected".into())
        );
    }

    #[test]
    fn a_bad_format_says_what_is_wrong() {
        let now = at("2026-11-27T15:00:00Z");
        let g = Glance::default();
        let e = render("{nxt}", &g, true, now, chrono_tz::UTC).unwrap_err();
        assert!(
            e.starts_with("--format: no placeholder {nxt}; there are {next} {next_at}"),
            "{e}"
        );
        assert!(render("{next", &g, true, now, chrono_tz::UTC).is_err());
        assert!(render("a } b", &g, true, now, chrono_tz::UTC).is_err());
    }

    #[test]
    fn time_left_reads_at_a_glance() {
        let now = at("2026-11-27T15:00:00Z");
        assert_eq!(left(at("2026-11-27T15:44:30Z"), now), "45m");
        assert_eq!(left(at("2026-11-27T17:05:00Z"), now), "2h05m");
        assert_eq!(left(at("2026-11-30T19:00:00Z"), now), "3d4h");
        assert_eq!(left(at("2026-11-27T14:00:00Z"), now), "now");
    }
}
