//! The schema and the database layer against a real PostgreSQL.
// Tests and benchmarks stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chirp_core::{Status, TextError};
use chirp_store::posts::{self, Actor, ListQuery, Order};
use chirp_store::{Refusal, StoreError, accounts, notify};
use chirp_testdb::fresh_db;
use chrono::{Duration as Dur, Utc};

const ME: Actor<'static> = Actor("test");

/// Every ```sql block of the seed design document, verbatim.
fn seed_statements() -> Vec<String> {
    let doc = include_str!("../../../../docs/seed-schema-design.md");
    doc.split("```sql")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().trim().to_string())
        .collect()
}

#[tokio::test]
async fn every_seed_statement_runs_unchanged() {
    let t = fresh_db().await;
    let c = t.client().await;
    // The seed's examples assume user 1 with an active X account 1.
    c.batch_execute(
        "INSERT INTO users (email, name) VALUES ('a@example.com', 'A');
         INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username)
         VALUES (1, 'ciphertext', '42', 'alice');",
    )
    .await
    .unwrap();
    let stmts = seed_statements();
    assert_eq!(stmts.len(), 6, "the seed document has 6 SQL examples");
    for sql in &stmts {
        let rows = c
            .simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}\n-> {e}"));
        assert!(!rows.is_empty(), "{sql}");
    }
    // The INSERT made a scheduled post, the UPDATE marked post 1 posted: both audited.
    let p = posts::get(&c, 1).await.unwrap();
    assert_eq!(p.status, Status::Posted);
    assert_eq!(p.x_tweet_id.as_deref(), Some("1234567890"));
    let h = posts::history(&c, 1).await.unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[1].from.as_deref(), Some("scheduled"));
    assert_eq!(h[1].to.as_deref(), Some("posted"));
    assert!(
        h[1].actor.starts_with("sql:"),
        "plain SQL is recorded as the db user: {}",
        h[1].actor
    );
}

