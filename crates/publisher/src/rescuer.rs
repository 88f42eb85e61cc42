//! The rescuer: posts whose publisher died (none of its connections is left) or whose lease
//! expired go back to the queue, to be looked for on the network before any resend; so do the
//! posts of a publisher told to stop at once, and of an attempt that panicked.

use std::time::{Duration, Instant};

use chirp_core::PostId;
use chirp_store::StoreError;
use chirp_store::publishing as store;
use chrono::Utc;

use crate::{Event, Inner, lock};

impl Inner {
    /// Hands expired leases back, at most once a second (leases run for minutes).
    pub(crate) async fn rescue(&self, c: &deadpool_postgres::Object) -> Result<(), StoreError> {
        let due = lock(&self.last_rescue).is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
        if due {
            let grace = self.opts.grace.as_millis() as i64;
            for post in store::rescue_expired(c, grace).await? {
                self.emit(Event::Rescued { post });
            }
            *lock(&self.last_rescue) = Some(Instant::now());
        }
        Ok(())
    }

    /// Hands every post this publisher holds back to the queue, to be checked on the network
    /// after the grace period. If the database cannot be reached, their leases run out instead.
    pub(crate) async fn release(&self) {
        let grace = self.opts.grace.as_millis() as i64;
        let released = match self.db.client().await {
            Ok(c) => store::release_claims(&c, &self.me, grace).await,
            Err(e) => Err(e),
        };
        match released {
            Ok(posts) => {
                for post in posts {
                    self.emit(Event::Released { post });
                }
            }
            Err(e) => self.emit(Event::DatabaseDown {
                error: e.to_string(),
            }),
        }
    }

    /// An attempt's task panicked: the post goes back to the queue, outcome unknown.
    pub(crate) async fn crashed(&self, post: PostId, net: chirp_core::Network, why: &str) {
        let reason = format!("the attempt crashed ({why}): checking {net} before sending again");
        self.emit(Event::Crashed {
            post,
            reason: reason.clone(),
        });
        let at = Utc::now() + chrono::Duration::from_std(self.opts.grace).unwrap_or_default();
        let written = match self.db.client().await {
            Ok(c) => store::requeue(&c, &self.me, post, Some(at), Some(&reason), true, false).await,
            Err(e) => Err(e),
        };
        // Not written: its lease runs out and it is rescued the same way.
        if let Err(e) = written {
            self.emit(Event::DatabaseDown {
                error: e.to_string(),
            });
        }
    }
}
