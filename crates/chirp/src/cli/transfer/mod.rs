//! `chirp export` and `chirp import`: JSON is the lossless backup (parts, files, schedule,
//! status, X ids, queues), CSV a row per post for spreadsheets. An import checks every row
//! before it writes anything, and then writes all of them in one transaction.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::{ACTOR, UsageError};
use crate::media::{Inspected, extension};
use crate::present::inert;
use check::{Checked, FileSource, Rules, base_dir, check, describe};
use chirp_core::media::MediaKind;
use chirp_core::{PostId, Status};
use chirp_store::media::NewAttachment;
use chirp_store::posts::Schedule;
use chirp_store::transfer::{self, Filter, NewPart, NewPost};
use chirp_store::{Db, accounts, queue};
use csv_file::{csv_of, read_csv};

mod check;
mod csv_file;

/// The JSON export, format 1.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Backup {
    pub(super) chirp_export: u32,
    pub(super) exported_at: DateTime<Utc>,
    #[serde(default)]
    pub(super) queues: Vec<QueueOut>,
    pub(super) posts: Vec<PostOut>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct QueueOut {
    pub(super) account: String,
    pub(super) slots: String,
    pub(super) timezone: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct PostOut {
    pub(super) id: PostId,
    pub(super) account: Option<String>,
    pub(super) status: String,
    pub(super) scheduled_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub(super) queued: bool,
    pub(super) posted_at: Option<DateTime<Utc>>,
    pub(super) x_tweet_id: Option<String>,
    pub(super) error_message: Option<String>,
    pub(super) unpublished_at: Option<DateTime<Utc>>,
    pub(super) group: Option<PostId>,
    pub(super) created_at: Option<DateTime<Utc>>,
    pub(super) parts: Vec<PartOut>,
    /// When X said it no longer has the post (deleted there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) gone_from_x_at: Option<DateTime<Utc>>,
    /// Every metrics read, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) metrics: Vec<MetricsOut>,
    /// The placeholders its template left to fill (`version` for `{version}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) unfilled: Vec<String>,
}

/// One metrics read of a post.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct MetricsOut {
    pub(super) fetched_at: DateTime<Utc>,
    pub(super) impressions: i64,
    pub(super) likes: i64,
    pub(super) reposts: i64,
    pub(super) replies: i64,
    #[serde(default)]
    pub(super) quotes: i64,
    #[serde(default)]
    pub(super) bookmarks: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) url_clicks: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) profile_clicks: Option<i64>,
}

impl MetricsOut {
    fn of((at, m): &(DateTime<Utc>, chirp_core::Metrics)) -> MetricsOut {
        MetricsOut {
            fetched_at: *at,
            impressions: m.impressions,
            likes: m.likes,
            reposts: m.reposts,
            replies: m.replies,
            quotes: m.quotes,
            bookmarks: m.bookmarks,
            url_clicks: m.url_clicks,
            profile_clicks: m.profile_clicks,
        }
    }

