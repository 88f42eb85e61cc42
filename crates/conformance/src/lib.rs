//! The conformance suite: what every [`Network`] adapter must do, written once. A network
//! passes when its adapter, talking over real HTTP to its fake, passes every test here; a new
//! network brings a [`Subject`] (its adapter and the fake's controls) and one line:
//!
//! ```ignore
//! chirp_conformance::suite!(my_subject());
//! ```
//!
//! The tests say what the publisher relies on: a part is published once and its id said; a
//! thread's parts reply to each other; files go up (a video processed) and ride their part;
//! after an unknown outcome, a part that landed is found, one that did not is absent, and two
//! candidates are unsure; deadlines are kept; deletes are repeatable; metrics are read and
//! deleted posts said; every refusal arrives as the right [`SendError`] kind; the posting
//! window is read.

// The suite fails by panicking, as tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use chirp_core::SendError;
use chirp_net::network::BoxFuture;
use chirp_net::{Chunks, Lookup, MediaKind, Network, Part, RemoteAccount, Secret, Upload};
use chrono::Utc;

/// A post as the fake holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub id: String,
    pub text: String,
    pub reply_to: Option<String>,
    pub media_ids: Vec<String>,
    pub deleted: bool,
}

/// An upload as the fake holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldMedia {
    pub alt_text: Option<String>,
    /// Processed and attachable.
    pub ready: bool,
}

/// How the fake answers the next publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The token is refused (expired or revoked).
    Unauthorized,
    /// Too many requests; the window resets this many seconds from now.
    RateLimited { reset_in: u64 },
    /// A server error, nothing created.
    ServerError,
    /// The post is created, then a server error is answered.
    LandedThenServerError,
    /// The post is created, then no answer comes before the client gives up.
    LandedThenNoAnswer,
    /// The account has no credits left (pay-per-use networks).
    OutOfCredits,
}

/// A network's adapter with its fake, one account connected.
pub trait Subject: Send + Sync {
    fn network(&self) -> &dyn Network;
    /// A valid token of the account.
    fn token(&self) -> &Secret;
    /// The account's id on the network.
    fn account(&self) -> &str;
    /// Everything the account has on the fake, oldest first.
    fn held(&self) -> Vec<Held>;
    /// An upload the fake holds.
    fn held_media(&self, id: &str) -> Option<HeldMedia>;
    /// The next publish meets `fault`; false when the network has no such answer (the test
    /// of it is then skipped for this network).
    fn arrange(&self, fault: Fault) -> bool;
    /// The account posts `text` outside chirp (on the website); its id.
    fn post_elsewhere(&self, text: &str) -> String;
    /// The account deletes `id` outside chirp.
    fn delete_elsewhere(&self, id: &str);
    /// The fake reports this many likes for `id`.
    fn set_likes(&self, id: &str, likes: u64);
    /// Uploaded videos need this many status checks before they are ready.
    fn process_video_after(&self, checks: u32);
    /// Whether the network refuses the same text twice from one account.
    fn refuses_duplicates(&self) -> bool;
}

/// Runs every test of the suite against the subject `make` evaluates to (an `async`
/// expression, evaluated once per test so that each test has a fake of its own).
#[macro_export]
macro_rules! suite {
    ($make:expr) => {
        $crate::suite!(@each $make;
            publishes_a_part_and_says_its_id,
            a_thread_replies_part_to_part,
            an_image_goes_up_with_its_alt_text_and_rides_its_part,
            a_video_is_processed_before_it_is_attached,
            a_part_that_landed_is_found_after_a_server_error,
            an_answer_lost_past_the_deadline_is_unknown_and_the_part_found,
            a_part_never_sent_is_absent_and_one_elsewhere_in_the_thread_too,
            two_candidates_are_unsure,
            a_server_error_before_the_network_acted_is_unknown_and_absent,
            a_deadline_already_past_sends_nothing,
            deleting_removes_it_and_deleting_again_is_fine,
            metrics_are_read_and_deleted_posts_said,
            each_refusal_arrives_as_its_kind,
            the_posting_window_is_read
        );
    };
    (@each $make:expr; $($name:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let subject = $make.await;
                $crate::$name(&subject).await;
            }
        )*
    };
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

