//! A post is a thread of one (V17): every part, the first included, is a row of `post_parts`,
//! and the seed's `posts` columns keep meaning the first part for whoever writes plain SQL.
// Tests stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chirp_store::posts::{self, Actor};
use chirp_testdb::{fresh_database, fresh_db};
use tokio_postgres::Client;

/// Part 1 as stored: text, remote id, whether it has a sent time, whether it was deleted.
async fn part1(c: &Client, post: i32) -> (String, Option<String>, bool, bool) {
    let r = c
        .query_one(
            "SELECT content, remote_id, posted_at IS NOT NULL AS sent,
                    remote_deleted_at IS NOT NULL AS gone
             FROM post_parts WHERE post_id = $1 AND position = 1",
            &[&post],
        )
        .await
        .unwrap();
    (
        r.get("content"),
        r.get("remote_id"),
        r.get("sent"),
        r.get("gone"),
    )
}

async fn seed_account(c: &Client, network_sql: &str) {
    c.batch_execute(&format!(
        "INSERT INTO users (name) VALUES ('local') ON CONFLICT DO NOTHING;
         {network_sql}"
    ))
    .await
    .unwrap();
}

#[tokio::test]
async fn the_seeds_statements_write_the_first_part_and_read_it_back() {
    let t = fresh_db().await;
    let c = t.client().await;
    seed_account(
        &c,
        "INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username)
         VALUES (1, '', '42', 'alice');",
    )
    .await;
    // As a seed user writes a post, schedules it and marks it posted.
    let id: i32 = c
        .query_one(
            "INSERT INTO posts (x_account_id, content, status, scheduled_at)
             VALUES (1, 'hello', 'scheduled', now()) RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(part1(&c, id).await, ("hello".into(), None, false, false));
    c.execute(
        "UPDATE posts SET content = 'hello again' WHERE id = $1",
        &[&id],
    )
    .await
    .unwrap();
    c.execute(
        "UPDATE posts SET status = 'posted', x_tweet_id = '1860', posted_at = now() WHERE id = $1",
        &[&id],
    )
    .await
    .unwrap();
    assert_eq!(
        part1(&c, id).await,
        ("hello again".into(), Some("1860".into()), true, false)
    );
    // chirp reads every part the same way: the first one is no exception.
    let parts = posts::parts(&c, id).await.unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].remote_id.as_deref(), Some("1860"));

    // What chirp writes to the part, the seed's columns show.
    c.execute(
        "UPDATE post_parts SET remote_deleted_at = now() WHERE post_id = $1 AND position = 1",
        &[&id],
    )
    .await
    .unwrap();
    let r = c
        .query_one(
            "SELECT x_tweet_id, x_deleted_at IS NOT NULL AS gone FROM posts WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(
        r.get::<_, Option<String>>("x_tweet_id").as_deref(),
        Some("1860")
    );
    assert!(r.get::<_, bool>("gone"));
}

#[tokio::test]
async fn a_first_part_goes_only_with_its_post() {
    let t = fresh_db().await;
    let mut c = t.client().await;
    seed_account(
        &c,
        "INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username)
         VALUES (1, '', '42', 'alice');",
    )
    .await;
    let parts = ["one".to_string(), "two".to_string()];
    let post = posts::create_thread(&mut c, Actor("test"), 1, &parts, None)
        .await
        .unwrap();
    let refused = c
        .execute(
            "DELETE FROM post_parts WHERE post_id = $1 AND position = 1",
            &[&post.id],
        )
        .await
        .unwrap_err();
    let words = refused.as_db_error().unwrap().message();
    assert!(words.contains("goes only with the post"), "{words}");
    // A thread can become a single post again: its later parts go, its first stays.
    let one = posts::edit_thread(&mut c, Actor("test"), post.id, &["only".to_string()])
        .await
        .unwrap();
    assert_eq!(one.parts, 1);
    assert_eq!(part1(&c, post.id).await.0, "only");
    // Deleting the post takes every part with it.
    c.execute("DELETE FROM posts WHERE id = $1", &[&post.id])
        .await
        .unwrap();
    let left: i64 = c
        .query_one("SELECT count(*) FROM post_parts", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_post_on_another_network_keeps_its_id_off_xs_column() {
    let t = fresh_db().await;
    let c = t.client().await;
    seed_account(
        &c,
        "INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username, network, server_url,
                                 remote_user_id, handle)
         VALUES (1, '', '', '', 'mastodon', 'https://mastodon.social', '109',
                 '@bob@mastodon.social');",
    )
    .await;
    let id: i32 = c
        .query_one(
            "INSERT INTO posts (x_account_id, content) VALUES (1, 'toot') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    c.execute(
        "UPDATE post_parts SET remote_id = '113', posted_at = now()
         WHERE post_id = $1 AND position = 1",
        &[&id],
    )
    .await
    .unwrap();
    let r = c
        .query_one(
            "SELECT x_tweet_id, posted_at IS NOT NULL AS sent FROM posts WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(r.get::<_, Option<String>>("x_tweet_id"), None);
    assert!(r.get::<_, bool>("sent"), "posted_at is every network's");
}

#[tokio::test]
async fn migrating_gives_every_existing_post_its_first_part() {
    let t = fresh_database(false).await;
    let c = t.client().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let v = name[1..name.find("__").unwrap()].parse().unwrap();
            (v, p)
        })
        .collect();
    files.sort();
    for (v, file) in &files {
        if *v == 17 {
            // Posts as they were before: a sent single post, and a thread half-sent.
            c.batch_execute(
                "INSERT INTO users (name) VALUES ('local');
                 INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username)
                 VALUES (1, '', '42', 'alice');
                 INSERT INTO posts (x_account_id, content, status, x_tweet_id, posted_at)
                 VALUES (1, 'single', 'posted', '100', now());
                 INSERT INTO posts (x_account_id, content, status, x_tweet_id, posted_at)
                 VALUES (1, 'thread 1', 'failed', '101', now());
                 INSERT INTO post_parts (post_id, position, content, x_tweet_id, posted_at)
                 VALUES (2, 2, 'thread 2', '102', now()), (2, 3, 'thread 3', NULL, NULL);",
            )
            .await
            .unwrap();
        }
        c.batch_execute(&std::fs::read_to_string(file).unwrap())
            .await
            .unwrap();
    }
    assert_eq!(
        part1(&c, 1).await,
        ("single".into(), Some("100".into()), true, false)
    );
    let thread = posts::parts(&c, 2).await.unwrap();
    let ids: Vec<Option<&str>> = thread.iter().map(|p| p.remote_id.as_deref()).collect();
    assert_eq!(ids, [Some("101"), Some("102"), None]);
    let counted = posts::get(&c, 2).await.unwrap();
    assert_eq!((counted.parts, counted.parts_sent), (3, 2));
}