#[tokio::test]
async fn seed_indexes_triggers_and_constraints_exist() {
    let t = fresh_db().await;
    let c = t.client().await;
    let idx: Vec<String> = c
        .query(
            "SELECT indexname::text FROM pg_indexes WHERE tablename = 'posts'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for name in [
        "idx_posts_x_account_id",
        "idx_posts_status",
        "idx_posts_scheduled_at",
    ] {
        assert!(
            idx.contains(&name.to_string()),
            "{name} missing from {idx:?}"
        );
    }
    let partial: String = c
        .query_one(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_posts_scheduled_at'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(partial.contains("WHERE"), "{partial}");
    // The migration history lives in `migrations`.
    let n: i64 = c
        .query_one("SELECT count(*) FROM migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert!(n >= 2);

    c.batch_execute("INSERT INTO users (email) VALUES ('x@example.com')")
        .await
        .unwrap();
    // Unique email.
    let e = c
        .batch_execute("INSERT INTO users (email) VALUES ('x@example.com')")
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("duplicate key") || format!("{e:?}").contains("unique"),
        "{e:?}"
    );
    // The seed allowed one account per user "for MVP simplicity"; its future extension, done
    // in V9, is several accounts per user. A user still connects a given X account once, and
    // user_id stays required.
    c.batch_execute("INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username) VALUES (1, '', '1', 'a')")
        .await
        .unwrap();
    c.batch_execute("INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username) VALUES (1, '', '2', 'b')")
        .await
        .unwrap();
    assert!(c.batch_execute("INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username) VALUES (1, '', '2', 'b2')").await.is_err());
    assert!(c.batch_execute("INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username) VALUES (NULL, '', '3', 'c')").await.is_err());
    // Status must be known; account must exist.
    assert!(
        c.batch_execute(
            "INSERT INTO posts (x_account_id, content, status) VALUES (1, 'x', 'sent')"
        )
        .await
        .is_err()
    );
    assert!(
        c.batch_execute("INSERT INTO posts (x_account_id, content) VALUES (99, 'x')")
            .await
            .is_err()
    );
    // The sanity CHECK lets through what X accepts: a 300-character URL is 23 weighted.
    let long_url = format!("https://example.com/{}", "a".repeat(300));
    c.execute(
        "INSERT INTO posts (x_account_id, content) VALUES (1, $1)",
        &[&long_url],
    )
    .await
    .expect("a post X would accept must not be refused by the database");
    assert!(
        c.execute(
            "INSERT INTO posts (x_account_id, content) VALUES (1, $1)",
            &[&"a".repeat(100_001)]
        )
        .await
        .is_err()
    );
    // updated_at moves on update.
    let (before, after): (chrono::DateTime<Utc>, chrono::DateTime<Utc>) = {
        let b = c
            .query_one("SELECT updated_at FROM users WHERE id = 1", &[])
            .await
            .unwrap()
            .get(0);
        c.batch_execute("UPDATE users SET name = 'X' WHERE id = 1")
            .await
            .unwrap();
        let a = c
            .query_one("SELECT updated_at FROM users WHERE id = 1", &[])
            .await
            .unwrap()
            .get(0);
        (b, a)
    };
    assert!(after > before);
}

#[tokio::test]
async fn migrate_is_idempotent() {
    let t = chirp_testdb::fresh_database(false).await;
    let first = t.db.migrate().await.unwrap();
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .count();
    assert_eq!(
        first.len(),
        files,
        "every migration applied once: {first:?}"
    );
    assert!(first[0].contains("seed_schema"));
    assert!(t.db.migrate().await.unwrap().is_empty());
}

#[tokio::test]
async fn default_account_is_a_local_placeholder_made_once() {
    let t = fresh_db().await;
    let mut c = t.client().await;
    let a = accounts::default_account(&mut c).await.unwrap();
    let b = accounts::default_account(&mut c).await.unwrap();
    assert_eq!(a, b);
    let active: bool = c
        .query_one("SELECT is_active FROM x_accounts WHERE id = $1", &[&a])
        .await
        .unwrap()
        .get(0);
    assert!(!active, "a placeholder is inactive until connected");
}

#[tokio::test]
async fn lifecycle_legal_and_illegal_with_audit() {
    let t = fresh_db().await;
    let mut c = t.client().await;
    let acct = accounts::default_account(&mut c).await.unwrap();
    let p = posts::create(&mut c, ME, acct, "first", None)
        .await
        .unwrap();
    assert_eq!(p.status, Status::Draft);
    let p = posts::edit(&mut c, ME, p.id, "first, edited")
        .await
        .unwrap();
    assert_eq!(p.content, "first, edited");
    let at = Utc::now() + Dur::hours(1);
    let p = posts::schedule(&mut c, ME, p.id, at).await.unwrap();
    assert_eq!(p.status, Status::Scheduled);
    assert_eq!(
        p.scheduled_at.unwrap().timestamp_micros(),
        at.timestamp_micros()
    );
    let p = posts::unschedule(&mut c, ME, p.id).await.unwrap();
    assert_eq!((p.status, p.scheduled_at), (Status::Draft, None));

    // A posted post cannot be edited, scheduled or retried.
    c.execute(
        "UPDATE posts SET status = 'posted', x_tweet_id = '9', posted_at = now() WHERE id = $1",
        &[&p.id],
    )
    .await
    .unwrap();
    let e = posts::edit(&mut c, ME, p.id, "sneaky").await.unwrap_err();
    assert!(
        matches!(e, StoreError::Refused(Refusal::Transition { .. })),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "post {}: a posted post cannot be edited (it is already on X: duplicate it as a new draft instead)",
            p.id
        )
    );
    assert!(posts::schedule(&mut c, ME, p.id, at).await.is_err());
    assert!(posts::retry(&mut c, ME, p.id).await.is_err());
    assert_eq!(
        posts::get(&c, p.id).await.unwrap().content,
        "first, edited",
        "refused edits change nothing"
    );

    // A post being published cannot be touched by people.
    let q = posts::create(&mut c, ME, acct, "second", Some(at))
        .await
        .unwrap();
    c.execute(
        "UPDATE posts SET status = 'publishing', claimed_by = 'x', claim_expires_at = now() WHERE id = $1",
        &[&q.id],
    )
    .await
    .unwrap();
    for r in [
        posts::delete(&mut c, ME, q.id).await,
        posts::unschedule(&mut c, ME, q.id).await,
        posts::edit(&mut c, ME, q.id, "x").await,
    ] {
        assert!(
            matches!(r, Err(StoreError::Refused(Refusal::Transition { .. }))),
            "{r:?}"
        );
    }
    // Failed → retry → scheduled, due now.
    c.execute(
        "UPDATE posts SET status = 'failed', error_message = 'nope' WHERE id = $1",
        &[&q.id],
    )
    .await
    .unwrap();
    let q = posts::retry(&mut c, ME, q.id).await.unwrap();
    assert_eq!(q.status, Status::Scheduled);
    assert!(q.error_message.is_none());
    assert!(q.scheduled_at.unwrap() <= Utc::now());
    posts::delete(&mut c, ME, q.id).await.unwrap();
    assert!(matches!(
        posts::get(&c, q.id).await,
        Err(StoreError::Refused(Refusal::NotFound(_)))
    ));
    assert!(matches!(
        posts::delete(&mut c, ME, 4242).await,
        Err(StoreError::Refused(Refusal::NotFound(4242)))
    ));

    // The audit trail has every change, who made it, in order.
    let h = posts::history(&c, p.id).await.unwrap();
    let steps: Vec<(String, Option<String>, String)> = h
        .iter()
        .map(|e| (e.event.clone(), e.to.clone(), e.actor.clone()))
        .collect();
    assert_eq!(
        steps,
        vec![
            ("created".into(), Some("draft".into()), "test".into()),
            ("edited".into(), Some("draft".into()), "test".into()),
            ("status".into(), Some("scheduled".into()), "test".into()),
            ("status".into(), Some("draft".into()), "test".into()),
            ("status".into(), Some("posted".into()), steps[4].2.clone()),
        ]
    );
    let hq = posts::history(&c, q.id).await.unwrap();
    let last = hq.last().unwrap();
    assert_eq!(
        (
            last.event.as_str(),
            last.from.as_deref(),
            last.to.as_deref()
        ),
        ("deleted", Some("scheduled"), None)
    );
    // The failure reason is in the trail too.
    assert!(
        hq.iter()
            .any(|e| e.to.as_deref() == Some("failed") && e.detail.as_deref() == Some("nope"))
    );
}

