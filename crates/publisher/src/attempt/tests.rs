//! The attempt's rules against an in-memory network and store: milliseconds, no HTTP, no
//! PostgreSQL. The end-to-end tests (tests/it) try the same against PostgreSQL and the fake X.

use chirp_core::{RetryPolicy, SendError};
use chirp_net::Lookup;
use chirp_netdouble::{Answer, MemNetwork, Published};
use chirp_store::publishing::Claimed;

use super::Attempt;
use crate::events::Event;
use crate::lock;
use crate::outcome::Outcome;
use crate::testio::{MemIo, claimed};

async fn run(net: &MemNetwork, io: &MemIo, p: &Claimed) -> Outcome {
    Attempt {
        io,
        net,
        policy: &RetryPolicy::default(),
        request_timeout: std::time::Duration::from_secs(30),
        p,
    }
    .run()
    .await
}

fn texts(net: &MemNetwork) -> Vec<String> {
    net.posts().into_iter().map(|p| p.text).collect()
}

#[tokio::test]
async fn a_single_post_is_a_thread_of_one() {
    let (net, io) = (MemNetwork::new(), MemIo::new());
    let o = run(&net, &io, &claimed(&[("hello", None)])).await;
    let posts = net.posts();
    let [Published { id, .. }] = posts.as_slice() else {
        panic!("{posts:?}");
    };
    assert!(
        matches!(&o, Outcome::Posted { position: 1, of: 1, remote_id, first, .. } if remote_id == id && first == id),
        "{o:?}"
    );
    // The last part's id is the outcome's: nothing stored before it.
    assert!(lock(&io.stored).is_empty());
}

