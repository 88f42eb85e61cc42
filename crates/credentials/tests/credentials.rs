//! The credentials service against a real PostgreSQL and the fake X: a refresh is spent once
//! however many processes ask, a refused refresh marks the account and keeps its posts, and
//! a wrong key is a clear error.
// Tests and benchmarks stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chirp_credentials::{AuthError, Credentials};
use chirp_fake_x::{FakeConfig, FakeX};
use chirp_net::x::oauth::OAuth;
use chirp_net::x::{XClient, XError};
use chirp_net::{Cipher, Secret};
use chirp_store::{Db, accounts};
use chirp_testing::fresh_db;
use chrono::Utc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refresh_spends_the_refresh_token_once() {
    let fake = FakeX::start(FakeConfig::default(), 0).await.unwrap();
    let t = fresh_db().await;
    let (id, old_access, _) =
        chirp_testing::connect_account(&t.db, &fake, chrono::Duration::seconds(-5)).await;
    // Two "processes": separate pools and credential services on the same database.
    let db2 = Db::from_config(t.db.pg.clone(), None);
    let s1 = Credentials::new(
        &chirp_testing::networks(&fake, Duration::from_secs(10)),
        chirp_testing::cipher(),
    );
    let s2 = Credentials::new(
        &chirp_testing::networks(&fake, Duration::from_secs(10)),
        chirp_testing::cipher(),
    );
    let (a, b) = tokio::join!(s1.token(&t.db, id), s2.token(&db2, id));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(fake.refreshes(), 1, "exactly one refresh reached X");
    assert_eq!(a, b);
    assert_ne!(a.expose(), old_access);
    let x = XClient::new(&fake.base_url(), Duration::from_secs(10));
    for token in [&a, &b] {
        assert_eq!(x.me(token).await.unwrap().username, "chirp_tester");
    }
    // A 401 on a valid-looking token: refresh once; a second 401 report on the old token
    // (another task) must not refresh again.
    fake.expire_access_tokens();
    assert_eq!(x.me(&a).await.unwrap_err(), XError::Unauthorized);
    let (c1, c2) = tokio::join!(
        s1.token_after_401(&t.db, id, &a),
        s2.token_after_401(&db2, id, &a)
    );
    assert_eq!(c1.as_ref().unwrap(), c2.as_ref().unwrap());
    assert_eq!(fake.refreshes(), 2);
    assert!(x.me(&c1.unwrap()).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_refresh_needs_reconnect_and_posts_wait() {
    let fake = FakeX::start(FakeConfig::default(), 0).await.unwrap();
    let t = fresh_db().await;
    let cfg = chirp_testing::x_config(&fake);
    let (id, _, refresh) =
        chirp_testing::connect_account(&t.db, &fake, chrono::Duration::seconds(-5)).await;
    let mut c = t.client().await;
    chirp_store::posts::create(
        &mut c,
        chirp_store::posts::Actor("test"),
        id,
        "waiting",
        Some(Utc::now()),
    )
    .await
    .unwrap();
    // Someone else spent the refresh token (X rotates them).
    let oauth = OAuth::new(&cfg, Duration::from_secs(5)).unwrap();
    oauth.refresh(&Secret::new(refresh)).await.unwrap();
    let s = Credentials::new(
        &chirp_testing::networks(&fake, Duration::from_secs(10)),
        chirp_testing::cipher(),
    );
    let e = s.token(&t.db, id).await.unwrap_err();
    assert!(matches!(e, AuthError::NeedsReconnect(_)), "{e}");
    assert!(
        e.to_string()
            .contains("Value passed for the token was invalid")
            && e.to_string().contains("chirp account connect"),
        "{e}"
    );
    let st = accounts::status(&c).await.unwrap().unwrap();
    assert!(st.needs_reconnect && !st.connected);
    assert_eq!(st.posts_waiting, 1, "posts stay scheduled, not failed");
    let status: String = c
        .query_one("SELECT status FROM posts", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "scheduled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_key_is_a_clear_error() {
    let fake = FakeX::start(FakeConfig::default(), 0).await.unwrap();
    let t = fresh_db().await;
    let (id, _, _) = chirp_testing::connect_account(&t.db, &fake, chrono::Duration::hours(1)).await;
    let other = Credentials::new(
        &chirp_testing::networks(&fake, Duration::from_secs(5)),
        Cipher::from_key(&[1; 32]),
    );
    let e = other.token(&t.db, id).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot decrypt tokens: reconnect the account (chirp account connect) or restore the key that encrypted them"
    );
    // Nothing secret in Debug output either.
    let s = Credentials::new(
        &chirp_testing::networks(&fake, Duration::from_secs(5)),
        chirp_testing::cipher(),
    );
    let token = s.token(&t.db, id).await.unwrap();
    assert!(!format!("{s:?} {token:?}").contains(token.expose()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_lived_tokens_are_refreshed_once_per_lifetime_not_once_per_use() {
    // X issuing 8-second tokens (a fixed two-minute margin would refresh on every use).
    let fake = FakeX::start(
        FakeConfig {
            token_lifetime: Duration::from_secs(8),
            ..FakeConfig::default()
        },
        0,
    )
    .await
    .unwrap();
    let t = fresh_db().await;
    let (id, _, _) =
        chirp_testing::connect_account(&t.db, &fake, chrono::Duration::seconds(-5)).await;
    let creds = chirp_testing::credentials(&fake, Duration::from_secs(10));
    let first = creds.token(&t.db, id).await.unwrap();
    assert_eq!(fake.refreshes(), 1, "the expired token was refreshed");
    for _ in 0..20 {
        assert_eq!(creds.token(&t.db, id).await.unwrap(), first);
    }
    assert_eq!(
        fake.refreshes(),
        1,
        "a fresh 8-second token is used, not refreshed again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_refresh_is_named_as_such() {
    let fake = FakeX::start(FakeConfig::default(), 0).await.unwrap();
    let t = fresh_db().await;
    let cfg = chirp_testing::x_config(&fake);
    let s = Credentials::new(
        &chirp_testing::networks(&fake, Duration::from_secs(10)),
        chirp_testing::cipher(),
    );
    let c = t.client().await;
    let marker = "UPDATE x_accounts SET refresh_started_at = now(), token_expires_at = now()";

    // A process committed the marker, then died before X heard it: the refresh goes through
    // and the marker is gone.
    let (id, _, _) =
        chirp_testing::connect_account(&t.db, &fake, chrono::Duration::seconds(-5)).await;
    c.execute(marker, &[]).await.unwrap();
    s.token(&t.db, id).await.unwrap();
    let st = accounts::status(&c).await.unwrap().unwrap();
    assert!(st.connected && st.refresh_started_at.is_none(), "{st:?}");
    assert_eq!(st.refreshes, 1);
    assert!(st.token_refreshed_at.is_some());

    // A process died after X answered (the refresh token is spent) and before it saved the
    // new one: the account says exactly that.
    let stored = accounts::stored(&c, id).await.unwrap().unwrap();
    let refresh = chirp_testing::cipher()
        .decrypt(
            chirp_net::secret::Column::RefreshToken,
            stored.tokens.refresh.as_ref().unwrap(),
        )
        .unwrap();
    OAuth::new(&cfg, Duration::from_secs(5))
        .unwrap()
        .refresh(&refresh)
        .await
        .unwrap();
    c.execute(marker, &[]).await.unwrap();
    let e = s.token(&t.db, id).await.unwrap_err();
    assert!(e.to_string().contains("a refresh was interrupted"), "{e}");
    let st = accounts::status(&c).await.unwrap().unwrap();
    assert!(st.needs_reconnect && !st.connected);
    assert!(
        st.reconnect_reason
            .as_deref()
            .is_some_and(|r| r.contains("a refresh was interrupted")),
        "{st:?}"
    );
    // And it keeps saying so to every later caller, without asking X again.
    let asked = fake.count("POST", "/2/oauth2/token");
    let again = s.token(&t.db, id).await.unwrap_err();
    assert!(
        again.to_string().contains("a refresh was interrupted"),
        "{again}"
    );
    assert_eq!(fake.count("POST", "/2/oauth2/token"), asked);
}
