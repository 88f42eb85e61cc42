//! The publisher against a real PostgreSQL and the fake X over HTTP: every outcome, many
//! publishers, crashes.
// Tests and benchmarks stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::time::Duration;

use chirp_credentials::{Refresh, Why};
use chirp_fake_x::{FakeConfig, FakeX, Fault};
use chirp_publisher::{self as publisher, Event, Options, RetryPolicy};
use chirp_store::accounts;
use chirp_store::posts::{self, Actor};
use chirp_testing::publisher::{Running, T};
use chirp_testing::{TestDb, fresh_db};
use chrono::Utc;
use tokio::sync::{mpsc, watch};

fn fast_options() -> Options {
    Options {
        lease: Duration::from_secs(5),
        // Only NOTIFY (or a due time) may wake the publisher in these tests.
        safety_poll: Duration::from_hours(1),
        policy: RetryPolicy {
            max_attempts: 3,
            base: chrono::Duration::milliseconds(50),
            cap: chrono::Duration::seconds(1),
        },
        ..Options::default()
    }
}

use chirp_testing::with_account as setup;

async fn schedule(t: &TestDb, account: i32, text: &str, at: chrono::DateTime<Utc>) -> i32 {
    let mut c = t.client().await;
    posts::create(&mut c, Actor("test"), account, text, Some(at))
        .await
        .unwrap()
        .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_on_time_never_before_and_audits() {
    let (t, fake, account) = setup(FakeConfig::default()).await;
    let mut p = Running::start(&t.db, &fake, fast_options(), Duration::from_secs(5));
    p.until(|e| matches!(e, Event::Waiting { .. })).await;
    let at = Utc::now() + chrono::Duration::seconds(2);
    let id = schedule(&t, account, "on time", at).await;
    let Event::Posted {
        remote_id: x_id, ..
    } = p
        .until(|e| matches!(e, Event::Posted { post, .. } if *post == id))
        .await
    else {
        unreachable!()
    };
    let reqs: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/2/tweets")
        .collect();
    assert_eq!(reqs.len(), 1);
    assert!(
        reqs[0].at >= at,
        "sent at {} before its time {}",
        reqs[0].at,
        at
    );
    let c = t.client().await;
    let post = posts::get(&c, id).await.unwrap();
    assert_eq!(post.status, chirp_core::Status::Posted);
    assert_eq!(post.x_tweet_id.as_deref(), Some(x_id.as_str()));
    assert_eq!(fake.posts()[0].id, x_id);
    let h = posts::history(&c, id).await.unwrap();
    let steps: Vec<_> = h.iter().map(|e| e.to.clone().unwrap_or_default()).collect();
    assert_eq!(steps, ["scheduled", "publishing", "posted"]);
    assert!(h[2].actor.starts_with("publisher:"), "{}", h[2].actor);
    assert_eq!(
        h[2].detail.as_deref(),
        Some(format!("x_tweet_id {x_id}").as_str())
    );
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_sql_insert_wakes_it_and_goes_out() {
    let (t, fake, account) = setup(FakeConfig::default()).await;
    let mut p = Running::start(&t.db, &fake, fast_options(), Duration::from_secs(5));
    p.until(|e| matches!(e, Event::Waiting { next: None }))
        .await;
    // The seed's own INSERT shape, with no time: due at once.
    let c = t.client().await;
    c.execute(
        "INSERT INTO posts (x_account_id, content, status, scheduled_at) VALUES ($1, 'raw sql', 'scheduled', NOW())",
        &[&account],
    )
    .await
    .unwrap();
    p.until(|e| matches!(e, Event::Posted { .. })).await;
    assert_eq!(fake.posts()[0].text, "raw sql");
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_errors_fail_with_xs_words_and_bad_text_never_reaches_x() {
    let (t, fake, account) = setup(FakeConfig::default()).await;
    let (access, _) = fake.issue_tokens();
    // Already on X: the duplicate 403.
    chirp_net::x::XClient::new(&fake.base_url(), Duration::from_secs(5))
        .create_post(
            &chirp_net::Secret::new(access),
            "said before",
            None,
            &[],
            None,
        )
        .await
        .unwrap();
    let dup = schedule(&t, account, "said before", Utc::now()).await;
    let c = t.client().await;
    let bad: i32 = c
        .query_one(
            "INSERT INTO posts (x_account_id, content, status, scheduled_at) VALUES ($1, $2, 'scheduled', now()) RETURNING id",
            &[&account, &"字".repeat(141)],
        )
        .await
        .unwrap()
        .get(0);
    let mut p = Running::start(&t.db, &fake, fast_options(), Duration::from_secs(5));
    let reason = p.failure(dup).await;
    assert_eq!(
        reason,
        "X refused it as a duplicate: You are not allowed to create a Tweet with duplicate content."
    );
    let reason = p.failure(bad).await;
    assert_eq!(
        reason,
        "not sent: the post is 282/280 weighted characters: shorten it by 2"
    );
    assert_eq!(
        fake.count("POST", "/2/tweets"),
        2,
        "the over-long post never reached X"
    );
    let post = posts::get(&c, dup).await.unwrap();
    assert_eq!(
        post.error_message.as_deref(),
        Some(
            "X refused it as a duplicate: You are not allowed to create a Tweet with duplicate content."
        )
    );
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_refreshes_once_and_sends() {
    let (t, fake, account) = setup(FakeConfig::default()).await;
    fake.expire_access_tokens();
    let id = schedule(&t, account, "after refresh", Utc::now()).await;
    let mut p = Running::start(&t.db, &fake, fast_options(), Duration::from_secs(5));
    p.until(|e| matches!(e, Event::Posted { post, .. } if *post == id))
        .await;
    assert_eq!(fake.refreshes(), 1);
    assert_eq!(fake.posts().len(), 1);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_holds_the_account_until_the_reset() {
    let (t, fake, account) = setup(FakeConfig::default()).await;
    fake.inject([Fault::RateLimited { reset_in: 2 }]);
    let a = schedule(&t, account, "first", Utc::now()).await;
    let mut p = Running::start(
        &t.db,
        &fake,
        Options {
            concurrency: 1,
            ..fast_options()
        },
        Duration::from_secs(5),
    );
    let Event::RateLimited { until, .. } =
        p.until(|e| matches!(e, Event::RateLimited { .. })).await
    else {
        unreachable!()
    };
    let b = schedule(&t, account, "second", Utc::now()).await;
    p.until(|e| matches!(e, Event::Posted { post, .. } if *post == a))
        .await;
    p.until(|e| matches!(e, Event::Posted { post, .. } if *post == b))
        .await;
    for r in fake
        .requests()
        .iter()
        .filter(|r| r.path == "/2/tweets" && r.status == 201)
    {
        assert!(
            r.at >= until,
            "a post went out at {} before the reset {}",
            r.at,
            until
        );
    }
    assert_eq!(fake.posts().len(), 2);
    // A rate limit is not a failed attempt.
    let c = t.client().await;
    assert_eq!(posts::get(&c, a).await.unwrap().attempts, 1);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_outcomes_are_reconciled_never_resent() {
    let (t, fake, account) = setup(FakeConfig {
        hang_for: Duration::from_secs(30),
        ..FakeConfig::default()
    })
    .await;
    // In order: created then 503; created then no answer; 503 without creating.
    fake.inject([
        Fault::StatusAfterRecord(503),
        Fault::HangAfterRecord,
        Fault::Status(502),
    ]);
    let mut p = Running::start(
        &t.db,
        &fake,
        Options {
            concurrency: 1,
            ..fast_options()
        },
        Duration::from_secs(2),
    );
    let ids = [
        // X returns this with a t.co link and `&amp;`: still recognised.
        schedule(
            &t,
            account,
            "five oh three after https://example.com/a/long/path & more",
            Utc::now(),
        )
        .await,
        schedule(
            &t,
            account,
            "hung after",
            Utc::now() + chrono::Duration::milliseconds(1),
        )
        .await,
        schedule(
            &t,
            account,
            "five oh two before",
            Utc::now() + chrono::Duration::milliseconds(2),
        )
        .await,
    ];
    for id in ids {
        p.until(|e| matches!(e, Event::Posted { post, .. } if *post == id))
            .await;
    }
    let mut found: Vec<_> = p
        .seen
        .iter()
        .filter_map(|e| match e {
            Event::Reconciled { post, found } => Some((*post, found.is_some())),
            _ => None,
        })
        .collect();
    // Back-offs are jittered: the three are looked for in any order.
    found.sort_unstable();
    let mut want = vec![(ids[0], true), (ids[1], true), (ids[2], false)];
    want.sort_unstable();
    assert_eq!(found, want);
    let texts: Vec<String> = fake.posts().into_iter().map(|p| p.text).collect();
    assert_eq!(texts.len(), 3, "each exactly once: {texts:?}");
    assert_eq!(
        fake.count("POST", "/2/tweets"),
        4,
        "only the one X never created was sent again"
    );
    // The x ids in the database are the ones X has.
    let c = t.client().await;
    for (id, fp) in ids.iter().zip(fake.posts()) {
        assert_eq!(posts::get(&c, *id).await.unwrap().x_tweet_id, Some(fp.id));
    }
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_attempt_limit_fails_clearly_and_retry_sends_it() {
    let (t, fake, account) = setup(FakeConfig::default()).await;
    fake.inject([Fault::Status(503), Fault::Status(503), Fault::Status(503)]);
    let id = schedule(&t, account, "unlucky", Utc::now()).await;
    let mut p = Running::start(&t.db, &fake, fast_options(), Duration::from_secs(5));
    let reason = p.failure(id).await;
    assert_eq!(
        reason,
        "X never confirmed it in 3 attempts, and it is not on the account's timeline"
    );
    assert_eq!(
        fake.count("POST", "/2/tweets"),
        3,
        "never retried past the limit"
    );
    assert!(fake.posts().is_empty());
    // A person asks again: it goes out.
    let mut c = t.client().await;
    posts::retry(&mut c, Actor("test"), id).await.unwrap();
    p.until(|e| matches!(e, Event::Posted { post, .. } if *post == id))
        .await;
    assert_eq!(fake.posts().len(), 1);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_posts_two_publishers_each_exactly_once() {
    let (t, fake, account) = setup(FakeConfig {
        posts_per_window: 1_000_000,
        ..FakeConfig::default()
    })
    .await;
    let c = t.client().await;
    c.execute(
        "INSERT INTO posts (x_account_id, content, status, scheduled_at)
         SELECT $1, 'bulk post #' || g, 'scheduled', now() FROM generate_series(1, 1000) g",
        &[&account],
    )
    .await
    .unwrap();
    let p1 = Running::start(&t.db, &fake, fast_options(), Duration::from_secs(5));
    let p2 = Running::start(&t.db, &fake, fast_options(), Duration::from_secs(5));
    let n = chirp_testing::wait_for_count(
        &t.db,
        "SELECT count(*) FROM posts WHERE status = 'posted'",
        1000,
        T,
    )
    .await;
    assert_eq!(n, 1000);
    let e1 = p1.stop().await;
    let e2 = p2.stop().await;
    let texts: HashSet<String> = fake.posts().into_iter().map(|p| p.text).collect();
    assert_eq!(texts.len(), 1000);
    assert_eq!(
        fake.count("POST", "/2/tweets"),
        1000,
        "no post reached X twice"
    );
    let posted = |ev: &[Event]| {
        ev.iter()
            .filter(|e| matches!(e, Event::Posted { .. }))
            .count()
    };
    assert_eq!(posted(&e1) + posted(&e2), 1000);
    assert!(
        posted(&e1) > 0 && posted(&e2) > 0,
        "both publishers took part"
    );
}

// ---- unknown outcomes: exact, frozen, and always ending ----

/// The post's status, X id and note, as stored.
async fn stored(t: &TestDb, id: i32) -> (String, Option<String>, Option<String>) {
    let p = posts::get(&t.client().await, id).await.unwrap();
    (p.status.to_string(), p.x_tweet_id, p.error_message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_posts_that_differ_only_in_their_link_keep_their_own_ids() {
    let (t, fake, account) = setup(FakeConfig::default()).await;
    let mut p = Running::start(&t.db, &fake, fast_options(), Duration::from_secs(5));
    let first = schedule(
        &t,
        account,
        "launch notes https://example.com/1",
        Utc::now(),
    )
    .await;
    p.until(|e| matches!(e, Event::Posted { post, .. } if *post == first))
        .await;
    // The second one is refused with a 503 and never created.
    fake.inject([Fault::Status(503)]);
    let second = schedule(
        &t,
        account,
        "launch notes https://example.org/2",
        Utc::now(),
    )
    .await;
    p.until(|e| matches!(e, Event::Posted { post, .. } if *post == second))
        .await;
    p.stop().await;
    let on_x = fake.posts();
    assert_eq!(on_x.len(), 2, "the second was sent after the 503: {on_x:?}");
    let (_, a, _) = stored(&t, first).await;
    let (_, b, _) = stored(&t, second).await;
    assert_eq!(a.as_deref(), Some(on_x[0].id.as_str()));
    assert_eq!(
        b.as_deref(),
        Some(on_x[1].id.as_str()),
        "not the first post's id"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_that_cannot_be_read_is_reconciled_not_resent() {
    let (t, fake, account) = setup(FakeConfig::default()).await;
    fake.inject([Fault::GarbledAfterRecord]);
    let mut p = Running::start(&t.db, &fake, fast_options(), Duration::from_secs(5));
    let id = schedule(&t, account, "the answer was garbled", Utc::now()).await;
    p.until(|e| matches!(e, Event::Posted { post, .. } if *post == id))
        .await;
    p.stop().await;
    assert_eq!(fake.posts().len(), 1);
    assert_eq!(fake.count("POST", "/2/tweets"), 1, "never sent again");
    let (status, x_id, _) = stored(&t, id).await;
    assert_eq!(status, "posted");
    assert_eq!(x_id, Some(fake.posts()[0].id.clone()));
}

/// A post X creates but never answers (the client gives up after 1 s): its outcome is
/// unknown. Returns the database, the fake, the running publisher and the post.
async fn sent_without_answer(cfg: FakeConfig, text: &str) -> (TestDb, FakeX, Running, i32) {
    let (t, fake, account) = setup(FakeConfig {
        hang_for: Duration::from_secs(30),
        ..cfg
    })
    .await;
    fake.inject([Fault::HangAfterRecord]);
    let p = Running::start(&t.db, &fake, fast_options(), Duration::from_secs(1));
    let id = schedule(&t, account, text, Utc::now()).await;
    (t, fake, p, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_after_an_unknown_outcome_means_posted_not_failed() {
    // X's timeline lags: the post sent without an answer is not found, the resend is
    // refused as a duplicate, and that proves it is on X.
    let (t, fake, mut p, id) = sent_without_answer(
        FakeConfig {
            timeline_lag: Duration::from_hours(1),
            ..FakeConfig::default()
        },
        "no answer, then a duplicate",
    )
    .await;
    p.until(|e| matches!(e, Event::PostedWithoutId { post, .. } if *post == id))
        .await;
    p.stop().await;
    assert_eq!(fake.posts().len(), 1);
    let (status, x_id, note) = stored(&t, id).await;
    assert_eq!(status, "posted");
    assert_eq!(x_id, None);
    assert!(note.unwrap().starts_with("on X, id unknown"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_while_reconciling_refreshes_and_finds_the_post() {
    let (t, fake, mut p, id) =
        sent_without_answer(FakeConfig::default(), "reconciled with a fresh token").await;
    p.until(|e| matches!(e, Event::Retrying { post, .. } if *post == id))
        .await;
    // X now refuses the access token (it expired early, or was revoked and reissued).
    fake.expire_access_tokens();
    p.until(|e| matches!(e, Event::Posted { post, .. } if *post == id))
        .await;
    p.stop().await;
    assert!(fake.refreshes() >= 1);
    assert_eq!(fake.posts().len(), 1);
    let (status, x_id, _) = stored(&t, id).await;
    assert_eq!(
        (status.as_str(), x_id),
        ("posted", Some(fake.posts()[0].id.clone()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_timeline_ends_instead_of_looping() {
    let (_t, fake, mut p, id) = sent_without_answer(
        FakeConfig {
            timeline_status: Some(500),
            ..FakeConfig::default()
        },
        "X cannot show its timeline",
    )
    .await;
    let why = p.failure(id).await;
    p.stop().await;
    assert!(why.starts_with("not known whether it is on X"), "{why}");
    assert_eq!(
        fake.posts().len(),
        1,
        "never sent again while X could not be checked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_outcome_is_unknown_the_post_cannot_be_changed() {
    let (t, fake, mut p, id) = sent_without_answer(FakeConfig::default(), "what was sent").await;
    p.until(|e| matches!(e, Event::Retrying { post, .. } if *post == id))
        .await;
    // Hold the queue: nothing reconciles while we try to change it.
    p.stop().await;
    let mut c = t.client().await;
    let edit = posts::edit(&mut c, Actor("test"), id, "something else").await;
    let unschedule = posts::unschedule(&mut c, Actor("test"), id).await;
    let delete = posts::delete(&mut c, Actor("test"), id).await;
    for r in [edit, unschedule, delete] {
        let e = r.unwrap_err().to_string();
        assert!(e.contains("its last send may have reached X"), "{e}");
    }
    // Moving its time is fine: X is checked before any resend.
    posts::schedule(&mut c, Actor("test"), id, Utc::now())
        .await
        .unwrap();
    let mut p = Running::start(&t.db, &fake, fast_options(), Duration::from_secs(1));
    p.until(|e| matches!(e, Event::Posted { post, .. } if *post == id))
        .await;
    p.stop().await;
    // X and the database agree.
    let on_x = fake.posts();
    assert_eq!(on_x.len(), 1);
    let post = posts::get(&c, id).await.unwrap();
    assert_eq!(post.content, on_x[0].text);
    assert_eq!(post.x_tweet_id, Some(on_x[0].id.clone()));
}

/// A network whose adapter has a bug: every send panics.
struct Panicking;

impl chirp_net::Network for Panicking {
    fn name(&self) -> &'static str {
        "X"
    }
    fn capabilities(&self) -> chirp_net::Capabilities {
        chirp_net::Capabilities {
            idempotency_key: false,
            threads: true,
            max_media: 0,
        }
    }
    fn publish<'a>(
        &'a self,
        _token: &'a chirp_net::Secret,
        _part: chirp_net::Part<'a>,
        _deadline: std::time::Instant,
    ) -> chirp_net::network::BoxFuture<'a, Result<chirp_net::Sent, chirp_core::SendError>> {
        Box::pin(async { panic!("a bug in an adapter") })
    }
    fn upload_media<'a>(
        &'a self,
        _token: &'a chirp_net::Secret,
        _upload: chirp_net::Upload<'a>,
        _chunks: &'a mut dyn chirp_net::Chunks,
        _deadline: std::time::Instant,
    ) -> chirp_net::network::BoxFuture<'a, Result<chirp_net::Uploaded, chirp_core::SendError>> {
        Box::pin(async { Err(chirp_core::SendError::Refused("no media".into())) })
    }
    fn find_sent<'a>(
        &'a self,
        _token: &'a chirp_net::Secret,
        _account: chirp_net::RemoteAccount<'a>,
        _part: chirp_net::Part<'a>,
        _since: chrono::DateTime<Utc>,
        _deadline: std::time::Instant,
    ) -> chirp_net::network::BoxFuture<'a, Result<chirp_net::Lookup, chirp_core::SendError>> {
        Box::pin(async { Ok(chirp_net::Lookup::Absent) })
    }
    fn delete<'a>(
        &'a self,
        _token: &'a chirp_net::Secret,
        _id: &'a str,
        _deadline: std::time::Instant,
    ) -> chirp_net::network::BoxFuture<'a, Result<(), chirp_core::SendError>> {
        Box::pin(async { Ok(()) })
    }
    fn metrics<'a>(
        &'a self,
        _token: &'a chirp_net::Secret,
        _ids: &'a [String],
        _private: bool,
        _deadline: std::time::Instant,
    ) -> chirp_net::network::BoxFuture<'a, Result<chirp_net::MetricsRead, chirp_core::SendError>>
    {
        Box::pin(async { Ok(chirp_net::MetricsRead::default()) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_that_panics_is_said_and_handed_back() {
    let (t, fake, account) = setup(FakeConfig::default()).await;
    let (tx, mut events) = mpsc::unbounded_channel();
    let (stop, stop_rx) = watch::channel(publisher::Stop::No);
    let task = tokio::spawn(publisher::run(
        t.db.pg.clone(),
        chirp_net::Networks::of([(
            chirp_core::Network::X,
            std::sync::Arc::new(Panicking) as std::sync::Arc<dyn chirp_net::Network>,
            chirp_testing::networks(&fake, Duration::from_secs(5)).tokens(chirp_core::Network::X),
        )]),
        chirp_testing::credentials(&fake, Duration::from_secs(5)),
        fast_options(),
        tx,
        stop_rx,
    ));
    let id = schedule(&t, account, "meets a bug", Utc::now()).await;
    let reason = loop {
        match tokio::time::timeout(T, events.recv())
            .await
            .unwrap()
            .unwrap()
        {
            Event::Crashed { post, reason } if post == id => break reason,
            _ => {}
        }
    };
    stop.send(publisher::Stop::Finish).unwrap();
    task.await.unwrap();
    assert!(reason.contains("a bug in an adapter"), "{reason}");
    let p = posts::get(&t.client().await, id).await.unwrap();
    assert_eq!(
        p.status.to_string(),
        "scheduled",
        "handed back, not lost in 'publishing'"
    );
    assert!(p.outcome_unknown, "checked on X before any resend");
    assert!(p.error_message.unwrap().contains("the attempt crashed"));
}

/// The events a stopped publisher saw that say a post left its hands mid-attempt.
fn taken_over(events: &[Event]) -> Vec<&Event> {
    events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Rescued { .. } | Event::Abandoned { .. } | Event::LeaseLost { .. }
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_that_hangs_longer_than_the_lease_reaches_x_once() {
    // X creates the post at once but answers only after 4 s: twice the 2 s lease. A second
    // publisher waits to take over anything whose lease runs out.
    let (t, fake, account) = setup(FakeConfig {
        post_latency: Duration::from_secs(4),
        ..FakeConfig::default()
    })
    .await;
    let opts = Options {
        lease: Duration::from_secs(2),
        ..fast_options()
    };
    let x_timeout = Duration::from_secs(1);
    let a = Running::start(&t.db, &fake, opts.clone(), x_timeout);
    let b = Running::start(&t.db, &fake, opts, x_timeout);
    let id = schedule(&t, account, "X is slow today", Utc::now()).await;
    assert!(
        chirp_testing::wait_posted(&t.db, id, T).await,
        "{:#?}",
        a.seen
    );
    let seen = [a.stop().await, b.stop().await].concat();
    assert_eq!(fake.count("POST", "/2/tweets"), 1, "one send reached X");
    assert_eq!(fake.posts().len(), 1);
    let (status, x_id, _) = stored(&t, id).await;
    assert_eq!(status, "posted");
    assert_eq!(x_id, Some(fake.posts()[0].id.clone()));
    assert!(
        !seen.iter().any(|e| matches!(e, Event::Failed { .. })),
        "{seen:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_longer_than_its_lease_keeps_it_by_heartbeat() {
    // One attempt of about 2.4 s under a 2 s lease: reading the timeline (0.8 s) gets a 401,
    // the token is refreshed, the timeline read again (0.8 s), then the post sent (0.8 s).
    // Every request fits its 1 s timeout; only the heartbeat keeps the post from being
    // taken over by the second publisher while the attempt goes on.
    let (t, fake, account) = setup(FakeConfig {
        timeline_latency: Duration::from_millis(800),
        post_latency: Duration::from_millis(800),
        ..FakeConfig::default()
    })
    .await;
    let id = {
        let mut c = t.client().await;
        let id = posts::create(&mut c, Actor("test"), account, "a long attempt", None)
            .await
            .unwrap()
            .id;
        // The last send's outcome is unknown: the next attempt looks on X first.
        c.execute(
            "UPDATE posts SET status = 'scheduled', scheduled_at = now(), attempts = 1,
                    needs_reconcile = true, sent_content = content,
                    attempt_started_at = now() - interval '1 minute'
             WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
        id
    };
    fake.expire_access_tokens();
    let opts = Options {
        lease: Duration::from_secs(2),
        ..fast_options()
    };
    let x_timeout = Duration::from_secs(1);
    let b = Running::start(&t.db, &fake, opts.clone(), x_timeout);
    let a = Running::start(&t.db, &fake, opts, x_timeout);
    assert!(chirp_testing::wait_posted(&t.db, id, T).await);
    let seen = [a.stop().await, b.stop().await].concat();
    assert_eq!(taken_over(&seen), Vec::<&Event>::new(), "{seen:#?}");
    assert_eq!(fake.count("POST", "/2/tweets"), 1);
    assert_eq!(fake.refreshes(), 1);
    let attempts: i32 = t
        .client()
        .await
        .query_one("SELECT attempts FROM posts WHERE id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(attempts, 2, "one claim did it all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keeper_refreshes_ahead_of_expiry_once_per_lifetime() {
    // 4-second tokens and nothing to send: the keeper alone keeps the token fresh, a quarter
    // of its lifetime before it expires, so a send would never wait for a refresh.
    let fake = FakeX::start(
        FakeConfig {
            token_lifetime: Duration::from_secs(4),
            ..FakeConfig::default()
        },
        0,
    )
    .await
    .unwrap();
    let t = fresh_db().await;
    let (account, _, _) =
        chirp_testing::connect_account(&t.db, &fake, chrono::Duration::seconds(4)).await;
    let mut p = Running::start(&t.db, &fake, fast_options(), Duration::from_secs(2));
    let mut expiries = Vec::new();
    while expiries.len() < 3 {
        if let Event::Token(Refresh::Refreshed {
            account: a,
            expires_at,
            why,
        }) = p
            .until(|e| matches!(e, Event::Token(_)) && !p_seen(e, &expiries))
            .await
        {
            assert_eq!((a, why), (account, Why::Ahead));
            let left = expires_at.unwrap() - Utc::now();
            assert!(left > chrono::Duration::seconds(3), "{left}");
            expiries.push(expires_at.unwrap());
        }
    }
    let st = accounts::status(&t.client().await).await.unwrap().unwrap();
    p.stop().await;
    assert_eq!(
        fake.refreshes(),
        3,
        "one refresh per lifetime, by one keeper"
    );
    assert!(st.connected && st.refreshes >= 3, "{st:?}");
}

/// Whether `e` is a refresh already counted (its new expiry is among `seen`).
fn p_seen(e: &Event, seen: &[chrono::DateTime<Utc>]) -> bool {
    matches!(e, Event::Token(Refresh::Refreshed { expires_at: Some(x), .. }) if seen.contains(x))
}

/// A thread of `n` parts, due now.
async fn thread(t: &TestDb, account: i32, label: &str, n: usize) -> i32 {
    let parts: Vec<String> = (1..=n).map(|k| format!("{label} {k}/{n}")).collect();
    let mut c = t.client().await;
    posts::create_thread(&mut c, Actor("test"), account, &parts, Some(Utc::now()))
        .await
        .unwrap()
        .id
}

/// The X ids chirp stored for a post's parts, in order.
async fn stored_parts(t: &TestDb, id: i32) -> Vec<Option<String>> {
    posts::parts(&t.client().await, id)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.remote_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_five_part_thread_goes_out_as_one_chain_each_id_stored() {
    let (t, fake, account) = setup(FakeConfig::default()).await;
    let mut p = Running::start(&t.db, &fake, fast_options(), Duration::from_secs(5));
    let id = thread(&t, account, "chain", 5).await;
    p.until(|e| matches!(e, Event::Posted { post, .. } if *post == id))
        .await;
    let seen = p.stop().await;
    let ids = chirp_testing::thread_chain(&fake, "chain", 5);
    assert_eq!(
        stored_parts(&t, id).await,
        ids.iter().cloned().map(Some).collect::<Vec<_>>()
    );
    let parts: Vec<usize> = seen
        .iter()
        .filter_map(|e| match e {
            Event::PartPosted { post, part, .. } if *post == id => Some(*part),
            _ => None,
        })
        .collect();
    assert_eq!(
        parts,
        vec![1, 2, 3, 4, 5],
        "each id stored before the next part"
    );
    let post = posts::get(&t.client().await, id).await.unwrap();
    assert_eq!(
        (post.status, post.parts, post.parts_sent),
        (chirp_core::Status::Posted, 5, 5)
    );
    assert_eq!(post.x_tweet_id, Some(ids[0].clone()));
    // The audit says when each part went out.
    let audited: i64 = t
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM post_events WHERE post_id = $1 AND event = 'part'",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(audited, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_outcome_on_part_3_is_reconciled_not_resent() {
    let (t, fake, account) = setup(FakeConfig {
        hang_for: Duration::from_secs(30),
        ..FakeConfig::default()
    })
    .await;
    // Parts 1 and 2 are answered; part 3 is created but never answered.
    fake.inject([Fault::Pass, Fault::Pass, Fault::HangAfterRecord]);
    let mut p = Running::start(&t.db, &fake, fast_options(), Duration::from_secs(1));
    let id = thread(&t, account, "unknown", 5).await;
    p.until(|e| matches!(e, Event::Reconciled { post, found: Some(_) } if *post == id))
        .await;
    p.until(|e| matches!(e, Event::Posted { post, .. } if *post == id))
        .await;
    p.stop().await;
    let ids = chirp_testing::thread_chain(&fake, "unknown", 5);
    assert_eq!(
        stored_parts(&t, id).await,
        ids.into_iter().map(Some).collect::<Vec<_>>()
    );
    assert_eq!(fake.count("POST", "/2/tweets"), 5, "no part sent twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_reply_fails_at_that_part_keeps_the_earlier_ids_and_retry_resumes() {
    let (t, fake, account) = setup(FakeConfig {
        refuse_replies: true,
        ..FakeConfig::default()
    })
    .await;
    let mut p = Running::start(&t.db, &fake, fast_options(), Duration::from_secs(5));
    let id = thread(&t, account, "refused", 3).await;
    let why = p.failure(id).await;
    assert!(
        why.starts_with("part 2/3: ") && why.contains("Reply to this conversation is not allowed"),
        "{why}"
    );
    let kept = stored_parts(&t, id).await;
    assert_eq!(kept[0], Some(fake.posts()[0].id.clone()));
    assert_eq!(&kept[1..], &[None, None]);
    let post = posts::get(&t.client().await, id).await.unwrap();
    assert_eq!(post.progress().as_deref(), Some("1/3 sent"));
    // What is on X cannot be edited here.
    let err = posts::edit(&mut t.client().await, Actor("test"), id, "changed")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("first part is on X already"),
        "{err}"
    );
    // X lets replies through again; retry resumes at part 2.
    fake.configure(|c| c.refuse_replies = false);
    posts::retry(&mut t.client().await, Actor("test"), id)
        .await
        .unwrap();
    p.until(|e| matches!(e, Event::Posted { post, .. } if *post == id))
        .await;
    p.stop().await;
    let ids = chirp_testing::thread_chain(&fake, "refused", 3);
    assert_eq!(
        stored_parts(&t, id).await,
        ids.into_iter().map(Some).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_thread_split_off_ends_at_its_sent_parts_and_the_rest_goes_out_as_a_new_thread() {
    let (t, fake, account) = setup(FakeConfig {
        refuse_replies: true,
        ..FakeConfig::default()
    })
    .await;
    let mut p = Running::start(&t.db, &fake, fast_options(), Duration::from_secs(5));
    let id = thread(&t, account, "split", 4).await;
    p.failure(id).await;
    let first = fake.posts()[0].id.clone();
    let (old, new) = posts::split_off(&mut t.client().await, Actor("test"), id)
        .await
        .unwrap();
    // The stopped thread is now what is on X: one part, posted.
    assert_eq!(
        (old.status, old.parts, old.parts_sent),
        (chirp_core::Status::Posted, 1, 1)
    );
    assert_eq!(stored_parts(&t, id).await, vec![Some(first.clone())]);
    // The rest is a draft of its own, in order, on the same account.
    assert_eq!(
        (new.status, new.x_account_id),
        (chirp_core::Status::Draft, account)
    );
    let texts: Vec<String> = posts::parts(&t.client().await, new.id)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.content)
        .collect();
    assert_eq!(texts, ["split 2/4", "split 3/4", "split 4/4"]);
    let why = posts::history(&t.client().await, id).await.unwrap();
    assert!(
        why.last().and_then(|e| e.detail.as_deref())
            == Some(&*format!(
                "ended at its 1 part(s) on X; the 3 unsent part(s) became post {}",
                new.id
            )),
        "{why:?}"
    );
    // Splitting again is refused: nothing is left unsent.
    assert!(
        posts::split_off(&mut t.client().await, Actor("test"), id)
            .await
            .is_err()
    );
    // The new thread goes out as a chain of its own, starting a new conversation.
    fake.configure(|c| c.refuse_replies = false);
    posts::schedule(&mut t.client().await, Actor("test"), new.id, Utc::now())
        .await
        .unwrap();
    p.until(|e| matches!(e, Event::Posted { post, .. } if *post == new.id))
        .await;
    p.stop().await;
    let on_x = fake.posts();
    assert_eq!(on_x.len(), 4, "every part on X once");
    assert_eq!(on_x[1].text, "split 2/4");
    assert_eq!(on_x[1].reply_to, None, "the new thread starts afresh");
    assert_eq!(on_x[2].reply_to, Some(on_x[1].id.clone()));
    assert_eq!(on_x[3].reply_to, Some(on_x[2].id.clone()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpublishing_a_thread_deletes_every_part_last_first_and_can_be_repeated() {
    let (t, fake, account) = setup(FakeConfig::default()).await;
    let mut p = Running::start(&t.db, &fake, fast_options(), Duration::from_secs(5));
    let id = thread(&t, account, "unpublish", 3).await;
    p.until(|e| matches!(e, Event::Posted { post, .. } if *post == id))
        .await;
    p.stop().await;
    let ids = chirp_testing::thread_chain(&fake, "unpublish", 3);
    let networks = chirp_testing::networks(&fake, Duration::from_secs(5));
    let credentials = chirp_testing::credentials(&fake, Duration::from_secs(5));
    // An earlier run deleted part 3 on X and died before it could say so.
    let token = credentials.token(&t.db, account).await.unwrap();
    let x = chirp_net::x::XClient::new(&fake.base_url(), Duration::from_secs(5));
    assert!(x.delete_post(&token, &ids[2], None).await.unwrap());
    let post = chirp_publisher::unpublish::unpublish(
        &t.db,
        &networks,
        &credentials,
        id,
        Actor("test"),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert!(post.unpublished_at.is_some());
    assert!(
        fake.posts().iter().all(|p| p.deleted),
        "every part gone from X"
    );
    let parts = posts::parts(&t.client().await, id).await.unwrap();
    assert!(
        parts.iter().all(|p| p.remote_deleted_at.is_some()),
        "{parts:?}"
    );
    // Last part first, each recorded as it went.
    let order: Vec<String> = t
        .client()
        .await
        .query(
            "SELECT detail FROM post_events WHERE post_id = $1 AND detail LIKE '%deleted on X'
             ORDER BY id",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        order,
        [
            "part 3/3 deleted on X",
            "part 2/3 deleted on X",
            "part 1/3 deleted on X",
            "every part deleted on X"
        ]
    );
    // Again: nothing left to delete, nothing asked of X, still unpublished.
    let deletes = fake.count("DELETE", "/2/tweets/:id");
    let again = chirp_publisher::unpublish::unpublish(
        &t.db,
        &networks,
        &credentials,
        id,
        Actor("test"),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(again.unpublished_at, post.unpublished_at);
    assert_eq!(fake.count("DELETE", "/2/tweets/:id"), deletes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_account_is_held_on_its_own_while_the_others_keep_posting() {
    // X lets each user create two posts per window.
    let fake = FakeX::start(
        FakeConfig {
            posts_per_window: 2,
            ..FakeConfig::default()
        },
        0,
    )
    .await
    .unwrap();
    let t = fresh_db().await;
    let hour = chrono::Duration::hours(1);
    let (busy, _, _) = chirp_testing::connect_account_as(&t.db, &fake, "2001", "busy", hour).await;
    let (gone, access, refresh) =
        chirp_testing::connect_account_as(&t.db, &fake, "3001", "gone", hour).await;
    let (fine, _, _) = chirp_testing::connect_account_as(&t.db, &fake, "4001", "fine", hour).await;
    // The user removed chirp from "gone" at X: its tokens no longer work.
    fake.revoke(&[&access, &refresh]);
    // One text for two accounts (X's duplicate rule is per account: both go out), then more.
    let mut c = t.client().await;
    let both = posts::create_for_accounts(
        &mut c,
        Actor("test"),
        &[busy, fine],
        &["hello from both".into()],
        Some(Utc::now()),
    )
    .await
    .unwrap();
    let busy_more = [
        schedule(&t, busy, "busy 2", Utc::now()).await,
        schedule(&t, busy, "busy 3", Utc::now()).await,
    ];
    let gone_post = schedule(&t, gone, "never mind", Utc::now()).await;
    let fine_more = schedule(&t, fine, "fine 2", Utc::now()).await;
    let mut p = Running::start(
        &t.db,
        &fake,
        Options {
            concurrency: 1,
            ..fast_options()
        },
        Duration::from_secs(5),
    );
    p.until(|e| matches!(e, Event::RateLimited { account, .. } if *account == busy))
        .await;
    p.until(|e| matches!(e, Event::Token(Refresh::Refused { account, .. }) if *account == gone))
        .await;
    for id in [both[1].id, fine_more] {
        p.until(|e| matches!(e, Event::Posted { post, .. } if *post == id))
            .await;
    }
    p.stop().await;
    // Each post reached X under its own account's author, once.
    let authors: Vec<(String, String)> = fake
        .posts()
        .into_iter()
        .map(|p| (p.user_id, p.text))
        .collect();
    for (user, text) in [
        ("2001", "hello from both"),
        ("4001", "hello from both"),
        ("4001", "fine 2"),
    ] {
        assert_eq!(
            authors
                .iter()
                .filter(|(u, t)| u == user && t == text)
                .count(),
            1,
            "{user} {text}: {authors:?}"
        );
    }
    assert!(authors.iter().all(|(u, _)| u != "3001"), "{authors:?}");
    // busy: two posts in its window, the third held (not failed); gone: waiting to reconnect.
    let c = t.client().await;
    let mut held = Vec::new();
    for id in [busy_more[0], busy_more[1]] {
        held.push(posts::get(&c, id).await.unwrap().status);
    }
    assert_eq!(
        held.iter()
            .filter(|s| **s == chirp_core::Status::Posted)
            .count(),
        1,
        "{held:?}"
    );
    assert!(held.contains(&chirp_core::Status::Scheduled), "{held:?}");
    let waiting = posts::get(&c, gone_post).await.unwrap();
    assert_eq!(waiting.status, chirp_core::Status::Scheduled);
    let st = accounts::status_by_id(&c, gone).await.unwrap();
    assert!(st.needs_reconnect, "{st:?}");
    assert!(accounts::status_by_id(&c, fine).await.unwrap().connected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_waiting_for_an_account_goes_out_as_soon_as_it_is_connected() {
    let fake = FakeX::start(FakeConfig::default(), 0).await.unwrap();
    let t = fresh_db().await;
    // Written before any account is connected: it waits on chirp's local account.
    let id = {
        let mut c = t.client().await;
        let local = accounts::default_account(&mut c).await.unwrap();
        posts::create(
            &mut c,
            Actor("test"),
            local,
            "waited for you",
            Some(Utc::now()),
        )
        .await
        .unwrap()
        .id
    };
    // The publisher polls only once an hour here: only a notification can wake it.
    let mut p = Running::start(&t.db, &fake, fast_options(), Duration::from_secs(5));
    p.until(|e| matches!(e, Event::Waiting { next: None }))
        .await;
    chirp_testing::connect_account(&t.db, &fake, chrono::Duration::hours(1)).await;
    p.until(|e| matches!(e, Event::Posted { post, .. } if *post == id))
        .await;
    p.stop().await;
    assert_eq!(fake.posts().len(), 1);
}
