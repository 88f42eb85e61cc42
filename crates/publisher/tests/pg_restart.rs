//! PostgreSQL restarted under a running publisher: it notices, waits, reconnects by itself and
//! goes on publishing. In a test binary of its own, because it stops this binary's cluster.
// Tests and benchmarks stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chirp_fake_x::{FakeConfig, FakeX};
use chirp_net::x::XNetwork;
use chirp_publisher::{self as publisher, Event, Options};
use tokio::sync::{mpsc, watch};

/// Waits for an event matching `f`; a failure names `what` and every event seen.
async fn until(
    rx: &mut mpsc::UnboundedReceiver<Event>,
    what: &str,
    f: impl Fn(&Event) -> bool,
) -> Event {
    let mut seen = Vec::new();
    loop {
        let e = tokio::time::timeout(Duration::from_mins(1), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} in time; saw {seen:#?}"))
            .expect("publisher alive");
        if f(&e) {
            return e;
        }
        seen.push(e);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publisher_recovers_from_a_database_restart() {
    // This test crashes the server: it must keep what it committed.
    let cluster = chirp_testing::cluster_with(true);
    let fake = FakeX::start(FakeConfig::default(), 0).await.unwrap();
    let t = chirp_testing::fresh_db().await;
    let (account, _, _) =
        chirp_testing::connect_account(&t.db, &fake, chrono::Duration::hours(1)).await;
    let network = std::sync::Arc::new(XNetwork::new(&fake.base_url(), Duration::from_secs(5)));
    let credentials = chirp_testing::credentials(&fake, Duration::from_secs(5));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (stop, stop_rx) = watch::channel(publisher::Stop::No);
    let opts = Options {
        safety_poll: Duration::from_hours(1),
        request_timeout: Duration::from_secs(5),
        ..Options::default()
    };
    let task = tokio::spawn(publisher::run(
        t.db.pg.clone(),
        network,
        credentials,
        opts,
        tx,
        stop_rx,
    ));
    until(&mut rx, "Waiting", |e| matches!(e, Event::Waiting { .. })).await;

    // A crash-stop of the server, as an OOM kill or a power cut would do.
    cluster.kill().unwrap();
    until(&mut rx, "DatabaseDown", |e| {
        matches!(e, Event::DatabaseDown { .. })
    })
    .await;
    cluster.restart().unwrap();
    until(&mut rx, "DatabaseBack", |e| {
        matches!(e, Event::DatabaseBack)
    })
    .await;

    // It listens again: a plain insert is picked up by NOTIFY, not by the (hour-long) poll.
    let c = t.db.client().await.unwrap();
    c.execute(
        "INSERT INTO posts (x_account_id, content, status, scheduled_at) VALUES ($1, 'after restart', 'scheduled', now())",
        &[&account],
    )
    .await
    .unwrap();
    until(&mut rx, "Posted", |e| matches!(e, Event::Posted { .. })).await;
    assert_eq!(fake.posts()[0].text, "after restart");
    stop.send(publisher::Stop::Finish).unwrap();
    task.await.unwrap();
}
