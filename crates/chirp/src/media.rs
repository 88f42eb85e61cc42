//! Media files from the user's disk: what they are (from their content), checked against X's
//! rules before anything is written, then read a chunk at a time into the database, their hash
//! checked again on the way (a file that changes meanwhile stores nothing).

use std::io::Read;
use std::path::{Path, PathBuf};

use chirp_core::media::{self, Chunks, MediaKind, SNIFF_BYTES};
use chirp_store::media::CHUNK;
use sha2::{Digest, Sha256};

/// A file checked and ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspected {
    pub path: PathBuf,
    pub media_type: &'static str,
    pub kind: MediaKind,
    pub size: u64,
    pub sha256: Vec<u8>,
}

impl Inspected {
    /// Its SHA-256 as lowercase hex (how exports name and record files).
    pub fn sha256_hex(&self) -> String {
        use std::fmt::Write as _;
        self.sha256.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}

/// Reads `path` once: its type from its first bytes (a GIF's frames tell a still from an
/// animation), its size against X's limit for that type, its SHA-256. The error is one line
/// that names the file.
pub fn inspect(path: &Path) -> Result<Inspected, String> {
    let name = path.display().to_string();
    let cannot = |e: std::io::Error| format!("cannot read {name}: {e}");
    let mut file = open_regular(path).map_err(cannot)?;
    let size = file.metadata().map_err(cannot)?.len();
    let mut head = vec![0u8; SNIFF_BYTES];
    let n = read_full(&mut file, &mut head).map_err(cannot)?;
    head.truncate(n);
    let sniffed = media::sniff(&head).ok_or_else(|| {
        if size == 0 {
            media::MediaError::Empty { name: name.clone() }.to_string()
        } else {
            media::MediaError::UnknownType { name: name.clone() }.to_string()
        }
    })?;
    let mut kind = sniffed.kind;
    // A GIF is checked against the larger GIF limit first; a still one is then an image.
    if sniffed.media_type == "image/gif" {
        media::check_size(&name, MediaKind::Gif, size).map_err(|e| e.to_string())?;
        let mut all = head.clone();
        file.read_to_end(&mut all).map_err(cannot)?;
        let frames = media::gif_frames(&all)
            .ok_or_else(|| media::MediaError::BadGif { name: name.clone() }.to_string())?;
        kind = if frames > 1 {
            MediaKind::Gif
        } else {
            MediaKind::Image
        };
    }
    media::check_size(&name, kind, size).map_err(|e| e.to_string())?;
    if matches!(kind, MediaKind::Image | MediaKind::Gif) {
        // From the header only; a header chirp cannot read is left to X to judge.
        use std::io::Seek as _;
        file.rewind().map_err(cannot)?;
        if let Ok((w, h)) = image::ImageReader::new(std::io::BufReader::new(&mut file))
            .with_guessed_format()
            .map_err(cannot)?
            .into_dimensions()
        {
            media::check_dimensions(&name, w, h).map_err(|e| e.to_string())?;
        }
    }
    let sha256 = hash(path).map_err(cannot)?;
    Ok(Inspected {
        path: path.to_path_buf(),
        media_type: sniffed.media_type,
        kind,
        size,
        sha256,
    })
}

fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut at = 0;
    while at < buf.len() {
        match file.read(&mut buf[at..])? {
            0 => break,
            n => at += n,
        }
    }
    Ok(at)
}

/// Opens `path` for reading only if it is a regular file (a symlink to one included). It is
/// opened without blocking, so a FIFO (or a device) given as a file is refused at once instead
/// of hanging until something writes to it.
pub fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(std::io::Error::other("it is a directory, not a file"));
    }
    if !meta.is_file() {
        return Err(std::io::Error::other(
            "it is not a regular file (a FIFO, a socket or a device): give a file",
        ));
    }
    Ok(file)
}