    fn back(&self) -> (DateTime<Utc>, chirp_core::Metrics) {
        (
            self.fetched_at,
            chirp_core::Metrics {
                impressions: self.impressions,
                likes: self.likes,
                reposts: self.reposts,
                replies: self.replies,
                quotes: self.quotes,
                bookmarks: self.bookmarks,
                url_clicks: self.url_clicks,
                profile_clicks: self.profile_clicks,
                private: None,
            },
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct PartOut {
    pub(super) position: i32,
    pub(super) text: String,
    pub(super) x_tweet_id: Option<String>,
    pub(super) posted_at: Option<DateTime<Utc>>,
    pub(super) x_deleted_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub(super) media: Vec<MediaOut>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct MediaOut {
    pub(super) kind: MediaKind,
    pub(super) media_type: String,
    pub(super) size_bytes: i64,
    pub sha256: String,
    pub(super) alt_text: Option<String>,
    /// Where `--with-media` wrote the file (relative paths are read from the export's
    /// directory on import).
    pub(super) file: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Csv,
}

pub(super) async fn export(
    db: &Db,
    format: Format,
    status: Option<Status>,
    account: Option<String>,
    with_media: Option<PathBuf>,
    output: Option<PathBuf>,
) -> Result<ExitCode> {
    let c = db.client().await?;
    let account = match account {
        Some(h) => Some(accounts::find(&c, &h).await?),
        None => None,
    };
    if let Some(path) = output.as_deref().filter(|p| p.exists()) {
        bail!(UsageError(format!(
            "{} exists: chirp never writes over a file (pick another name)",
            path.display()
        )));
    }
    if let Some(dir) = &with_media {
        use std::os::unix::fs::DirBuilderExt as _;
        // Made if missing, private like the files that go into it.
        if let Err(e) = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
        {
            bail!(UsageError(format!(
                "--with-media {}: cannot make the folder ({e})",
                dir.display()
            )));
        }
        if !dir.is_dir() {
            bail!(UsageError(format!(
                "--with-media {}: not a directory",
                dir.display()
            )));
        }
    }
    let posts = transfer::export(&c, &Filter { status, account }).await?;
    let mut files: HashMap<String, String> = HashMap::new();
    if let Some(dir) = &with_media {
        for a in posts.iter().flat_map(|p| &p.media) {
            if files.contains_key(&a.sha256) {
                continue;
            }
            let path = dir.join(format!("{}.{}", a.sha256, extension(&a.media_type)));
            super::write_media_file(db, a.media_id, &path, Some(&a.sha256)).await?;
            files.insert(a.sha256.clone(), path.display().to_string());
        }
    }
    let out: Vec<PostOut> = posts.iter().map(|p| post_out(p, &files)).collect();
    match format {
        Format::Json => {
            let mut queues = Vec::new();
            for q in queue::all(&c).await? {
                if account.is_some_and(|a| a != q.account) {
                    continue;
                }
                queues.push(QueueOut {
                    account: accounts::handle(&c, q.account).await?.unwrap_or_default(),
                    slots: q.slots.to_string(),
                    timezone: q.tz.name().to_string(),
                });
            }
            let backup = Backup {
                chirp_export: 1,
                exported_at: Utc::now(),
                queues,
                posts: out,
            };
            let mut text = serde_json::to_vec_pretty(&backup)?;
            text.push(b'\n');
            write_out(output.as_deref(), &text)?;
        }
        Format::Csv => write_out(output.as_deref(), &csv_of(&out)?)?,
    }
    eprintln!("exported {} post(s)", posts.len());
    Ok(ExitCode::SUCCESS)
}

fn post_out(p: &transfer::Exported, files: &HashMap<String, String>) -> PostOut {
    let parts = p
        .parts
        .iter()
        .map(|part| PartOut {
            position: part.position,
            text: part.content.clone(),
            x_tweet_id: part.remote_id.clone(),
            posted_at: part.posted_at,
            x_deleted_at: part.remote_deleted_at,
            media: p
                .media
                .iter()
                .filter(|a| a.position == part.position)
                .map(|a| MediaOut {
                    kind: a.kind,
                    media_type: a.media_type.clone(),
                    size_bytes: a.size_bytes,
                    sha256: a.sha256.clone(),
                    alt_text: a.alt_text.clone(),
                    file: files.get(&a.sha256).cloned(),
                })
                .collect(),
        })
        .collect();
    PostOut {
        id: p.post.id,
        account: p.handle.clone(),
        status: p.post.status.to_string(),
        scheduled_at: p.post.scheduled_at,
        queued: p.post.queued,
        posted_at: p.post.posted_at,
        x_tweet_id: p.post.x_tweet_id.clone(),
        error_message: p.post.error_message.clone(),
        unpublished_at: p.post.unpublished_at,
        group: p.post.group_id,
        created_at: Some(p.post.created_at),
        parts,
        gone_from_x_at: p.post.gone_from_x_at,
        metrics: p.metrics.iter().map(MetricsOut::of).collect(),
        unfilled: p.unfilled.clone(),
    }
}

/// One row per post: the first part in `text`, the others in `part2`, `part3`…; each part's
/// files (`|` between them) in `media`, `media2`…, their alt texts in `alt`, `alt2`….
/// The export on stdout, or in a new private file (0600, never over another one: it holds
/// everything the user wrote).
fn write_out(output: Option<&Path>, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    match output {
        None => std::io::stdout().lock().write_all(bytes)?,
        Some(path) => std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .and_then(|mut f| f.write_all(bytes))
            .map_err(|e| anyhow!(UsageError(format!("cannot write {}: {e}", path.display()))))?,
    }
    Ok(())
}

/// A post read from a file, before it is checked.
#[derive(Debug, Clone)]
struct Row {
    /// "row 3" (CSV, numbered as a spreadsheet does, the header being row 1) or "post 3".
    label: String,
    account: Option<String>,
    status: Status,
    /// A CSV row's status that is not draft or scheduled.
    refused_status: Option<String>,
    when: RowWhen,
    parts: Vec<RowPart>,
    error_message: Option<String>,
    unpublished_at: Option<DateTime<Utc>>,
    group: Option<i64>,
    metrics: Vec<(DateTime<Utc>, chirp_core::Metrics)>,
    gone_from_x_at: Option<DateTime<Utc>>,
    /// What its template left to fill (a backup's; a CSV row is no template).
    unfilled: Vec<String>,
}

#[derive(Debug, Clone)]
enum RowWhen {
    Draft,
    Queue,
    /// A queue slot it held (JSON): kept if still ahead, else the next free one.
    Slot(DateTime<Utc>),
    At(DateTime<Utc>),
    /// Words to read like `--at` (CSV).
    Words(String),
}

#[derive(Debug, Clone, Default)]
struct RowPart {
    text: String,
    x_tweet_id: Option<String>,
    posted_at: Option<DateTime<Utc>>,
    x_deleted_at: Option<DateTime<Utc>>,
    media: Vec<RowMedia>,
}

#[derive(Debug, Clone)]
struct RowMedia {
    file: Option<PathBuf>,
    sha256: Option<String>,
    alt: Option<String>,
}

pub(super) struct ImportArgs {
    pub(super) file: PathBuf,
    pub(super) format: Option<Format>,
    pub(super) dry_run: bool,
    pub(super) to_queue: bool,
    pub(super) account: Option<String>,
    pub(super) pricing: chirp_core::Pricing,
    /// Import even if what it sends is worth asking about.
    pub(super) yes: bool,
    /// A CSV's files may be anywhere, not only in its folder.
    pub(super) allow_outside: bool,
}

pub(super) async fn import(db: &Db, args: ImportArgs, tz: Tz) -> Result<ExitCode> {
    let bytes = std::fs::read(&args.file).map_err(|e| {
        anyhow!(UsageError(format!(
            "cannot read {}: {e}",
            args.file.display()
        )))
    })?;
    let base = args
        .file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let format = args
        .format
        .unwrap_or_else(|| guess_format(&args.file, &bytes));
    let (rows, queues) = match format {
        Format::Json => read_json(&bytes, &args.file, &base)?,
        Format::Csv => (read_csv(&bytes, &args.file, &base)?, Vec::new()),
    };
    let mut c = db.client().await?;
    let override_account = match &args.account {
        Some(h) => Some(accounts::find(&c, h).await?),
        None => None,
    };
    let default = accounts::default_account(&mut c).await?;
    let rules = Rules {
        override_account,
        default,
        to_queue: args.to_queue,
        now: Utc::now(),
        tz: &tz,
        brought: queues.iter().map(|q| q.account.to_lowercase()).collect(),
        confine: (format == Format::Csv && !args.allow_outside)
            .then(|| base_dir(&base))
            .flatten(),
    };
    let mut problems = Vec::new();
    let mut checked = Vec::new();
    for row in rows {
        match check(&c, row, &rules).await? {
            Ok(ok) => checked.push(ok),
            Err(mut p) => problems.append(&mut p),
        }
    }
    // A post still owing its template's placeholders is imported, but not to be sent.
    for ch in &checked {
        let owed: Vec<String> = ch
            .row
            .unfilled
            .iter()
            .map(|n| format!("{{{n}}}"))
            .filter(|n| ch.row.parts.iter().any(|p| p.text.contains(n.as_str())))
            .collect();
        if !owed.is_empty()
            && ch.when != Schedule::Draft
            && matches!(ch.row.status, Status::Draft | Status::Scheduled)
        {
            problems.push(format!(
                "{}: fill in {} first (its template left it): import it as a draft, or fill it in the file",
                ch.row.label,
                owed.join(", ")
            ));
        }
    }
    if !problems.is_empty() {
        for p in &problems {
            // A row's problem quotes the row: inert, as everything from a file is.
            eprintln!(
                "{}: {}",
                inert(&args.file.display().to_string(), false),
                inert(p, false)
            );
        }
        bail!(UsageError(format!(
            "nothing was imported: {} problem(s) in {}",
            problems.len(),
            args.file.display()
        )));
    }
    // What importing sends (posts still to go out, their parts not on X yet), and whether
    // that is worth asking about: a thread of more than 25 parts, or more than ask_over.
    let sending: Vec<&Checked> = checked
        .iter()
        .filter(|ch| {
            ch.when != Schedule::Draft && matches!(ch.row.status, Status::Draft | Status::Scheduled)
        })
        .collect();
    let cost: chirp_core::price::Micros = sending
        .iter()
        .map(|ch| {
            let unsent: Vec<&str> = ch
                .row
                .parts
                .iter()
                .filter(|p| p.x_tweet_id.is_none())
                .map(|p| p.text.as_str())
                .collect();
            args.pricing.post(&unsent)
        })
        .sum();
    let longest = sending
        .iter()
        .map(|ch| ch.row.parts.len())
        .max()
        .unwrap_or(0);
    let sends = format!(
        "sends {} post(s) costing {} at X's prices",
        sending.len(),
        chirp_core::price::usd(cost)
    );
    if args.dry_run {
        for ch in &checked {
            let what = describe(&c, ch, &tz).await?;
            outln!("would import {}: {}", ch.row.label, inert(&what, false));
            // Every file it would read and store, by the path it would be read from.
            for (source, _) in ch.files.iter().flatten() {
                if let FileSource::New(f) = source {
                    outln!("  attaches {}", inert(&f.path.display().to_string(), false));
                }
            }
        }
        outln!(
            "{} post(s) would be imported; importing {sends} (dry run: nothing was written)",
            checked.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let why = if longest > chirp_core::price::PARTS_UNASKED {
        Some(format!("a thread of {longest} parts"))
    } else if cost > args.pricing.ask_over_micros() {
        Some(format!(
            "more than the {} of [x.pricing] ask_over",
            chirp_core::price::usd(args.pricing.ask_over_micros())
        ))
    } else {
        None
    };
    if let Some(why) = why
        && !args.yes
    {
        bail!(UsageError(format!(
            "nothing was imported: it {sends} ({why}): add --yes to import it (--dry-run shows each post)"
        )));
    }
    let mut new = Vec::with_capacity(checked.len());
    for ch in checked {
        let mut parts = Vec::with_capacity(ch.row.parts.len());
        for (part, files) in ch.row.parts.into_iter().zip(ch.files) {
            let mut media = Vec::new();
            for (source, alt) in files {
                let media_id = match source {
                    FileSource::Stored(id) => id,
                    FileSource::New(f) => store_file(&mut c, &f).await?,
                };
                media.push(NewAttachment {
                    media_id,
                    alt_text: alt,
                });
            }
            parts.push(NewPart {
                text: part.text,
                x_tweet_id: part.x_tweet_id,
                posted_at: part.posted_at,
                x_deleted_at: part.x_deleted_at,
                media,
            });
        }
        new.push(NewPost {
            account: ch.account,
            status: ch.row.status,
            when: ch.when,
            parts,
            error_message: ch.row.error_message,
            unpublished_at: ch.row.unpublished_at,
            group: ch.row.group,
            metrics: ch.row.metrics,
            gone_from_x_at: ch.row.gone_from_x_at,
            unfilled: ch.row.unfilled,
        });
    }
    // Queues first: posts going into one take its slots.
    for q in queues {
        restore_queue(&c, &q).await?;
    }
    let ids = transfer::import(&mut c, ACTOR, &new).await?;
    for id in &ids {
        outln!("{id}");
    }
    eprintln!("imported {} post(s)", ids.len());
    Ok(ExitCode::SUCCESS)
}

/// A queue in a backup is set again for an account that has none here.
async fn restore_queue(c: &chirp_store::Object, q: &QueueOut) -> Result<()> {
    let Ok(id) = accounts::find(c, &q.account).await else {
        return Ok(());
    };
    if queue::get(c, id).await?.is_some() {
        return Ok(());
    }
    let (Ok(slots), Ok(tz)) = (q.slots.parse(), q.timezone.parse::<Tz>()) else {
        return Ok(());
    };
    queue::set(c, id, &slots, tz).await?;
    eprintln!("queue of @{} set: {} ({})", q.account, q.slots, q.timezone);
    Ok(())
}

async fn store_file(
    c: &mut chirp_store::Object,
    f: &Inspected,
) -> Result<chirp_store::media::MediaId> {
    let mut chunks = crate::media::FileChunks::open(f).map_err(|e| anyhow!(e))?;
    let meta = chirp_store::media::NewMedia {
        sha256: &f.sha256,
        media_type: f.media_type,
        kind: f.kind,
        size: f.size,
    };
    Ok(chirp_store::media::store(c, &meta, &mut chunks).await?)
}

fn guess_format(path: &Path, bytes: &[u8]) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("csv") => Format::Csv,
        Some(e) if e.eq_ignore_ascii_case("json") => Format::Json,
        _ if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') => Format::Json,
        _ => Format::Csv,
    }
}

fn read_json(bytes: &[u8], path: &Path, base: &Path) -> Result<(Vec<Row>, Vec<QueueOut>)> {
    let backup: Backup = serde_json::from_slice(bytes).map_err(|e| {
        anyhow!(UsageError(format!(
            "{} is not a chirp JSON export: {e}",
            path.display()
        )))
    })?;
    if backup.chirp_export != 1 {
        bail!(UsageError(format!(
            "{} is a chirp export of format {}; this chirp reads format 1",
            path.display(),
            backup.chirp_export
        )));
    }
    let mut rows = Vec::with_capacity(backup.posts.len());
    for (i, p) in backup.posts.into_iter().enumerate() {
        let label = format!("post {} (id {})", i + 1, p.id);
        let status: Status = p.status.parse().map_err(|e| {
            anyhow!(UsageError(format!(
                "{}: {label}, status: {e}",
                path.display()
            )))
        })?;
        // A post caught mid-send may be on X: it comes back failed, to be checked first.
        let (status, error_message) = if status == Status::Publishing {
            (
                Status::Failed,
                Some(
                    "it was being sent when exported: look for it on X before `chirp retry`".into(),
                ),
            )
        } else {
            (status, p.error_message)
        };
        // Posted and failed posts keep their time too, as history.
        let when = match (status, p.scheduled_at) {
            (Status::Scheduled, Some(at)) if p.queued => RowWhen::Slot(at),
            (_, Some(at)) => RowWhen::At(at),
            (_, None) => RowWhen::Draft,
        };
        let parts = p
            .parts
            .into_iter()
            .map(|part| RowPart {
                text: part.text,
                x_tweet_id: part.x_tweet_id,
                posted_at: part.posted_at,
                x_deleted_at: part.x_deleted_at,
                media: part
                    .media
                    .into_iter()
                    .map(|m| RowMedia {
                        file: m.file.map(|f| resolve(base, &f)),
                        sha256: Some(m.sha256),
                        alt: m.alt_text,
                    })
                    .collect(),
            })
            .collect();
        rows.push(Row {
            label,
            account: p.account,
            status,
            refused_status: None,
            when,
            parts,
            error_message,
            unpublished_at: p.unpublished_at,
            group: p.group.map(i64::from),
            metrics: p.metrics.iter().map(MetricsOut::back).collect(),
            gone_from_x_at: p.gone_from_x_at,
            unfilled: p.unfilled,
        });
    }
    Ok((rows, backup.queues))
}

/// A path from a file: relative ones are read from the file's directory when they are there.
fn resolve(base: &Path, file: &str) -> PathBuf {
    let p = PathBuf::from(file);
    if p.is_relative() && base.join(&p).exists() {
        base.join(p)
    } else {
        p
    }
}
