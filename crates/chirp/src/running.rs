//! A publisher this process runs. The TUI's background publisher and `chirp scheduler` start
//! it the same way, here: its own connections to the database, the registry's networks, the
//! credentials service, and a channel for what it did.

use chirp_credentials::Credentials;
use chirp_net::Networks;
use chirp_publisher::{Event, Options, Stop};
use chirp_store::Db;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// A publisher running in a task of its own.
pub struct Publisher {
    /// Ends when the publisher has stopped (after finishing or handing back its posts).
    pub task: JoinHandle<()>,
    stop: watch::Sender<Stop>,
}

impl Publisher {
    /// Starts a publisher on `db`'s database, telling what it does on `events`.
    pub fn start(
        db: &Db,
        networks: Networks,
        credentials: Credentials,
        opts: Options,
        events: mpsc::UnboundedSender<Event>,
    ) -> Publisher {
        let (stop, stop_rx) = watch::channel(Stop::No);
        let task = tokio::spawn(chirp_publisher::run(
            chirp_store::Target::from(db),
            networks,
            credentials,
            opts,
            events,
            stop_rx,
        ));
        Publisher { task, stop }
    }

    /// Asks it to stop: finish what is in flight, or hand it back at once.
    pub fn stop(&self, how: Stop) {
        let _ = self.stop.send(how);
    }
}