#[tokio::test]
async fn bad_text_writes_nothing() {
    let t = fresh_db().await;
    let mut c = t.client().await;
    let acct = accounts::default_account(&mut c).await.unwrap();
    for (text, want) in [
        ("", TextError::Empty),
        ("  ", TextError::Empty),
        (
            &"字".repeat(141)[..],
            TextError::TooLong {
                network: chirp_core::Network::X,
                weighted: 282,
                limit: 280,
            },
        ),
    ] {
        match posts::create(&mut c, ME, acct, text, None).await {
            Err(StoreError::Refused(Refusal::Text(e))) => assert_eq!(e, want),
            other => panic!("{other:?}"),
        }
    }
    let p = posts::create(&mut c, ME, acct, "ok", None).await.unwrap();
    assert!(
        posts::edit(&mut c, ME, p.id, &"a".repeat(281))
            .await
            .is_err()
    );
    assert_eq!(posts::get(&c, p.id).await.unwrap().content, "ok");
    let n: i64 = c
        .query_one("SELECT count(*) FROM posts", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    // A post written over-long by plain SQL cannot be scheduled.
    c.execute(
        "UPDATE posts SET content = $1 WHERE id = $2",
        &[&"字".repeat(200), &p.id],
    )
    .await
    .unwrap();
    let e = posts::schedule(&mut c, ME, p.id, Utc::now())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("400/280"), "{e}");
}

#[tokio::test]
async fn keyset_pages_cover_everything_once() {
    let t = fresh_db().await;
    let mut c = t.client().await;
    let acct = accounts::default_account(&mut c).await.unwrap();
    c.execute(
        "INSERT INTO posts (x_account_id, content, status, scheduled_at)
         SELECT $1, 'post ' || g, CASE WHEN g % 3 = 0 THEN 'draft' ELSE 'scheduled' END,
                now() + (g % 7) * interval '1 hour'
         FROM generate_series(1, 250) g",
        &[&acct],
    )
    .await
    .unwrap();
    // Newest first, all statuses.
    let mut q = ListQuery {
        limit: 40,
        ..ListQuery::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = posts::list(&c, &q).await.unwrap();
        seen.extend(page.posts.iter().map(|p| p.id));
        match page.next {
            Some(n) => q.after = Some(n),
            None => break,
        }
    }
    let expected: Vec<i32> = (1..=250).rev().collect();
    assert_eq!(seen, expected);

    // Scheduled soonest first: sorted by (scheduled_at, id), each once.
    let mut q = ListQuery {
        statuses: vec![Status::Scheduled],
        order: Order::Soonest,
        limit: 17,
        ..ListQuery::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = posts::list(&c, &q).await.unwrap();
        assert!(page.posts.iter().all(|p| p.status == Status::Scheduled));
        seen.extend(page.posts.iter().map(|p| (p.scheduled_at, p.id)));
        match page.next {
            Some(n) => q.after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen.len(), 250 - 83);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);

    // Text filter and counts.
    let page = posts::list(
        &c,
        &ListQuery {
            text: Some("POST 25".into()),
            ..ListQuery::default()
        },
    )
    .await
    .unwrap();
    let ids: Vec<i32> = page.posts.iter().map(|p| p.id).collect();
    assert_eq!(ids, vec![250, 25]);
    let counts = posts::counts(&c, None).await.unwrap();
    assert_eq!(counts, vec![(Status::Draft, 83), (Status::Scheduled, 167)]);
}

