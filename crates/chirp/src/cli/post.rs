//! `chirp post`: a new post (or thread, or one text to several accounts) from the command
//! line or stdin, or one made from a template. Everything is checked (files by content, the
//! text by the rule of every account it goes to) before anything is written.

use std::process::ExitCode;

use anyhow::Result;
use chirp_core::{price, text, when};
use chirp_store::posts;
use chrono_tz::Tz;

use super::args::PostArgs;
use super::{
    ACTOR, accounts_named, media_args, media_per_part, post_when, queue, read_text, rules_of,
    store_media, template, with_db,
};
use crate::config::Config;

pub(super) async fn run(args: PostArgs, config: &Config, tz: Tz) -> Result<ExitCode> {
    let PostArgs {
        text,
        template: from_template,
        vars,
        at,
        draft,
        thread,
        split,
        numbered,
        accounts: handles,
        media: files,
        alt: alts,
        yes,
    } = args;
    let pricing = config.x.pricing;
    if let Some(name) = from_template {
        let when = post_when(at, draft, &tz)?;
        let vars = template::parse_vars(&vars)?;
        let asked = Asked { pricing, yes };
        return with_db(config, move |db| {
            Box::pin(template::post(db, name, vars, handles, when, tz, asked))
        })
        .await;
    }
    // Every file is read and checked before anything is written.
    let attached = media_args(&files, &alts, std::env::args())?;
    let text = read_text(text.as_deref().unwrap_or("-"))?;
    let when = post_when(at, draft, &tz)?;
    let config_pricing = config.x.pricing;
    with_db(config, move |db| {
        Box::pin(async move {
            let mut c = db.client().await?;
            let targets = accounts_named(&mut c, &handles).await?;
            // The text must fit the rule of every account it goes to.
            let rules = rules_of(&c, &targets).await?;
            let parts = if thread {
                text::split_thread(&text)
            } else if split {
                // Cut for the strictest, it fits them all.
                let strictest = rules
                    .first()
                    .copied()
                    .unwrap_or_else(|| chirp_core::rule_for(chirp_core::Network::X));
                text::auto_split(strictest, &text, numbered)
            } else {
                vec![text]
            };
            let per_part = media_per_part(&attached, parts.len())?;
            // A part with media may have no text.
            for rule in &rules {
                rule.validate_parts_with(&parts, &|i| !per_part[i].is_empty())
                    .map_err(|e| {
                        if parts.len() == 1 {
                            anyhow::Error::from(e.err)
                        } else {
                            anyhow::Error::from(e)
                        }
                    })?;
            }
            if when != posts::Schedule::Draft {
                let all = config_pricing.post(&parts) * targets.len() as u64;
                Asked {
                    pricing: config_pricing,
                    yes,
                }
                .check(parts.len() * targets.len(), all)?;
            }
            // What sending it will cost, said before it goes out (a draft costs
            // nothing yet).
            let cost = (when != posts::Schedule::Draft).then(|| {
                let each = config_pricing.post(&parts);
                let links = price::url_parts(&parts);
                let per = if handles.len() > 1 {
                    " per account"
                } else {
                    ""
                };
                let mut s = format!("costs {}{per} at X's prices", price::usd(each));
                match (links, parts.len()) {
                    (0, _) => {}
                    (_, 1) => s.push_str(" (a link makes it a URL post)"),
                    (1, n) => s.push_str(&format!(" (1 of its {n} parts has a link)")),
                    (k, n) => {
                        s.push_str(&format!(" ({k} of its {n} parts have a link)"));
                    }
                }
                s
            });
            let media = store_media(&mut c, per_part).await?;
            let made =
                posts::create_with_media(&mut c, ACTOR, &targets, &parts, &media, when).await?;
            // One id per line, one post per account.
            for post in &made {
                outln!("{}", post.id);
            }
            if when == posts::Schedule::Queue {
                for post in &made {
                    queue::say_queued(&c, post).await?;
                }
            } else if let Some(at) = made.first().and_then(|p| p.scheduled_at) {
                eprintln!("scheduled for {}", when::show(at, &tz));
            }
            if let Some(cost) = cost {
                eprintln!("{cost}");
            }
            Ok(ExitCode::SUCCESS)
        })
    })
    .await
}

/// Whether the person said `--yes` to a post worth asking about (see
/// [`chirp_core::Pricing::worth_asking`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Asked {
    pub(super) pricing: chirp_core::Pricing,
    pub(super) yes: bool,
}

impl Asked {
    /// Refuses `parts` parts costing `cost` unless `--yes` was given or they need no asking.
    pub(super) fn check(&self, parts: usize, cost: chirp_core::price::Micros) -> Result<()> {
        match self.pricing.worth_asking(parts, cost) {
            Some(what) if !self.yes => Err(anyhow::anyhow!(crate::error::UsageError(format!(
                "this is {what}: add --yes to send it (or --draft to keep it a draft)"
            )))),
            _ => Ok(()),
        }
    }
}