fn part(text: &str) -> Part<'_> {
    Part {
        text,
        reply_to: None,
        media_ids: &[],
    }
}

/// A file in memory, read a piece at a time.
struct Bytes {
    data: Vec<u8>,
    at: usize,
}

impl Chunks for Bytes {
    fn next_chunk(&mut self) -> BoxFuture<'_, Result<Option<Vec<u8>>, String>> {
        Box::pin(async move {
            if self.at >= self.data.len() {
                return Ok(None);
            }
            let end = (self.at + 4096).min(self.data.len());
            let piece = self.data[self.at..end].to_vec();
            self.at = end;
            Ok(Some(piece))
        })
    }
}

/// The smallest valid PNG (one transparent pixel).
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

async fn upload(s: &impl Subject, kind: MediaKind, media_type: &str, data: Vec<u8>) -> String {
    let total_bytes = data.len() as u64;
    let mut file = Bytes { data, at: 0 };
    s.network()
        .upload_media(
            s.token(),
            Upload {
                media_type,
                kind,
                total_bytes,
                alt_text: Some("a test file"),
            },
            &mut file,
            soon(),
        )
        .await
        .unwrap()
        .id
}

async fn find(s: &impl Subject, p: Part<'_>) -> Lookup {
    s.network()
        .find_sent(
            s.token(),
            RemoteAccount {
                user_id: s.account(),
            },
            p,
            Utc::now() - chrono::Duration::minutes(5),
            soon(),
        )
        .await
        .unwrap()
}

fn live(s: &impl Subject) -> Vec<Held> {
    s.held().into_iter().filter(|h| !h.deleted).collect()
}

pub async fn publishes_a_part_and_says_its_id(s: &impl Subject) {
    let sent = s
        .network()
        .publish(s.token(), part("conformance: hello"), soon())
        .await
        .unwrap();
    let held = live(s);
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].id, sent.id);
    assert_eq!(held[0].text, "conformance: hello");
    assert_eq!(held[0].reply_to, None);
}

pub async fn a_thread_replies_part_to_part(s: &impl Subject) {
    assert!(s.network().capabilities().threads);
    let mut before: Option<String> = None;
    let mut ids = Vec::new();
    for text in ["thread 1/3", "thread 2/3", "thread 3/3"] {
        let sent = s
            .network()
            .publish(
                s.token(),
                Part {
                    text,
                    reply_to: before.as_deref(),
                    media_ids: &[],
                },
                soon(),
            )
            .await
            .unwrap();
        before = Some(sent.id.clone());
        ids.push(sent.id);
    }
    let held = live(s);
    let chain: Vec<(&str, Option<&str>)> = held
        .iter()
        .map(|h| (h.id.as_str(), h.reply_to.as_deref()))
        .collect();
    assert_eq!(
        chain,
        [
            (ids[0].as_str(), None),
            (ids[1].as_str(), Some(ids[0].as_str())),
            (ids[2].as_str(), Some(ids[1].as_str())),
        ]
    );
}

pub async fn an_image_goes_up_with_its_alt_text_and_rides_its_part(s: &impl Subject) {
    assert!(s.network().capabilities().max_media >= 1);
    let id = upload(s, MediaKind::Image, "image/png", PNG.to_vec()).await;
    let media = s.held_media(&id).expect("the fake holds the upload");
    assert_eq!(media.alt_text.as_deref(), Some("a test file"));
    let ids = vec![id.clone()];
    let sent = s
        .network()
        .publish(
            s.token(),
            Part {
                text: "with a picture",
                reply_to: None,
                media_ids: &ids,
            },
            soon(),
        )
        .await
        .unwrap();
    let held = live(s);
    assert_eq!(held.len(), 1);
    assert_eq!((&held[0].id, &held[0].media_ids), (&sent.id, &ids));
}

