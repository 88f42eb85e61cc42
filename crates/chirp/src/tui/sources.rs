//! The event sources: terminal input, ticks, signals and database notifications, each a task feeding the one channel the loop reads.

use std::sync::Arc;
use std::time::Duration;

use chirp_store::Db;
use chirp_store::notify::{self, Heard};
use chrono::Utc;
use crossterm::event::{EventStream, KeyEventKind};
use futures_util::StreamExt;

use super::effects::Tx;
use super::model::{DbState, Msg};

pub(super) fn spawn_input(tx: Tx) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut events = EventStream::new();
        while let Some(read) = events.next().await {
            let ev = match read {
                Ok(ev) => ev,
                // A signal (SIGCONT after Ctrl-Z and `fg`, SIGWINCH) interrupted the read:
                // read on.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!("reading the terminal failed: {e}");
                    break;
                }
            };
            let msg = match ev {
                crossterm::event::Event::Key(k) if k.kind != KeyEventKind::Release => Msg::Key(k),
                crossterm::event::Event::Paste(p) => Msg::Paste(p),
                crossterm::event::Event::Mouse(e) => Msg::Mouse(e),
                crossterm::event::Event::Resize(w, h) => Msg::Resize(w, h),
                _ => continue,
            };
            if tx.send(msg).is_err() {
                break;
            }
        }
    })
}

pub(super) fn spawn_ticks(tx: Tx) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        loop {
            every.tick().await;
            if tx.send(Msg::Tick(Utc::now())).is_err() {
                break;
            }
        }
    });
}

pub(super) fn spawn_signals(tx: Tx) {
    use tokio::signal::unix::{SignalKind, signal};
    tokio::spawn(async move {
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        let _ = tx.send(Msg::Quit);
    });
}

/// LISTENs for post changes; reports the connection's state and reconnects with back-off.
pub(super) fn spawn_listener(db: Arc<Db>, tx: Tx) {
    tokio::spawn(async move {
        let mut wait = Duration::from_millis(500);
        loop {
            match notify::listen(&db).await {
                Ok(mut l) => {
                    wait = Duration::from_millis(500);
                    if tx.send(Msg::Db(DbState::Connected)).is_err() {
                        return;
                    }
                    while let Some(h) = l.rx.recv().await {
                        let msg = match h {
                            Heard::Change(_) => Msg::Changed,
                            Heard::Lost(e) => Msg::Db(DbState::Reconnecting(e)),
                        };
                        if tx.send(msg).is_err() {
                            return;
                        }
                    }
                }
                Err(e) => {
                    if tx
                        .send(Msg::Db(DbState::Reconnecting(e.to_string())))
                        .is_err()
                    {
                        return;
                    }
                }
            }
            // Spread out, so that many TUIs do not all knock at once when the database is back.
            let mut b = [0u8; 1];
            let _ = getrandom::fill(&mut b);
            tokio::time::sleep(chirp_core::policy::jittered(wait, f64::from(b[0]) / 255.0)).await;
            wait = (wait * 2).min(Duration::from_secs(10));
        }
    });
}
