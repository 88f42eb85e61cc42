//! Reading how posts did, against a real PostgreSQL and the fake X over HTTP: batches of 100,
//! the read schedule, private numbers for recent posts only, deleted posts, rate limits; and
//! an account out of credits, held and resumed.
// Tests stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chirp_fake_x::{FakeConfig, FakeMetrics, FakeX, Fault};
use chirp_publisher::metrics::{Reader, Summary};
use chirp_publisher::{Event, Options};
use chirp_store::analytics;
use chirp_store::posts::{self, Actor};
use chirp_testing::TestDb;
use chirp_testing::publisher::Running;
use chrono::{DateTime, Utc};

const X_TIMEOUT: Duration = Duration::from_secs(5);

use chirp_testing::with_account as setup;

/// `n` posts on X and in chirp as posted `age` ago (so their first read is due when `age` is
/// over an hour), with numbers on X that tell them apart: (chirp id, X id).
async fn posted(
    t: &TestDb,
    fake: &FakeX,
    account: i32,
    n: usize,
    age: chrono::Duration,
) -> Vec<(i32, String)> {
    let mut c = t.client().await;
    let mut out = Vec::new();
    for i in 0..n {
        let text = format!("post {i} from {}", age.num_hours());
        let x_id = fake.seed_post("1001", &text);
        fake.set_metrics(
            &x_id,
            FakeMetrics {
                impressions: 100 + i as u64,
                likes: i as u64,
                reposts: 1,
                url_clicks: 2,
                ..FakeMetrics::default()
            },
        );
        let id = posts::create(&mut c, Actor("test"), account, &text, None)
            .await
            .unwrap()
            .id;
        c.execute(
            "UPDATE posts SET status = 'posted', x_tweet_id = $2, posted_at = now() - $3 * interval '1 second'
             WHERE id = $1",
            &[&id, &x_id, &(age.num_seconds() as f64)],
        )
        .await
        .unwrap();
        out.push((id, x_id));
    }
    out
}

async fn due_at(t: &TestDb, id: i32) -> (Option<DateTime<Utc>>, DateTime<Utc>) {
    let c = t.client().await;
    let r = c
        .query_one(
            "SELECT metrics_due_at, posted_at FROM posts WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    (r.get(0), r.get(1))
}

fn reader<'a>(
    t: &'a TestDb,
    networks: &'a chirp_net::Networks,
    credentials: &'a chirp_credentials::Credentials,
) -> Reader<'a> {
    Reader {
        db: &t.db,
        networks,
        credentials,
        timeout: X_TIMEOUT,
    }
}

