//! X's client against the fake X over real HTTP: every answer X gives maps to the right
//! error, and what X returns is read back as X returns it.
// Tests and benchmarks stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chirp_fake_x::{FakeConfig, FakeX, Fault};
use chirp_net::Secret;
use chirp_net::x::{XClient, XError};
use chrono::Utc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_maps_every_answer() {
    let fake = FakeX::start(
        FakeConfig {
            posts_per_window: 3,
            hang_for: Duration::from_secs(5),
            ..FakeConfig::default()
        },
        0,
    )
    .await
    .unwrap();
    let (access, _) = fake.issue_tokens();
    let token = Secret::new(access);
    let x = XClient::new(&fake.base_url(), Duration::from_secs(2));
    let since = Utc::now() - chrono::Duration::seconds(1);

    let made = x
        .create_post(&token, "hello", None, &[], None)
        .await
        .unwrap();
    assert_eq!(made.value.text, "hello");
    let rate = made.rate.unwrap();
    assert_eq!((rate.limit, rate.remaining), (Some(3), Some(2)));
    let _reply = x
        .create_post(&token, "part 2", Some(&made.value.id), &[], None)
        .await
        .unwrap();
    assert_eq!(
        fake.posts()[1].reply_to.as_deref(),
        Some(made.value.id.as_str())
    );

    assert!(matches!(
        x.create_post(&token, "hello", None, &[], None).await,
        Err(XError::Duplicate(_))
    ));
    fake.inject([Fault::Status(503)]);
    let e = x
        .create_post(&token, "five oh three", None, &[], None)
        .await
        .unwrap_err();
    assert!(matches!(e, XError::Server { status: 503, .. }) && e.outcome_unknown());
    fake.inject([Fault::RateLimited { reset_in: 30 }]);
    match x.create_post(&token, "limited", None, &[], None).await {
        Err(XError::RateLimited { reset: Some(r) }) => assert!(r > Utc::now()),
        other => panic!("{other:?}"),
    }
    fake.inject([Fault::Unauthorized]);
    assert_eq!(
        x.create_post(&token, "u", None, &[], None)
            .await
            .unwrap_err(),
        XError::Unauthorized
    );
    // The window allows 3; the third goes through, the fourth gets 429 with the reset time.
    x.create_post(&token, "third", None, &[], None)
        .await
        .unwrap();
    assert!(matches!(
        x.create_post(&token, "fourth", None, &[], None).await,
        Err(XError::RateLimited { reset: Some(_) })
    ));
    fake.configure(|c| c.posts_per_window = 100);

    // Recorded but no answer in time: outcome unknown.
    fake.inject([Fault::HangAfterRecord]);
    let e = x
        .create_post(&token, "hung", None, &[], None)
        .await
        .unwrap_err();
    assert!(
        matches!(e, XError::NoAnswer(_)) && e.outcome_unknown(),
        "{e:?}"
    );
    assert!(fake.posts().iter().any(|p| p.text == "hung"));

    // The timeline shows what was created, newest first, since a time.
    let tl = x.timeline(&token, "1001", since, 1000, None).await.unwrap();
    let texts: Vec<&str> = tl.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(texts, vec!["hung", "third", "part 2", "hello"]);
    assert!(
        x.timeline(
            &token,
            "1001",
            Utc::now() + chrono::Duration::hours(1),
            1000,
            None
        )
        .await
        .unwrap()
        .is_empty()
    );
    assert_eq!(x.me(&token).await.unwrap().username, "chirp_tester");

    // Nothing listening: not sent, safe to retry.
    let nowhere = XClient::new(
        &format!("http://127.0.0.1:{}", chirp_testing::free_port()),
        Duration::from_secs(2),
    );
    let e = nowhere
        .create_post(&token, "x", None, &[], None)
        .await
        .unwrap_err();
    assert!(
        matches!(e, XError::NotSent(_)) && !e.outcome_unknown() && e.retryable(),
        "{e:?}"
    );
}
