//! The queue against a real PostgreSQL: slots taken in order, freed, compacted, and never
//! shared, however many processes add at once.
// Tests and benchmarks stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chirp_core::slots::WeeklySlots;
use chirp_core::{Post, Status};
use chirp_store::posts::{self, Actor, Schedule};
use chirp_store::{Refusal, StoreError, queue};
use chirp_testdb::{TestDb, fresh_db};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

const ME: Actor<'static> = Actor("test");

/// An account @alice with slots `spec` in `tz`; its id.
async fn account_with_queue(t: &TestDb, spec: &str, tz: &str) -> i32 {
    let c = t.client().await;
    let id: i32 = c
        .query_one(
            "WITH u AS (INSERT INTO users (email, name) VALUES ('a@example.com', 'A') RETURNING id)
             INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username)
             SELECT id, '', '42', 'alice' FROM u RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let slots: WeeklySlots = spec.parse().unwrap();
    queue::set(&c, id, &slots, tz.parse().unwrap())
        .await
        .unwrap();
    id
}

async fn queued(t: &TestDb, account: i32, text: &str) -> Post {
    let mut c = t.client().await;
    posts::create_with_media(&mut c, ME, &[account], &[text.into()], &[], Schedule::Queue)
        .await
        .unwrap()
        .remove(0)
}

/// The slots a new post would take, from now on.
async fn next_free(t: &TestDb, account: i32, n: usize) -> Vec<DateTime<Utc>> {
    queue::free(&t.client().await, account, Utc::now(), n)
        .await
        .unwrap()
}

#[tokio::test]
async fn posts_added_to_the_queue_take_the_next_free_slots_in_order() {
    let t = fresh_db().await;
    let a = account_with_queue(&t, "daily 09:00,13:00,18:00", "Europe/Berlin").await;
    let expected = next_free(&t, a, 3).await;
    let mut got = Vec::new();
    for i in 0..3 {
        let p = queued(&t, a, &format!("queued {i}")).await;
        assert_eq!(p.status, Status::Scheduled);
        assert!(p.queued);
        got.push(p.scheduled_at.unwrap());
    }
    assert_eq!(got, expected);
    // A post scheduled by hand at the next free slot's time takes it too: the queue skips it.
    let fourth = next_free(&t, a, 1).await[0];
    posts::create(&mut t.client().await, ME, a, "by hand", Some(fourth))
        .await
        .unwrap();
    let p = queued(&t, a, "after the one by hand").await;
    assert!(p.scheduled_at.unwrap() > fourth);
}

#[tokio::test]
async fn unscheduling_or_deleting_frees_a_slot_and_compact_closes_the_gaps() {
    let t = fresh_db().await;
    let a = account_with_queue(&t, "daily 10:00", "UTC").await;
    let mut made = Vec::new();
    for i in 0..4 {
        made.push(queued(&t, a, &format!("day {i}")).await);
    }
    let slots: Vec<_> = made.iter().map(|p| p.scheduled_at.unwrap()).collect();
    let mut c = t.client().await;
    // Unscheduling the second frees its slot: the next post added takes it.
    posts::unschedule(&mut c, ME, made[1].id).await.unwrap();
    let again = queued(&t, a, "takes day 1").await;
    assert_eq!(again.scheduled_at, Some(slots[1]));
    // Deleting the first leaves a gap that compact closes, keeping the order.
    posts::delete(&mut c, ME, made[0].id).await.unwrap();
    let moves = queue::compact(&mut c, ME, a, false).await.unwrap();
    let order: Vec<i32> = moves.iter().map(|m| m.post).collect();
    assert_eq!(order, [again.id, made[2].id, made[3].id]);
    let to: Vec<_> = moves.iter().map(|m| m.to).collect();
    assert_eq!(to, slots[..3]);
    // Rescheduling by hand takes a post out of the queue.
    let moved = posts::schedule(
        &mut c,
        ME,
        made[3].id,
        slots[3] + chrono::Duration::minutes(5),
    )
    .await
    .unwrap();
    assert!(!moved.queued);
    // Shuffle keeps the same slots, whatever the order.
    let shuffled = queue::compact(&mut c, ME, a, true).await.unwrap();
    let mut to: Vec<_> = shuffled.iter().map(|m| m.to).collect();
    to.sort();
    assert_eq!(to, slots[..2]);
}

