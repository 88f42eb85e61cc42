//! An in-memory [`Network`] for unit tests of the publishing engine: it keeps what was
//! published, answers the way it is told to (refusals, lost answers, 401s, duplicates), and
//! finds sent parts by text and place as a real network's timeline would. It never sleeps and
//! makes no request; the deadlines it is given are checked, not waited for.
//!
//! The conformance suite runs the real adapters against their fakes over HTTP; this double is
//! for the engine's rules, in milliseconds.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use chirp_core::{Quota, SendError};
use chirp_net::network::BoxFuture;
use chirp_net::{
    Capabilities, Chunks, Lookup, MetricsRead, Network, Part, RemoteAccount, Secret, Sent, Upload,
    Uploaded,
};
use chrono::{DateTime, Utc};

/// A post the double holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub id: String,
    pub text: String,
    pub reply_to: Option<String>,
    pub media_ids: Vec<String>,
}

/// How the double answers the next publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Publish it and say so.
    Ok,
    /// Refuse with this error; nothing is published.
    Err(SendError),
    /// Publish it, then lose the answer (a timeout after the network acted).
    LandThenLose,
}

#[derive(Default)]
struct State {
    posts: Vec<Published>,
    next: u64,
    answers: VecDeque<Answer>,
    upload_answers: VecDeque<SendError>,
    lookups: VecDeque<Result<Lookup, SendError>>,
    /// Only this token is accepted (others get a 401), when set.
    token: Option<String>,
    refuse_duplicates: bool,
    uploads: Vec<(String, usize)>,
    calls: Vec<String>,
}

/// The double. Cheap to make: one per test.
#[derive(Default)]
pub struct MemNetwork {
    state: Mutex<State>,
}

