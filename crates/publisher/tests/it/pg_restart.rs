//! PostgreSQL restarted under a running publisher: it notices, waits, reconnects by itself and
//! goes on publishing. On a cluster of its own, because it crashes the server.
// Tests and benchmarks stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chirp_fake_x::{FakeConfig, FakeX};
use chirp_publisher::{Event, Options};
use chirp_testing::publisher::Running;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publisher_recovers_from_a_database_restart() {
    // This test crashes the server: it must keep what it committed.
    let cluster = chirp_testing::own_cluster(true);
    let fake = FakeX::start(FakeConfig::default(), 0).await.unwrap();
    let t = cluster.fresh_database(true).await;
    let (account, _, _) =
        chirp_testing::connect_account(&t.db, &fake, chrono::Duration::hours(1)).await;
    let opts = Options {
        safety_poll: Duration::from_hours(1),
        ..Options::default()
    };
    let mut p = Running::start(&t.db, &fake, opts, Duration::from_secs(5));
    p.until(|e| matches!(e, Event::Waiting { .. })).await;

    // A crash-stop of the server, as an OOM kill or a power cut would do.
    cluster.kill().unwrap();
    p.until(|e| matches!(e, Event::DatabaseDown { .. })).await;
    cluster.restart().unwrap();
    p.until(|e| matches!(e, Event::DatabaseBack)).await;

    // It listens again: a plain insert is picked up by NOTIFY, not by the (hour-long) poll.
    let c = t.db.client().await.unwrap();
    c.execute(
        "INSERT INTO posts (x_account_id, content, status, scheduled_at) VALUES ($1, 'after restart', 'scheduled', now())",
        &[&account],
    )
    .await
    .unwrap();
    p.until(|e| matches!(e, Event::Posted { .. })).await;
    assert_eq!(fake.posts()[0].text, "after restart");
    p.stop().await;
}
