//! What a media file is, read from its content (never its name), and what X accepts on one
//! part: up to 4 images, or 1 animated GIF, or 1 video; each within its size; alt text up to
//! 1,000 characters.

use std::fmt;

/// Where the bytes of a file come from, a piece at a time (rows of a table, a file), so that
/// nothing ever holds a whole video in memory.
pub trait Chunks: Send {
    /// The next piece, in order; None at the end. An error says why it cannot be read.
    fn next_chunk(&mut self) -> NextChunk<'_>;
}

/// What [`Chunks::next_chunk`] gives: the next piece, None at the end, or why it cannot be read.
pub type NextChunk<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Option<Vec<u8>>, String>> + Send + 'a>,
>;

/// What kind of media a file is, as X tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// A still image (JPEG, PNG, WEBP, a one-frame GIF).
    Image,
    /// An animated GIF.
    Gif,
    Video,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Gif => "gif",
            MediaKind::Video => "video",
        }
    }

    pub fn parse(s: &str) -> Option<MediaKind> {
        [MediaKind::Image, MediaKind::Gif, MediaKind::Video]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    /// "an image", "a GIF", "a video".
    pub fn noun(self) -> &'static str {
        match self {
            MediaKind::Image => "an image",
            MediaKind::Gif => "an animated GIF",
            MediaKind::Video => "a video",
        }
    }

    /// The most bytes X takes for this kind.
    pub fn max_bytes(self) -> u64 {
        match self {
            MediaKind::Image => 5 * MB,
            MediaKind::Gif => 15 * MB,
            MediaKind::Video => 512 * MB,
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const MB: u64 = 1024 * 1024;

/// The most characters of alt text X takes.
pub const MAX_ALT: usize = 1_000;

/// The most images on one part.
pub const MAX_IMAGES: usize = 4;

/// How many bytes of a file's start [`sniff`] needs.
pub const SNIFF_BYTES: usize = 64;

/// A file's type as its first bytes say: (MIME type, whether it may be a GIF, which needs
/// [`gif_frames`] to tell a still from an animation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    pub media_type: &'static str,
    pub kind: MediaKind,
}

/// The type of a file from its first bytes (at least [`SNIFF_BYTES`] when the file is that
/// long). A GIF comes back as an image: count its frames to know whether it is animated.
pub fn sniff(head: &[u8]) -> Option<Sniffed> {
    let is = |media_type, kind| Some(Sniffed { media_type, kind });
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return is("image/jpeg", MediaKind::Image);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return is("image/png", MediaKind::Image);
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return is("image/gif", MediaKind::Image);
    }
    if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return is("image/webp", MediaKind::Image);
    }
    // ISO base media (MP4, MOV): a first box of type `ftyp`, its major brand after it.
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return match &head[8..12] {
            b"qt  " => is("video/quicktime", MediaKind::Video),
            // Still-image and audio-only brands of the same container are not video.
            b"heic" | b"heix" | b"mif1" | b"msf1" | b"avif" | b"M4A " | b"M4B " => None,
            _ => is("video/mp4", MediaKind::Video),
        };
    }
    // QuickTime files may start with other atoms (`moov`, `mdat`, `wide`, `free`).
    if head.len() >= 8 && matches!(&head[4..8], b"moov" | b"mdat" | b"wide" | b"free") {
        return is("video/quicktime", MediaKind::Video);
    }
    None
}

/// How many frames (image descriptors) a GIF holds, walking its blocks; None when it is not
/// a well-formed GIF.
pub fn gif_frames(data: &[u8]) -> Option<usize> {
    if !(data.starts_with(b"GIF87a") || data.starts_with(b"GIF89a")) || data.len() < 13 {
        return None;
    }
    let mut at = 13;
    let flags = data[10];
    if flags & 0x80 != 0 {
        at += 3 * (1 << ((flags & 0x07) + 1));
    }
    let mut frames = 0;
    // Data sub-blocks: lengths then bytes, until a zero length.
    let skip_blocks = |mut at: usize| -> Option<usize> {
        loop {
            let n = usize::from(*data.get(at)?);
            at += 1;
            if n == 0 {
                return Some(at);
            }
            at += n;
        }
    };
    loop {
        match *data.get(at)? {
            0x3B => return Some(frames),
            0x21 => at = skip_blocks(at + 2)?,
            0x2C => {
                frames += 1;
                let flags = *data.get(at + 9)?;
                at += 10;
                if flags & 0x80 != 0 {
                    at += 3 * (1 << ((flags & 0x07) + 1));
                }
                // LZW minimum code size, then the image data.
                at = skip_blocks(at + 1)?;
            }
            _ => return None,
        }
    }
}

