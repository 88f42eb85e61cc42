//! `chirp queue set | show | next | compact | shuffle`: each account's weekly slots.

use std::process::ExitCode;

use anyhow::{Result, anyhow};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use clap::Subcommand;
use serde_json::json;

use super::{ACTOR, UsageError, with_db};
use crate::config::Config;
use crate::present::clip;
use chirp_core::slots::WeeklySlots;
use chirp_core::{AccountId, Post, when};
use chirp_store::queue::{self, Queue};
use chirp_store::{Db, accounts};

#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Set an account's weekly slots, e.g. "mon-fri 09:00,12:30,17:00; sat 10:00" ("none"
    /// removes them). Times are wall-clock times in --tz (default: yours).
    Set {
        /// The account (`@handle`).
        #[arg(value_name = "@HANDLE")]
        handle: String,
        /// Days and times: "mon-fri 09:00,17:00; sat 10:00", "daily 12:00", or "none".
        #[arg(value_name = "SLOTS")]
        slots: String,
        /// The zone the times are in (an IANA name such as Europe/Berlin).
        #[arg(long, value_name = "ZONE")]
        tz: Option<String>,
    },
    /// The next slots of each account with a queue (or of one), and the post in each.
    Show {
        /// Which account's (`@handle`; default: the default account).
        #[arg(short, long, value_name = "@HANDLE")]
        account: Option<String>,
        /// How many days ahead (1 to 366).
        #[arg(long, default_value_t = 7, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=366))]
        days: u32,
        /// One JSON array, one object per account (times in RFC 3339 UTC).
        #[arg(long)]
        json: bool,
    },
    /// The slots new posts would take, in order.
    Next {
        /// Which account's (`@handle`; default: the default account).
        #[arg(short, long, value_name = "@HANDLE")]
        account: Option<String>,
        /// Look from this time or date on (default: now), e.g. 2027-03-27.
        #[arg(long, value_name = "WHEN")]
        from: Option<String>,
        /// How many slots.
        #[arg(long, default_value_t = 5, value_name = "N")]
        count: usize,
        /// One JSON array of times.
        #[arg(long)]
        json: bool,
    },
    /// Move queued posts up into the earliest free slots, keeping their order.
    Compact {
        /// Which account's (`@handle`; default: the default account).
        #[arg(short, long, value_name = "@HANDLE")]
        account: Option<String>,
    },
    /// Like compact, in a random order.
    Shuffle {
        /// Which account's (`@handle`; default: the default account).
        #[arg(short, long, value_name = "@HANDLE")]
        account: Option<String>,
    },
}

/// Whether `--at` asks for the queue rather than a time.
pub(super) fn is_next(at: &str) -> bool {
    matches!(at.trim().to_lowercase().as_str(), "next" | "queue")
}

pub(super) async fn run(command: QueueCommand, config: &Config) -> Result<ExitCode> {
    let tz = config.timezone();
    match command {
        QueueCommand::Set {
            handle,
            slots,
            tz: zone,
        } => {
            let slots: WeeklySlots = slots
                .parse()
                .map_err(|e: chirp_core::slots::SlotsError| anyhow!(UsageError(e.to_string())))?;
            let zone = match zone {
                Some(z) => parse_zone(&z)?,
                None => tz,
            };
            with_db(config, move |db| Box::pin(set(db, handle, slots, zone))).await
        }
        QueueCommand::Show {
            account,
            days,
            json,
        } => with_db(config, move |db| Box::pin(show(db, account, days, json))).await,
        QueueCommand::Next {
            account,
            from,
            count,
            json,
        } => {
            if count == 0 || count > 1000 {
                return Err(anyhow!(UsageError(
                    "--count must be between 1 and 1000".into()
                )));
            }
            with_db(config, move |db| {
                Box::pin(next(db, account, from, count, json, tz))
            })
            .await
        }
        QueueCommand::Compact { account } => {
            with_db(config, move |db| Box::pin(compact(db, account, false))).await
        }
        QueueCommand::Shuffle { account } => {
            with_db(config, move |db| Box::pin(compact(db, account, true))).await
        }
    }
}

fn parse_zone(z: &str) -> Result<Tz> {
    z.parse().map_err(|_| {
        anyhow!(UsageError(format!(
            "`{z}` is not a time zone: use an IANA name such as Europe/Berlin or America/New_York"
        )))
    })
}

/// The account named, else the default one.
async fn account_of(c: &mut chirp_store::Object, handle: Option<String>) -> Result<AccountId> {
    Ok(match handle {
        Some(h) => accounts::find(c, &h).await?,
        None => accounts::default_account(c).await?,
    })
}

async fn handle_of(c: &chirp_store::Object, id: AccountId) -> Result<String> {
    Ok(accounts::handle(c, id)
        .await?
        .unwrap_or_else(|| id.to_string()))
}