#[tokio::test]
async fn a_thread_goes_part_by_part_each_replying_to_the_one_before() {
    let (net, io) = (MemNetwork::new(), MemIo::new());
    let o = run(
        &net,
        &io,
        &claimed(&[("one", None), ("two", None), ("three", None)]),
    )
    .await;
    let posts = net.posts();
    assert_eq!(texts(&net), ["one", "two", "three"]);
    assert_eq!(posts[0].reply_to, None);
    assert_eq!(posts[1].reply_to.as_ref(), Some(&posts[0].id));
    assert_eq!(posts[2].reply_to.as_ref(), Some(&posts[1].id));
    // Each id stored before the next part went; the last one is the outcome.
    let stored: Vec<i32> = lock(&io.stored).iter().map(|s| s.1).collect();
    assert_eq!(stored, [1, 2]);
    // The pane hears of each part as it lands, not only of the whole thread.
    let heard: Vec<(usize, usize, String)> = io
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::PartPosted {
                part,
                of,
                remote_id,
                ..
            } => Some((part, of, remote_id)),
            _ => None,
        })
        .collect();
    assert_eq!(
        heard,
        [(1, 3, posts[0].id.clone()), (2, 3, posts[1].id.clone())]
    );
    match o {
        Outcome::Posted {
            position,
            of,
            remote_id,
            first,
            ..
        } => {
            assert_eq!((position, of), (3, 3));
            assert_eq!(remote_id, posts[2].id);
            assert_eq!(first, posts[0].id);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_thread_resumed_part_way_sends_only_what_is_missing() {
    let (net, io) = (MemNetwork::new(), MemIo::new());
    let first = net.seed("one", None);
    let o = run(&net, &io, &claimed(&[("one", Some(&first)), ("two", None)])).await;
    assert_eq!(texts(&net), ["one", "two"], "part 1 is not sent again");
    assert_eq!(net.posts()[1].reply_to.as_ref(), Some(&first));
    assert!(matches!(o, Outcome::Posted { position: 2, first: f, .. } if f == first));
}

#[tokio::test]
async fn every_id_stored_already_finishes_without_a_call() {
    let (net, io) = (MemNetwork::new(), MemIo::new());
    let o = run(
        &net,
        &io,
        &claimed(&[("one", Some("n1")), ("two", Some("n2"))]),
    )
    .await;
    assert_eq!(o, Outcome::Finished { first: "n1".into() });
    assert!(net.calls().is_empty());
}

#[tokio::test]
async fn the_text_is_checked_by_the_rule_of_the_accounts_network() {
    // 200 CJK characters: 400 weighted on X, 200 characters on Mastodon.
    let cjk = "字".repeat(200);
    let (net, io) = (MemNetwork::new(), MemIo::new());
    let o = run(&net, &io, &claimed(&[(&cjk, None)])).await;
    assert!(
        matches!(&o, Outcome::Failed(m) if m.contains("400/280")),
        "{o:?}"
    );
    let mut toot = claimed(&[(&cjk, None)]);
    toot.network = chirp_core::Network::Mastodon;
    let o = run(&net, &io, &toot).await;
    assert!(matches!(&o, Outcome::Posted { .. }), "{o:?}");
    assert_eq!(texts(&net), [cjk]);
}

#[tokio::test]
async fn after_an_unknown_outcome_a_part_found_is_never_sent_again() {
    let (net, io) = (MemNetwork::new(), MemIo::new());
    let there = net.seed("hello", None);
    let mut p = claimed(&[("hello", None)]);
    p.needs_reconcile = true;
    p.attempt = 2;
    let o = run(&net, &io, &p).await;
    assert_eq!(net.calls(), ["find"]);
    assert!(matches!(o, Outcome::Posted { remote_id, .. } if remote_id == there));
}

#[tokio::test]
async fn after_an_unknown_outcome_a_part_not_there_is_sent() {
    let (net, io) = (MemNetwork::new(), MemIo::new());
    let mut p = claimed(&[("hello", None)]);
    p.needs_reconcile = true;
    let o = run(&net, &io, &p).await;
    assert_eq!(net.calls(), ["find", "publish"]);
    assert!(matches!(o, Outcome::Posted { .. }));
}

#[tokio::test]
async fn a_rescued_post_is_looked_for_at_once_and_sent_only_after_the_grace() {
    let (net, io) = (MemNetwork::new(), MemIo::new());
    let later = chrono::Utc::now() + chrono::Duration::seconds(30);
    // Found at once: recorded, though the grace has not ended.
    let there = net.seed("landed", None);
    let mut p = claimed(&[("landed", None)]);
    p.needs_reconcile = true;
    p.send_not_before = Some(later);
    let o = run(&net, &io, &p).await;
    assert!(matches!(o, Outcome::Posted { remote_id, .. } if remote_id == there));
    // Not there yet: not sent before the grace ends, looked for again then.
    let mut p = claimed(&[("on the wire", None)]);
    p.needs_reconcile = true;
    p.send_not_before = Some(later);
    match run(&net, &io, &p).await {
        Outcome::Requeue {
            at,
            unknown,
            uncount,
            ..
        } => {
            assert_eq!(at, Some(later));
            assert!(unknown && uncount);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(net.posts().len(), 1, "nothing more was sent");
    // Once the grace is over, a post still not there is sent.
    p.send_not_before = Some(chrono::Utc::now() - chrono::Duration::seconds(1));
    assert!(matches!(run(&net, &io, &p).await, Outcome::Posted { .. }));
}

#[tokio::test]
async fn a_match_recorded_for_another_post_is_never_taken() {
    let (net, io) = (MemNetwork::new(), MemIo::new());
    let there = net.seed("hello", None);
    lock(&io.owners).insert(there.clone(), 3);
    let mut p = claimed(&[("hello", None)]);
    p.needs_reconcile = true;
    let o = run(&net, &io, &p).await;
    match o {
        Outcome::Requeue {
            unknown, reason, ..
        } => {
            assert!(unknown, "still to be looked for");
            assert!(reason.contains("post 3"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(net.posts().len(), 1, "nothing sent");
}

#[tokio::test]
async fn when_nobody_can_tell_it_waits_then_gives_up_saying_what_to_check() {
    let (net, io) = (MemNetwork::new(), MemIo::new());
    net.lookups([Ok(Lookup::Unsure("two candidates".into()))]);
    let mut p = claimed(&[("hello", None)]);
    p.needs_reconcile = true;
    assert!(matches!(
        run(&net, &io, &p).await,
        Outcome::Requeue { unknown: true, .. }
    ));
    net.lookups([Ok(Lookup::Unsure("two candidates".into()))]);
    p.attempt = RetryPolicy::default().max_attempts;
    let o = run(&net, &io, &p).await;
    assert!(
        matches!(&o, Outcome::Failed(m) if m.contains("Check the account on MemNet")),
        "{o:?}"
    );
    assert!(net.posts().is_empty());
}

#[tokio::test]
async fn a_duplicate_after_an_unknown_outcome_means_it_is_out() {
    let (net, io) = (MemNetwork::new(), MemIo::new());
    net.refuse_duplicates();
    // The network has it, but its timeline does not show it (yet).
    net.seed("hello", None);
    net.lookups([Ok(Lookup::Absent), Ok(Lookup::Absent)]);
    let mut p = claimed(&[("hello", None)]);
    p.needs_reconcile = true;
    let o = run(&net, &io, &p).await;
    assert!(
        matches!(&o, Outcome::PostedWithoutId(m) if m.contains("duplicate")),
        "{o:?}"
    );
    assert_eq!(net.posts().len(), 1);

    // In a thread the parts after it cannot reply to an unknown id: it stops, saying so.
    let (net, io) = (MemNetwork::new(), MemIo::new());
    net.refuse_duplicates();
    net.seed("one", None);
    net.lookups([Ok(Lookup::Absent), Ok(Lookup::Absent)]);
    let mut p = claimed(&[("one", None), ("two", None)]);
    p.needs_reconcile = true;
    let o = run(&net, &io, &p).await;
    assert!(
        matches!(&o, Outcome::Failed(m) if m.starts_with("part 1/2 is on MemNet")),
        "{o:?}"
    );
    assert_eq!(texts(&net), ["one"], "part 2 not sent");
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once_and_the_part_sent_again() {
    let (net, io) = (MemNetwork::new(), MemIo::new());
    net.accept_only("t2");
    let o = run(&net, &io, &claimed(&[("hello", None)])).await;
    assert!(matches!(o, Outcome::Posted { .. }), "{o:?}");
    assert_eq!(*lock(&io.refreshes), 1);
    assert_eq!(net.calls(), ["publish", "publish"]);

    // A refresh refused: the account needs reconnecting, and the post waits for it.
    let (net, io) = (MemNetwork::new(), MemIo::new());
    net.accept_only("t2");
    *lock(&io.fresh) = None;
    let o = run(&net, &io, &claimed(&[("hello", None)])).await;
    assert!(
        matches!(&o, Outcome::Requeue { at: None, uncount: true, reason, .. } if reason.contains("reconnect")),
        "{o:?}"
    );
    assert!(net.posts().is_empty());
}

#[tokio::test]
async fn a_part_id_the_database_does_not_take_stops_the_thread() {
    let (net, io) = (MemNetwork::new(), MemIo::new());
    *lock(&io.store_failures) = 3;
    let o = run(&net, &io, &claimed(&[("one", None), ("two", None)])).await;
    assert_eq!(o, Outcome::Abandoned);
    assert_eq!(texts(&net), ["one"], "nothing more is sent");
    assert_eq!(
        lock(&io.pauses).len(),
        3,
        "tried three times, waiting between"
    );

    // Once it comes back, the id is stored and the thread goes on.
    let (net, io) = (MemNetwork::new(), MemIo::new());
    *lock(&io.store_failures) = 2;
    let o = run(&net, &io, &claimed(&[("one", None), ("two", None)])).await;
    assert!(matches!(o, Outcome::Posted { position: 2, .. }), "{o:?}");
}

#[tokio::test]
async fn a_lost_lease_sends_nothing() {
    let (net, io) = (MemNetwork::new(), MemIo::new());
    *lock(&io.lost) = true;
    let o = run(&net, &io, &claimed(&[("hello", None)])).await;
    assert_eq!(o, Outcome::LeaseLost);
    assert!(net.calls().is_empty());
}

#[tokio::test]
async fn a_text_too_long_fails_before_any_call_and_names_its_part() {
    let (net, io) = (MemNetwork::new(), MemIo::new());
    let long = "x".repeat(281);
    let o = run(&net, &io, &claimed(&[("fine", None), (&long, None)])).await;
    assert!(
        matches!(&o, Outcome::Failed(m) if m.starts_with("part 2/2 not sent")),
        "{o:?}"
    );
    assert!(net.calls().is_empty());
}

#[tokio::test]
async fn media_are_uploaded_just_before_their_part_and_remembered() {
    let (net, io) = (MemNetwork::new(), MemIo::new());
    io.attach(2, 11, b"png bytes");
    let mut p = claimed(&[("one", None), ("two", None)]);
    p.has_media = true;
    let o = run(&net, &io, &p).await;
    assert!(matches!(o, Outcome::Posted { .. }), "{o:?}");
    assert_eq!(net.calls(), ["publish", "upload", "publish"]);
    let (upload, bytes) = net.uploads()[0].clone();
    assert_eq!(bytes, 9);
    assert_eq!(net.posts()[1].media_ids, std::slice::from_ref(&upload));
    assert_eq!(*lock(&io.remembered), [(2, 1, upload)]);
}

#[tokio::test]
async fn media_the_network_forgot_are_uploaded_again_next_time() {
    let (net, io) = (MemNetwork::new(), MemIo::new());
    io.attach(1, 11, b"png");
    net.answer([Answer::Err(SendError::MediaGone(
        "MemNet: media expired".into(),
    ))]);
    let mut p = claimed(&[("hello", None)]);
    p.has_media = true;
    let o = run(&net, &io, &p).await;
    assert!(matches!(o, Outcome::Requeue { .. }), "{o:?}");
    assert_eq!(*lock(&io.forgot_uploads), 1);
}

#[tokio::test]
async fn an_answer_lost_after_the_network_acted_is_an_unknown_outcome() {
    let (net, io) = (MemNetwork::new(), MemIo::new());
    net.answer([Answer::LandThenLose]);
    let o = run(&net, &io, &claimed(&[("one", None), ("two", None)])).await;
    assert!(
        matches!(&o, Outcome::Requeue { unknown: true, reason, .. } if reason.starts_with("part 1/2: ")),
        "{o:?}"
    );
    assert_eq!(texts(&net), ["one"], "part 2 waits for part 1 to be found");
}
