//! Reconcile before resend: after an unknown outcome (a timeout, a cut connection, a 5xx, a
//! publisher that died mid-send) the part is looked for on the network first. Found: it is
//! there, with that id, and is never sent again. Absent: send it. Nobody can tell: look again
//! later, and give up (saying what to check) after the attempt limit. Reconciliation never
//! gives a post another post's id.

use chirp_core::SendError;
use chirp_net::{Lookup, Part, RemoteAccount, Secret};

use crate::Event;
use crate::attempt::Attempt;
use crate::io::Io;
use crate::outcome::Outcome;

impl<I: Io> Attempt<'_, I> {
    /// Looks for `sent` (what was sent, where) before sending anything again. `Ok(Some(id))`:
    /// it is on the network; `Ok(None)`: not there, send it; `Err(_)`: what to record instead.
    /// Every way this can go counts towards the attempt limit, so it always ends.
    pub(crate) async fn reconcile(
        &self,
        token: &mut Secret,
        sent: Part<'_>,
    ) -> Result<Option<String>, Outcome> {
        let p = self.p;
        let net = self.net.name();
        let mut found = self.look(token, sent).await?;
        if matches!(found, Err(SendError::Unauthorized(_))) {
            *token = self.refreshed(token).await?;
            found = self.look(token, sent).await?;
        }
        let last = p.attempt >= self.policy.max_attempts;
        let unsure = |why: String| {
            if last {
                Outcome::Failed(format!(
                    "not known whether it is on {net}: {why}; after {} attempts chirp stopped looking. Check the account on {net}, then retry or delete it",
                    p.attempt
                ))
            } else {
                Outcome::Requeue {
                    at: Some(self.backoff()),
                    reason: format!("could not check {net} before sending again: {why}"),
                    unknown: true,
                    uncount: false,
                }
            }
        };
        let lookup = match found {
            Ok(l) => l,
            Err(e) => return Err(unsure(e.to_string())),
        };
        match lookup {
            Lookup::Found(id) => match self.io.owner_of(&id, p.id).await {
                Ok(None) => {
                    self.io.emit(Event::Reconciled {
                        post: p.id,
                        found: Some(id.clone()),
                    });
                    Ok(Some(id))
                }
                Ok(Some(other)) => Err(unsure(format!(
                    "the only match on {net} ({id}) is recorded for post {other}"
                ))),
                Err(e) => Err(unsure(e.to_string())),
            },
            Lookup::Unsure(why) => Err(unsure(why)),
            Lookup::Absent => {
                self.io.emit(Event::Reconciled {
                    post: p.id,
                    found: None,
                });
                if p.attempt > self.policy.max_attempts {
                    return Err(Outcome::Failed(format!(
                        "{net} never confirmed it in {} attempts, and it is not on the account's timeline",
                        p.attempt - 1
                    )));
                }
                Ok(None)
            }
        }
    }

    /// Looks on the network for the text that was sent, from a little before the attempt
    /// whose outcome is unknown began. `Err(_)`: no time left to look (the outcome says why).
    pub(crate) async fn look(
        &self,
        token: &Secret,
        sent: Part<'_>,
    ) -> Result<Result<Lookup, SendError>, Outcome> {
        let deadline = self.call_until()?;
        let since = self.p.attempt_started_at - chrono::Duration::seconds(5);
        let account = RemoteAccount {
            user_id: &self.p.remote_user_id,
        };
        Ok(self
            .net
            .find_sent(token, account, sent, since, deadline)
            .await)
    }
}
