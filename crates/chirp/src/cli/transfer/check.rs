//! An import's checks: every row against the database and the files it names, before anything
//! is written; the problems, each naming its row, or what to write.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use chirp_core::{AccountId, Status, when};
use chirp_store::posts::Schedule;
use chirp_store::{accounts, queue, transfer};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{Row, RowWhen};
use crate::media::{Inspected, inspect};

/// What an import will write: the checked post and the files it still has to store.
pub(super) struct Checked {
    pub(super) row: Row,
    pub(super) account: AccountId,
    pub(super) when: Schedule,
    pub(super) files: Vec<Vec<(FileSource, Option<String>)>>,
}

pub(super) enum FileSource {
    Stored(chirp_store::media::MediaId),
    New(Inspected),
}

/// The CSV's folder, resolved (its own name for one given without a folder: `.`).
pub(super) fn base_dir(base: &Path) -> Option<PathBuf> {
    let dir = if base.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base
    };
    dir.canonicalize().ok()
}

/// "@alice · scheduled Fri 2026-11-27 17:00 CET · 2 parts · 1 file · Hello…"
pub(super) async fn describe(c: &chirp_store::Object, ch: &Checked, tz: &Tz) -> Result<String> {
    let handle = accounts::handle(c, ch.account)
        .await?
        .map_or_else(|| "(no account connected)".into(), |h| format!("@{h}"));
    let when = match (ch.row.status, ch.when) {
        (Status::Draft | Status::Scheduled, Schedule::At(at)) => {
            format!("scheduled {}", when::show(at, tz))
        }
        (Status::Draft | Status::Scheduled, Schedule::Slot(at)) => {
            format!("queued {}", when::show(at, tz))
        }
        (Status::Draft | Status::Scheduled, Schedule::Queue) => "into the queue".into(),
        (Status::Draft | Status::Scheduled, Schedule::Draft) => "draft".into(),
        (s, _) => s.to_string(),
    };
    let files: usize = ch.files.iter().map(Vec::len).sum();
    let mut bits = vec![handle, when];
    if ch.row.parts.len() > 1 {
        bits.push(format!("{} parts", ch.row.parts.len()));
    }
    if files > 0 {
        bits.push(format!("{files} file(s)"));
    }
    let first = ch.row.parts.first().map_or("", |p| p.text.as_str());
    bits.push(crate::present::clip(first, 50));
    Ok(bits.join(" · "))
}

/// Checks one row; the problems, each "post 3, parts[2].text: …", or what to write.
/// What every row is checked against.
pub(super) struct Rules<'a> {
    pub(super) override_account: Option<AccountId>,
    pub(super) default: AccountId,
    pub(super) to_queue: bool,
    pub(super) now: DateTime<Utc>,
    pub(super) tz: &'a Tz,
    /// Accounts (lowercase handles) whose queue the file brings.
    pub(super) brought: Vec<String>,
    /// A CSV's files must be inside this folder (the CSV's, resolved), unless
    /// `--allow-outside`: a CSV someone sends cannot attach `~/.ssh/id_ed25519.png`.
    pub(super) confine: Option<PathBuf>,
}

/// Whether `path` is inside `dir` (both resolved: `..` and symlinks cannot lead out).
fn inside(dir: &Path, path: &Path) -> bool {
    match path.canonicalize() {
        Ok(p) => p.starts_with(dir),
        // Not there: judged by its words (the read says it is missing).
        Err(_) => {
            path.is_relative()
                && !path
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
        }
    }
}