#[tokio::test]
async fn notify_fires_for_app_and_plain_sql_writes() {
    let t = fresh_db().await;
    let mut listener = notify::listen(&t.db).await.unwrap();
    let mut c = t.client().await;
    let acct = accounts::default_account(&mut c).await.unwrap();
    c.execute(
        "INSERT INTO posts (x_account_id, content, status, scheduled_at) VALUES ($1, 'raw', 'scheduled', now())",
        &[&acct],
    )
    .await
    .unwrap();
    let heard = tokio::time::timeout(Duration::from_secs(10), listener.rx.recv())
        .await
        .unwrap()
        .unwrap();
    match heard {
        notify::Heard::Change(ch) => {
            assert_eq!(
                (ch.op.as_str(), ch.status.as_str(), ch.account),
                ("insert", "scheduled", acct)
            );
            posts::unschedule(&mut c, ME, ch.id).await.unwrap();
            let next = tokio::time::timeout(Duration::from_secs(10), listener.rx.recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                next,
                notify::Heard::Change(notify::PostChange {
                    op: "update".into(),
                    id: ch.id,
                    status: "draft".into(),
                    account: acct
                })
            );
            // A heartbeat's lease extension alone is nobody's news: the next thing heard is
            // the delete.
            c.execute(
                "UPDATE posts SET claim_expires_at = now() + interval '1 minute' WHERE id = $1",
                &[&ch.id],
            )
            .await
            .unwrap();
            c.execute("DELETE FROM posts WHERE id = $1", &[&ch.id])
                .await
                .unwrap();
            let next = tokio::time::timeout(Duration::from_secs(10), listener.rx.recv())
                .await
                .unwrap()
                .unwrap();
            assert!(
                matches!(next, notify::Heard::Change(ref ch) if ch.op == "delete"),
                "{next:?}"
            );
        }
        other @ notify::Heard::Lost(_) => panic!("{other:?}"),
    }
    // A rolled-back change is never announced.
    let tx = c.transaction().await.unwrap();
    tx.execute(
        "INSERT INTO posts (x_account_id, content) VALUES ($1, 'nope')",
        &[&acct],
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    c.execute(
        "INSERT INTO posts (x_account_id, content) VALUES ($1, 'yes')",
        &[&acct],
    )
    .await
    .unwrap();
    let next = tokio::time::timeout(Duration::from_secs(10), listener.rx.recv())
        .await
        .unwrap()
        .unwrap();
    let id: i32 = c
        .query_one("SELECT id FROM posts WHERE content = 'yes'", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        matches!(next, notify::Heard::Change(ref ch) if ch.id == id),
        "{next:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_changes_are_audited_and_an_x_id_belongs_to_one_post() {
    let t = fresh_db().await;
    let mut c = t.client().await;
    let account = accounts::default_account(&mut c).await.unwrap();
    let p = posts::create(&mut c, ME, account, "first words", None)
        .await
        .unwrap();
    posts::edit(&mut c, ME, p.id, "second words").await.unwrap();
    let h = posts::history(&c, p.id).await.unwrap();
    let edited: Vec<_> = h.iter().filter(|e| e.event == "edited").collect();
    assert_eq!(edited.len(), 1);
    assert_eq!(edited[0].detail.as_deref(), Some("was: first words"));
    assert_eq!(edited[0].actor, "test");
    // Plain SQL edits are recorded too.
    c.execute(
        "UPDATE posts SET content = 'third words' WHERE id = $1",
        &[&p.id],
    )
    .await
    .unwrap();
    let h = posts::history(&c, p.id).await.unwrap();
    assert_eq!(
        h.last().unwrap().detail.as_deref(),
        Some("was: second words")
    );
    assert!(h.last().unwrap().actor.starts_with("sql:"));

    // Two rows can never share an X id.
    let q = posts::create(&mut c, ME, account, "other words", None)
        .await
        .unwrap();
    c.execute("UPDATE posts SET x_tweet_id = '42' WHERE id = $1", &[&p.id])
        .await
        .unwrap();
    let e = c
        .execute("UPDATE posts SET x_tweet_id = '42' WHERE id = $1", &[&q.id])
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_migration_to_unique_x_ids_keeps_existing_duplicates_visible() {
    // A database as the URL-blind reconciliation could leave it: two posts with one X id.
    let t = chirp_testdb::fresh_database(false).await;
    let c = t.client().await;
    for sql in [
        include_str!("../../migrations/V1__seed_schema.sql"),
        include_str!("../../migrations/V2__publishing.sql"),
    ] {
        c.batch_execute(sql).await.unwrap();
    }
    c.batch_execute(
        "INSERT INTO users (name) VALUES ('u');
         INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username)
             SELECT id, '', '1', 'u' FROM users;
         INSERT INTO posts (x_account_id, content, status, x_tweet_id, posted_at)
             SELECT a.id, t, 'posted', '777', now() FROM x_accounts a,
                    unnest(ARRAY['see https://a.example/1', 'see https://b.example/2']) t;",
    )
    .await
    .unwrap();
    c.batch_execute(include_str!("../../migrations/V3__unknown_outcomes.sql"))
        .await
        .unwrap();
    let rows = c
        .query(
            "SELECT x_tweet_id, error_message FROM posts ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    let first: (Option<String>, Option<String>) = (rows[0].get(0), rows[0].get(1));
    let second: (Option<String>, Option<String>) = (rows[1].get(0), rows[1].get(1));
    assert_eq!(first, (Some("777".into()), None));
    assert_eq!(second.0, None);
    assert!(
        second
            .1
            .unwrap()
            .starts_with("chirp once recorded X post 777 for this post too")
    );
}

#[tokio::test]
async fn a_failed_migration_says_the_databases_reason() {
    let t = chirp_testdb::fresh_database(false).await;
    t.client()
        .await
        .batch_execute("CREATE TABLE users (x int)")
        .await
        .unwrap();
    let err = t.db.migrate().await.unwrap_err().to_string();
    assert!(
        err.contains("V1__seed_schema") && err.contains("relation \"users\" already exists"),
        "{err}"
    );
}

#[tokio::test]
async fn editing_a_thread_replaces_its_parts_and_audits_what_they_were() {
    let t = fresh_db().await;
    let mut c = t.client().await;
    let account = accounts::default_account(&mut c).await.unwrap();
    let parts = |v: &[&str]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
    let p = posts::create_thread(&mut c, ME, account, &parts(&["one", "two", "three"]), None)
        .await
        .unwrap();
    let edited = posts::edit_thread(&mut c, ME, p.id, &parts(&["one", "2"]))
        .await
        .unwrap();
    assert_eq!(edited.parts, 2);
    let now: Vec<String> = posts::parts(&c, p.id)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.content)
        .collect();
    assert_eq!(now, ["one", "2"]);
    let h = posts::history(&c, p.id).await.unwrap();
    assert_eq!(
        h.last().and_then(|e| e.detail.as_deref()),
        Some("parts after the first were: two\n---\nthree")
    );
    // A part over the limit is refused, naming it, and nothing changes.
    let long = "x ".repeat(200);
    let err = posts::edit_thread(&mut c, ME, p.id, &parts(&["fine", &long]))
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("part 2 of 2: "), "{err}");
    assert_eq!(posts::parts(&c, p.id).await.unwrap().len(), 2);
    // Back to a single post.
    let single = posts::edit_thread(&mut c, ME, p.id, &parts(&["alone"]))
        .await
        .unwrap();
    assert_eq!((single.parts, single.content.as_str()), (1, "alone"));
}

#[tokio::test]
async fn the_migration_to_several_accounts_gathers_chirps_users_and_keeps_the_default() {
    // As chirp left a database before V9: one user per connected account (a user could hold
    // only one), the first one the local placeholder filled by the first login; and a user
    // made by other means (it has an email).
    let t = chirp_testdb::fresh_database(false).await;
    let c = t.client().await;
    for sql in [
        include_str!("../../migrations/V1__seed_schema.sql"),
        include_str!("../../migrations/V2__publishing.sql"),
        include_str!("../../migrations/V3__unknown_outcomes.sql"),
        include_str!("../../migrations/V4__publisher_liveness.sql"),
        include_str!("../../migrations/V5__token_lifetime.sql"),
        include_str!("../../migrations/V6__heartbeat_and_refresh.sql"),
        include_str!("../../migrations/V7__threads.sql"),
        include_str!("../../migrations/V8__unpublish.sql"),
    ] {
        c.batch_execute(sql).await.unwrap();
    }
    c.batch_execute(
        "INSERT INTO users (name) VALUES ('local'), ('work_account');
         INSERT INTO users (email, name) VALUES ('team@example.com', 'team');
         INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username)
             VALUES (1, '', '11', 'me'), (2, '', '22', 'work_account'), (3, '', '33', 'team');
         INSERT INTO posts (x_account_id, content) VALUES (2, 'for work');",
    )
    .await
    .unwrap();
    c.batch_execute(include_str!("../../migrations/V9__several_accounts.sql"))
        .await
        .unwrap();
    let owners: Vec<(String, i32)> = c
        .query(
            "SELECT x_username, user_id FROM x_accounts ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        owners,
        [
            ("me".into(), 1),
            ("work_account".into(), 1),
            ("team".into(), 3)
        ]
    );
    let users: Vec<(i32, Option<i32>)> = c
        .query(
            "SELECT id, default_x_account_id FROM users ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        users,
        [(1, Some(1)), (3, Some(3))],
        "the emptied user is gone"
    );
    // The post stays with its account.
    let n: i64 = c
        .query_one("SELECT count(*) FROM posts WHERE x_account_id = 2", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

#[tokio::test]
async fn several_accounts_a_default_handles_and_one_text_for_each() {
    let t = fresh_db().await;
    let mut c = t.client().await;
    let tokens = accounts::StoredTokens {
        access: "sealed".into(),
        refresh: None,
        expires_at: None,
        lifetime_secs: None,
        scope: None,
    };
    // Drafts written before any login stay with the first account connected.
    let local = accounts::default_account(&mut c).await.unwrap();
    let a = accounts::save_connected(&mut c, "11", "Alice", &tokens)
        .await
        .unwrap();
    assert_eq!(a, local);
    let b = accounts::save_connected(&mut c, "22", "bob", &tokens)
        .await
        .unwrap();
    assert_ne!(a, b);
    // Connecting an account again renews it: no second row.
    assert_eq!(
        accounts::save_connected(&mut c, "22", "bob", &tokens)
            .await
            .unwrap(),
        b
    );
    let listed: Vec<(Option<String>, bool)> = accounts::list(&c)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.username, s.is_default))
        .collect();
    assert_eq!(
        listed,
        [(Some("Alice".into()), true), (Some("bob".into()), false)]
    );
    // Handles: with or without @, any case; an unknown one names those there are.
    assert_eq!(accounts::find(&c, "@alice").await.unwrap(), a);
    assert_eq!(accounts::find(&c, "BOB").await.unwrap(), b);
    let err = accounts::find(&c, "@carol").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "no connected account @carol (connected: @Alice, @bob)"
    );
    accounts::set_default(&c, b).await.unwrap();
    assert_eq!(accounts::default_account(&mut c).await.unwrap(), b);
    // One text for both: one post each, in one group.
    let made = posts::create_for_accounts(&mut c, ME, &[a, b], &["hello both".into()], None)
        .await
        .unwrap();
    assert_eq!(
        made.iter().map(|p| p.x_account_id).collect::<Vec<_>>(),
        [a, b]
    );
    assert_eq!(made[0].group_id, Some(made[0].id));
    assert_eq!(made[1].group_id, Some(made[0].id));
    let page = posts::list(
        &c,
        &ListQuery {
            account: Some(b),
            ..ListQuery::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(page.posts.len(), 1, "one account's posts");
    let g = page.groups[&made[0].id];
    assert_eq!(g.label(), "sent to 0 of 2");
}

async fn store_png(t: &chirp_testdb::TestDb, seed: u8) -> i32 {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend([seed; 100]);
    chirp_testdb::store_media(&t.db, &bytes, "image/png", chirp_core::MediaKind::Image)
        .await
        .0
}

#[tokio::test]
async fn files_follow_their_parts_through_edits_copies_and_split_offs() {
    use chirp_store::media::{self, NewAttachment};
    let t = fresh_db().await;
    let mut c = t.client().await;
    let account = accounts::default_account(&mut c).await.unwrap();
    let (cat, dog) = (store_png(&t, 1).await, store_png(&t, 2).await);
    let file = |media_id| NewAttachment {
        media_id,
        alt_text: Some(format!("file {media_id}")),
    };
    let parts: Vec<String> = ["one", "two", ""].iter().map(ToString::to_string).collect();
    let p = posts::create_with_media(
        &mut c,
        ME,
        &[account],
        &parts,
        &[vec![], vec![file(cat)], vec![file(dog)]],
        posts::Schedule::Draft,
    )
    .await
    .unwrap()
    .remove(0);
    // Dropping a part that has a file is refused, naming it; nothing changes.
    let err = posts::edit_thread(&mut c, ME, p.id, &parts[..2])
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("part 3 has media attached"),
        "{err}"
    );
    assert_eq!(media::attachments(&c, p.id).await.unwrap().len(), 2);
    // A copy has the same files (stored once) and alt texts.
    let copy = posts::duplicate(&mut c, ME, p.id).await.unwrap();
    let of = |v: Vec<media::Attachment>| -> Vec<(i32, i32, Option<String>)> {
        v.into_iter()
            .map(|a| (a.position, a.media_id, a.alt_text))
            .collect()
    };
    assert_eq!(
        of(media::attachments(&c, copy.id).await.unwrap()),
        of(media::attachments(&c, p.id).await.unwrap())
    );
    // Stopped after part 1: the unsent parts take their files along, renumbered.
    c.execute(
        "UPDATE posts SET status = 'failed', x_tweet_id = '1999' WHERE id = $1",
        &[&p.id],
    )
    .await
    .unwrap();
    let (_, rest) = posts::split_off(&mut c, ME, p.id).await.unwrap();
    assert_eq!(
        of(media::attachments(&c, rest.id).await.unwrap()),
        [
            (1, cat, Some(format!("file {cat}"))),
            (2, dog, Some(format!("file {dog}")))
        ]
    );
    assert!(media::attachments(&c, p.id).await.unwrap().is_empty());
    let n: i64 = c
        .query_one("SELECT count(*) FROM media", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2, "files are shared, not copied");
}

