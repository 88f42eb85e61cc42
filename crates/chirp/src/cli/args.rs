//! The command line's arguments: every command and option, as clap reads them (help, completions and the man page come from here).

use std::path::PathBuf;

use chirp_core::{PostId, Status};

use super::{db, queue, stats, template, transfer};
use clap::{Args, Parser, Subcommand};

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
    Post(PostArgs),
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
        /// Import even if it sends a thread of more than 25 parts, or costs more than
        /// `[x.pricing] ask_over` (default $1) in all.
        #[arg(long)]
        yes: bool,
        /// Let a CSV's `media` column name files outside the CSV's folder (absolute paths,
        /// `../`): refused without it.
        #[arg(long)]
        allow_outside: bool,
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
    /// chirp's own token refresh helper (see `chirp_credentials::helper`), not for people.
    #[command(hide = true)]
    RefreshToken {
        #[arg(long)]
        account: i32,
        #[arg(long)]
        ask: chirp_credentials::Ask,
        #[arg(long, default_value_t = 30)]
        x_timeout: u64,
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

/// `chirp post`'s arguments.
#[derive(Debug, Args)]
pub struct PostArgs {
    /// The text; `-` reads it from stdin.
    #[arg(required_unless_present = "template")]
    pub text: Option<String>,
    /// Make it from a saved template (see `chirp template`), its placeholders filled.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["text", "thread", "split", "media"])]
    pub template: Option<String>,
    /// A value for a template's `{KEY}` (`{date}` and `{weekday}` are chirp's: the day
    /// the post is scheduled for, else today).
    #[arg(long = "var", value_name = "KEY=VALUE", requires = "template")]
    pub vars: Vec<String>,
    /// When to publish: `in 2h`, `tomorrow 9am`, `fri 17:30`, `2026-12-01 14:00`, RFC 3339,
    /// or `next`: the account's next free queue slot (see `chirp queue`).
    #[arg(long, value_name = "WHEN", conflicts_with = "draft")]
    pub at: Option<String>,
    /// Keep it as a draft.
    #[arg(long)]
    pub draft: bool,
    /// A thread: parts separated by lines holding only `---`.
    #[arg(long, conflicts_with = "split")]
    pub thread: bool,
    /// A thread cut from a text too long for one post (after sentences, between words).
    #[arg(long)]
    pub split: bool,
    /// With --split: end each part with "k/n" (counted in the limit).
    #[arg(long, requires = "split")]
    pub numbered: bool,
    /// The account to post as (`@handle`); repeat it to post the text once to each
    /// (default: the default account, see `chirp account list`).
    #[arg(short, long = "account", value_name = "@HANDLE")]
    pub accounts: Vec<String>,
    /// Attach a file (JPEG, PNG, WEBP, GIF, MP4, MOV; checked by content): to the first
    /// part, or to part N of a thread with `N:PATH`. Repeat it for more (up to 4 images,
    /// or 1 GIF, or 1 video per part).
    #[arg(long, value_name = "[N:]PATH")]
    pub media: Vec<String>,
    /// Alt text for the --media just before it (up to 1,000 characters).
    #[arg(long, value_name = "TEXT")]
    pub alt: Vec<String>,
    /// Send it even if it is a thread of more than 25 parts, or costs more than
    /// `[x.pricing] ask_over` (default $1): without this, such a post is refused, saying why.
    #[arg(long)]
    pub yes: bool,
}