impl MemNetwork {
    pub fn new() -> MemNetwork {
        MemNetwork::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How the next publishes are answered, in order (then: [`Answer::Ok`]).
    pub fn answer(&self, answers: impl IntoIterator<Item = Answer>) {
        self.state().answers.extend(answers);
    }

    /// The next uploads fail with these errors, in order.
    pub fn fail_uploads(&self, errors: impl IntoIterator<Item = SendError>) {
        self.state().upload_answers.extend(errors);
    }

    /// The next looks for a sent part answer these, in order (then: the timeline decides).
    pub fn lookups(&self, answers: impl IntoIterator<Item = Result<Lookup, SendError>>) {
        self.state().lookups.extend(answers);
    }

    /// Accept only this token; any other gets a 401.
    pub fn accept_only(&self, token: &str) {
        self.state().token = Some(token.to_string());
    }

    /// Refuse a text the account already published (as X does).
    pub fn refuse_duplicates(&self) {
        self.state().refuse_duplicates = true;
    }

    /// A post already there (published earlier, by chirp or anyone), with its id.
    pub fn seed(&self, text: &str, reply_to: Option<&str>) -> String {
        let mut s = self.state();
        s.next += 1;
        let id = format!("n{}", s.next);
        s.posts.push(Published {
            id: id.clone(),
            text: text.into(),
            reply_to: reply_to.map(Into::into),
            media_ids: Vec::new(),
        });
        id
    }

    pub fn posts(&self) -> Vec<Published> {
        self.state().posts.clone()
    }

    /// Uploads received: (id, bytes).
    pub fn uploads(&self) -> Vec<(String, usize)> {
        self.state().uploads.clone()
    }

    /// Every call made, in order: "publish", "upload", "find", "delete", "metrics".
    pub fn calls(&self) -> Vec<String> {
        self.state().calls.clone()
    }

    fn authorised(s: &State, token: &Secret) -> bool {
        s.token.as_deref().is_none_or(|t| t == token.expose())
    }
}

impl Network for MemNetwork {
    fn name(&self) -> &'static str {
        "MemNet"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            idempotency_key: false,
            threads: true,
            max_media: 4,
        }
    }

    fn publish<'a>(
        &'a self,
        token: &'a Secret,
        part: Part<'a>,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            let mut s = self.state();
            s.calls.push("publish".into());
            if Instant::now() >= deadline {
                return Err(SendError::NotSent("MemNet: the deadline had passed".into()));
            }
            if !Self::authorised(&s, token) {
                return Err(SendError::Unauthorized(
                    "MemNet: token refused (401)".into(),
                ));
            }
            let answer = s.answers.pop_front().unwrap_or(Answer::Ok);
            if let Answer::Err(e) = answer {
                return Err(e);
            }
            if s.refuse_duplicates && s.posts.iter().any(|p| p.text == part.text) {
                return Err(SendError::Duplicate(
                    "MemNet refused it: duplicate content".into(),
                ));
            }
            s.next += 1;
            let id = format!("n{}", s.next);
            s.posts.push(Published {
                id: id.clone(),
                text: part.text.into(),
                reply_to: part.reply_to.map(Into::into),
                media_ids: part.media_ids.to_vec(),
            });
            match answer {
                Answer::LandThenLose => Err(SendError::Unknown(
                    "MemNet: no answer within the deadline".into(),
                )),
                _ => Ok(Sent {
                    id,
                    quota: Some(Quota {
                        limit: Some(100),
                        remaining: Some(99),
                        reset: None,
                    }),
                }),
            }
        })
    }

    fn upload_media<'a>(
        &'a self,
        token: &'a Secret,
        _upload: Upload<'a>,
        chunks: &'a mut dyn Chunks,
        _deadline: Instant,
    ) -> BoxFuture<'a, Result<Uploaded, SendError>> {
        Box::pin(async move {
            {
                let mut s = self.state();
                s.calls.push("upload".into());
                if !Self::authorised(&s, token) {
                    return Err(SendError::Unauthorized(
                        "MemNet: token refused (401)".into(),
                    ));
                }
                if let Some(e) = s.upload_answers.pop_front() {
                    return Err(e);
                }
            }
            let mut bytes = 0;
            loop {
                match chunks.next_chunk().await {
                    Ok(Some(c)) => bytes += c.len(),
                    Ok(None) => break,
                    Err(e) => return Err(SendError::NotSent(e)),
                }
            }
            let mut s = self.state();
            s.next += 1;
            let id = format!("m{}", s.next);
            s.uploads.push((id.clone(), bytes));
            Ok(Uploaded {
                id,
                expires_at: None,
            })
        })
    }

    fn delete<'a>(
        &'a self,
        _token: &'a Secret,
        id: &'a str,
        _deadline: Instant,
    ) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let mut s = self.state();
            s.calls.push("delete".into());
            s.posts.retain(|p| p.id != id);
            Ok(())
        })
    }

    fn metrics<'a>(
        &'a self,
        _token: &'a Secret,
        ids: &'a [String],
        _private: bool,
        _deadline: Instant,
    ) -> BoxFuture<'a, Result<MetricsRead, SendError>> {
        Box::pin(async move {
            let mut s = self.state();
            s.calls.push("metrics".into());
            let (found, gone): (Vec<&String>, Vec<&String>) = ids
                .iter()
                .partition(|id| s.posts.iter().any(|p| &p.id == *id));
            Ok(MetricsRead {
                found: found
                    .into_iter()
                    .map(|id| (id.clone(), chirp_core::Metrics::default()))
                    .collect(),
                gone: gone.into_iter().cloned().collect(),
                quota: None,
            })
        })
    }

    fn find_sent<'a>(
        &'a self,
        token: &'a Secret,
        _account: RemoteAccount<'a>,
        part: Part<'a>,
        _since: DateTime<Utc>,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Lookup, SendError>> {
        Box::pin(async move {
            let mut s = self.state();
            s.calls.push("find".into());
            if Instant::now() >= deadline {
                return Err(SendError::NotSent("MemNet: the deadline had passed".into()));
            }
            if !Self::authorised(&s, token) {
                return Err(SendError::Unauthorized(
                    "MemNet: token refused (401)".into(),
                ));
            }
            if let Some(answer) = s.lookups.pop_front() {
                return answer;
            }
            let matches: Vec<&Published> = s
                .posts
                .iter()
                .filter(|p| {
                    p.text == part.text
                        && p.reply_to.as_deref() == part.reply_to
                        && (part.media_ids.is_empty() || p.media_ids == part.media_ids)
                })
                .collect();
            Ok(match matches.as_slice() {
                [] => Lookup::Absent,
                [one] => Lookup::Found(one.id.clone()),
                _ => Lookup::Unsure("MemNet: two posts match".into()),
            })
        })
    }
}