#[tokio::test]
async fn posted_pages_list_what_went_out_last_first_each_once() {
    let t = fresh_db().await;
    let mut c = t.client().await;
    let acct = accounts::default_account(&mut c).await.unwrap();
    // Posted at times that do not follow the ids (sent in another order than written), and
    // failed ones, which count from when they failed.
    c.execute(
        "INSERT INTO posts (x_account_id, content, status, posted_at, x_tweet_id)
         SELECT $1, 'sent ' || g, 'posted', now() - ((g * 37) % 101) * interval '1 minute',
                (1000 + g)::text
         FROM generate_series(1, 90) g",
        &[&acct],
    )
    .await
    .unwrap();
    c.execute(
        "INSERT INTO posts (x_account_id, content, status, error_message)
         SELECT $1, 'failed ' || g, 'failed', 'X refused it' FROM generate_series(1, 10) g",
        &[&acct],
    )
    .await
    .unwrap();
    let mut q = ListQuery {
        statuses: vec![Status::Posted, Status::Failed],
        order: Order::Latest,
        limit: 13,
        ..ListQuery::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = posts::list(&c, &q).await.unwrap();
        seen.extend(
            page.posts
                .iter()
                .map(|p| (p.posted_at.unwrap_or(p.updated_at), p.id)),
        );
        match page.next {
            Some(n) => q.after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen.len(), 100, "each once");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "latest first");
    // The failed ones just now are first; the posted ones by when they went out.
    assert!(seen[..10].iter().all(|(_, id)| *id > 90));
}

