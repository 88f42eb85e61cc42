//! Wake-ups: a dedicated connection (not a pooled one, which would drop notifications when
//! returned) that LISTENs on `chirp_posts` and forwards each notification to a channel.

use futures_util::StreamExt;
use futures_util::stream;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_postgres::AsyncMessage;

use super::{Db, StoreError};

pub const CHANNEL: &str = "chirp_posts";

/// What the `posts_notify` trigger sends.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PostChange {
    /// insert, update or delete
    pub op: String,
    pub id: i32,
    pub status: String,
    pub account: i32,
}

/// What a listener hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    Change(PostChange),
    /// The connection ended: the listener must reconnect (and assume it missed something).
    Lost(String),
}

/// A live LISTEN. Dropping it closes the connection.
pub struct Listener {
    pub rx: mpsc::UnboundedReceiver<Heard>,
    _client: tokio_postgres::Client,
}

/// Connects, LISTENs, and forwards what arrives until the connection ends.
pub async fn listen(db: &Db) -> Result<Listener, StoreError> {
    let (client, mut conn) = db.connect_dedicated().await?;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = stream::poll_fn(move |cx| conn.poll_message(cx));
        let end = loop {
            match messages.next().await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    if let Ok(change) = serde_json::from_str::<PostChange>(n.payload())
                        && tx.send(Heard::Change(change)).is_err()
                    {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break super::one_line(&e),
                None => break "the database closed the connection".to_string(),
            }
        };
        let _ = tx.send(Heard::Lost(end));
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    Ok(Listener {
        rx,
        _client: client,
    })
}
