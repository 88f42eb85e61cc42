//! One attempt at one post, the only way anything is sent. A post is a thread of one: from its
//! first part without a network id (looked for first when the last send's outcome is
//! unknown), each part is sent as a reply to the one before and its id stored before the next
//! goes; the last part's id is the outcome. Media are uploaded just before their part
//! ([`crate::media`]), and a look on the network settles every unknown outcome before any
//! resend ([`crate::reconcile`]).

use std::time::{Duration, Instant};

use chirp_core::{RetryPolicy, SendError};
use chirp_credentials::AuthError;
use chirp_net::{Lookup, Network, Part, Secret};
use chirp_store::accounts::grants_media;
use chirp_store::media::Attachment;
use chirp_store::publishing::Claimed;
use chrono::Utc;

use crate::io::Io;
use crate::outcome::{self, Outcome};
use crate::{Event, unit};

/// How long X may take to process an uploaded GIF or video before the attempt gives up.
pub(crate) const UPLOAD_PROCESSING: Duration = Duration::from_mins(10);

/// Everything one attempt works with.
pub(crate) struct Attempt<'a, I> {
    pub io: &'a I,
    pub net: &'a dyn Network,
    pub policy: &'a RetryPolicy,
    pub request_timeout: Duration,
    pub p: &'a Claimed,
}