fn hash(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = open_regular(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = read_full(&mut file, &mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().to_vec())
}

/// The file again, a chunk at a time, hashed as it goes: the last chunk is refused if the
/// content is not what [`inspect`] saw.
pub struct FileChunks {
    file: std::fs::File,
    name: String,
    hasher: Option<Sha256>,
    want: Vec<u8>,
}

impl FileChunks {
    pub fn open(f: &Inspected) -> Result<FileChunks, String> {
        let name = f.path.display().to_string();
        let file = open_regular(&f.path).map_err(|e| format!("cannot read {name}: {e}"))?;
        Ok(FileChunks {
            file,
            name,
            hasher: Some(Sha256::new()),
            want: f.sha256.clone(),
        })
    }
}

impl Chunks for FileChunks {
    fn next_chunk(&mut self) -> chirp_core::media::NextChunk<'_> {
        Box::pin(async move {
            let mut buf = vec![0u8; CHUNK];
            // A chunk is a few MB from a local file: read in place, as any file read is.
            let n = read_full(&mut self.file, &mut buf)
                .map_err(|e| format!("cannot read {}: {e}", self.name))?;
            if n == 0 {
                let got = self.hasher.take().map(|h| h.finalize().to_vec());
                if got.as_deref() != Some(self.want.as_slice()) {
                    return Err(format!(
                        "{} changed while it was being stored: nothing was saved",
                        self.name
                    ));
                }
                return Ok(None);
            }
            buf.truncate(n);
            if let Some(h) = self.hasher.as_mut() {
                h.update(&buf);
            }
            Ok(Some(buf))
        })
    }
}

/// A path as typed: `~/…` under `home`, a relative one under `cwd`.
pub fn expand(input: &str, cwd: &Path, home: Option<&Path>) -> PathBuf {
    let input = input.trim();
    match (input.strip_prefix('~'), home) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            home.join(rest.trim_start_matches('/'))
        }
        _ => cwd.join(input),
    }
}

/// Tab completion of a path as typed (relative to `cwd`, `~` for `home`): the input extended
/// as far as every match agrees (a directory gets its `/`), and the names that match when
/// more than one does. Hidden names only when the typed name starts with a dot.
pub fn complete(input: &str, cwd: &Path, home: Option<&Path>) -> (String, Vec<String>) {
    let (dir_typed, name) = match input.rfind('/') {
        Some(i) => (&input[..=i], &input[i + 1..]),
        None if input == "~" => ("~/", ""),
        None => ("", input),
    };
    let dir = if dir_typed.is_empty() {
        cwd.to_path_buf()
    } else {
        expand(dir_typed, cwd, home)
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return (input.to_string(), Vec::new());
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().to_string();
            let hidden = n.starts_with('.') && !name.starts_with('.');
            (n.starts_with(name) && !hidden).then(|| {
                if e.path().is_dir() {
                    format!("{n}/")
                } else {
                    n
                }
            })
        })
        .collect();
    names.sort();
    let Some(first) = names.first() else {
        return (input.to_string(), Vec::new());
    };
    let common = names.iter().fold(first.clone(), |acc, n| {
        acc.chars()
            .zip(n.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect()
    });
    let completed = format!("{dir_typed}{common}");
    if names.len() == 1 {
        (completed, Vec::new())
    } else {
        (completed, names)
    }
}

/// `--media [PART:]PATH`: the part (1 when not said) and the path.
pub fn part_and_path(spec: &str) -> (usize, &str) {
    match spec.split_once(':') {
        Some((n, path)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            (n.parse().unwrap_or(1), path)
        }
        _ => (1, spec),
    }
}

/// The file name an exported attachment gets: `POST-PART-N.ext`.
pub fn export_name(post: i32, position: i32, ord: i32, media_type: &str) -> String {
    format!("{post}-{position}-{ord}.{}", extension(media_type))
}