/// Why a file cannot be attached, or a part's attachments cannot go together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error(
        "{name} is not an image (JPEG, PNG, WEBP, GIF) or a video (MP4, MOV) by its content: X would refuse it"
    )]
    UnknownType { name: String },
    #[error("{name} is {}: X takes at most {} for {}", over(*.bytes, kind.max_bytes()), size(kind.max_bytes()), kind.noun())]
    TooLarge {
        name: String,
        kind: MediaKind,
        bytes: u64,
    },
    #[error("{name} is empty")]
    Empty { name: String },
    #[error("a GIF that cannot be read: {name}")]
    BadGif { name: String },
    #[error("the alt text is {chars} characters: X takes at most {MAX_ALT}")]
    AltTooLong { chars: usize },
    #[error("a part takes up to {MAX_IMAGES} images, or 1 GIF, or 1 video: {what}")]
    Mix { what: String },
    #[error("{name} is {width}×{height} pixels: X takes images of at most {MAX_SIDE}×{MAX_SIDE}")]
    TooManyPixels {
        name: String,
        width: u32,
        height: u32,
    },
}

/// The widest and tallest image (or GIF) X takes.
pub const MAX_SIDE: u32 = 8192;

/// An image's dimensions, as its header says, against X's limit (checked before anything is
/// decoded or stored: a small file can claim a huge picture).
pub fn check_dimensions(name: &str, width: u32, height: u32) -> Result<(), MediaError> {
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(MediaError::TooManyPixels {
            name: name.into(),
            width,
            height,
        });
    }
    Ok(())
}

