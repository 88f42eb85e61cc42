//! Accounts know their network: the seed's X columns and the network's columns are one fact on
//! X rows, other networks' rows say where they live, and handles are found in each form.
// Tests stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chirp_core::Network;
use chirp_store::{Refusal, StoreError, accounts};
use chirp_testdb::fresh_db;

#[tokio::test]
async fn an_x_account_written_either_way_reads_the_same_both_ways() {
    let t = fresh_db().await;
    let c = t.client().await;
    // As the seed's users write it: X's columns only.
    c.batch_execute(
        "INSERT INTO users (name) VALUES ('local');
         INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username)
         VALUES (1, '', '42', 'alice');",
    )
    .await
    .unwrap();
    let r = c
        .query_one(
            "SELECT network, server_url, remote_user_id, handle FROM x_accounts WHERE id = 1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(r.get::<_, String>("network"), "x");
    assert_eq!(r.get::<_, Option<String>>("server_url"), None);
    assert_eq!(r.get::<_, String>("remote_user_id"), "42");
    assert_eq!(r.get::<_, String>("handle"), "@alice");

    // A rename through the seed's column moves the handle; one through the handle, X's column.
    c.execute(
        "UPDATE x_accounts SET x_username = 'alice2' WHERE id = 1",
        &[],
    )
    .await
    .unwrap();
    let a = accounts::status_by_id(&c, 1).await.unwrap();
    assert_eq!(a.network, Network::X);
    assert_eq!(a.handle.as_deref(), Some("@alice2"));
    assert_eq!(a.username.as_deref(), Some("alice2"));
    c.execute("UPDATE x_accounts SET handle = '@alice3' WHERE id = 1", &[])
        .await
        .unwrap();
    let name: String = c
        .query_one("SELECT x_username FROM x_accounts WHERE id = 1", &[])
        .await
        .unwrap()
        .get("x_username");
    assert_eq!(name, "alice3");
    assert_eq!(accounts::find(&c, "ALICE3").await.unwrap(), 1);
    assert_eq!(accounts::find(&c, "@alice3").await.unwrap(), 1);
}

#[tokio::test]
async fn other_networks_say_where_they_live_and_leave_xs_columns_empty() {
    let t = fresh_db().await;
    let c = t.client().await;
    c.batch_execute("INSERT INTO users (name) VALUES ('local')")
        .await
        .unwrap();
    // A Mastodon account without its instance is refused, and so is one in X's columns.
    assert!(
        c.batch_execute(
            "INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username, network,
                                     remote_user_id, handle)
             VALUES (1, '', '', '', 'mastodon', '7', '@me@mastodon.social')",
        )
        .await
        .is_err()
    );
    assert!(
        c.batch_execute(
            "INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username, network,
                                     server_url, remote_user_id, handle)
             VALUES (1, '', '7', 'me', 'mastodon', 'https://mastodon.social', '7',
                     '@me@mastodon.social')",
        )
        .await
        .is_err()
    );
    assert!(
        c.batch_execute(
            "INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username, network)
             VALUES (1, '', '', '', 'threads')",
        )
        .await
        .is_err()
    );
    c.batch_execute(
        "INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username, network,
                                 server_url, remote_user_id, handle)
         VALUES (1, '', '', '', 'mastodon', 'https://mastodon.social', '7', '@me@mastodon.social'),
                (1, '', '', '', 'bluesky', 'https://bsky.social', 'did:plc:abc', 'me.bsky.social'),
                (1, '', '42', 'me', 'x', NULL, '', '')",
    )
    .await
    .unwrap();
    let m = accounts::find(&c, "@Me@Mastodon.Social").await.unwrap();
    let b = accounts::find(&c, "me.bsky.social").await.unwrap();
    let x = accounts::find(&c, "@me").await.unwrap();
    assert_eq!(accounts::find(&c, "@me.bsky.social").await.unwrap(), b);
    let ms = accounts::status_by_id(&c, m).await.unwrap();
    assert_eq!(ms.network, Network::Mastodon);
    assert_eq!(ms.server_url.as_deref(), Some("https://mastodon.social"));
    assert_eq!(ms.remote_user_id.as_deref(), Some("7"));
    assert_eq!(ms.x_user_id, None, "a Mastodon id is not an X id");
    assert_eq!(
        accounts::status_by_id(&c, b).await.unwrap().network,
        Network::Bluesky
    );
    assert_eq!(
        accounts::status_by_id(&c, x).await.unwrap().network,
        Network::X
    );
    // The same account of the same instance is connected once.
    assert!(
        c.batch_execute(
            "INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username, network,
                                     server_url, remote_user_id, handle)
             VALUES (1, '', '', '', 'mastodon', 'https://mastodon.social', '7', '@me@x')",
        )
        .await
        .is_err()
    );
    let unknown = accounts::find(&c, "@nobody@mastodon.social").await;
    assert!(matches!(
        unknown,
        Err(StoreError::Refused(Refusal::UnknownAccount { .. }))
    ));
}

#[tokio::test]
async fn each_post_is_checked_by_the_rule_of_its_accounts_network() {
    use chirp_store::posts::{self, Actor};
    let t = fresh_db().await;
    let mut c = t.client().await;
    c.batch_execute(
        "INSERT INTO users (name) VALUES ('local');
         INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username)
         VALUES (1, '', '42', 'alice');
         INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username, network,
                                 server_url, remote_user_id, handle)
         VALUES (1, '', '', '', 'mastodon', 'https://mastodon.social', '7', '@me@mastodon.social'),
                (1, '', '', '', 'bluesky', 'https://bsky.social', 'did:plc:abc', 'me.bsky.social');",
    )
    .await
    .unwrap();
    let me = Actor("test");
    // 290 characters: too long for X's 280, fine for Bluesky's 300 and Mastodon's 500.
    let text = "a".repeat(290);
    let on_x = posts::create(&mut c, me, 1, &text, None).await.unwrap_err();
    assert_eq!(
        on_x.to_string(),
        "the post is 290/280 weighted characters: shorten it by 10"
    );
    let toot = posts::create(&mut c, me, 2, &text, None).await.unwrap();
    let skeet = posts::create(&mut c, me, 3, &text, None).await.unwrap();
    // Edited past Bluesky's limit, the Bluesky post is refused and kept as it was; the
    // Mastodon one takes it.
    let longer = "b".repeat(400);
    let e = posts::edit(&mut c, me, skeet.id, &longer)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the post is 400/300 characters: shorten it by 100"
    );
    assert_eq!(posts::get(&c, skeet.id).await.unwrap().content, text);
    posts::edit(&mut c, me, toot.id, &longer).await.unwrap();
    // One text to several accounts must fit each of them.
    let both =
        posts::create_for_accounts(&mut c, me, &[2, 3], std::slice::from_ref(&longer), None).await;
    assert!(
        matches!(&both, Err(StoreError::Refused(Refusal::PartText(e))) if e.err.to_string().contains("/300")),
        "{both:?}"
    );
    let n: i64 = c
        .query_one("SELECT count(*) FROM posts", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2, "nothing half-written");
}