pub async fn a_video_is_processed_before_it_is_attached(s: &impl Subject) {
    s.process_video_after(2);
    let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    let id = upload(s, MediaKind::Video, "video/mp4", data).await;
    // The upload returns only once the network has finished with it.
    assert_eq!(s.held_media(&id).map(|m| m.ready), Some(true));
    let ids = vec![id];
    s.network()
        .publish(
            s.token(),
            Part {
                text: "with a video",
                reply_to: None,
                media_ids: &ids,
            },
            soon(),
        )
        .await
        .unwrap();
    assert_eq!(live(s)[0].media_ids, ids);
}

pub async fn a_part_that_landed_is_found_after_a_server_error(s: &impl Subject) {
    assert!(s.arrange(Fault::LandedThenServerError));
    let e = s
        .network()
        .publish(s.token(), part("landed, answer lost"), soon())
        .await
        .unwrap_err();
    assert!(e.outcome_unknown(), "{e:?}");
    let held = live(s);
    assert_eq!(held.len(), 1);
    assert_eq!(
        find(s, part("landed, answer lost")).await,
        Lookup::Found(held[0].id.clone())
    );
}

pub async fn an_answer_lost_past_the_deadline_is_unknown_and_the_part_found(s: &impl Subject) {
    assert!(s.arrange(Fault::LandedThenNoAnswer));
    // The fake holds its answer far longer than this: only the deadline ends the wait.
    let deadline = Instant::now() + Duration::from_millis(500);
    let e = s
        .network()
        .publish(s.token(), part("no answer came"), deadline)
        .await
        .unwrap_err();
    assert!(e.outcome_unknown(), "{e:?}");
    let held = live(s);
    assert_eq!(
        find(s, part("no answer came")).await,
        Lookup::Found(held[0].id.clone())
    );
}

pub async fn a_part_never_sent_is_absent_and_one_elsewhere_in_the_thread_too(s: &impl Subject) {
    assert_eq!(find(s, part("never sent")).await, Lookup::Absent);
    // The same text, but not as the reply chirp would have sent: not our part.
    let first = s
        .network()
        .publish(s.token(), part("a thread begins"), soon())
        .await
        .unwrap();
    s.network()
        .publish(s.token(), part("the same words"), soon())
        .await
        .unwrap();
    let as_reply = Part {
        text: "the same words",
        reply_to: Some(&first.id),
        media_ids: &[],
    };
    assert_eq!(find(s, as_reply).await, Lookup::Absent);
}

pub async fn two_candidates_are_unsure(s: &impl Subject) {
    s.post_elsewhere("said twice");
    s.post_elsewhere("said twice");
    assert!(
        matches!(find(s, part("said twice")).await, Lookup::Unsure(_)),
        "two posts with the text: neither can be taken for ours"
    );
}

pub async fn a_server_error_before_the_network_acted_is_unknown_and_absent(s: &impl Subject) {
    assert!(s.arrange(Fault::ServerError));
    let e = s
        .network()
        .publish(s.token(), part("refused by a fault"), soon())
        .await
        .unwrap_err();
    // Seen from outside, a 5xx cannot be told from one after the network acted.
    assert!(e.outcome_unknown(), "{e:?}");
    assert_eq!(find(s, part("refused by a fault")).await, Lookup::Absent);
}

pub async fn a_deadline_already_past_sends_nothing(s: &impl Subject) {
    let e = s
        .network()
        .publish(s.token(), part("too late"), Instant::now())
        .await
        .unwrap_err();
    assert!(matches!(e, SendError::NotSent(_)), "{e:?}");
    assert!(s.held().is_empty());
}