/// The file name extension a stored media type is written back with.
pub fn extension(media_type: &str) -> &'static str {
    match media_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "video/quicktime" => "mov",
        _ => "mp4",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_complete_like_a_shell() {
        let dir = tempfile::tempdir().unwrap();
        let home = tempfile::tempdir().unwrap();
        for f in ["cat.png", "car.jpg", ".hidden.png"] {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        std::fs::create_dir(dir.path().join("photos")).unwrap();
        std::fs::write(home.path().join("dog.gif"), b"x").unwrap();
        let c = |s: &str| complete(s, dir.path(), Some(home.path()));
        assert_eq!(
            c("ca"),
            (
                "ca".to_string(),
                vec!["car.jpg".to_string(), "cat.png".to_string()]
            )
        );
        assert_eq!(c("cat"), ("cat.png".to_string(), vec![]));
        assert_eq!(c("ph"), ("photos/".to_string(), vec![]));
        assert_eq!(c("~/d"), ("~/dog.gif".to_string(), vec![]));
        assert_eq!(c(".h"), (".hidden.png".to_string(), vec![]));
        assert_eq!(c("zzz"), ("zzz".to_string(), vec![]));
        assert_eq!(
            expand("~/dog.gif", dir.path(), Some(home.path())),
            home.path().join("dog.gif")
        );
        assert_eq!(
            expand("cat.png", dir.path(), None),
            dir.path().join("cat.png")
        );
    }

    #[test]
    fn media_specs_name_their_part() {
        assert_eq!(part_and_path("cat.png"), (1, "cat.png"));
        assert_eq!(part_and_path("2:dog.jpg"), (2, "dog.jpg"));
        assert_eq!(part_and_path("./a:b.png"), (1, "./a:b.png"));
    }

    #[test]
    fn the_type_comes_from_the_content_not_the_name() {
        let dir = tempfile::tempdir().unwrap();
        let fake_png = dir.path().join("photo.png");
        std::fs::write(&fake_png, b"just words, not a picture").unwrap();
        let err = inspect(&fake_png).unwrap_err();
        assert!(err.contains("is not an image"), "{err}");
        let png = dir.path().join("notes.txt");
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.extend_from_slice(&[0; 100]);
        std::fs::write(&png, &bytes).unwrap();
        let ok = inspect(&png).unwrap();
        assert_eq!(
            (ok.media_type, ok.kind, ok.size),
            ("image/png", MediaKind::Image, 108)
        );
        assert!(
            inspect(&dir.path().join("missing.png"))
                .unwrap_err()
                .starts_with("cannot read")
        );
    }

    /// Inspects `path` on a thread of its own; None when it has not answered within 10 s
    /// (the bound of a test that would otherwise hang forever, not a synchronisation).
    fn inspect_within(path: &Path) -> Option<Result<Inspected, String>> {
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.to_path_buf();
        std::thread::spawn(move || {
            let _ = tx.send(inspect(&p));
        });
        rx.recv_timeout(std::time::Duration::from_secs(10)).ok()
    }

    #[test]
    fn a_fifo_a_directory_or_a_device_is_refused_at_once_and_a_symlink_to_a_file_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("cat.png");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo");
        let err = inspect_within(&fifo)
            .expect("a FIFO is refused at once, not read until someone writes to it")
            .unwrap_err();
        assert!(err.contains("cat.png"), "{err}");
        assert!(err.contains("not a regular file"), "{err}");

        let err = inspect_within(dir.path()).unwrap().unwrap_err();
        assert!(err.contains("is a directory"), "{err}");
        let err = inspect_within(Path::new("/dev/zero")).unwrap().unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");

        let png = dir.path().join("real.png");
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.extend_from_slice(&[0; 100]);
        std::fs::write(&png, &bytes).unwrap();
        let link = dir.path().join("link.png");
        std::os::unix::fs::symlink(&png, &link).unwrap();
        assert_eq!(inspect_within(&link).unwrap().unwrap().size, 108);
    }
}