#[tokio::test]
async fn the_next_due_time_is_a_posts_never_a_lease() {
    let t = fresh_db().await;
    let mut c = t.client().await;
    let account = accounts::default_account(&mut c).await.unwrap();
    c.execute(
        "UPDATE x_accounts SET is_active = true WHERE id = $1",
        &[&account],
    )
    .await
    .unwrap();
    // One post being sent, its lease running out in 10 s; one due in an hour.
    let in_flight = posts::create(&mut c, Actor("t"), account, "in flight", Some(Utc::now()))
        .await
        .unwrap()
        .id;
    c.execute(
        "UPDATE posts SET status = 'publishing', claimed_by = 'p', claim_expires_at = now() + interval '10 seconds'
         WHERE id = $1",
        &[&in_flight],
    )
    .await
    .unwrap();
    posts::create(
        &mut c,
        Actor("t"),
        account,
        "later",
        Some(Utc::now() + Dur::hours(1)),
    )
    .await
    .unwrap();
    let w = chirp_store::publishing::next_wake(&c).await.unwrap();
    // What is announced as next due is the post in an hour; the lease only wakes the publisher.
    let due = w.due_ms.unwrap();
    assert!((3_590_000..=3_600_000).contains(&due), "{due}");
    assert!(w.wake_ms.unwrap() <= 10_000, "{w:?}");
}

