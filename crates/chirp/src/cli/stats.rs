//! `chirp stats`: how each account's posts did (per day, the best ones) and what its use of X
//! cost this month; `--refresh` reads the numbers from X first.

use std::process::ExitCode;

use anyhow::{Result, anyhow};
use chrono::{NaiveDate, Utc};
use chrono_tz::Tz;
use clap::Args;
use serde_json::json;

use super::{UsageError, with_db};
use crate::config::Config;
use crate::present::{clip, inert};
use crate::stats::{self, AccountStats, compact, sparkline};
use chirp_core::price::{as_dollars, usd};
use chirp_store::{Db, accounts, analytics};

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// One account (`@handle`) instead of every one.
    #[arg(short, long, value_name = "@HANDLE")]
    pub account: Option<String>,
    /// The first day counted: a date (2026-11-01) or a number of days back (7d, 2w). Default:
    /// the last 30 days.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Read the posts' numbers from X first (each post read costs X's owned-read price).
    #[arg(long)]
    pub refresh: bool,
    /// One JSON array, one object per account (money in dollars, times in RFC 3339 UTC).
    #[arg(long)]
    pub json: bool,
}

/// How many days `since` covers up to today (inclusive).
fn days_of(since: Option<&str>, today: NaiveDate) -> Result<u32, String> {
    let Some(s) = since.map(str::trim) else {
        return Ok(30);
    };
    let bad = || {
        format!("--since {s}: give a date (2026-11-01) or a number of days or weeks back (7d, 2w)")
    };
    let days = if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if d > today {
            return Err(format!("--since {s}: that day has not come yet"));
        }
        (today - d).num_days() + 1
    } else if let Some(n) = s.strip_suffix('d') {
        n.parse::<i64>().map_err(|_| bad())?
    } else if let Some(n) = s.strip_suffix('w') {
        n.parse::<i64>().map_err(|_| bad())? * 7
    } else {
        return Err(bad());
    };
    if !(1..=3660).contains(&days) {
        return Err(format!("--since {s}: between 1 day and 10 years back"));
    }
    u32::try_from(days).map_err(|_| bad())
}

pub(super) async fn run(args: StatsArgs, config: &Config) -> Result<ExitCode> {
    let tz = config.timezone();
    let today = Utc::now().with_timezone(&tz).date_naive();
    let days = days_of(args.since.as_deref(), today).map_err(|m| anyhow!(UsageError(m)))?;
    let cfg = config.clone();
    with_db(config, move |db| Box::pin(show(db, cfg, args, days, tz))).await
}

