//! Media through the publisher against the fake X over HTTP: each part's files uploaded just
//! before the part goes out (chunked from the database, processing awaited, alt text set), the
//! upload remembered and reused while X holds it, redone when X forgot it, and never a part
//! sent twice because an upload was retried.
// Tests stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chirp_core::MediaKind;
use chirp_fake_x::{FakeConfig, FakeX, Fault, MediaState};
use chirp_publisher::{Event, Options, RetryPolicy};
use chirp_store::media::{CHUNK, NewAttachment};
use chirp_store::posts::{self, Actor};
use chirp_testing::publisher::Running;
use chirp_testing::{TestDb, fresh_db};
use chrono::Utc;
use sha2::Digest;

/// A file: a header of its type, then `len` bytes of a pattern that differs per `seed`.
fn file(kind: &str, len: usize, seed: u8) -> Vec<u8> {
    let mut b: Vec<u8> = match kind {
        "png" => b"\x89PNG\r\n\x1a\n".to_vec(),
        "gif" => b"GIF89a".to_vec(),
        _ => b"\0\0\0\x18ftypisom\0\0\x02\0".to_vec(),
    };
    b.extend((0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    b
}

fn hex(data: &[u8]) -> String {
    format!("{:x}", sha2::Sha256::digest(data))
}

async fn stored(t: &TestDb, data: &[u8], media_type: &str, kind: MediaKind) -> i32 {
    chirp_testing::store_media(&t.db, data, media_type, kind)
        .await
        .0
}

/// A post of `parts`, each with its files (id, alt text), due now.
async fn post(
    t: &TestDb,
    account: i32,
    parts: &[&str],
    media: Vec<Vec<(i32, Option<&str>)>>,
) -> i32 {
    let parts: Vec<String> = parts.iter().map(ToString::to_string).collect();
    let media: Vec<Vec<NewAttachment>> = media
        .into_iter()
        .map(|files| {
            files
                .into_iter()
                .map(|(media_id, alt)| NewAttachment {
                    media_id,
                    alt_text: alt.map(String::from),
                })
                .collect()
        })
        .collect();
    posts::create_with_media(
        &mut t.client().await,
        Actor("test"),
        &[account],
        &parts,
        &media,
        posts::Schedule::At(Utc::now()),
    )
    .await
    .unwrap()[0]
        .id
}

/// The options these tests run a publisher with.
fn media_options() -> Options {
    Options {
        lease: Duration::from_secs(10),
        safety_poll: Duration::from_hours(1),
        request_timeout: Duration::from_secs(5),
        policy: RetryPolicy {
            max_attempts: 3,
            base: chrono::Duration::milliseconds(50),
            cap: chrono::Duration::seconds(1),
        },
        ..Options::default()
    }
}

fn start(t: &TestDb, fake: &FakeX) -> Running {
    start_with(t, fake, media_options())
}

/// A publisher with `opts`, talking to `fake` with its request timeout.
fn start_with(t: &TestDb, fake: &FakeX, opts: Options) -> Running {
    let x_timeout = opts.request_timeout;
    Running::start(&t.db, fake, opts, x_timeout)
}

async fn setup(cfg: FakeConfig) -> (TestDb, FakeX, i32) {
    let fake = FakeX::start(
        FakeConfig {
            media_check_after_secs: 0,
            ..cfg
        },
        0,
    )
    .await
    .unwrap();
    let t = fresh_db().await;
    let (account, _, _) =
        chirp_testing::connect_account(&t.db, &fake, chrono::Duration::hours(1)).await;
    (t, fake, account)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_a_gif_and_a_video_reach_x_with_their_alt_text_byte_for_byte() {
    let (t, fake, account) = setup(FakeConfig::default()).await;
    let cat = file("png", 300_000, 1);
    let dog = file("png", 200_000, 2);
    let gif = file("gif", 100_000, 3);
    // Three stored chunks: read and appended one at a time.
    let video = file("mp4", 2 * CHUNK + 12_345, 4);
    let cat_id = stored(&t, &cat, "image/png", MediaKind::Image).await;
    let dog_id = stored(&t, &dog, "image/png", MediaKind::Image).await;
    let gif_id = stored(&t, &gif, "image/gif", MediaKind::Gif).await;
    let video_id = stored(&t, &video, "video/mp4", MediaKind::Video).await;
    let mut p = start(&t, &fake);
    let pets = post(
        &t,
        account,
        &["two pets"],
        vec![vec![(cat_id, Some("A cat on a keyboard")), (dog_id, None)]],
    )
    .await;
    // A thread: a GIF on part 1, a video with no text on part 2.
    let thread = post(
        &t,
        account,
        &["look", ""],
        vec![vec![(gif_id, None)], vec![(video_id, Some("the launch"))]],
    )
    .await;
    p.posted(pets).await;
    p.posted(thread).await;
    p.stop().await;

    let on_x = fake.posts();
    assert_eq!(on_x.len(), 3, "{on_x:?}");
    let media = fake.media();
    let by_id = |id: &str| media.iter().find(|m| m.id == id).unwrap().clone();
    let pets_x = on_x.iter().find(|p| p.text == "two pets").unwrap();
    let sent: Vec<_> = pets_x.media_ids.iter().map(|id| by_id(id)).collect();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].sha256.as_deref(), Some(&*hex(&cat)));
    assert_eq!(sent[0].alt_text.as_deref(), Some("A cat on a keyboard"));
    assert_eq!(sent[1].sha256.as_deref(), Some(&*hex(&dog)));
    assert_eq!(sent[1].alt_text, None);
    let look = on_x.iter().find(|p| p.text == "look").unwrap();
    let g = by_id(&look.media_ids[0]);
    assert_eq!(
        (g.category.as_str(), g.state),
        ("tweet_gif", MediaState::Succeeded)
    );
    assert_eq!(g.sha256.as_deref(), Some(&*hex(&gif)));
    let clip = on_x.iter().find(|p| p.text.is_empty()).unwrap();
    assert_eq!(
        clip.reply_to.as_deref(),
        Some(&*look.id),
        "part 2 replies to part 1"
    );
    let v = by_id(&clip.media_ids[0]);
    assert_eq!(v.category, "tweet_video");
    assert_eq!(v.segments_received, 3);
    assert_eq!(v.sha256.as_deref(), Some(&*hex(&video)));
    assert_eq!(v.alt_text.as_deref(), Some("the launch"));
    assert!(media.iter().all(|m| m.user_id == "1001"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_upload_answer_is_uploaded_again_and_the_post_goes_out_once() {
    let (t, fake, account) = setup(FakeConfig {
        lose_finalize_answers: 1,
        ..FakeConfig::default()
    })
    .await;
    let cat = file("png", 50_000, 5);
    let cat_id = stored(&t, &cat, "image/png", MediaKind::Image).await;
    let mut p = start(&t, &fake);
    let id = post(&t, account, &["lost answer"], vec![vec![(cat_id, None)]]).await;
    p.posted(id).await;
    p.stop().await;
    let on_x = fake.posts();
    assert_eq!(on_x.len(), 1, "one post");
    assert_eq!(
        fake.media().len(),
        2,
        "the first upload's answer was lost: uploaded again"
    );
    assert_eq!(fake.count("POST", "/2/tweets"), 1, "sent once");
    let used = fake
        .media()
        .into_iter()
        .find(|m| m.id == on_x[0].media_ids[0])
        .unwrap();
    assert_eq!(used.sha256.as_deref(), Some(&*hex(&cat)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_is_reused_while_x_holds_it_and_redone_when_x_forgot_it() {
    let (t, fake, account) = setup(FakeConfig::default()).await;
    let cat = file("png", 40_000, 6);
    let cat_id = stored(&t, &cat, "image/png", MediaKind::Image).await;
    // The first send is refused by a 503 after the upload: the retry reuses the upload.
    fake.inject([Fault::Status(503)]);
    let mut p = start(&t, &fake);
    let id = post(&t, account, &["reused"], vec![vec![(cat_id, None)]]).await;
    p.posted(id).await;
    assert_eq!(fake.media().len(), 1, "the upload was reused");
    assert_eq!(fake.count("POST", "/2/tweets"), 2);
    // Another post whose remembered upload chirp still thinks valid, but X has forgotten
    // (X says "Your media IDs are invalid."): nothing is published, it is uploaded again.
    let mut c = t.client().await;
    let again = posts::create_with_media(
        &mut c,
        Actor("test"),
        &[account],
        &["again, later".into()],
        &[vec![NewAttachment {
            media_id: cat_id,
            alt_text: None,
        }]],
        posts::Schedule::Draft,
    )
    .await
    .unwrap()[0]
        .id;
    c.execute(
        "UPDATE part_media SET remote_media_id = (SELECT remote_media_id FROM part_media WHERE post_id = $1),
                remote_media_expires_at = now() + interval '1 hour'
         WHERE post_id = $2",
        &[&id, &again],
    )
    .await
    .unwrap();
    fake.expire_media();
    posts::schedule(&mut c, Actor("test"), again, Utc::now())
        .await
        .unwrap();
    p.posted(again).await;
    p.stop().await;
    assert_eq!(fake.media().len(), 2, "uploaded again once X forgot it");
    let later = fake
        .posts()
        .into_iter()
        .find(|p| p.text == "again, later")
        .unwrap();
    let fresh = fake
        .media()
        .into_iter()
        .find(|m| m.id == later.media_ids[0])
        .unwrap();
    assert!(fresh.expires_at > Utc::now());
    assert_eq!(fresh.sha256.as_deref(), Some(&*hex(&cat)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_processing_fails_the_post_with_xs_words_and_nothing_is_sent() {
    let (t, fake, account) = setup(FakeConfig {
        fail_media_processing: true,
        ..FakeConfig::default()
    })
    .await;
    let video = file("mp4", 80_000, 7);
    let video_id = stored(&t, &video, "video/mp4", MediaKind::Video).await;
    let mut p = start(&t, &fake);
    let id = post(&t, account, &["broken clip"], vec![vec![(video_id, None)]]).await;
    let Event::Failed { reason, .. } = p
        .until(|e| matches!(e, Event::Failed { post, .. } if *post == id))
        .await
    else {
        unreachable!()
    };
    p.stop().await;
    assert!(reason.starts_with("uploading its media: "), "{reason}");
    assert_eq!(fake.count("POST", "/2/tweets"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_outcome_on_a_part_with_media_is_found_on_x_not_sent_again() {
    let (t, fake, account) = setup(FakeConfig {
        hang_for: Duration::from_secs(30),
        ..FakeConfig::default()
    })
    .await;
    let cat = file("png", 30_000, 8);
    let dog = file("png", 30_000, 9);
    let cat_id = stored(&t, &cat, "image/png", MediaKind::Image).await;
    let dog_id = stored(&t, &dog, "image/png", MediaKind::Image).await;
    // Part 1 is answered; part 2 (a photo, no text) reaches X and its answer never comes.
    // Then a single post of a photo alone, the same.
    fake.inject([Fault::Pass, Fault::HangAfterRecord, Fault::HangAfterRecord]);
    let mut p = start(&t, &fake);
    let thread = post(
        &t,
        account,
        &["a thread with a photo", ""],
        vec![vec![], vec![(cat_id, Some("the cat"))]],
    )
    .await;
    p.until(|e| matches!(e, Event::Reconciled { post, found: Some(_) } if *post == thread))
        .await;
    p.posted(thread).await;
    let single = post(&t, account, &[""], vec![vec![(dog_id, None)]]).await;
    p.until(|e| matches!(e, Event::Reconciled { post, found: Some(_) } if *post == single))
        .await;
    p.posted(single).await;
    p.stop().await;
    assert_eq!(fake.count("POST", "/2/tweets"), 3, "no part sent twice");
    assert_eq!(
        fake.media().len(),
        2,
        "nothing uploaded again to look for it"
    );
    let on_x = fake.posts();
    let ids: Vec<Option<String>> = posts::parts(&t.client().await, thread)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.remote_id)
        .collect();
    assert_eq!(ids, [Some(on_x[0].id.clone()), Some(on_x[1].id.clone())]);
    let got = posts::get(&t.client().await, single).await.unwrap();
    assert_eq!(got.x_tweet_id, Some(on_x[2].id.clone()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_connected_before_media_waits_to_reconnect_instead_of_failing() {
    let (t, fake, _) = setup(FakeConfig::default()).await;
    // Connected before chirp asked for media.write.
    let (old, _, _) = chirp_testing::connect_with_scope(
        &t.db,
        &fake,
        "2002",
        "old_timer",
        "tweet.read tweet.write users.read offline.access",
        chrono::Duration::hours(1),
    )
    .await;
    let st = chirp_store::accounts::status_by_id(&t.client().await, old)
        .await
        .unwrap();
    assert!(st.connected && !st.can_post_media, "{st:?}");
    let cat = file("png", 20_000, 10);
    let cat_id = stored(&t, &cat, "image/png", MediaKind::Image).await;
    let mut p = start(&t, &fake);
    let with_media = post(&t, old, &["with a photo"], vec![vec![(cat_id, None)]]).await;
    let plain = post(&t, old, &["words only"], vec![vec![]]).await;
    p.posted(plain).await;
    p.until(|e| matches!(e, Event::Retrying { post, .. } if *post == with_media))
        .await;
    let waiting = posts::get(&t.client().await, with_media).await.unwrap();
    assert_eq!(waiting.status, chirp_core::Status::Scheduled);
    assert!(
        waiting
            .error_message
            .as_deref()
            .is_some_and(|m| m.starts_with("reconnect to post media")),
        "{waiting:?}"
    );
    assert_eq!(waiting.attempts, 0, "waiting is not a failed attempt");
    assert!(fake.media().is_empty(), "nothing tried at X");
    // Connected again with media.write: the post goes out at once.
    chirp_testing::connect_account_as(
        &t.db,
        &fake,
        "2002",
        "old_timer",
        chrono::Duration::hours(1),
    )
    .await;
    let st = chirp_store::accounts::status_by_id(&t.client().await, old)
        .await
        .unwrap();
    assert!(st.can_post_media, "{st:?}");
    p.posted(with_media).await;
    p.stop().await;
    assert_eq!(fake.media().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_longer_than_the_lease_finishes_and_the_post_goes_out_once() {
    // Each 4 MiB chunk takes 800 ms: three take longer than a lease's deadline for a call.
    let (t, fake, account) = setup(FakeConfig {
        append_latency: Duration::from_millis(800),
        ..FakeConfig::default()
    })
    .await;
    let video = file("mp4", 2 * CHUNK + 1000, 11);
    let video_id = stored(&t, &video, "video/mp4", MediaKind::Video).await;
    let mut p = start_with(
        &t,
        &fake,
        Options {
            lease: Duration::from_secs(3),
            grace: Duration::from_secs(2),
            request_timeout: Duration::from_secs(1),
            safety_poll: Duration::from_hours(1),
            ..Options::default()
        },
    );
    let id = post(
        &t,
        account,
        &["a slow upload"],
        vec![vec![(video_id, None)]],
    )
    .await;
    p.posted(id).await;
    p.stop().await;
    assert_eq!(fake.count("POST", "/2/tweets"), 1);
    let v = &fake.media()[0];
    assert_eq!(v.sha256.as_deref(), Some(&*hex(&video)));
}
