//! A publisher running in a test against the fake X, and waiting for what it says: one
//! harness for every publisher test (the publisher, media, metrics, a database restart).

use std::time::Duration;

use chirp_fake_x::FakeX;
use chirp_publisher::{self as publisher, Event, Options};
use chirp_store::Db;
use tokio::sync::{mpsc, watch};

/// How long a test waits for an event before it fails, saying what it saw.
pub const T: Duration = Duration::from_mins(1);

pub struct Running {
    pub events: mpsc::UnboundedReceiver<Event>,
    pub stop: watch::Sender<publisher::Stop>,
    pub task: tokio::task::JoinHandle<()>,
    /// Every event received so far.
    pub seen: Vec<Event>,
}

impl Running {
    /// A publisher on `db` with `opts`, talking to `fake` with requests of `x_timeout`.
    pub fn start(db: &Db, fake: &FakeX, opts: Options, x_timeout: Duration) -> Running {
        let opts = Options {
            request_timeout: x_timeout,
            ..opts
        };
        let networks = crate::networks(fake, x_timeout);
        let credentials = chirp_credentials::Credentials::new(&networks, crate::cipher());
        let (tx, events) = mpsc::unbounded_channel();
        let (stop, stop_rx) = watch::channel(publisher::Stop::No);
        let task = tokio::spawn(publisher::run(
            db.pg.clone(),
            networks,
            credentials,
            opts,
            tx,
            stop_rx,
        ));
        Running {
            events,
            stop,
            task,
            seen: Vec::new(),
        }
    }

    /// Waits for an event matching `f` (one seen already counts) and returns it.
    pub async fn until(&mut self, f: impl Fn(&Event) -> bool) -> Event {
        if let Some(e) = self.seen.iter().find(|e| f(e)) {
            return e.clone();
        }
        loop {
            let e = tokio::time::timeout(T, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("no such event; saw {:#?}", self.seen))
                .expect("publisher alive");
            self.seen.push(e.clone());
            if f(&e) {
                return e;
            }
        }
    }

    /// Waits for post `id` to go out.
    pub async fn posted(&mut self, id: i32) {
        self.until(|e| matches!(e, Event::Posted { post, .. } if *post == id))
            .await;
    }

    /// Waits for post `id` to fail and returns why.
    pub async fn failure(&mut self, id: i32) -> String {
        match self
            .until(|e| matches!(e, Event::Failed { post, .. } if *post == id))
            .await
        {
            Event::Failed { reason, .. } => reason,
            _ => unreachable!(),
        }
    }

    /// Stops it (finishing what is in flight) and returns every event it sent.
    pub async fn stop(mut self) -> Vec<Event> {
        self.stop
            .send(publisher::Stop::Finish)
            .expect("publisher alive");
        self.task.await.expect("publisher ended");
        while let Ok(e) = self.events.try_recv() {
            self.seen.push(e);
        }
        self.seen
    }
}