/// A publisher (its collector with it) as these tests run it.
fn start(t: &TestDb, fake: &FakeX) -> Running {
    let opts = Options {
        lease: Duration::from_secs(5),
        safety_poll: Duration::from_hours(1),
        ..Options::default()
    };
    Running::start(&t.db, fake, opts, X_TIMEOUT)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_collector_reads_due_posts_100_at_a_time_and_schedules_the_next_read() {
    let (t, fake, account) = setup(FakeConfig::default()).await;
    let due = posted(&t, &fake, account, 150, chrono::Duration::hours(2)).await;
    // Posted ten minutes ago: not due for another 50 minutes.
    let fresh = posted(&t, &fake, account, 1, chrono::Duration::minutes(10)).await;
    let mut p = start(&t, &fake);
    let Event::MetricsRead(s) = p.until(|e| matches!(e, Event::MetricsRead(_))).await else {
        unreachable!()
    };
    p.stop().await;
    assert_eq!(s.read.get(&account), Some(&150), "{s:?}");
    // 150 posts: two requests, not 150 (and not a request for the post not due yet).
    assert_eq!(fake.count("GET", "/2/tweets"), 2);
    let c = t.client().await;
    let latest = analytics::latest(&c, &due.iter().map(|(id, _)| *id).collect::<Vec<_>>())
        .await
        .unwrap();
    assert_eq!(latest.len(), 150);
    let m = &latest[&due[7].0];
    assert_eq!((m.impressions, m.likes, m.reposts), (107, 7, 1));
    // Posted two hours ago, so recent: X's private numbers too.
    assert_eq!(m.url_clicks, Some(2));
    // The next read is a day after posting; the fresh post is still waiting for its first.
    let (next, posted_at) = due_at(&t, due[7].0).await;
    assert_eq!(next, Some(posted_at + chrono::Duration::hours(24)));
    let (next, posted_at) = due_at(&t, fresh[0].0).await;
    assert_eq!(next, Some(posted_at + chrono::Duration::hours(1)));
    assert!(analytics::history(&c, fresh[0].0).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_going_out_schedules_its_first_read_an_hour_later() {
    let (t, fake, account) = setup(FakeConfig::default()).await;
    let id = {
        let mut c = t.client().await;
        posts::create(&mut c, Actor("test"), account, "hello", Some(Utc::now()))
            .await
            .unwrap()
            .id
    };
    let mut p = start(&t, &fake);
    p.until(|e| matches!(e, Event::Posted { post, .. } if *post == id))
        .await;
    p.stop().await;
    let (next, posted_at) = due_at(&t, id).await;
    assert_eq!(next, Some(posted_at + chrono::Duration::hours(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_posts_get_public_numbers_and_a_deleted_post_is_marked() {
    let (t, fake, account) = setup(FakeConfig::default()).await;
    let recent = posted(&t, &fake, account, 1, chrono::Duration::hours(30)).await;
    let old = posted(&t, &fake, account, 1, chrono::Duration::days(40)).await;
    fake.age_post(&old[0].1, 40);
    // chirp thinks this one is 20 days old, X 31: X refuses its private numbers.
    let misjudged = posted(&t, &fake, account, 1, chrono::Duration::days(20)).await;
    fake.age_post(&misjudged[0].1, 31);
    let deleted = posted(&t, &fake, account, 1, chrono::Duration::hours(3)).await;
    fake.delete_on_x(&deleted[0].1);
    let networks = chirp_testing::networks(&fake, X_TIMEOUT);
    let credentials = chirp_testing::credentials(&fake, X_TIMEOUT);
    let c = t.client().await;
    let all = analytics::posted_since(&c, Some(account), Utc::now() - chrono::Duration::days(60))
        .await
        .unwrap();
    assert_eq!(all.len(), 4);
    let s = reader(&t, &networks, &credentials)
        .read(&all, false)
        .await
        .unwrap();
    assert_eq!(s.read.get(&account), Some(&3), "{s:?}");
    assert_eq!(s.gone, 1);
    assert!(s.problems.is_empty(), "{s:?}");
    let ids: Vec<i32> = [&recent, &old, &misjudged, &deleted]
        .iter()
        .map(|p| p[0].0)
        .collect();
    let latest = analytics::latest(&c, &ids).await.unwrap();
    assert_eq!(latest[&recent[0].0].url_clicks, Some(2));
    assert_eq!(latest[&old[0].0].url_clicks, None);
    assert_eq!(latest[&old[0].0].impressions, 100);
    assert_eq!(latest[&misjudged[0].0].url_clicks, None);
    assert!(!latest.contains_key(&deleted[0].0));
    let gone: Option<DateTime<Utc>> = c
        .query_one(
            "SELECT gone_from_x_at FROM posts WHERE id = $1",
            &[&deleted[0].0],
        )
        .await
        .unwrap()
        .get(0);
    assert!(gone.is_some());
    // A deleted post is not read again.
    let again = analytics::posted_since(&c, Some(account), Utc::now() - chrono::Duration::days(60))
        .await
        .unwrap();
    assert_eq!(again.len(), 3);
    // A read on demand keeps each post's schedule.
    let (next, posted_at) = due_at(&t, recent[0].0).await;
    assert_eq!(next, Some(posted_at + chrono::Duration::hours(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_postpones_the_accounts_reads_to_the_reset() {
    let (t, fake, account) = setup(FakeConfig {
        lookups_per_window: 1,
        ..FakeConfig::default()
    })
    .await;
    let due = posted(&t, &fake, account, 150, chrono::Duration::hours(2)).await;
    let networks = chirp_testing::networks(&fake, X_TIMEOUT);
    let credentials = chirp_testing::credentials(&fake, X_TIMEOUT);
    let taken = {
        let c = t.client().await;
        analytics::take_due(&c, 500, 600_000).await.unwrap()
    };
    assert_eq!(taken.len(), 150);
    let before = Utc::now();
    let s: Summary = reader(&t, &networks, &credentials)
        .read(&taken, true)
        .await
        .unwrap();
    assert_eq!(s.read.get(&account), Some(&100));
    assert_eq!(s.problems.len(), 1, "{s:?}");
    assert!(s.problems[0].contains("rate limit"), "{s:?}");
    // The fake's window is 15 minutes: the 50 unread wait for its reset, not for the hold.
    let c = t.client().await;
    let unread: Vec<Option<DateTime<Utc>>> = c
        .query(
            "SELECT metrics_due_at FROM posts p WHERE id = ANY($1)
               AND NOT EXISTS (SELECT 1 FROM post_analytics a WHERE a.post_id = p.id)",
            &[&due.iter().map(|(id, _)| *id).collect::<Vec<_>>()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(unread.len(), 50);
    for at in unread {
        let at = at.unwrap();
        assert!(at > before + chrono::Duration::minutes(14), "{at}");
        assert!(at <= before + chrono::Duration::minutes(16), "{at}");
    }
    assert_eq!(fake.count("GET", "/2/tweets"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_credits_holds_the_accounts_posts_until_resumed() {
    let (t, fake, account) = setup(FakeConfig::default()).await;
    fake.inject([Fault::OutOfCredits]);
    let id = {
        let mut c = t.client().await;
        posts::create(&mut c, Actor("test"), account, "first", Some(Utc::now()))
            .await
            .unwrap()
            .id
    };
    let mut p = start(&t, &fake);
    let Event::OutOfCredits { reason, .. } =
        p.until(|e| matches!(e, Event::OutOfCredits { .. })).await
    else {
        unreachable!()
    };
    assert!(reason.contains("out of credits"), "{reason}");
    let mut c = t.client().await;
    // Held, not failed, and the attempt does not count.
    let held = posts::get(&c, id).await.unwrap();
    assert_eq!(held.status.as_str(), "scheduled");
    assert_eq!(held.attempts, 0);
    let st = chirp_store::accounts::status_by_id(&c, account)
        .await
        .unwrap();
    assert!(st.out_of_credits_at.is_some());
    // Nothing of the account is taken while it is held (asked the way every publisher asks).
    let second = posts::create(&mut c, Actor("test"), account, "second", Some(Utc::now()))
        .await
        .unwrap()
        .id;
    let taken =
        chirp_store::publishing::claim(&c, "probe", "probe", 10, 5000, &[chirp_core::Network::X])
            .await
            .unwrap();
    assert!(taken.is_empty(), "{taken:?}");
    // Nor is anything due: publishers idle instead of looking again and again.
    let wake = chirp_store::publishing::next_wake(&c).await.unwrap();
    assert_eq!(wake.due_ms, None);
    assert_eq!(fake.posts().len(), 0);
    // Topped up: resume sends both at once, each once.
    assert_eq!(
        chirp_store::accounts::resume(&mut c, account)
            .await
            .unwrap(),
        Some(2)
    );
    // Sent side by side: they may come back in either order.
    let mut waiting = vec![id, second];
    while !waiting.is_empty() {
        if let Event::Posted { post, .. } = p
            .until(|e| matches!(e, Event::Posted { post, .. } if waiting.contains(post)))
            .await
        {
            waiting.retain(|p| *p != post);
        }
    }
    p.stop().await;
    let on_x: Vec<String> = fake.posts().into_iter().map(|p| p.text).collect();
    assert_eq!(on_x.len(), 2, "{on_x:?}");
    assert_eq!(
        chirp_store::accounts::resume(&mut c, account)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_out_of_credits_at_part_2_resumes_there_and_sends_part_1_once() {
    let (t, fake, account) = setup(FakeConfig::default()).await;
    fake.inject([Fault::Pass, Fault::OutOfCredits]);
    let parts: Vec<String> = (1..=3).map(|k| format!("thread {k}/3")).collect();
    let id = {
        let mut c = t.client().await;
        posts::create_thread(&mut c, Actor("test"), account, &parts, Some(Utc::now()))
            .await
            .unwrap()
            .id
    };
    let mut p = start(&t, &fake);
    p.until(|e| matches!(e, Event::OutOfCredits { .. })).await;
    assert_eq!(fake.posts().len(), 1);
    let mut c = t.client().await;
    chirp_store::accounts::resume(&mut c, account)
        .await
        .unwrap();
    p.until(|e| matches!(e, Event::Posted { post, .. } if *post == id))
        .await;
    p.stop().await;
    let on_x = fake.posts();
    let texts: Vec<&str> = on_x.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(texts, ["thread 1/3", "thread 2/3", "thread 3/3"]);
    // One chain: each part answers the one before.
    assert_eq!(on_x[1].reply_to.as_deref(), Some(on_x[0].id.as_str()));
    assert_eq!(on_x[2].reply_to.as_deref(), Some(on_x[1].id.as_str()));
}
