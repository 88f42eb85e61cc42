//! The command line: `chirp <command>`. Every command validates what it was given before it
//! touches the database, and reports a failure as one line on stderr with a non-zero exit.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use chrono::Utc;
use chrono_tz::Tz;
use clap::{Parser, Subcommand};

/// `println!` that gives up quietly when the reader has gone (`chirp list | head -1`): the
/// error ends the command like any other (closing the database), and `main` says nothing.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

mod account;
mod db;
mod queue;
mod scheduler;
mod stats;
mod status;
mod template;
mod transfer;

use crate::config::{Config, ConfigError};
use crate::present::{clip, inert};
use chirp_core::price::{self, Pricing};
use chirp_core::{Post, PostId, Status, text, when};
use chirp_store::posts::{self, Actor, ListQuery, Order};
use chirp_store::{Db, accounts};

const ACTOR: Actor<'static> = Actor("cli");

#[derive(Debug, Parser)]
#[command(
    name = "chirp",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("CHIRP_COMMIT"), ")"),
    about = "Write, schedule and publish posts to X from the terminal"
)]
pub struct Cli {
    /// Config file (default: $XDG_CONFIG_HOME/chirp/config.toml).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply database migrations and say what was applied.
    Migrate,
    /// Create a post: scheduled with --at, a draft with --draft, else due now.
    Post {
        /// The text; `-` reads it from stdin.
        #[arg(required_unless_present = "template")]
        text: Option<String>,
        /// Make it from a saved template (see `chirp template`), its placeholders filled.
        #[arg(long, value_name = "NAME", conflicts_with_all = ["text", "thread", "split", "media"])]
        template: Option<String>,
        /// A value for a template's `{KEY}` (`{date}` and `{weekday}` are chirp's: the day
        /// the post is scheduled for, else today).
        #[arg(long = "var", value_name = "KEY=VALUE", requires = "template")]
        vars: Vec<String>,
        /// When to publish: `in 2h`, `tomorrow 9am`, `fri 17:30`, `2026-12-01 14:00`, RFC 3339,
        /// or `next`: the account's next free queue slot (see `chirp queue`).
        #[arg(long, value_name = "WHEN", conflicts_with = "draft")]
        at: Option<String>,
        /// Keep it as a draft.
        #[arg(long)]
        draft: bool,
        /// A thread: parts separated by lines holding only `---`.
        #[arg(long, conflicts_with = "split")]
        thread: bool,
        /// A thread cut from a text too long for one post (after sentences, between words).
        #[arg(long)]
        split: bool,
        /// With --split: end each part with "k/n" (counted in the limit).
        #[arg(long, requires = "split")]
        numbered: bool,
        /// The account to post as (`@handle`); repeat it to post the text once to each
        /// (default: the default account, see `chirp account list`).
        #[arg(short, long = "account", value_name = "@HANDLE")]
        accounts: Vec<String>,
        /// Attach a file (JPEG, PNG, WEBP, GIF, MP4, MOV; checked by content): to the first
        /// part, or to part N of a thread with `N:PATH`. Repeat it for more (up to 4 images,
        /// or 1 GIF, or 1 video per part).
        #[arg(long, value_name = "[N:]PATH")]
        media: Vec<String>,
        /// Alt text for the --media just before it (up to 1,000 characters).
        #[arg(long, value_name = "TEXT")]
        alt: Vec<String>,
    },
    /// List posts, newest first.
    List {
        /// Only posts in this status (draft, scheduled, publishing, posted, failed).
        #[arg(long, value_name = "S")]
        status: Option<Status>,
        /// At most this many posts.
        #[arg(long, value_name = "N")]
        limit: Option<i64>,
        /// One JSON array (times in RFC 3339 UTC).
        #[arg(long)]
        json: bool,
        /// Only this account's posts (`@handle`).
        #[arg(short, long, value_name = "@HANDLE")]
        account: Option<String>,
    },
    /// Show one post in full, with its history.
    Show {
        /// The post's id (`chirp list` shows them).
        id: PostId,
        /// One JSON object: the post, its parts, files and metrics reads.
        #[arg(long)]
        json: bool,
    },
    /// Count text as the account's network does (X: weighted, limit 280); exit 1 when it
    /// would be refused.
    Count {
        /// The text; stdin when absent.
        text: Option<String>,
        /// One JSON object per part.
        #[arg(long)]
        json: bool,
        /// Count for this account (`@handle`): by its network's rule (X when absent).
        #[arg(short, long, value_name = "@HANDLE")]
        account: Option<String>,
    },
    /// Schedule a draft (or move a scheduled post) to WHEN.
    Schedule {
        /// The post's id (`chirp list` shows them).
        id: PostId,
        /// `in 2h`, `tomorrow 9am`, `fri 17:30`, `2026-12-01 14:00`, RFC 3339, or `next` (the
        /// account's next free queue slot).
        #[arg(long, value_name = "WHEN")]
        at: String,
    },
    /// Take a scheduled or failed post back to a draft.
    Unschedule {
        /// The post's id (`chirp list` shows them).
        id: PostId,
    },
    /// Replace the text of a draft, scheduled or failed post (`-` reads stdin).
    Edit {
        /// The post's id (`chirp list` shows them).
        id: PostId,
        /// The new text; `-` reads it from stdin.
        text: String,
        /// Replace every part: parts separated by lines holding only `---`.
        #[arg(long)]
        thread: bool,
    },
    /// Delete a post from chirp (it is not deleted on X).
    Delete {
        /// The post's id (`chirp list` shows them).
        id: PostId,
    },
    /// Try a failed post again, now.
    Retry {
        /// The post's id (`chirp list` shows them).
        id: PostId,
    },
    /// Delete every part of a post on X, last part first; the post stays here, unpublished.
    Unpublish {
        /// The post's id (`chirp list` shows them).
        id: PostId,
    },
    /// End a thread that stopped part-way at the parts on X (it becomes posted) and make its
    /// unsent parts a new draft (printed).
    SplitOff {
        /// The post's id (`chirp list` shows them).
        id: PostId,
    },
    /// Database, account and queue at a glance.
    Status {
        /// One account's (`@handle`) instead of every account's.
        #[arg(short, long, value_name = "@HANDLE")]
        account: Option<String>,
        /// One line for a tmux status bar, e.g. '{next} · {waiting} waiting · {failed} failed';
        /// placeholders: {next} {next_at} {next_id} {waiting} {drafts} {failed} {account}
        /// {accounts} {db}. chirp's private server is not started for it.
        #[arg(long, value_name = "FORMAT", conflicts_with = "json")]
        format: Option<String>,
        /// One JSON object: database, accounts and their state, posts by status, next due.
        #[arg(long)]
        json: bool,
    },
    /// Publish due posts until stopped (for tmux or systemd); one line per event.
    Scheduler {
        /// Seconds a claim lasts; a crashed publisher's posts are taken over after this.
        #[arg(long, default_value_t = 120, value_name = "SECS")]
        lease: u64,
        /// Seconds to wait for X to answer one request.
        #[arg(long, default_value_t = 30, value_name = "SECS")]
        x_timeout: u64,
        /// First retry delay in milliseconds (doubles per attempt, at most 15 minutes).
        #[arg(long, default_value_t = 10_000, value_name = "MS")]
        retry_base_ms: u64,
        /// Seconds a post handed back by a stopped publisher, or rescued from a dead one, waits
        /// before it is checked on X (at least --x-timeout, which is the default).
        #[arg(long, value_name = "SECS")]
        grace: Option<u64>,
        /// Also announce events worth attention on stdout, as `[notify]` says: the bell and a
        /// desktop notification (OSC 9 / 777) for a failed post, an account to reconnect…
        #[arg(long)]
        notify: bool,
    },
    /// Write posts out: JSON (lossless: parts, files, schedule, status, X ids, queues) or
    /// CSV (one row per post, for spreadsheets), on stdout.
    Export {
        /// json (lossless, for backups and moving) or csv (for spreadsheets).
        #[arg(long, value_enum, default_value = "json")]
        format: transfer::Format,
        /// Only posts in this status.
        #[arg(long, value_name = "S")]
        status: Option<Status>,
        /// Only this account's posts (`@handle`).
        #[arg(short, long, value_name = "@HANDLE")]
        account: Option<String>,
        /// Also write each attached file (once, named by its SHA-256) into DIR.
        #[arg(long, value_name = "DIR")]
        with_media: Option<PathBuf>,
        /// Write it to a new file (created 0600, never over another) instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Read posts from a JSON export or a CSV (text, scheduled_at, account, part2…, media…,
    /// alt…). Every row is checked first; one bad row writes nothing.
    Import {
        /// The JSON export or CSV to read.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Default: from the file name, else from its first character.
        #[arg(long, value_enum)]
        format: Option<transfer::Format>,
        /// Check everything and say what would be imported, writing nothing.
        #[arg(long)]
        dry_run: bool,
        /// Put every post still to send into its account's queue (times in the file are
        /// not used).
        #[arg(long)]
        to_queue: bool,
        /// Import every post as this account's (`@handle`).
        #[arg(short, long, value_name = "@HANDLE")]
        account: Option<String>,
    },
    /// Posts kept under a name to make new ones from (`chirp post --template NAME`).
    Template {
        #[command(subcommand)]
        command: template::TemplateCommand,
    },
    /// How posts did (per day, the best ones) and what X cost this month, per account.
    Stats(stats::StatsArgs),
    /// Shell completions on stdout, e.g. `chirp completions bash > ~/.local/share/bash-completion/completions/chirp`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The manual page (roff) on stdout, e.g. `chirp man > ~/.local/share/man/man1/chirp.1`;
    /// with a directory, a page for chirp and one for each command (`man chirp-post`) there.
    Man {
        /// Write chirp.1 and chirp-COMMAND.1 here instead (an existing directory).
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Each account's weekly posting slots, and the posts waiting in them.
    Queue {
        #[command(subcommand)]
        command: queue::QueueCommand,
    },
    /// Connect, inspect or disconnect the X account.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// A post's attached files.
    Media {
        #[command(subcommand)]
        command: MediaCommand,
    },
    /// chirp's private database: status, start, stop, path.
    Db {
        #[command(subcommand)]
        command: db::DbCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum MediaCommand {
    /// Write a post's attachments back as files (POST-PART-N.ext, created 0600) into DIR.
    Export {
        /// The post's id (`chirp list` shows them).
        id: PostId,
        /// An existing directory to write the files into.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Authorize chirp at X (OAuth 2.0 with PKCE); works over SSH.
    Connect {
        /// Never try to open a browser (the default without a display).
        #[arg(long)]
        no_browser: bool,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 300, value_name = "SECS")]
        timeout: u64,
    },
    /// Username, whether connected, token expiry, posts waiting (the default account's, or
    /// the one named).
    Status {
        /// One JSON object.
        #[arg(long)]
        json: bool,
        /// Which account (`@handle`; default: the default account).
        #[arg(short, long, value_name = "@HANDLE")]
        account: Option<String>,
    },
    /// Every connected account: handle, state, default, posts waiting, rate limit.
    List {
        /// One JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Make an account the one posts go to unless `--account` says otherwise.
    Default {
        /// The account (`@handle`).
        #[arg(value_name = "@HANDLE")]
        handle: String,
    },
    /// After topping up at X: send the posts held since X said the account is out of
    /// credits (402).
    Resume {
        /// The account (`@handle`).
        #[arg(value_name = "@HANDLE")]
        handle: String,
    },
    /// Revoke the tokens at X and deactivate the account here; posts are kept.
    Disconnect {
        /// Which account (needed when several are connected).
        #[arg(value_name = "@HANDLE")]
        handle: Option<String>,
    },
}

pub use crate::error::UsageError;

/// Whether an error is the user's input (exit 2) rather than the world (exit 1).
pub(crate) fn is_usage(e: &anyhow::Error) -> bool {
    e.downcast_ref::<ConfigError>().is_some()
        || e.downcast_ref::<UsageError>().is_some()
        // Text X would refuse, given on the command line or stdin: the user's input.
        || e.downcast_ref::<chirp_core::TextError>().is_some()
        || e.downcast_ref::<chirp_core::PartError>().is_some()
        || e.downcast_ref::<chirp_core::template::TemplateError>().is_some()
        || account::connect_error_is_usage(e)
        // A handle that names no account.
        || matches!(
            e.downcast_ref::<chirp_store::DbError>(),
            Some(
                chirp_store::DbError::UnknownAccount { .. }
                    | chirp_store::DbError::Text(_)
                    | chirp_store::DbError::PartText(_)
                    | chirp_store::DbError::NoQueue(_)
                    | chirp_store::DbError::UnknownTemplate { .. }
                    | chirp_store::DbError::TemplateExists(_)
                    | chirp_store::DbError::BadTemplateName(_)
            )
        )
}

/// Parses the command line; a mistake in it is one line on stderr and exit 2.
pub fn parse() -> Result<Cli, ExitCode> {
    match Cli::try_parse() {
        Ok(cli) => Ok(cli),
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // One line, like every other error; `--help` has the long story.
            let text = e.to_string();
            let what: Vec<&str> = text
                .lines()
                .map(str::trim)
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more"))
                .filter(|l| !l.is_empty())
                .collect();
            let what = what.join(" ");
            eprintln!(
                "chirp: {} (see chirp --help)",
                what.trim_start_matches("error: ")
            );
            Err(ExitCode::from(2))
        }
    }
}

/// Runs one subcommand.
pub async fn run(command: Command, config: &Config) -> Result<ExitCode> {
    let tz = config.timezone();
    match command {
        Command::Count {
            text,
            json,
            account,
        } => {
            // The handle must name an account, whose network's rule counts.
            let rule = match account {
                None => chirp_core::rule_for(chirp_core::Network::X),
                Some(h) => {
                    let (db, _) = open_db(config).await?;
                    let rule = async {
                        let c = db.client().await?;
                        let id = accounts::find(&c, &h).await?;
                        accounts::text_rule(&c, id).await
                    }
                    .await;
                    db.close();
                    rule?
                }
            };
            count(rule, text, json, &config.x.pricing)
        }
        Command::Migrate => {
            let (db, applied) = open_db(config).await?;
            if applied.is_empty() {
                outln!("database is up to date");
            } else {
                for m in &applied {
                    outln!("applied {m}");
                }
            }
            db.close();
            Ok(ExitCode::SUCCESS)
        }
        Command::Post {
            template: Some(name),
            vars,
            at,
            draft,
            accounts: handles,
            ..
        } => {
            let when = post_when(at, draft, &tz)?;
            let vars = template::parse_vars(&vars)?;
            with_db(config, move |db| {
                Box::pin(template::post(db, name, vars, handles, when, tz))
            })
            .await
        }
        Command::Post {
            text,
            at,
            draft,
            thread,
            split,
            numbered,
            accounts: handles,
            media: files,
            alt: alts,
            ..
        } => {
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
                        posts::create_with_media(&mut c, ACTOR, &targets, &parts, &media, when)
                            .await?;
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
        Command::List {
            status,
            limit,
            json,
            account,
        } => {
            with_db(config, move |db| {
                Box::pin(list(db, status, limit, json, account, tz))
            })
            .await
        }
        Command::Show { id, json } => {
            with_db(config, |db| {
                Box::pin(async move {
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
                })
            })
            .await
        }
        Command::Schedule { id, at } if queue::is_next(&at) => {
            with_db(config, move |db| {
                Box::pin(async move {
                    let mut c = db.client().await?;
                    let post = posts::enqueue(&mut c, ACTOR, id).await?;
                    queue::say_queued(&c, &post).await?;
                    Ok(ExitCode::SUCCESS)
                })
            })
            .await
        }
        Command::Schedule { id, at } => {
            let at = parse_when(&at, &tz)?;
            change(config, id, tz, false, move |c, id| {
                Box::pin(async move { posts::schedule(c, ACTOR, id, at).await })
            })
            .await
        }
        Command::Unschedule { id } => {
            change(config, id, tz, false, |c, id| {
                Box::pin(async move { posts::unschedule(c, ACTOR, id).await })
            })
            .await
        }
        Command::Retry { id } => {
            change(config, id, tz, false, |c, id| {
                Box::pin(async move { posts::retry(c, ACTOR, id).await })
            })
            .await
        }
        Command::Edit { id, text, thread } => {
            let text = read_text(&text)?;
            if thread {
                // The store checks it by the rule of the post's account.
                let parts = text::split_thread(&text);
                change(config, id, tz, false, move |c, id| {
                    Box::pin(async move { posts::edit_thread(c, ACTOR, id, &parts).await })
                })
                .await
            } else {
                change(config, id, tz, false, move |c, id| {
                    Box::pin(async move { posts::edit(c, ACTOR, id, &text).await })
                })
                .await
            }
        }
        Command::SplitOff { id } => {
            with_db(config, move |db| {
                Box::pin(async move {
                    let (old, new) = posts::split_off(&mut db.client().await?, ACTOR, id).await?;
                    outln!("{}", new.id);
                    eprintln!(
                        "post {id} ends at its {} part(s) on X; the {} unsent part(s) are draft {}",
                        old.parts, new.parts, new.id
                    );
                    Ok(ExitCode::SUCCESS)
                })
            })
            .await
        }
        Command::Delete { id } => {
            change(config, id, tz, true, |c, id| {
                Box::pin(async move { posts::delete(c, ACTOR, id).await })
            })
            .await
        }
        Command::Status {
            account,
            format: Some(format),
            ..
        } => status::formatted(config, account, &format, tz).await,
        Command::Status {
            account,
            json: true,
            ..
        } => with_db(config, move |db| Box::pin(status::as_json(db, account))).await,
        Command::Status { account, .. } => {
            with_db(config, move |db| Box::pin(status::show(db, account, tz))).await
        }
        Command::Unpublish { id } => {
            let cfg = config.clone();
            with_db(config, move |db| Box::pin(unpublish(db, cfg, id))).await
        }
        Command::Scheduler {
            lease,
            x_timeout,
            retry_base_ms,
            grace,
            notify,
        } => {
            let timing = scheduler::Timing {
                lease,
                x_timeout,
                retry_base_ms,
                grace,
            };
            scheduler::run(config, &timing, notify.then_some(config.notify)).await
        }
        Command::Db { command } => db::run(command, config).await,
        Command::Queue { command } => queue::run(command, config).await,
        Command::Stats(args) => stats::run(args, config).await,
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "chirp",
                &mut out,
            );
            std::io::Write::write_all(&mut std::io::stdout().lock(), &out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { dir: None } => {
            let mut out = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut out)?;
            std::io::Write::write_all(&mut std::io::stdout().lock(), &out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { dir: Some(dir) } => {
            if !dir.is_dir() {
                bail!(UsageError(format!(
                    "{}: not a directory (make it first)",
                    dir.display()
                )));
            }
            clap_mangen::generate_to(<Cli as clap::CommandFactory>::command(), &dir)?;
            eprintln!("wrote the manual pages into {}", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Template { command } => template::run(command, config).await,
        Command::Export {
            format,
            status,
            account,
            with_media,
            output,
        } => {
            with_db(config, move |db| {
                Box::pin(transfer::export(
                    db, format, status, account, with_media, output,
                ))
            })
            .await
        }
        Command::Import {
            file,
            format,
            dry_run,
            to_queue,
            account,
        } => {
            let args = transfer::ImportArgs {
                file,
                format,
                dry_run,
                to_queue,
                account,
            };
            with_db(config, move |db| Box::pin(transfer::import(db, args, tz))).await
        }
        Command::Media {
            command: MediaCommand::Export { id, dir },
        } => with_db(config, move |db| Box::pin(export_media(db, id, dir))).await,
        Command::Account { command } => match command {
            AccountCommand::Connect {
                no_browser,
                timeout,
            } => account::connect(config, no_browser, timeout).await,
            AccountCommand::Status { json, account } => {
                with_db(config, move |db| {
                    Box::pin(account::status(db, json, account, tz))
                })
                .await
            }
            AccountCommand::List { json } => {
                with_db(config, |db| Box::pin(account::list(db, json, tz))).await
            }
            AccountCommand::Default { handle } => {
                with_db(config, move |db| {
                    Box::pin(account::make_default(db, handle))
                })
                .await
            }
            AccountCommand::Resume { handle } => {
                with_db(config, move |db| Box::pin(account::resume(db, handle))).await
            }
            AccountCommand::Disconnect { handle } => {
                let cfg = config.clone();
                with_db(config, move |db| {
                    Box::pin(async move { account::disconnect(db, &cfg, handle).await })
                })
                .await
            }
        },
    }
}

/// Opens the configured database; for chirp's private one, says on stderr (before the wait)
/// when it is being created or started, and where.
pub(crate) async fn open_db(config: &Config) -> Result<(Db, Vec<String>), chirp_store::DbError> {
    Db::open_announcing(config.database.url.as_deref(), |did, root| {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "chirp: {}", db::announcement(did, root));
    })
    .await
}

type BoxFut<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Opens the database, runs `f`, and closes it (stopping the private cluster if idle) on
/// success and failure alike.
async fn with_db<F>(config: &Config, f: F) -> Result<ExitCode>
where
    F: for<'a> FnOnce(&'a Db) -> BoxFut<'a, Result<ExitCode>>,
{
    let (db, _) = open_db(config).await?;
    let result = f(&db).await;
    db.close();
    result
}

/// The text rules of `accounts`' networks, strictest first, each once.
async fn rules_of(
    c: &chirp_store::Object,
    accounts: &[chirp_core::AccountId],
) -> Result<Vec<&'static dyn chirp_core::TextRule>, chirp_store::DbError> {
    let mut rules: Vec<&'static dyn chirp_core::TextRule> = Vec::new();
    for &a in accounts {
        let rule = accounts::text_rule(c, a).await?;
        if !rules.iter().any(|r| r.network() == rule.network()) {
            rules.push(rule);
        }
    }
    rules.sort_by_key(|r| r.limit());
    Ok(rules)
}

/// A one-post change from the CLI: runs it and prints the post's new state.
async fn change<F>(config: &Config, id: PostId, tz: Tz, deleted: bool, f: F) -> Result<ExitCode>
where
    F: for<'a> FnOnce(
            &'a mut chirp_store::Object,
            PostId,
        ) -> BoxFut<'a, Result<Post, chirp_store::DbError>>
        + Send
        + 'static,
{
    with_db(config, move |db| {
        Box::pin(async move {
            let mut c = db.client().await?;
            let post = f(&mut c, id).await?;
            if deleted {
                outln!("deleted post {id}");
            } else {
                let rule = accounts::text_rule(&c, post.x_account_id).await?;
                print_post(&post, rule, &tz)?;
            }
            Ok(ExitCode::SUCCESS)
        })
    })
    .await
}

/// When `chirp post` sends: `--at` (a time, or `next` for the queue), a draft, else now.
fn post_when(at: Option<String>, draft: bool, tz: &Tz) -> Result<posts::Schedule> {
    Ok(match (at, draft) {
        (Some(w), _) if queue::is_next(&w) => posts::Schedule::Queue,
        (Some(w), _) => posts::Schedule::At(parse_when(&w, tz)?),
        (None, true) => posts::Schedule::Draft,
        (None, false) => posts::Schedule::At(Utc::now()),
    })
}

fn parse_when(input: &str, tz: &Tz) -> Result<chrono::DateTime<Utc>> {
    chirp_core::parse_when(input, Utc::now(), tz).map_err(|e| anyhow!(UsageError(e.to_string())))
}

/// The text argument, or stdin for `-`. Refuses bytes that are not UTF-8 rather than mangling
/// them, and drops the one trailing newline that `echo` adds.
fn read_text(arg: &str) -> Result<String> {
    if arg != "-" {
        return Ok(arg.to_string());
    }
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .context("cannot read stdin")?;
    let s = String::from_utf8(bytes).map_err(|e| {
        anyhow!(UsageError(format!(
            "stdin is not valid UTF-8 (bad byte at offset {}): nothing was saved",
            e.utf8_error().valid_up_to()
        )))
    })?;
    let mut s = text::normalize_newlines(&s);
    if s.ends_with('\n') {
        s.pop();
    }
    Ok(s)
}

fn count(
    rule: &dyn chirp_core::TextRule,
    arg: Option<String>,
    json: bool,
    pricing: &Pricing,
) -> Result<ExitCode> {
    let text = match arg {
        Some(t) => read_text(&t)?,
        None => read_text("-")?,
    };
    // Refused before counting: no post is this long, and counting it would only take time.
    let chars = text.chars().count();
    if chars > text::MAX_CHARS {
        return Err(text::TextError::WayTooLong {
            network: rule.network(),
            chars,
            max: text::MAX_CHARS,
        }
        .into());
    }
    // Prices are X's: other networks charge nothing per post.
    let pricing = (rule.network() == chirp_core::Network::X).then_some(pricing);
    let parts = text::split_thread(&text);
    if parts.len() > 1 {
        return count_parts(rule, &parts, json, pricing);
    }
    let c = rule.count(&text);
    let valid = rule.validate(&text).is_ok();
    let price = pricing.map(|p| p.part(&text));
    let link = text::has_url(&text);
    if json {
        outln!(
            "{}",
            serde_json::json!({"weighted_length": c.weighted, "limit": rule.limit(), "valid": valid,
                "network": rule.network(),
                "price_usd": price.map(price::as_dollars), "has_url": link})
        );
    } else {
        let cost = price.map_or_else(String::new, |p| {
            format!("  {}{}", price::usd(p), link_note(link))
        });
        outln!("{}/{}{cost}", c.weighted, rule.limit());
    }
    Ok(if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Why a post costs more, when it does.
fn link_note(link: bool) -> &'static str {
    if link {
        " (a link makes it a URL post)"
    } else {
        ""
    }
}

/// `chirp count` of a thread: each part on a line (`2/3 41/280  $0.015`), then the thread's
/// price; exit 1 if X would refuse any part.
fn count_parts(
    rule: &dyn chirp_core::TextRule,
    parts: &[String],
    json: bool,
    pricing: Option<&Pricing>,
) -> Result<ExitCode> {
    let n = parts.len();
    let counted: Vec<(i32, bool, bool)> = parts
        .iter()
        .map(|p| {
            let ok = rule.validate(p).is_ok();
            (rule.count(p).weighted, ok, text::has_url(p))
        })
        .collect();
    let total = pricing.map(|pr| pr.post(parts));
    if json {
        let v: Vec<_> = counted
            .iter()
            .zip(parts)
            .map(|((w, ok, link), p)| {
                serde_json::json!({"weighted_length": w, "limit": rule.limit(), "valid": ok,
                    "network": rule.network(),
                    "price_usd": pricing.map(|pr| price::as_dollars(pr.part(p))), "has_url": link})
            })
            .collect();
        outln!(
            "{}",
            serde_json::json!({ "parts": v, "price_usd": total.map(price::as_dollars) })
        );
    } else {
        for (i, ((w, ok, link), p)) in counted.iter().zip(parts).enumerate() {
            let mark = if *ok { "" } else { "  refused" };
            let cost = pricing.map_or_else(String::new, |pr| {
                format!("  {}{}", price::usd(pr.part(p)), link_note(*link))
            });
            outln!("{}/{n} {w}/{}{cost}{mark}", i + 1, rule.limit());
        }
        match total {
            Some(t) => outln!("thread of {n}: {}", price::usd(t)),
            None => outln!("thread of {n}"),
        }
    }
    Ok(if counted.iter().all(|(_, ok, _)| *ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Each `--media` with the `--alt` that follows it, read from the command line in order
/// (clap gives the two lists apart). Every file is inspected here, before anything is written.
fn media_args(
    files: &[String],
    alts: &[String],
    raw: impl Iterator<Item = String>,
) -> Result<Vec<(usize, crate::media::Inspected, Option<String>)>> {
    let mut order: Vec<(String, Option<String>)> = Vec::new();
    let mut raw = raw.skip(1);
    while let Some(a) = raw.next() {
        let (flag, value) = match a.split_once('=') {
            Some((f, v)) if f == "--media" || f == "--alt" => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let value = match flag.as_str() {
            "--media" | "--alt" => value.or_else(|| raw.next()),
            "--" => break,
            _ => continue,
        };
        let Some(value) = value else { continue };
        if flag == "--media" {
            order.push((value, None));
        } else {
            match order.last_mut() {
                Some((_, alt @ None)) => *alt = Some(value),
                Some((m, Some(_))) => bail!(UsageError(format!(
                    "two --alt for --media {m}: give one alt text per file"
                ))),
                None => bail!(UsageError(
                    "--alt must follow the --media it describes".into()
                )),
            }
        }
    }
    // What clap read is the truth; the order only pairs them.
    if order.iter().map(|(m, _)| m).ne(files.iter())
        || order.iter().filter_map(|(_, a)| a.as_ref()).ne(alts.iter())
    {
        bail!(UsageError(
            "write each --alt right after its --media (--media FILE --alt TEXT)".into()
        ));
    }
    let mut out = Vec::new();
    for (spec, alt) in order {
        let (part, path) = crate::media::part_and_path(&spec);
        if let Some(a) = &alt {
            chirp_core::media::check_alt(a)
                .map_err(|e| anyhow!(UsageError(format!("{path}: {e}"))))?;
        }
        let f = crate::media::inspect(std::path::Path::new(path))
            .map_err(|e| anyhow!(UsageError(e)))?;
        out.push((part, f, alt));
    }
    Ok(out)
}

/// A file for a part, with its alt text.
type PartFile = (crate::media::Inspected, Option<String>);

/// The files of each part (index 0: part 1), checked to go together on X.
fn media_per_part(
    attached: &[(usize, crate::media::Inspected, Option<String>)],
    parts: usize,
) -> Result<Vec<Vec<PartFile>>> {
    let mut per: Vec<Vec<PartFile>> = vec![Vec::new(); parts];
    for (part, f, alt) in attached {
        let slot = part
            .checked_sub(1)
            .and_then(|i| per.get_mut(i))
            .ok_or_else(|| {
                anyhow!(UsageError(format!(
                    "--media {part}:{}: there is no part {part} (the post has {parts})",
                    f.path.display()
                )))
            })?;
        slot.push((f.clone(), alt.clone()));
    }
    for (i, files) in per.iter().enumerate() {
        let kinds: Vec<_> = files.iter().map(|(f, _)| f.kind).collect();
        chirp_core::media::check_part(&kinds).map_err(|e| {
            anyhow!(UsageError(if parts > 1 {
                format!("part {}: {e}", i + 1)
            } else {
                e.to_string()
            }))
        })?;
    }
    Ok(per)
}

/// Stores each part's files (once per content) and returns them as attachments.
async fn store_media(
    c: &mut chirp_store::Object,
    per_part: Vec<Vec<PartFile>>,
) -> Result<Vec<Vec<chirp_store::media::NewAttachment>>> {
    let mut out = Vec::with_capacity(per_part.len());
    for files in per_part {
        let mut part = Vec::with_capacity(files.len());
        for (f, alt) in files {
            let mut chunks = crate::media::FileChunks::open(&f).map_err(|e| anyhow!(e))?;
            let meta = chirp_store::media::NewMedia {
                sha256: &f.sha256,
                media_type: f.media_type,
                kind: f.kind,
                size: f.size,
            };
            let media_id = chirp_store::media::store(c, &meta, &mut chunks).await?;
            part.push(chirp_store::media::NewAttachment {
                media_id,
                alt_text: alt,
            });
        }
        out.push(part);
    }
    Ok(out)
}

/// `chirp media export ID DIR`: each attachment streamed from the database into a new file.
async fn export_media(db: &Db, id: PostId, dir: PathBuf) -> Result<ExitCode> {
    let c = db.client().await?;
    posts::get(&c, id).await?;
    let files = chirp_store::media::attachments(&c, id).await?;
    if files.is_empty() {
        outln!("post {id} has no media");
        return Ok(ExitCode::SUCCESS);
    }
    if !dir.is_dir() {
        bail!(UsageError(format!("{} is not a directory", dir.display())));
    }
    for a in &files {
        let path = dir.join(crate::media::export_name(
            id,
            a.position,
            a.ord,
            &a.media_type,
        ));
        write_media_file(db, a.media_id, &path, None).await?;
        outln!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Streams a stored file into a new file at `path` (0600, never over another file). With
/// `named_by_content` a file of the same size already at `path` is taken to be this one
/// (exports name files by their SHA-256), and left alone.
pub(crate) async fn write_media_file(
    db: &Db,
    media: chirp_store::media::MediaId,
    path: &std::path::Path,
    named_by_content: Option<i64>,
) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(size) = named_by_content
        && std::fs::metadata(path).is_ok_and(|m| i64::try_from(m.len()).ok() == Some(size))
    {
        return Ok(());
    }
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let mut reader = chirp_store::media::Reader::new(db, media);
    while let Some(chunk) = chirp_core::media::Chunks::next_chunk(&mut reader)
        .await
        .map_err(|e| anyhow!("cannot read media {media}: {e}"))?
    {
        out.write_all(&chunk)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// The accounts `handles` name (`@a`, `b`), in order and once each; none named: the default.
pub(crate) async fn accounts_named(
    c: &mut chirp_store::Object,
    handles: &[String],
) -> Result<Vec<chirp_core::AccountId>, chirp_store::DbError> {
    if handles.is_empty() {
        return Ok(vec![accounts::default_account(c).await?]);
    }
    let mut ids = Vec::with_capacity(handles.len());
    for h in handles {
        let id = accounts::find(&*c, h).await?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

async fn list(
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

async fn unpublish(db: &Db, config: Config, id: PostId) -> Result<ExitCode> {
    use chirp_net::DEFAULT_TIMEOUT;
    let cipher = chirp_credentials::key(db).await?;
    let networks = config.networks(DEFAULT_TIMEOUT);
    let credentials = chirp_credentials::Credentials::new(&networks, cipher);
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
fn print_parts(
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

fn print_post(p: &Post, rule: &dyn chirp_core::TextRule, tz: &Tz) -> std::io::Result<()> {
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