pub(super) async fn check(
    c: &chirp_store::Object,
    row: Row,
    rules: &Rules<'_>,
) -> Result<Result<Checked, Vec<String>>> {
    let Rules {
        override_account,
        default,
        to_queue,
        now,
        tz,
        ..
    } = *rules;
    let mut problems = Vec::new();
    let label = row.label.clone();
    let csv = label.starts_with("row");
    let account = match (override_account, &row.account) {
        (Some(a), _) => Some(a),
        (None, None) => Some(default),
        (None, Some(h)) => match accounts::find(c, h).await {
            Ok(a) => Some(a),
            Err(chirp_store::StoreError::Refused(
                e @ chirp_store::Refusal::UnknownAccount { .. },
            )) => {
                problems.push(format!(
                    "{label}, account: {}",
                    crate::present::refusal_words(&e)
                ));
                None
            }
            Err(e) => return Err(e.into()),
        },
    };
    if let Some(s) = &row.refused_status {
        problems.push(format!(
            "{label}, status: `{s}`: only drafts and posts to schedule come from CSV (a JSON export restores the others)"
        ));
    }
    if row.parts.is_empty() {
        problems.push(format!("{label}, parts: the post has no parts"));
    }
    let to_send = matches!(row.status, Status::Draft | Status::Scheduled);
    let when = if !to_send {
        match row.when {
            RowWhen::At(at) | RowWhen::Slot(at) => Schedule::At(at),
            _ => Schedule::Draft,
        }
    } else if to_queue {
        Schedule::Queue
    } else {
        match &row.when {
            RowWhen::Draft => Schedule::Draft,
            RowWhen::Queue => Schedule::Queue,
            RowWhen::At(at) if *at < now => {
                problems.push(format!(
                    "{label}, scheduled_at: {} is in the past (import with --to-queue, or change it)",
                    when::show(*at, tz)
                ));
                Schedule::Draft
            }
            RowWhen::At(at) => Schedule::At(*at),
            RowWhen::Slot(at) if *at < now => Schedule::Queue,
            RowWhen::Slot(at) => Schedule::Slot(*at),
            RowWhen::Words(w) => match chirp_core::parse_when(w, now, tz) {
                Ok(at) => Schedule::At(at),
                Err(e) => {
                    problems.push(format!("{label}, scheduled_at: {e}"));
                    Schedule::Draft
                }
            },
        }
    };
    if when == Schedule::Queue
        && let Some(a) = account
        && queue::get(c, a).await?.is_none()
    {
        let handle = accounts::handle(c, a).await?.unwrap_or_default();
        if !rules.brought.contains(&handle.to_lowercase()) {
            problems.push(format!(
                "{label}, scheduled_at: {}",
                crate::present::refusal_words(&chirp_store::Refusal::NoQueue(handle))
            ));
        }
    }
    // Checked by the rule of the account it goes to (X's when the account is unknown: that
    // problem is said already).
    let rule = match account {
        Some(a) => accounts::text_rule(c, a).await?,
        None => chirp_core::rule_for(chirp_core::Network::X),
    };
    let mut files = Vec::with_capacity(row.parts.len());
    for (i, part) in row.parts.iter().enumerate() {
        let column = if csv {
            if i == 0 {
                "text".to_string()
            } else {
                format!("part{}", i + 1)
            }
        } else {
            format!("parts[{}]", i + 1)
        };
        let media_col = if csv {
            if i == 0 {
                "media".to_string()
            } else {
                format!("media{}", i + 1)
            }
        } else {
            format!("parts[{}].media", i + 1)
        };
        // Text already sent is history: it is kept as the network took it.
        if to_send && let Err(e) = rule.validate_part(&part.text, !part.media.is_empty()) {
            problems.push(format!("{label}, {column}: {e}"));
        }
        let mut part_files = Vec::new();
        let mut kinds = Vec::new();
        for m in &part.media {
            if m.alt.as_ref().is_some_and(|a| a.chars().count() > 1000) {
                problems.push(format!(
                    "{label}, {media_col}: alt text is over 1,000 characters"
                ));
            }
            let stored = match &m.sha256 {
                Some(h) => transfer::media_by_hash(c, h).await?,
                None => None,
            };
            match (stored, &m.file) {
                (Some(id), _) => {
                    let kind = transfer::media_kind(c, id).await?;
                    kinds.push(kind);
                    part_files.push((FileSource::Stored(id), m.alt.clone()));
                }
                (None, Some(path))
                    if rules.confine.as_deref().is_some_and(|d| !inside(d, path)) =>
                {
                    problems.push(format!(
                        "{label}, {media_col}: {} is outside the CSV's folder: move it there, or import with --allow-outside",
                        path.display()
                    ));
                }
                (None, Some(path)) => match inspect(path) {
                    Ok(f) if m.sha256.as_ref().is_some_and(|h| *h != f.sha256_hex()) => {
                        problems.push(format!(
                            "{label}, {media_col}: {} is not the file that was exported (its content differs)",
                            path.display()
                        ));
                    }
                    Ok(f) => {
                        kinds.push(f.kind);
                        part_files.push((FileSource::New(f), m.alt.clone()));
                    }
                    Err(e) => problems.push(format!("{label}, {media_col}: {e}")),
                },
                (None, None) => problems.push(format!(
                    "{label}, {media_col}: a file exported without its content: export again with --with-media DIR"
                )),
            }
        }
        if let Err(e) = chirp_core::media::check_part(&kinds) {
            problems.push(format!("{label}, {media_col}: {e}"));
        }
        files.push(part_files);
    }
    // An import run twice would post everything twice: a post already here is refused.
    if let Some(a) = account
        && let Some(first) = row.parts.first()
    {
        let x_ids: Vec<String> = row
            .parts
            .iter()
            .filter_map(|p| p.x_tweet_id.clone())
            .collect();
        let at = when.at();
        if let Some(id) =
            transfer::already_here(c, a, to_send.then_some(first.text.as_str()), at, &x_ids).await?
        {
            problems.push(format!(
                "{label}: already in chirp as post {id} (was this file imported before?)"
            ));
        }
    }
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let account = account.ok_or_else(|| anyhow!("an account was checked"))?;
    Ok(Ok(Checked {
        row,
        account,
        when,
        files,
    }))
}