/// "3.2 MB", "512 MB", "640 KB".
pub fn size(bytes: u64) -> String {
    if bytes >= MB {
        let mb = bytes as f64 / MB as f64;
        if mb >= 10.0 || (mb - mb.round()).abs() < 0.05 {
            format!("{mb:.0} MB")
        } else {
            format!("{mb:.1} MB")
        }
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

/// A size over a limit, exact when rounding would make it look like the limit.
fn over(bytes: u64, limit: u64) -> String {
    if size(bytes) == size(limit) {
        format!("{bytes} bytes")
    } else {
        size(bytes)
    }
}

/// Whether a file of this kind and size may be attached.
pub fn check_size(name: &str, kind: MediaKind, bytes: u64) -> Result<(), MediaError> {
    if bytes == 0 {
        return Err(MediaError::Empty { name: name.into() });
    }
    if bytes > kind.max_bytes() {
        return Err(MediaError::TooLarge {
            name: name.into(),
            kind,
            bytes,
        });
    }
    Ok(())
}

pub fn check_alt(alt: &str) -> Result<(), MediaError> {
    let chars = alt.chars().count();
    if chars > MAX_ALT {
        return Err(MediaError::AltTooLong { chars });
    }
    Ok(())
}

/// Whether these kinds may go together on one part.
pub fn check_part(kinds: &[MediaKind]) -> Result<(), MediaError> {
    let count = |k| kinds.iter().filter(|x| **x == k).count();
    let (images, gifs, videos) = (
        count(MediaKind::Image),
        count(MediaKind::Gif),
        count(MediaKind::Video),
    );
    let what = match (images, gifs, videos) {
        (0..=MAX_IMAGES, 0, 0) | (0, 1, 0) | (0, 0, 1) => return Ok(()),
        (i, 0, 0) => format!("this one has {i} images"),
        _ if gifs + videos > 1 && images == 0 => {
            format!("this one has {} GIFs or videos", gifs + videos)
        }
        _ => "images cannot go with a GIF or a video".to_string(),
    };
    Err(MediaError::Mix { what })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GIF of `frames` 1×1 frames.
    fn gif(frames: usize) -> Vec<u8> {
        let mut g = b"GIF89a".to_vec();
        g.extend_from_slice(&[1, 0, 1, 0, 0x80, 0, 0]); // 1×1, global table of 2 colours
        g.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
        for _ in 0..frames {
            g.extend_from_slice(&[0x21, 0xF9, 4, 0, 10, 0, 0, 0]); // graphic control
            g.extend_from_slice(&[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0]); // descriptor
            g.extend_from_slice(&[2, 2, 0x4C, 0x01, 0]); // LZW data
        }
        g.push(0x3B);
        g
    }

    #[test]
    fn types_come_from_the_content() {
        let k = |b: &[u8]| sniff(b).map(|s| (s.media_type, s.kind));
        assert_eq!(
            k(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]),
            Some(("image/jpeg", MediaKind::Image))
        );
        assert_eq!(
            k(b"\x89PNG\r\n\x1a\n...."),
            Some(("image/png", MediaKind::Image))
        );
        assert_eq!(
            k(b"RIFF\x10\0\0\0WEBPVP8 "),
            Some(("image/webp", MediaKind::Image))
        );
        assert_eq!(
            k(b"\0\0\0\x18ftypisom\0\0\x02\0"),
            Some(("video/mp4", MediaKind::Video))
        );
        assert_eq!(
            k(b"\0\0\0\x14ftypqt  \0\0\x02\0"),
            Some(("video/quicktime", MediaKind::Video))
        );
        assert_eq!(
            k(b"\0\0\0\x18ftypheic\0\0\0\0"),
            None,
            "a HEIC photo is no video"
        );
        assert_eq!(k(b"%PDF-1.7"), None);
        assert_eq!(k(b"hello, I am a .png by name only"), None);
        assert_eq!(k(b""), None);
    }

    #[test]
    fn a_gif_is_animated_when_it_has_frames() {
        assert_eq!(gif_frames(&gif(1)), Some(1));
        assert_eq!(gif_frames(&gif(3)), Some(3));
        let mut cut = gif(3);
        cut.truncate(cut.len() - 8);
        assert_eq!(gif_frames(&cut), None, "a truncated GIF");
        assert_eq!(gif_frames(b"GIF89a"), None);
    }

    #[test]
    fn sizes_alt_text_and_what_goes_together() {
        assert!(check_size("a.png", MediaKind::Image, 5 * MB).is_ok());
        assert_eq!(
            check_size("big.jpg", MediaKind::Image, 5 * MB + 1)
                .unwrap_err()
                .to_string(),
            "big.jpg is 5242881 bytes: X takes at most 5 MB for an image"
        );
        assert!(check_size("v.mp4", MediaKind::Video, 512 * MB).is_ok());
        assert!(check_size("v.mp4", MediaKind::Video, 512 * MB + 1).is_err());
        assert!(check_size("e.gif", MediaKind::Gif, 0).is_err());
        assert!(check_alt(&"a".repeat(1000)).is_ok());
        assert_eq!(
            check_alt(&"é".repeat(1001)).unwrap_err().to_string(),
            "the alt text is 1001 characters: X takes at most 1000"
        );
        use MediaKind::*;
        assert!(check_part(&[Image, Image, Image, Image]).is_ok());
        assert!(check_part(&[Gif]).is_ok());
        assert!(check_part(&[Video]).is_ok());
        assert!(check_part(&[]).is_ok());
        assert_eq!(
            check_part(&[Image; 5]).unwrap_err().to_string(),
            "a part takes up to 4 images, or 1 GIF, or 1 video: this one has 5 images"
        );
        assert!(
            check_part(&[Image, Video])
                .unwrap_err()
                .to_string()
                .ends_with("images cannot go with a GIF or a video")
        );
        assert!(check_part(&[Video, Gif]).is_err());
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(size(640 * 1024), "640 KB");
        assert_eq!(size(3 * MB + MB / 5), "3.2 MB");
        assert_eq!(size(512 * MB), "512 MB");
    }
}