pub async fn deleting_removes_it_and_deleting_again_is_fine(s: &impl Subject) {
    let sent = s
        .network()
        .publish(s.token(), part("to be deleted"), soon())
        .await
        .unwrap();
    s.network()
        .delete(s.token(), &sent.id, soon())
        .await
        .unwrap();
    assert!(live(s).is_empty());
    // A crash after the delete and before chirp stored it: doing it again is harmless.
    s.network()
        .delete(s.token(), &sent.id, soon())
        .await
        .unwrap();
}

pub async fn metrics_are_read_and_deleted_posts_said(s: &impl Subject) {
    let liked = s
        .network()
        .publish(s.token(), part("liked"), soon())
        .await
        .unwrap();
    let gone = s
        .network()
        .publish(s.token(), part("deleted on the website"), soon())
        .await
        .unwrap();
    s.set_likes(&liked.id, 7);
    s.delete_elsewhere(&gone.id);
    let ids = vec![liked.id.clone(), gone.id.clone()];
    let read = s
        .network()
        .metrics(s.token(), &ids, true, soon())
        .await
        .unwrap();
    let found: Vec<(&str, i64)> = read
        .found
        .iter()
        .map(|(id, m)| (id.as_str(), m.likes))
        .collect();
    assert_eq!(found, [(liked.id.as_str(), 7)]);
    assert_eq!(read.gone, [gone.id]);
}

pub async fn each_refusal_arrives_as_its_kind(s: &impl Subject) {
    let net = s.network();
    let send = |text: &'static str| net.publish(s.token(), part(text), soon());
    assert!(s.arrange(Fault::Unauthorized));
    let e = send("a refused token").await.unwrap_err();
    assert!(matches!(e, SendError::Unauthorized(_)), "{e:?}");
    assert!(s.arrange(Fault::RateLimited { reset_in: 120 }));
    let e = send("too many").await.unwrap_err();
    match e {
        SendError::RateLimited { reset: Some(r), .. } => assert!(r > Utc::now(), "{r}"),
        other => panic!("a rate limit with its reset, not {other:?}"),
    }
    if s.arrange(Fault::OutOfCredits) {
        let e = send("no credits").await.unwrap_err();
        assert!(matches!(e, SendError::OutOfCredits(_)), "{e:?}");
    }
    // A reply to a post that is gone will not work however often it is sent.
    let gone = s.post_elsewhere("soon gone");
    s.delete_elsewhere(&gone);
    let e = net
        .publish(
            s.token(),
            Part {
                text: "a reply to nothing",
                reply_to: Some(&gone),
                media_ids: &[],
            },
            soon(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, SendError::Refused(_)), "{e:?}");
    if s.refuses_duplicates() {
        send("said once").await.unwrap();
        let e = send("said once").await.unwrap_err();
        assert!(matches!(e, SendError::Duplicate(_)), "{e:?}");
    }
    // None of the refusals made a post.
    let texts: Vec<String> = live(s).into_iter().map(|h| h.text).collect();
    let made: Vec<&str> = texts.iter().map(String::as_str).collect();
    let expected: Vec<&str> = if s.refuses_duplicates() {
        vec!["said once"]
    } else {
        Vec::new()
    };
    assert_eq!(made, expected);
}

pub async fn the_posting_window_is_read(s: &impl Subject) {
    let first = s
        .network()
        .publish(s.token(), part("window 1"), soon())
        .await
        .unwrap();
    let second = s
        .network()
        .publish(s.token(), part("window 2"), soon())
        .await
        .unwrap();
    let (a, b) = (
        first.quota.expect("a quota"),
        second.quota.expect("a quota"),
    );
    assert!(a.reset.is_some() && a.limit.is_some(), "{a:?}");
    assert_eq!(
        b.remaining.map(|r| r + 1),
        a.remaining,
        "each post uses one"
    );
}
