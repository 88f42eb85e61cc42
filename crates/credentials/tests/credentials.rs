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
    // Left long ago by a process elsewhere that is gone (a live one would have stored by now).
    let marker = "UPDATE x_accounts SET refresh_started_at = now() - interval '10 minutes',
                  refresh_started_by = 'elsewhere:4242', token_expires_at = now()";

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
    assert!(e.to_string().contains("a refresh by elsewhere:4242"), "{e}");
    assert!(e.to_string().contains("was interrupted"), "{e}");
    let st = accounts::status(&c).await.unwrap().unwrap();
    assert!(st.needs_reconnect && !st.connected);
    assert!(
        st.reconnect_reason
            .as_deref()
            .is_some_and(|r| r.contains("was interrupted before X's new token was saved")),
        "{st:?}"
    );
    // And it keeps saying so to every later caller, without asking X again.
    let asked = fake.count("POST", "/2/oauth2/token");
    let again = s.token(&t.db, id).await.unwrap_err();
    assert!(
        again
            .to_string()
            .contains("was interrupted before X's new token was saved"),
        "{again}"
    );
    assert_eq!(fake.count("POST", "/2/oauth2/token"), asked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_another_live_process_started_is_waited_for_not_spent_again() {
    let fake = FakeX::start(FakeConfig::default(), 0).await.unwrap();
    let t = fresh_db().await;
    let (id, _, _) =
        chirp_testing::connect_account(&t.db, &fake, chrono::Duration::seconds(-5)).await;
    let c = t.client().await;
    // Another host's chirp asked X a moment ago and may be storing the answer right now.
    c.execute(
        "UPDATE x_accounts SET refresh_started_at = now(), refresh_started_by = 'otherhost:77'",
        &[],
    )
    .await
    .unwrap();
    let s = chirp_testing::credentials(&fake, Duration::from_secs(10));
    let e = s.token(&t.db, id).await.unwrap_err();
    assert!(e.retryable(), "{e}");
    assert!(e.to_string().contains("otherhost:77"), "{e}");
    assert_eq!(
        fake.refreshes(),
        0,
        "the refresh token was not spent a second time"
    );
    let st = accounts::status(&c).await.unwrap().unwrap();
    assert!(!st.needs_reconnect, "{st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_between_the_answer_and_the_write_keeps_the_account() {
    // This test stops the server: a cluster of its own.
    let cluster = chirp_testing::own_cluster(true);
    let fake = FakeX::start(
        FakeConfig {
            token_latency: Duration::from_secs(2),
            ..FakeConfig::default()
        },
        0,
    )
    .await
    .unwrap();
    let t = cluster.fresh_database(true).await;
    let (id, _, _) =
        chirp_testing::connect_account(&t.db, &fake, chrono::Duration::seconds(-5)).await;
    let journal = tempfile::tempdir().unwrap();
    let s = chirp_testing::credentials(&fake, Duration::from_secs(10))
        .journal(chirp_credentials::Journal::at(journal.path()));
    let db = t.db.clone();
    let asked = tokio::spawn(async move { s.token(&db, id).await });
    // X has spent the refresh token; while it takes its time, the server goes down (fast,
    // as `systemctl restart postgresql` does) and comes back only after X has answered.
    assert_eq!(fake.wait_for_refreshes(1, Duration::from_secs(10)).await, 1);
    cluster.stop().unwrap();
    while fake.count("POST", "/2/oauth2/token") == 0 {
        tokio::task::yield_now().await;
    }
    cluster.restart().unwrap();
    let token = asked.await.unwrap().unwrap();
    let c = t.client().await;
    let st = accounts::status(&c).await.unwrap().unwrap();
    assert!(st.connected && !st.needs_reconnect, "{st:?}");
    assert_eq!(st.refreshes, 1);
    let x = XClient::new(&fake.base_url(), Duration::from_secs(10));
    assert!(
        x.me(&token).await.is_ok(),
        "the stored token is X's new one"
    );
    assert_eq!(
        std::fs::read_dir(journal.path()).unwrap().count(),
        0,
        "the journal entry went once the database had the tokens"
    );
    // And the next refresh spends the stored (rotated) refresh token without complaint.
    fake.expire_access_tokens();
    let creds = chirp_testing::credentials(&fake, Duration::from_secs(10));
    creds.token_after_401(&t.db, id, &token).await.unwrap();
    assert_eq!(fake.refreshes(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_kept_in_the_journal_are_stored_by_the_next_process_and_stale_ones_dropped() {
    let fake = FakeX::start(FakeConfig::default(), 0).await.unwrap();
    let t = fresh_db().await;
    let cfg = chirp_testing::x_config(&fake);
    let (id, _, refresh) =
        chirp_testing::connect_account(&t.db, &fake, chrono::Duration::seconds(-5)).await;
    let c = t.client().await;
    // A process got X's answer, kept it in the journal and was killed before the write.
    let got = OAuth::new(&cfg, Duration::from_secs(5))
        .unwrap()
        .refresh(&Secret::new(refresh))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = chirp_credentials::Journal::at(dir.path().join("journal"));
    let s = chirp_testing::credentials(&fake, Duration::from_secs(10)).journal(journal.clone());
    let entry = |base| chirp_credentials::journal::Entry {
        database: String::new(),
        account: id,
        base,
        tokens: s.seal(&got).unwrap(),
        got_at: Utc::now(),
    };
    let database = accounts::database_id(&c).await.unwrap();
    let path = journal
        .write(&chirp_credentials::journal::Entry {
            database: database.clone(),
            ..entry(0)
        })
        .unwrap()
        .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "private to its owner");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains(got.access.expose()),
        "only ciphertexts in the journal"
    );
    // An entry of another database is never written here.
    let foreign = journal
        .write(&chirp_credentials::journal::Entry {
            database: "00000000-0000-0000-0000-000000000000".into(),
            ..entry(0)
        })
        .unwrap()
        .unwrap();

    // The next process starts: it stores the kept tokens, asking X nothing.
    let replayed = s.replay_journal(&t.db).await.unwrap();
    assert_eq!(replayed, vec![chirp_credentials::Replayed::Stored(id)]);
    assert!(!path.exists() && foreign.exists());
    let token = s.token(&t.db, id).await.unwrap();
    assert_eq!(token, got.access);
    assert_eq!(fake.refreshes(), 1, "only the killed process's refresh");

    // A stale entry (its generation overtaken) never overwrites newer tokens.
    journal
        .write(&chirp_credentials::journal::Entry {
            database,
            got_at: Utc::now() + chrono::Duration::seconds(1),
            ..entry(0)
        })
        .unwrap();
    fake.expire_access_tokens();
    let newer = s.token_after_401(&t.db, id, &token).await.unwrap();
    assert_eq!(
        s.replay_journal(&t.db).await.unwrap(),
        Vec::<chirp_credentials::Replayed>::new(),
        "the refresh itself replayed (and dropped) the stale entry first"
    );
    assert_eq!(s.token(&t.db, id).await.unwrap(), newer);
}

#[test]
fn a_helpers_ask_reads_back_as_written() {
    use chirp_credentials::Ask;
    for a in [Ask::Ahead, Ask::Expiring, Ask::Rejected(41)] {
        assert_eq!(a.to_string().parse::<Ask>(), Ok(a));
    }
    assert!("rejected:x".parse::<Ask>().is_err());
}