/// A file that gives `first`, then fails or ends (as a file truncated or removed while it is
/// read does).
struct Failing {
    first: Option<Vec<u8>>,
    then_fail: bool,
}

impl chirp_core::media::Chunks for Failing {
    fn next_chunk(&mut self) -> chirp_core::media::NextChunk<'_> {
        Box::pin(async move {
            match self.first.take() {
                Some(piece) => Ok(Some(piece)),
                None if self.then_fail => Err("No such file or directory".to_string()),
                None => Ok(None),
            }
        })
    }
}

#[tokio::test]
async fn a_file_that_cannot_be_read_or_changes_is_the_persons_and_stores_nothing() {
    let t = fresh_db().await;
    let mut c = t.client().await;
    let sha = vec![7u8; 32];
    let meta = chirp_store::media::NewMedia {
        sha256: &sha,
        media_type: "image/png",
        kind: chirp_core::MediaKind::Image,
        size: 10,
    };
    for then_fail in [true, false] {
        let mut file = Failing {
            first: Some(vec![1, 2, 3]),
            then_fail,
        };
        let err = chirp_store::media::store(&mut c, &meta, &mut file)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Refused(Refusal::File(_))),
            "a file's fault, not the database's: {err:?}"
        );
        assert_eq!(
            chirp_core::HasKind::kind(&err),
            chirp_core::Kind::BadInput,
            "{err}"
        );
        let said = err.to_string();
        assert!(
            said.contains(if then_fail {
                "cannot read the file: No such file"
            } else {
                "changed while it was read"
            }),
            "{said}"
        );
    }
    let stored: i64 = c
        .query_one("SELECT count(*) AS n FROM media", &[])
        .await
        .unwrap()
        .get("n");
    assert_eq!(stored, 0, "nothing half-stored");
}