impl<I: Io> Attempt<'_, I> {
    /// Check the text, reconcile if the last outcome is unknown, send what is not there yet.
    pub(crate) async fn run(&self) -> Outcome {
        let p = self.p;
        let n = p.parts.len();
        let mut ids: Vec<Option<String>> = p.parts.iter().map(|x| x.remote_id.clone()).collect();
        let Some(first) = ids.iter().position(Option::is_none) else {
            // Every id is stored: a crash came between the last part and the end.
            return Outcome::Finished {
                first: ids.first().cloned().flatten().unwrap_or_default(),
            };
        };
        let files = match self.attachments().await {
            Ok(f) => f,
            Err(o) => return o,
        };
        // The text may have been written by plain SQL: the account's network's rule decides.
        let rule = chirp_core::rule_for(p.network);
        for (i, part) in p.parts.iter().enumerate().skip(first) {
            let has_media = files.iter().any(|f| f.position == part.position);
            if let Err(e) = rule.validate_part(&part.content, has_media) {
                return Outcome::Failed(format!("{}not sent: {e}", self.which(i, " ")));
            }
        }
        let mut token = match self.io.token(p.account).await {
            Ok(t) => t,
            Err(e) => return self.auth_problem(e),
        };
        let mut quota = None;
        for i in first..n {
            let position = p.parts[i].position;
            let reply_to = if i == 0 { None } else { ids[i - 1].clone() };
            let label = self.which(i, ": ");
            let found = if i == first && p.needs_reconcile {
                // Looked for as it was sent: its text then, with the uploads that send
                // carried, before any new upload.
                let earlier = remembered_uploads(&files, position);
                let sent = Part {
                    text: &p.sent_content,
                    reply_to: reply_to.as_deref(),
                    media_ids: &earlier,
                };
                let found = match self.reconcile(&mut token, sent).await {
                    Ok(found) => found,
                    Err(o) => return o,
                };
                // Rescued from a publisher that stopped: looked for at once; one not there
                // yet waits out the grace (its request may still land) and is looked for again.
                if found.is_none()
                    && let Some(at) = p.send_not_before.filter(|at| *at > Utc::now())
                {
                    return Outcome::Requeue {
                        at: Some(at),
                        reason: format!(
                            "{}not on {} yet: looking again at {} before sending",
                            label,
                            p.network,
                            at.format("%H:%M:%S UTC")
                        ),
                        unknown: true,
                        uncount: true,
                    };
                }
                found
            } else {
                None
            };
            let id = match found {
                Some(id) => id,
                None => {
                    let media_ids = match self.media_ids(&files, position, &mut token, &label).await
                    {
                        Ok(ids) => ids,
                        Err(o) => return o,
                    };
                    let part = Part {
                        text: &p.parts[i].content,
                        reply_to: reply_to.as_deref(),
                        media_ids: &media_ids,
                    };
                    let sent = match self.send(&mut token, part).await {
                        Ok(sent) => sent,
                        Err(o) => return o,
                    };
                    match sent {
                        Ok(s) => {
                            quota = s.quota.or(quota);
                            s.id
                        }
                        // After an unknown outcome, "duplicate" proves the earlier send
                        // reached the network: the part is out, never failed.
                        Err(SendError::Duplicate(m)) if i == first && p.needs_reconcile => {
                            match self
                                .after_duplicate(&token, reply_to.as_deref(), i, &m)
                                .await
                            {
                                Ok(id) => id,
                                Err(o) => return o,
                            }
                        }
                        Err(e) => {
                            if matches!(e, SendError::MediaGone(_)) {
                                // The next attempt uploads again. (If this write is lost, the
                                // next send is refused the same way and this runs again.)
                                self.io.forget_uploads(p.id).await;
                            }
                            return self.after_error(&e, &label);
                        }
                    }
                }
            };
            if i + 1 == n {
                return Outcome::Posted {
                    position,
                    of: n,
                    first: if i == 0 {
                        id.clone()
                    } else {
                        ids[0].clone().unwrap_or_default()
                    },
                    remote_id: id,
                    quota,
                };
            }
            if let Err(o) = self.store_part(position, n, &id).await {
                return o;
            }
            ids[i] = Some(id);
        }
        // Not reached: the loop returns at the last part.
        Outcome::Finished {
            first: ids.first().cloned().flatten().unwrap_or_default(),
        }
    }

    /// "part 2/5" and `sep` for a thread; nothing for a single post.
    pub(crate) fn which(&self, i: usize, sep: &str) -> String {
        let n = self.p.parts.len();
        if n > 1 {
            format!("part {}/{n}{sep}", i + 1)
        } else {
            String::new()
        }
    }

    pub(crate) fn after_error(&self, e: &SendError, label: &str) -> Outcome {
        outcome::after_error(e, self.p.attempt, self.policy, label, Utc::now(), unit())
    }

    /// A resend after an unknown outcome was refused as a duplicate: the earlier send is on
    /// the network. Its id, if a last look finds it (by text and place: the earlier send
    /// carried other uploads). Without it, a single post is posted without an id; a thread
    /// stops, since the parts after it must reply to it.
    async fn after_duplicate(
        &self,
        token: &Secret,
        reply_to: Option<&str>,
        i: usize,
        words: &str,
    ) -> Result<String, Outcome> {
        let sent = Part {
            text: &self.p.sent_content,
            reply_to,
            media_ids: &[],
        };
        if let Ok(Ok(Lookup::Found(id))) = self.look(token, sent).await
            && matches!(self.io.owner_of(&id, self.p.id).await, Ok(None))
        {
            return Ok(id);
        }
        let net = self.net.name();
        if self.p.parts.len() == 1 {
            return Err(Outcome::PostedWithoutId(format!(
                "on {net}, id unknown: an earlier send got no answer, and {net} refused the resend as a duplicate ({words})"
            )));
        }
        Err(Outcome::Failed(format!(
            "{} is on {net} but its id cannot be found ({words}): the parts after it were not sent. Check the thread on {net}",
            self.which(i, "")
        )))
    }

    /// Sends one part within the lease, refreshing the token once on a 401 and sending again.
    /// `Err(_)`: what to record instead of sending (no lease left, no token).
    async fn send(
        &self,
        token: &mut Secret,
        part: Part<'_>,
    ) -> Result<Result<chirp_net::Sent, SendError>, Outcome> {
        let until = self.io.send_until(self.p.id)?;
        let sent = self.net.publish(token, part, until).await;
        if !matches!(sent, Err(SendError::Unauthorized(_))) {
            return Ok(sent);
        }
        *token = self.refreshed(token).await?;
        let until = self.io.send_until(self.p.id)?;
        Ok(self.net.publish(token, part, until).await)
    }

    /// Stores a part's id under the lease, before anything else is sent. If the database does
    /// not take it, nothing more is sent: whoever takes the post over finds the part on the
    /// network by its text and the part it replies to.
    async fn store_part(&self, position: i32, of: usize, remote_id: &str) -> Result<(), Outcome> {
        for wait in [100, 400, 1600] {
            match self.io.store_part(self.p.id, position, of, remote_id).await {
                Ok(true) => {
                    self.io.emit(Event::PartPosted {
                        post: self.p.id,
                        part: usize::try_from(position).unwrap_or(0),
                        of,
                        remote_id: remote_id.to_string(),
                    });
                    return Ok(());
                }
                Ok(false) => return Err(Outcome::LeaseLost),
                Err(e) => {
                    self.io.emit(Event::DatabaseDown {
                        error: e.to_string(),
                    });
                    self.io.pause(Duration::from_millis(wait)).await;
                }
            }
        }
        Err(Outcome::Abandoned)
    }

    /// The post's attachments; a database that does not answer puts the post back. A post
    /// with media for an account whose tokens cannot upload media (connected before chirp
    /// asked for `media.write`) waits, saying so, instead of failing at the network.
    async fn attachments(&self) -> Result<Vec<Attachment>, Outcome> {
        // Most posts have none: no query for them on the publishing path.
        if !self.p.has_media {
            return Ok(Vec::new());
        }
        match self.io.attachments(self.p.id, self.p.account).await {
            Ok((files, scope)) if !files.is_empty() && !grants_media(scope.as_deref()) => {
                Err(reconnect_for_media())
            }
            Ok((files, _)) => Ok(files),
            Err(e) => Err(Outcome::Requeue {
                at: Some(self.backoff()),
                reason: format!("could not read its media: {e}"),
                unknown: false,
                uncount: true,
            }),
        }
    }

    /// When to try again after a fault that is nobody's fault, by the attempt number.
    pub(crate) fn backoff(&self) -> chrono::DateTime<Utc> {
        outcome::spread(Utc::now(), self.policy.backoff(self.p.attempt), unit())
    }

    /// After a 401 on `rejected`: a fresh token, or what to record instead.
    pub(crate) async fn refreshed(&self, rejected: &Secret) -> Result<Secret, Outcome> {
        self.io
            .refreshed(self.p.account, rejected)
            .await
            .map_err(|e| self.auth_problem(e))
    }

    pub(crate) fn auth_problem(&self, e: AuthError) -> Outcome {
        let retry = e.retryable();
        Outcome::Requeue {
            // A disconnected account is held by the claim query itself; other problems wait.
            at: match e {
                AuthError::NotConnected | AuthError::NeedsReconnect(_) => None,
                _ if retry => Some(self.backoff()),
                _ => Some(Utc::now() + chrono::Duration::minutes(5)),
            },
            reason: e.to_string(),
            unknown: false,
            uncount: !retry,
        }
    }

    /// Until when a call may run, for the modules that make calls.
    pub(crate) fn call_until(&self) -> Result<Instant, Outcome> {
        self.io.call_until(self.p.id)
    }
}

/// The account must be connected again (granting `media.write`) before this post goes.
pub(crate) fn reconnect_for_media() -> Outcome {
    Outcome::Requeue {
        at: Some(Utc::now() + chrono::Duration::minutes(15)),
        reason: "reconnect to post media: the account was connected before chirp asked X for media uploads (chirp account connect)".into(),
        unknown: false,
        uncount: true,
    }
}

/// The uploads remembered for part `position`, when every file of it has one: what an
/// earlier send of the part carried (else none, and the part is matched by its text alone).
pub(crate) fn remembered_uploads(files: &[Attachment], position: i32) -> Vec<String> {
    let of_part: Vec<&Attachment> = files.iter().filter(|a| a.position == position).collect();
    let ids: Vec<String> = of_part
        .iter()
        .filter_map(|a| a.remote_media_id.clone())
        .collect();
    if ids.len() == of_part.len() {
        ids
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests;