#[tokio::test]
async fn a_publisher_claims_only_posts_of_networks_it_reaches_and_learns_each_ones_network() {
    use chirp_core::Network;
    use chirp_store::publishing::claim;
    let t = fresh_db().await;
    let c = t.client().await;
    seed_account(
        &c,
        "INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username)
         VALUES (1, 'enc', '42', 'alice');
         INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username, network, server_url,
                                 remote_user_id, handle)
         VALUES (1, 'enc', '', '', 'mastodon', 'https://mastodon.social', '109',
                 '@bob@mastodon.social');
         INSERT INTO posts (x_account_id, content, status, scheduled_at)
         VALUES (2, 'toot', 'scheduled', now() - interval '1 minute'),
                (1, 'tweet', 'scheduled', now());",
    )
    .await;
    // An X-only publisher leaves the toot, due first, for one that reaches Mastodon.
    let x_only = claim(&c, "a", "a", 10, 60_000, &[Network::X])
        .await
        .unwrap();
    let got: Vec<(&str, Network)> = x_only
        .iter()
        .map(|p| (p.parts[0].content.as_str(), p.network))
        .collect();
    assert_eq!(got, [("tweet", Network::X)]);
    let both = claim(&c, "b", "b", 10, 60_000, &[Network::X, Network::Mastodon])
        .await
        .unwrap();
    let got: Vec<(&str, Network, &str)> = both
        .iter()
        .map(|p| {
            (
                p.parts[0].content.as_str(),
                p.network,
                p.remote_user_id.as_str(),
            )
        })
        .collect();
    assert_eq!(got, [("toot", Network::Mastodon, "109")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_post_with_unfilled_placeholders_cannot_be_scheduled_queued_or_published() {
    use chirp_store::{Refusal, StoreError, accounts};
    let t = fresh_db().await;
    let mut c = t.client().await;
    let account = accounts::default_account(&mut c).await.unwrap();
    let parts: Vec<String> = vec!["Release {version} is out".into(), "notes: {url}".into()];
    let owed = vec!["version".to_string(), "url".to_string()];
    let p = posts::create_owing(
        &mut c,
        Actor("test"),
        &[account],
        &parts,
        &[],
        posts::Schedule::Draft,
        &owed,
    )
    .await
    .unwrap()
    .remove(0);
    let refused = |e: StoreError| match e {
        StoreError::Refused(Refusal::Unfilled(m)) => m,
        other => panic!("not refused for its placeholders: {other}"),
    };
    let soon = chrono::Utc::now() + chrono::Duration::hours(1);
    // Through chirp: schedule, and (made queued) create.
    let e = refused(
        posts::schedule(&mut c, Actor("test"), p.id, soon)
            .await
            .unwrap_err(),
    );
    assert!(e.contains("{version}") && e.contains("{url}"), "{e}");
    let e = posts::create_owing(
        &mut c,
        Actor("test"),
        &[account],
        &parts,
        &[],
        posts::Schedule::At(soon),
        &owed,
    )
    .await
    .unwrap_err();
    refused(e);
    // Through plain SQL, as any tool could: refused at commit, whatever the statement.
    let raw = c
        .execute(
            "UPDATE posts SET status = 'scheduled', scheduled_at = now() WHERE id = $1",
            &[&p.id],
        )
        .await
        .unwrap_err();
    assert_eq!(raw.code().unwrap().code(), "CH001", "{raw}");
    // Part 1 filled, part 2 still owing: still refused.
    posts::edit_thread(
        &mut c,
        Actor("test"),
        p.id,
        &["Release 1.2 is out".into(), "notes: {url}".into()],
    )
    .await
    .unwrap();
    let e = refused(
        posts::schedule(&mut c, Actor("test"), p.id, soon)
            .await
            .unwrap_err(),
    );
    assert!(e.contains("{url}") && !e.contains("{version}"), "{e}");
    // Filled: it schedules like any post. Text that only looks like a placeholder in a post
    // not from a template is nobody's business.
    posts::edit_thread(
        &mut c,
        Actor("test"),
        p.id,
        &["Release 1.2 is out".into(), "notes: https://e.x/1.2".into()],
    )
    .await
    .unwrap();
    posts::schedule(&mut c, Actor("test"), p.id, soon)
        .await
        .unwrap();
    let plain = posts::create(
        &mut c,
        Actor("test"),
        account,
        "use {x} in Rust",
        Some(soon),
    )
    .await
    .unwrap();
    assert_eq!(plain.status, chirp_core::Status::Scheduled);
    // Nothing half-done: the refused post is still the draft it was.
    let n: i64 = c
        .query_one("SELECT count(*) FROM posts WHERE status = 'scheduled'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
}