#[tokio::test]
async fn a_claim_whose_answer_was_lost_is_not_kept_alive_by_the_heartbeat() {
    let t = fresh_db().await;
    let mut c = t.client().await;
    let account = accounts::default_account(&mut c).await.unwrap();
    let mut ids = Vec::new();
    for text in ["being sent", "claim answer lost"] {
        ids.push(
            posts::create(&mut c, Actor("t"), account, text, Some(Utc::now()))
                .await
                .unwrap()
                .id,
        );
    }
    // Both are claimed by publisher p in the database; p only heard of the first (the
    // connection died after the server committed the second claim).
    c.execute(
        "UPDATE posts SET status = 'publishing', claimed_by = 'p',
                claim_expires_at = now() + interval '1 second'
         WHERE id = ANY($1)",
        &[&ids],
    )
    .await
    .unwrap();
    let held = chirp_store::publishing::extend_leases(&c, "p", &ids[..1], 60_000)
        .await
        .unwrap();
    assert_eq!(held, ids[..1]);
    let left: Vec<f64> = c
        .query(
            "SELECT extract(epoch FROM claim_expires_at - now())::float8 FROM posts
             WHERE id = ANY($1) ORDER BY id",
            &[&ids],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        left[0] > 50.0,
        "the post p works on keeps its lease: {left:?}"
    );
    assert!(
        left[1] <= 1.0,
        "the one p never heard of runs out, to be rescued: {left:?}"
    );
}
