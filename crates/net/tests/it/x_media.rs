//! Media through the Network seam against the fake X over HTTP: chunked upload with STATUS
//! polling and alt text, then a post that carries the upload; X's refusals in X's words.
// Tests stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use chirp_core::SendError;
use chirp_fake_x::{FakeConfig, FakeX, MediaState};
use chirp_net::network::BoxFuture;
use chirp_net::x::XNetwork;
use chirp_net::{Chunks, MediaKind, Network, Part, Secret, Upload};

/// A file served in pieces of `size` bytes, counting how many were read.
struct Pieces {
    data: Vec<u8>,
    size: usize,
    at: usize,
    reads: usize,
}

impl Chunks for Pieces {
    fn next_chunk(&mut self) -> BoxFuture<'_, Result<Option<Vec<u8>>, String>> {
        Box::pin(async move {
            if self.at >= self.data.len() {
                return Ok(None);
            }
            let end = (self.at + self.size).min(self.data.len());
            let piece = self.data[self.at..end].to_vec();
            self.at = end;
            self.reads += 1;
            Ok(Some(piece))
        })
    }
}

/// A source that fails half-way (the database went away while reading the file).
struct Broken(bool);

impl Chunks for Broken {
    fn next_chunk(&mut self) -> BoxFuture<'_, Result<Option<Vec<u8>>, String>> {
        Box::pin(async move {
            if std::mem::replace(&mut self.0, true) {
                Err("connection reset".into())
            } else {
                Ok(Some(vec![1; 10]))
            }
        })
    }
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(data))
}

async fn fake(cfg: FakeConfig) -> (FakeX, XNetwork, Secret) {
    let fake = FakeX::start(cfg, 0).await.unwrap();
    let (access, _) = fake.issue_tokens();
    let x = XNetwork::new(&fake.base_url(), Duration::from_secs(5));
    (fake, x, Secret::new(access))
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_goes_up_in_chunks_is_processed_and_posted() {
    let (fake, x, token) = fake(FakeConfig {
        media_check_after_secs: 0,
        media_processing_checks: 2,
        ..FakeConfig::default()
    })
    .await;
    assert!(x.capabilities().max_media >= 1);
    let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let mut file = Pieces {
        data: data.clone(),
        size: 4096,
        at: 0,
        reads: 0,
    };
    let up = x
        .upload_media(
            &token,
            Upload {
                media_type: "video/mp4",
                kind: MediaKind::Video,
                total_bytes: data.len() as u64,
                alt_text: Some("a cat, typing"),
            },
            &mut file,
            soon(),
        )
        .await
        .unwrap();
    assert_eq!(file.reads, 3, "read a piece at a time");
    assert!(up.expires_at.is_some());
    let held = fake.media();
    assert_eq!(held.len(), 1);
    let m = &held[0];
    assert_eq!(m.id, up.id);
    assert_eq!(m.category, "tweet_video");
    assert_eq!(m.segments_received, 3);
    assert_eq!(m.sha256.as_deref(), Some(sha256_hex(&data).as_str()));
    assert_eq!(m.state, MediaState::Succeeded);
    assert_eq!(m.status_checks, 3, "polled until processing ended");
    assert_eq!(m.alt_text.as_deref(), Some("a cat, typing"));

    // A part with the upload and no text.
    let ids = vec![up.id.clone()];
    let sent = x
        .publish(
            &token,
            Part {
                text: "",
                reply_to: None,
                media_ids: &ids,
            },
            soon(),
        )
        .await
        .unwrap();
    let posts = fake.posts();
    assert_eq!(posts[0].id, sent.id);
    assert_eq!(posts[0].media_ids, ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_come_back_in_xs_words() {
    let (fake, x, token) = fake(FakeConfig {
        media_check_after_secs: 0,
        fail_media_processing: true,
        ..FakeConfig::default()
    })
    .await;
    let video = Upload {
        media_type: "video/mp4",
        kind: MediaKind::Video,
        total_bytes: 100,
        alt_text: None,
    };
    let mut file = Pieces {
        data: vec![0; 100],
        size: 64,
        at: 0,
        reads: 0,
    };
    let e = x
        .upload_media(&token, video, &mut file, soon())
        .await
        .unwrap_err();
    assert_eq!(
        e,
        SendError::Refused("X could not process the media: Unsupported video format".into())
    );

    // An id X does not know (expired, or one that never finished): nothing is published,
    // and the publisher uploads again.
    let ids = vec!["123".to_string()];
    let part = Part {
        text: "with media",
        reply_to: None,
        media_ids: &ids,
    };
    let e = x.publish(&token, part, soon()).await.unwrap_err();
    assert_eq!(
        e,
        SendError::MediaGone(
            "X no longer holds its media (400): Your media IDs are invalid.".into()
        )
    );
    assert!(fake.posts().is_empty());

    // The file cannot be read to the end: nothing is sent, and it is safe to try again.
    let e = x
        .upload_media(&token, video, &mut Broken(false), soon())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SendError::NotSent(m) if m.contains("connection reset")),
        "{e:?}"
    );

    // A token granted before chirp asked for media.write: X's 403.
    let (old, _) = fake.issue_tokens_with_scope("1001", "tweet.read tweet.write users.read");
    let mut file = Pieces {
        data: vec![0; 100],
        size: 64,
        at: 0,
        reads: 0,
    };
    let e = x
        .upload_media(&Secret::new(old), video, &mut file, soon())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SendError::Refused(m) if m.contains("media.write")),
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processing_past_the_deadline_is_not_sent() {
    let (_fake, x, token) = fake(FakeConfig {
        media_check_after_secs: 5,
        ..FakeConfig::default()
    })
    .await;
    let mut file = Pieces {
        data: vec![7; 50],
        size: 50,
        at: 0,
        reads: 0,
    };
    let e = x
        .upload_media(
            &token,
            Upload {
                media_type: "image/gif",
                kind: MediaKind::Gif,
                total_bytes: 50,
                alt_text: None,
            },
            &mut file,
            Instant::now() + Duration::from_secs(2),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SendError::NotSent(m) if m.contains("still processing")),
        "{e:?}"
    );
}