async fn show(db: &Db, config: Config, args: StatsArgs, days: u32, tz: Tz) -> Result<ExitCode> {
    let account = match &args.account {
        Some(h) => Some(accounts::find(&db.client().await?, h).await?),
        None => None,
    };
    // A refresh that could not read everything still shows what is known, then says so.
    let complete = !args.refresh || refresh(db, &config, account, days, args.json).await?;
    let all = stats::gather(db, account, days, tz, &config.x.pricing).await?;
    if args.json {
        let v: Vec<serde_json::Value> = all.iter().map(as_json).collect();
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(if complete {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    if all.is_empty() {
        outln!("no account is connected: run `chirp account connect`");
    }
    for (i, a) in all.iter().enumerate() {
        if i > 0 {
            outln!();
        }
        for line in lines(a, days, tz) {
            outln!("{line}");
        }
    }
    Ok(if complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Reads the numbers of every post in the period from X now, and says what that cost.
/// False when some could not be read (the reasons are said).
async fn refresh(
    db: &Db,
    config: &Config,
    account: Option<i32>,
    days: u32,
    json: bool,
) -> Result<bool> {
    use chirp_net::DEFAULT_TIMEOUT;
    let since = Utc::now() - chrono::Duration::days(i64::from(days));
    let posts = analytics::posted_since(&db.client().await?, account, since).await?;
    let cipher = chirp_credentials::key(db).await?;
    let networks = config.networks(DEFAULT_TIMEOUT);
    let credentials = crate::cli::credentials(config, &networks, cipher, DEFAULT_TIMEOUT);
    let reader = chirp_publisher::metrics::Reader {
        db,
        networks: &networks,
        credentials: &credentials,
        timeout: DEFAULT_TIMEOUT,
    };
    let s = reader.read(&posts, false).await?;
    let read: usize = s.read.values().sum();
    let mut line = format!(
        "read the numbers of {read} post(s) on X ({})",
        usd(config.x.pricing.reads(read as u64))
    );
    if s.gone > 0 {
        line.push_str(&format!("; {} deleted on X", s.gone));
    }
    for p in &s.problems {
        line.push_str(&format!("; {}", inert(p, false)));
    }
    // With --json, stdout is the JSON alone.
    if json {
        eprintln!("{line}");
    } else {
        outln!("{line}");
    }
    Ok(s.problems.is_empty())
}

fn lines(a: &AccountStats, days: u32, tz: Tz) -> Vec<String> {
    let mut out = vec![format!(
        "@{} · the last {days} day(s), since {}",
        a.handle,
        a.since.with_timezone(&tz).format("%a %-d %b %Y")
    )];
    let mut totals = format!(
        "  {} post(s) · {} impressions · {} engagements",
        a.posts,
        compact(a.impressions),
        compact(a.engagements)
    );
    if a.unread > 0 {
        totals.push_str(&format!(
            " · {} not read yet (chirp stats --refresh)",
            a.unread
        ));
    }
    out.push(totals);
    let imp: Vec<i64> = a.days.iter().map(|d| d.impressions).collect();
    let eng: Vec<i64> = a.days.iter().map(|d| d.engagements).collect();
    out.push(format!("  impressions per day  {}", sparkline(&imp)));
    out.push(format!("  engagements per day  {}", sparkline(&eng)));
    if !a.best.is_empty() {
        out.push("  best posts:".into());
        for p in &a.best {
            let m = p.metrics.clone().unwrap_or_default();
            out.push(format!(
                "    #{:<5} {}  {} impr · {} likes · {} reposts · {} replies  {}",
                p.post,
                p.posted_at.with_timezone(&tz).format("%a %-d %b"),
                compact(m.impressions),
                compact(m.likes),
                compact(m.reposts),
                compact(m.replies),
                clip(&inert(&p.content, false), 40)
            ));
        }
    }
    let s = &a.spend;
    out.push(format!(
        "  spent since {}: {} · {}",
        s.month_start.with_timezone(&tz).format("%-d %b"),
        usd(s.total_usd),
        s.breakdown("post(s) sent", "metric read(s)")
    ));
    out
}

fn as_json(a: &AccountStats) -> serde_json::Value {
    let s = &a.spend;
    json!({
        "account": format!("@{}", a.handle),
        "since": a.since,
        "posts": a.posts,
        "impressions": a.impressions,
        "engagements": a.engagements,
        "unread": a.unread,
        "days": a.days,
        "best": a.best.iter().map(|p| {
            let m = p.metrics.clone().unwrap_or_default();
            json!({
                "id": p.post, "posted_at": p.posted_at, "content": p.content,
                "impressions": m.impressions, "likes": m.likes, "reposts": m.reposts,
                "replies": m.replies, "quotes": m.quotes, "bookmarks": m.bookmarks,
                "engagements": m.engagements(),
            })
        }).collect::<Vec<_>>(),
        "spend": {
            "month_start": s.month_start,
            "posts": s.posts, "url_posts": s.url_posts, "posts_usd": as_dollars(s.posts_usd),
            "reads": s.reads, "reads_usd": as_dollars(s.reads_usd),
            "deletes": s.deletes, "deletes_usd": as_dollars(s.deletes_usd),
            "metadata": s.metadata, "metadata_usd": as_dollars(s.metadata_usd),
            "total_usd": as_dollars(s.total_usd),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_a_date_or_days_or_weeks_back() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        assert_eq!(days_of(None, today), Ok(30));
        assert_eq!(days_of(Some("7d"), today), Ok(7));
        assert_eq!(days_of(Some("2w"), today), Ok(14));
        assert_eq!(days_of(Some("2026-11-01"), today), Ok(27));
        assert_eq!(days_of(Some("2026-11-27"), today), Ok(1));
        assert!(
            days_of(Some("2026-12-01"), today)
                .unwrap_err()
                .contains("not come yet")
        );
        assert!(
            days_of(Some("yesterday"), today)
                .unwrap_err()
                .contains("give a date")
        );
        assert!(days_of(Some("0d"), today).is_err());
    }
}
