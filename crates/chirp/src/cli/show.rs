//! Posts on the command line: `chirp list`, `show` and `unpublish`, and how a post is printed.

use std::process::ExitCode;

use anyhow::{Result, bail};
use chirp_core::{Post, PostId, Status, when};
use chirp_store::posts::{self, ListQuery, Order};
use chirp_store::{Db, accounts};
use chrono_tz::Tz;

use super::{ACTOR, UsageError};
use crate::config::Config;
use crate::present::{clip, inert};

pub(super) async fn list(
    db: &Db,
    status: Option<Status>,
    limit: Option<i64>,
    json: bool,
    account: Option<String>,
    tz: Tz,
) -> Result<ExitCode> {
    if limit.is_some_and(|l| l < 1) {
        bail!(UsageError("--limit must be at least 1".into()));
    }
    let c = db.client().await?;
    let account = match account {
        Some(h) => Some(accounts::find(&c, &h).await?),
        None => None,
    };
    let handles: std::collections::HashMap<i32, String> = accounts::list(&c)
        .await?
        .into_iter()
        .filter_map(|a| Some((a.id, a.username?)))
        .collect();
    let mut q = ListQuery {
        statuses: status.into_iter().collect(),
        order: Order::Newest,
        limit: limit.unwrap_or(500).min(500),
        account,
        ..ListQuery::default()
    };
    let mut groups = std::collections::HashMap::new();
    let mut media = std::collections::HashMap::new();
    let mut all = Vec::new();
    let mut threads = std::collections::HashMap::new();
    loop {
        // Never fetch past --limit: the last page asks only for what is still wanted.
        if let Some(l) = limit {
            q.limit = q.limit.min(l - all.len() as i64);
        }
        let page = posts::list(&c, &q).await?;
        all.extend(page.posts);
        threads.extend(page.threads);
        groups.extend(page.groups);
        media.extend(page.media);
        match page.next {
            Some(_) if limit.is_some_and(|l| all.len() as i64 >= l) => break,
            Some(next) => q.after = Some(next),
            None => break,
        }
    }
    if json {
        // Threads carry their parts, as `show --json` does.
        let mut v = serde_json::to_value(&all)?;
        if let Some(items) = v.as_array_mut() {
            for item in items {
                let parts = item["id"]
                    .as_i64()
                    .and_then(|id| i32::try_from(id).ok())
                    .and_then(|id| threads.get(&id));
                if let Some(parts) = parts {
                    item["thread"] = serde_json::to_value(parts)?;
                }
                let id = item["x_account_id"]
                    .as_i64()
                    .and_then(|i| i32::try_from(i).ok());
                item["account"] = serde_json::json!(id.and_then(|id| handles.get(&id)));
                let group = item["group_id"]
                    .as_i64()
                    .and_then(|i| i32::try_from(i).ok());
                if let Some(g) = group.and_then(|g| groups.get(&g)) {
                    item["group"] = serde_json::to_value(g)?;
                }
                let id = item["id"].as_i64().and_then(|i| i32::try_from(i).ok());
                if let Some(files) = id.and_then(|id| media.get(&id)) {
                    item["media"] = serde_json::to_value(files)?;
                }
            }
        }
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    if all.is_empty() {
        outln!("no posts");
        return Ok(ExitCode::SUCCESS);
    }
    // With several accounts, each row says whose it is.
    let whose = handles.len() > 1 && account.is_none();
    let width = handles
        .values()
        .map(|h| h.chars().count() + 1)
        .max()
        .unwrap_or(0);
    let who = |p: &Post| -> String {
        if whose {
            let h = handles
                .get(&p.x_account_id)
                .map_or_else(|| "-".to_string(), |h| format!("@{h}"));
            format!("{h:<width$}  ")
        } else {
            String::new()
        }
    };
    let header = if whose {
        format!("{:<width$}  ", "ACCOUNT")
    } else {
        String::new()
    };
    outln!(
        "{:>6}  {:<10}  {:<24}  {header}TEXT",
        "ID",
        "STATUS",
        "WHEN"
    );
    for p in &all {
        let at = p
            .posted_at
            .or(p.scheduled_at)
            .map(|t| when::show(t, &tz))
            .unwrap_or_default();
        let thread = p
            .thread_label()
            .map_or_else(String::new, |l| format!("[{l}] "));
        let thread = if p.unpublished_at.is_some() {
            format!("[unpublished] {thread}")
        } else if p.gone_from_x_at.is_some() {
            format!("[deleted on X] {thread}")
        } else if p.queued && matches!(p.status, Status::Scheduled | Status::Publishing) {
            // It holds a queue slot (`queue compact` may move it).
            format!("[queued] {thread}")
        } else {
            thread
        };
        let group = p
            .group_id
            .and_then(|g| groups.get(&g))
            .map_or_else(String::new, |g| format!("[{}] ", g.label()));
        let group = match media.get(&p.id).map(Vec::len) {
            Some(n) if n > 0 => format!("{group}[{n} media] "),
            _ => group,
        };
        outln!(
            "{:>6}  {:<10}  {:<24}  {}{group}{thread}{}",
            p.id,
            p.status.as_str(),
            at,
            who(p),
            clip(&inert(&p.content, false), 60)
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn unpublish(db: &Db, config: Config, id: PostId) -> Result<ExitCode> {
    use chirp_net::DEFAULT_TIMEOUT;
    let cipher = chirp_credentials::key(db).await?;
    let networks = config.networks(DEFAULT_TIMEOUT);
    let credentials = crate::cli::credentials(&config, &networks, cipher, DEFAULT_TIMEOUT);
    let post = chirp_publisher::unpublish::unpublish(
        db,
        &networks,
        &credentials,
        id,
        ACTOR,
        DEFAULT_TIMEOUT,
    )
    .await?;
    let what = if post.parts > 1 {
        format!("all {} parts", post.parts)
    } else {
        "it".to_string()
    };
    outln!("unpublished post {id}: {what} deleted on X (kept here)");
    Ok(ExitCode::SUCCESS)
}

/// Each part of a thread: its place, whether it is on its network (and as what), its text,
/// counted by its network's rule.
pub(super) fn print_parts(
    parts: &[chirp_core::PostPart],
    rule: &dyn chirp_core::TextRule,
    tz: &Tz,
) -> std::io::Result<()> {
    let n = parts.len();
    let net = rule.network();
    for p in parts {
        let state = match (&p.remote_id, p.posted_at, p.remote_deleted_at) {
            (Some(id), _, Some(d)) => format!("was {id}, deleted on {net} {}", when::show(d, tz)),
            (Some(id), Some(t), None) => format!("on {net} as {id}, {}", when::show(t, tz)),
            (Some(id), None, None) => format!("on {net} as {id}"),
            _ => "not sent".to_string(),
        };
        let c = rule.count(&p.content);
        outln!(
            "  part {}/{n} · {state} · {}/{}",
            p.position,
            c.weighted,
            rule.limit()
        );
        for line in inert(&p.content, true).lines() {
            outln!("  │ {line}");
        }
    }
    Ok(())
}

pub(super) fn print_post(
    p: &Post,
    rule: &dyn chirp_core::TextRule,
    tz: &Tz,
) -> std::io::Result<()> {
    match p.progress() {
        Some(progress) => outln!("post {} · {} · {progress}", p.id, p.status),
        None if p.parts > 1 => outln!("post {} · {} · thread of {}", p.id, p.status, p.parts),
        None => outln!("post {} · {}", p.id, p.status),
    }
    if let Some(t) = p.scheduled_at {
        outln!("  scheduled  {}", when::show(t, tz));
    }
    if let Some(t) = p.posted_at {
        outln!("  posted     {}", when::show(t, tz));
    }
    if let Some(id) = &p.x_tweet_id {
        outln!("  x id       {id}");
    }
    if let Some(t) = p.unpublished_at {
        outln!("  unpublished {} (deleted on X)", when::show(t, tz));
    }
    if let Some(e) = &p.error_message {
        outln!("  error      {}", inert(e, false));
    }
    if p.parts > 1 {
        // The parts follow, each with its own count.
        return Ok(());
    }
    let c = rule.count(&p.content);
    outln!("  length     {}/{}", c.weighted, rule.limit());
    for line in inert(&p.content, true).lines() {
        outln!("  │ {line}");
    }
    Ok(())
}

/// `chirp show`: one post in full (its parts, files, numbers and history), or as JSON.
pub(super) async fn show(db: &Db, id: PostId, json: bool, tz: Tz) -> Result<ExitCode> {
    let c = db.client().await?;
    let post = posts::get(&c, id).await?;
    let parts = posts::parts(&c, id).await?;
    let files = chirp_store::media::attachments(&c, id).await?;
    let reads = chirp_store::analytics::history(&c, id).await?;
    if json {
        let mut v = serde_json::to_value(&post)?;
        v["thread"] = serde_json::to_value(&parts)?;
        v["media"] = serde_json::to_value(&files)?;
        v["metrics"] = serde_json::Value::Array(
            reads
                .iter()
                .map(|(at, m)| {
                    let mut r = serde_json::to_value(m).unwrap_or_default();
                    r["fetched_at"] = serde_json::json!(at);
                    r
                })
                .collect(),
        );
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    let rule = accounts::text_rule(&c, post.x_account_id).await?;
    print_post(&post, rule, &tz)?;
    // Whose it is, and where the rest of its group stands.
    let st = accounts::status_by_id(&c, post.x_account_id).await?;
    if let Some(h) = st.username {
        outln!("  account    @{h}");
    }
    if let Some(g) = post.group_id {
        for other in posts::group(&c, g).await? {
            if other.id != post.id {
                let h = accounts::handle(&c, other.x_account_id)
                    .await?
                    .unwrap_or_default();
                outln!("  also       post {} to @{h} · {}", other.id, other.status);
            }
        }
    }
    for a in &files {
        outln!(
            "  media      part {} · {}",
            a.position,
            crate::present::attachment(a)
        );
    }
    if parts.len() > 1 {
        print_parts(&parts, rule, &tz)?;
    }
    if let Some((at, m)) = reads.last() {
        outln!(
            "  numbers    {} impressions · {} likes · {} reposts · {} replies · {} quotes (read {}; {} read(s))",
            m.impressions,
            m.likes,
            m.reposts,
            m.replies,
            m.quotes,
            when::show(*at, &tz),
            reads.len()
        );
    }
    if let Some(t) = post.gone_from_x_at {
        outln!("  deleted    on X (noticed {})", when::show(t, &tz));
    }
    for ev in posts::history(&c, id).await? {
        let change = match (ev.from, ev.to) {
            (Some(f), Some(t)) if f != t => format!("{f} → {t}"),
            (_, Some(t)) | (Some(t), None) => t,
            _ => String::new(),
        };
        let detail = ev.detail.map(|d| format!(" ({})", inert(&d, false)));
        outln!(
            "  {} {:<8} {change:<22} by {}{}",
            ev.at.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S"),
            ev.event,
            ev.actor,
            detail.unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}