async fn set(db: &Db, handle: String, slots: WeeklySlots, tz: Tz) -> Result<ExitCode> {
    let c = db.client().await?;
    let id = accounts::find(&c, &handle).await?;
    let name = handle_of(&c, id).await?;
    queue::set(&c, id, &slots, tz).await?;
    if slots.is_empty() {
        outln!("@{name}: no queue slots");
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "@{name}: {slots} ({}), {} slots a week",
        tz.name(),
        slots.per_week()
    );
    if let Some(at) = queue::free(&c, id, Utc::now(), 1).await?.first() {
        outln!("next free slot: {}", when::show(*at, &tz));
    }
    hint_off_slot(&c, id, &name).await
}

/// Says how to move queued posts that no longer sit on a slot.
async fn hint_off_slot(c: &chirp_store::Object, id: AccountId, name: &str) -> Result<ExitCode> {
    let off = queue::off_slot(c, id).await?;
    if !off.is_empty() {
        eprintln!(
            "{} queued post(s) of @{name} wait at a time that is no longer a slot: `chirp queue compact -a @{name}` moves them onto the slots",
            off.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(db: &Db, account: Option<String>, days: u32, json: bool) -> Result<ExitCode> {
    let mut c = db.client().await?;
    let queues: Vec<Queue> = match account {
        Some(h) => {
            vec![queue::require(&c, accounts::find(&c, &h).await?).await?]
        }
        None => queue::all(&c).await?,
    };
    let now = Utc::now();
    let until = now + Duration::days(i64::from(days));
    let mut out = Vec::new();
    for q in &queues {
        let name = handle_of(&c, q.account).await?;
        let slots = queue::upcoming(&c, q.account, now, until).await?;
        if json {
            out.push(json!({
                "account": name,
                "slots": q.slots.to_string(),
                "timezone": q.tz.name(),
                "next": slots.iter().map(|s| json!({
                    "at": s.at,
                    "local": when::show(s.at, &q.tz),
                    "post": s.post.as_ref().map(post_json),
                })).collect::<Vec<_>>(),
            }));
            continue;
        }
        outln!("@{name} · {} ({})", q.slots, q.tz.name());
        for s in &slots {
            let what = match &s.post {
                Some(p) => format!("#{} {}", p.id, clip(&p.content, 60)),
                None => "· free".into(),
            };
            outln!("  {}  {what}", when::show(s.at, &q.tz));
        }
        hint_off_slot(&c, q.account, &name).await?;
    }
    if json {
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else if queues.is_empty() {
        let default = accounts::default_account(&mut c).await?;
        let h = handle_of(&c, default).await?;
        outln!("no account has queue slots: `chirp queue set @{h} \"mon-fri 09:00,17:00\"`");
    }
    Ok(ExitCode::SUCCESS)
}

fn post_json(p: &Post) -> serde_json::Value {
    json!({ "id": p.id, "content": p.content, "parts": p.parts, "queued": p.queued })
}

async fn next(
    db: &Db,
    account: Option<String>,
    from: Option<String>,
    count: usize,
    json: bool,
    user_tz: Tz,
) -> Result<ExitCode> {
    let mut c = db.client().await?;
    let id = account_of(&mut c, account).await?;
    let q = queue::require(&c, id).await?;
    // A bare date is read in the account's zone: its slots are.
    let from = match from {
        Some(f) => when::parse_from(&f, Utc::now(), &q.tz)
            .map_err(|e| anyhow!(UsageError(format!("--from: {e}"))))?,
        None => Utc::now(),
    };
    let times: Vec<DateTime<Utc>> = queue::free(&c, id, from, count).await?;
    if json {
        let v: Vec<_> = times
            .iter()
            .map(|t| json!({ "at": t, "local": when::show(*t, &q.tz) }))
            .collect();
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for t in &times {
            let yours = (user_tz != q.tz).then(|| format!("  ({})", when::show(*t, &user_tz)));
            outln!("{}{}", when::show(*t, &q.tz), yours.unwrap_or_default());
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn compact(db: &Db, account: Option<String>, shuffle: bool) -> Result<ExitCode> {
    let mut c = db.client().await?;
    let id = account_of(&mut c, account).await?;
    let name = handle_of(&c, id).await?;
    let moves = queue::compact(&mut c, ACTOR, id, shuffle).await?;
    let tz = queue::get(&c, id).await?.map_or(Tz::UTC, |q| q.tz);
    for m in &moves {
        let mark = if m.from == m.to { " " } else { "→" };
        outln!("{mark} {}  #{}", when::show(m.to, &tz), m.post);
    }
    let moved = moves.iter().filter(|m| m.from != m.to).count();
    eprintln!("@{name}: {} queued, {moved} moved", moves.len());
    Ok(ExitCode::SUCCESS)
}

/// "post 12 queued for @alice: Fri 2026-11-27 17:00 CET" (on stderr, like "scheduled for").
pub(super) async fn say_queued(c: &chirp_store::Object, post: &Post) -> Result<()> {
    let name = handle_of(c, post.x_account_id).await?;
    let tz = queue::get(c, post.x_account_id)
        .await?
        .map_or(Tz::UTC, |q| q.tz);
    if let Some(at) = post.scheduled_at {
        eprintln!(
            "post {} queued for @{name}: {}",
            post.id,
            when::show(at, &tz)
        );
    }
    Ok(())
}