#[tokio::test]
async fn many_processes_adding_at_once_never_share_a_slot() {
    let t = fresh_db().await;
    let a = account_with_queue(
        &t,
        "mon-fri 09:00,12:30,17:00; sat 10:00",
        "America/New_York",
    )
    .await;
    let expected = next_free(&t, a, 12).await;
    // Twelve "processes" add at the same moment.
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            // A pool of its own, as another process would have.
            let db = chirp_store::Db::from_config(chirp_testdb::cluster().pg_config(&t.name), None);
            tokio::spawn(async move {
                let mut c = db.client().await.unwrap();
                posts::create_with_media(
                    &mut c,
                    ME,
                    &[a],
                    &[format!("racer {i}")],
                    &[],
                    Schedule::Queue,
                )
                .await
                .unwrap()
                .remove(0)
                .scheduled_at
                .unwrap()
            })
        })
        .collect();
    let mut got: Vec<DateTime<Utc>> = Vec::new();
    for task in tasks {
        got.push(task.await.unwrap());
    }
    got.sort();
    assert_eq!(got, expected, "each of the first 12 slots once");
    // And the database itself refuses two waiting posts in one slot of an account.
    let c = t.client().await;
    let err = c
        .execute(
            "UPDATE posts SET scheduled_at = $1 WHERE content = 'racer 0' OR content = 'racer 1'",
            &[&expected[0]],
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.as_db_error().and_then(|e| e.constraint()),
        Some("posts_queue_slot_key"),
        "{err:?}"
    );
}

#[tokio::test]
async fn adding_to_an_account_without_slots_is_refused_and_writes_nothing() {
    let t = fresh_db().await;
    let a = account_with_queue(&t, "none", "UTC").await;
    let mut c = t.client().await;
    let err =
        posts::create_with_media(&mut c, ME, &[a], &["no slots".into()], &[], Schedule::Queue)
            .await
            .unwrap_err();
    assert!(
        matches!(&err, StoreError::Refused(Refusal::NoQueue(h)) if h == "alice"),
        "{err}"
    );
    // What is wrong, in the store's words; what to run is the command line's to say.
    assert_eq!(err.to_string(), "@alice has no queue slots");
    let n: i64 = c
        .query_one("SELECT count(*) FROM posts", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "no draft left behind");
}

#[tokio::test]
async fn an_edit_saved_into_the_queue_is_both_or_neither() {
    let t = fresh_db().await;
    let a = account_with_queue(&t, "none", "UTC").await;
    let mut c = t.client().await;
    let draft = posts::create(&mut c, ME, a, "before", None).await.unwrap();
    // No slots: refused, and the edit is not kept either.
    let err = posts::edit_into_queue(&mut c, ME, draft.id, &["after".into()], &[])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Refused(Refusal::NoQueue(_))),
        "{err}"
    );
    assert_eq!(posts::get(&c, draft.id).await.unwrap().content, "before");
    // With slots: edited and queued at once.
    queue::set(
        &c,
        a,
        &"daily 09:00".parse().unwrap(),
        "UTC".parse().unwrap(),
    )
    .await
    .unwrap();
    let p = posts::edit_into_queue(&mut c, ME, draft.id, &["after".into()], &[])
        .await
        .unwrap();
    assert_eq!(p.content, "after");
    assert!(p.queued && p.status == Status::Scheduled, "{p:?}");
    assert_eq!(
        p.scheduled_at.map(|t| t.format("%H:%M").to_string()),
        Some("09:00".into())
    );
}

#[tokio::test]
async fn the_queue_is_read_in_the_accounts_zone_across_a_dst_change() {
    let t = fresh_db().await;
    let a = account_with_queue(&t, "daily 09:00", "Europe/Berlin").await;
    let tz: Tz = "Europe/Berlin".parse().unwrap();
    let from = DateTime::parse_from_rfc3339("2027-03-27T00:00:00+01:00")
        .unwrap()
        .with_timezone(&Utc);
    let got = queue::free(&t.client().await, a, from, 3).await.unwrap();
    let local: Vec<String> = got
        .iter()
        .map(|t| t.with_timezone(&tz).format("%m-%d %H:%M %Z").to_string())
        .collect();
    assert_eq!(
        local,
        ["03-27 09:00 CET", "03-28 09:00 CEST", "03-29 09:00 CEST"]
    );
    let q = queue::get(&t.client().await, a).await.unwrap().unwrap();
    assert_eq!(q.slots.to_string(), "daily 09:00");
    assert_eq!(q.tz, tz);
}
