//! Files on the command line: `--media`/`--alt` read and checked before anything is written, stored with their post, exported again.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use chirp_core::PostId;
use chirp_store::{Db, posts};

use super::UsageError;

/// Each `--media` with the `--alt` that follows it, read from the command line in order
/// (clap gives the two lists apart). Every file is inspected here, before anything is written.
pub(super) fn media_args(
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
pub(super) type PartFile = (crate::media::Inspected, Option<String>);

/// The files of each part (index 0: part 1), checked to go together on X.
pub(super) fn media_per_part(
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
pub(super) async fn store_media(
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
pub(super) async fn export_media(db: &Db, id: PostId, dir: PathBuf) -> Result<ExitCode> {
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
    named_by_content: Option<&str>,
) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    // A file named by its content may be there from an earlier export: kept only if it is
    // a plain file with that very content (never a symlink, never a file of the same size).
    if let Some(sha256) = named_by_content
        && let Ok(meta) = std::fs::symlink_metadata(path)
    {
        if !meta.file_type().is_file() {
            bail!(UsageError(format!(
                "{} exists and is not a plain file (a symlink?): chirp writes no exported file through it; remove it or export into another folder",
                path.display()
            )));
        }
        let same = crate::media::inspect(path).is_ok_and(|f| f.sha256_hex() == sha256);
        if same {
            return Ok(());
        }
        bail!(UsageError(format!(
            "{} exists and is not the exported file (its content differs): remove it or export into another folder",
            path.display()
        )));
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
