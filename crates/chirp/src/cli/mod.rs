//! The command line: `chirp <command>`. Every command validates what it was given before it
//! touches the database, and reports a failure as one line on stderr with a non-zero exit.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use chrono::Utc;
use chrono_tz::Tz;
use clap::Parser;

/// `println!` that gives up quietly when the reader has gone (`chirp list | head -1`): the
/// error ends the command like any other (closing the database), and `main` says nothing.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

mod account;
mod args;
mod count;
mod db;
mod media;
mod post;
mod queue;
mod refresh;
mod scheduler;
mod show;
mod stats;
mod status;
mod template;
mod transfer;

use crate::config::Config;
use chirp_core::{Post, PostId, text};
use chirp_store::posts::{self, Actor};
use chirp_store::{Db, accounts};

const ACTOR: Actor<'static> = Actor("cli");

pub use args::{AccountCommand, Cli, Command, MediaCommand};
use count::count;
pub(crate) use media::write_media_file;
use media::{export_media, media_args, media_per_part, store_media};
pub(crate) use refresh::credentials;
use show::{list, print_post, show, unpublish};

pub use crate::error::UsageError;

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
            // clap quotes the argument it refuses: inert, in case it holds escapes.
            eprintln!(
                "chirp: {} (see chirp --help)",
                crate::present::inert(what.trim_start_matches("error: "), false)
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
        Command::Post(args) => post::run(args, config, tz).await,
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
            with_db(config, move |db| Box::pin(show(db, id, json, tz))).await
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
        Command::RefreshToken {
            account,
            ask,
            x_timeout,
        } => refresh::serve(config, account, ask, x_timeout).await,
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
            yes,
            allow_outside,
        } => {
            let args = transfer::ImportArgs {
                file,
                format,
                dry_run,
                to_queue,
                account,
                pricing: config.x.pricing,
                yes,
                allow_outside,
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
pub(crate) async fn open_db(config: &Config) -> Result<(Db, Vec<String>), chirp_store::StoreError> {
    let opened = Db::open_announcing(config.database.url.as_deref(), |did, root| {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "chirp: {}", db::announcement(did, root));
    })
    .await?;
    // Tokens a refresh on this host got but could not store are stored before anything else
    // reads the account (the journal's writes are conditional: a stale entry is dropped).
    if let Err(e) = chirp_credentials::Journal::default_for_host()
        .replay(&opened.0)
        .await
    {
        tracing::warn!(%e, "could not replay the token journal");
    }
    Ok(opened)
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
) -> Result<Vec<&'static dyn chirp_core::TextRule>, chirp_store::StoreError> {
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
        ) -> BoxFut<'a, Result<Post, chirp_store::StoreError>>
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

/// The accounts `handles` name (`@a`, `b`), in order and once each; none named: the default.
pub(crate) async fn accounts_named(
    c: &mut chirp_store::Object,
    handles: &[String],
) -> Result<Vec<chirp_core::AccountId>, chirp_store::StoreError> {
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
