//! `chirp template save | list | show | delete`, and `chirp post --template NAME --var K=V`.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use chrono::Utc;
use chrono_tz::Tz;
use clap::Subcommand;

use super::{ACTOR, UsageError, with_db};
use crate::config::Config;
use crate::present::{clip, inert};
use chirp_core::{PostId, template, when};
use chirp_store::posts::{self, Schedule};
use chirp_store::{Db, queue, templates};

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Keep a post's parts and files as template NAME (placeholders like `{name}` stay as
    /// they are, to be filled by `chirp post --template NAME --var name=…`).
    Save {
        /// The post to keep (its id, as `chirp list` shows).
        id: PostId,
        /// The template's name (1 to 100 characters).
        name: String,
        /// Over a template of that name.
        #[arg(long)]
        replace: bool,
    },
    /// Every template: name, parts, files, first words.
    List {
        /// One JSON array.
        #[arg(long)]
        json: bool,
    },
    /// A template's parts and the placeholders they use.
    Show {
        /// The template's name.
        name: String,
    },
    /// Delete a template (posts made from it stay).
    Delete {
        /// The template's name.
        name: String,
    },
}

pub(super) async fn run(command: TemplateCommand, config: &Config) -> Result<ExitCode> {
    let tz = config.timezone();
    match command {
        TemplateCommand::Save { id, name, replace } => {
            with_db(config, move |db| {
                Box::pin(async move {
                    let mut c = db.client().await?;
                    templates::save_from_post(&mut c, id, &name, replace).await?;
                    let t = templates::get(&c, &name).await?;
                    outln!("saved template {} ({})", inert(&t.name, false), shape(&t));
                    Ok(ExitCode::SUCCESS)
                })
            })
            .await
        }
        TemplateCommand::List { json } => {
            with_db(config, move |db| {
                Box::pin(async move {
                    let all = templates::list(&db.client().await?).await?;
                    if json {
                        outln!("{}", serde_json::to_string_pretty(&all)?);
                    } else if all.is_empty() {
                        outln!("no templates: `chirp template save POST_ID NAME` makes one");
                    }
                    for t in all.iter().filter(|_| !json) {
                        outln!(
                            "{:<20} {} part(s) · {} file(s) · {}  {}",
                            inert(&t.name, false),
                            t.parts,
                            t.files,
                            when::show(t.updated_at, &tz),
                            clip(&inert(&t.first, false), 40)
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                })
            })
            .await
        }
        TemplateCommand::Show { name } => {
            with_db(config, move |db| {
                Box::pin(async move {
                    let t = templates::get(&db.client().await?, &name).await?;
                    outln!("{} · {}", inert(&t.name, false), shape(&t));
                    let mut names: Vec<String> = Vec::new();
                    for (i, part) in t.parts.iter().enumerate() {
                        outln!("  part {}/{}", i + 1, t.parts.len());
                        for line in part.lines() {
                            outln!("  │ {}", inert(line, false));
                        }
                        for n in template::placeholders(part).unwrap_or_default() {
                            if !names.contains(&n) {
                                names.push(n);
                            }
                        }
                    }
                    if !names.is_empty() {
                        let list: Vec<String> = names.iter().map(|n| format!("{{{n}}}")).collect();
                        outln!("  placeholders: {}", list.join(", "));
                    }
                    Ok(ExitCode::SUCCESS)
                })
            })
            .await
        }
        TemplateCommand::Delete { name } => {
            with_db(config, move |db| {
                Box::pin(async move {
                    templates::delete(&db.client().await?, &name).await?;
                    outln!("deleted template {}", inert(&name, false));
                    Ok(ExitCode::SUCCESS)
                })
            })
            .await
        }
    }
}

/// "2 parts, 1 file".
fn shape(t: &templates::Template) -> String {
    let files: usize = t.media.iter().map(Vec::len).sum();
    format!("{} part(s), {files} file(s)", t.parts.len())
}

/// `--var key=value` pairs; a pair without `=` is refused.
pub(super) fn parse_vars(vars: &[String]) -> Result<BTreeMap<String, String>> {
    vars.iter()
        .map(|v| {
            v.split_once('=')
                .map(|(k, val)| (k.trim().to_string(), val.to_string()))
                .filter(|(k, _)| !k.is_empty())
                .ok_or_else(|| {
                    anyhow!(UsageError(format!(
                        "--var {v}: give it as KEY=VALUE, e.g. --var release=v2.1"
                    )))
                })
        })
        .collect()
}

/// `chirp post --template NAME`: the template's parts, filled, with its files.
pub(super) async fn post(
    db: &Db,
    name: String,
    vars: BTreeMap<String, String>,
    handles: Vec<String>,
    when: Schedule,
    tz: Tz,
    asked: super::post::Asked,
) -> Result<ExitCode> {
    let mut c = db.client().await?;
    let t = templates::get(&c, &name).await?;
    let targets = super::accounts_named(&mut c, &handles).await?;
    // {date} and {weekday} are the day it goes out: the time given, the slot it will take
    // in the (first) account's queue, else today.
    let at = match when {
        Schedule::Queue => queue::free(&c, targets[0], Utc::now(), 1)
            .await?
            .first()
            .copied(),
        other => other.at(),
    };
    let day = at.unwrap_or_else(Utc::now).with_timezone(&tz).date_naive();
    let mut all = template::builtins(day);
    all.extend(vars);
    let parts = template::fill_parts(&t.parts, &all)?;
    if when != Schedule::Draft {
        let cost = asked.pricing.post(&parts) * targets.len() as u64;
        asked.check(parts.len() * targets.len(), cost)?;
    }
    let made = posts::create_with_media(&mut c, ACTOR, &targets, &parts, &t.media, when).await?;
    for p in &made {
        outln!("{}", p.id);
    }
    if when == Schedule::Queue {
        for p in &made {
            super::queue::say_queued(&c, p).await?;
        }
    } else if let Some(at) = made.first().and_then(|p| p.scheduled_at) {
        eprintln!("scheduled for {}", when::show(at, &tz));
    }
    Ok(ExitCode::SUCCESS)
}
