//! The effects runner: carries out the model's requests in tasks of their own and always
//! answers. Each request's work runs in a task watched by another, so a query that panics or
//! a task that is cancelled still comes back, as [`Answer::Crashed`], and the screen never
//! waits forever ("saving…").

use std::sync::Arc;

use chirp_core::when;
use chirp_credentials::Credentials;
use chirp_net::Networks;
use chirp_net::x::connect;
use chirp_store::posts::{self, Actor};
use chirp_store::{Db, StoreError, accounts};
use chrono_tz::Tz;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::model::{Answer, Cmd, Failure, FileRef, Msg, ReqId, Request};
use chirp_core::Kind;
use chirp_store::media::NewAttachment;

const ACTOR: Actor<'static> = Actor("tui");

/// Where answers go.
pub(super) type Tx = mpsc::UnboundedSender<Msg>;

/// What reaching the networks takes (unpublishing, connecting): the registry and the
/// credentials that decrypt tokens.
pub(super) struct Reach {
    pub networks: Networks,
    pub credentials: Credentials,
}

/// The networks within reach, or why they are not.
pub(super) type Access = Result<Arc<Reach>, Failure>;

/// Runs requests against the database (and X, for unpublishing and connecting).
pub(super) struct Effects {
    db: Arc<Db>,
    tx: Tx,
    tz: Tz,
    x: Access,
    /// Where answers pasted for the connect under way go (None: no connect is under way).
    pasted: Arc<std::sync::Mutex<Option<mpsc::Sender<connect::Answer>>>>,
}

impl Effects {
    pub(super) fn new(db: Arc<Db>, tx: Tx, tz: Tz, x: Access) -> Effects {
        Effects {
            db,
            tx,
            tz,
            x,
            pasted: Arc::default(),
        }
    }

    /// Starts `req`; its answer arrives on the channel as `Msg::Answer(req.id, …)`.
    pub(super) fn run(&self, req: Request) {
        let Request { id, cmd } = req;
        let what = describe(&cmd);
        let work = match cmd {
            Cmd::Connect => tokio::spawn(connect_account(
                id,
                self.db.clone(),
                self.x.clone(),
                self.tx.clone(),
                self.pasted.clone(),
            )),
            Cmd::ConnectPaste(text) => {
                let slot = self.pasted.clone();
                tokio::spawn(async move { Answer::Pasted(paste(&slot, &text).await) })
            }
            Cmd::ConnectCancel => {
                // Dropping the sender ends the wait: the connect answers "cancelled".
                slot_lock(&self.pasted).take();
                tokio::spawn(async { Answer::Done(Ok("connecting cancelled".into())) })
            }
            cmd => tokio::spawn(perform(cmd, self.db.clone(), self.tz, self.x.clone())),
        };
        supervise(id, what, work, self.tx.clone());
    }
}

fn slot_lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Hands a pasted answer to the connect under way.
async fn paste(
    slot: &std::sync::Mutex<Option<mpsc::Sender<connect::Answer>>>,
    text: &str,
) -> Result<(), String> {
    let Some(answer) = connect::parse_pasted(text) else {
        return Err(
            "paste the address the browser ended on (http://127.0.0.1:…/callback?code=…) or just the code"
                .into(),
        );
    };
    let sender = slot_lock(slot).clone();
    match sender {
        Some(s) => s
            .send(answer)
            .await
            .map_err(|_| "no connect is waiting any more".to_string()),
        None => Err("no connect is waiting any more".into()),
    }
}

/// Connects an X account without leaving the TUI: the same OAuth 2.0 flow (PKCE, the
/// redirect listener on 127.0.0.1) as `chirp account connect`.
async fn connect_account(
    id: ReqId,
    db: Arc<Db>,
    x: Access,
    tx: Tx,
    slot: Arc<std::sync::Mutex<Option<mpsc::Sender<connect::Answer>>>>,
) -> Answer {
    let result = async {
        let x = x?;
        let oauth = x.networks.x_oauth().map_err(|e| Failure::of(&e))?;
        let callback = connect::listen(&oauth.redirect_uri)
            .await
            .map_err(|e| Failure::of(&e))?;
        let pending = oauth.start();
        let (ptx, prx) = mpsc::channel(4);
        *slot_lock(&slot) = Some(ptx);
        let _ = tx.send(Msg::ConnectReady {
            id,
            url: pending.url.to_string(),
            redirect: oauth.redirect_uri.to_string(),
        });
        let answer = connect::wait_for_redirect_or(
            callback,
            &pending.state,
            std::time::Duration::from_mins(15),
            prx,
        )
        .await;
        slot_lock(&slot).take();
        let code = connect::check(answer.map_err(|e| Failure::of(&e))?, &pending.state)
            .map_err(|e| Failure::of(&e))?;
        let unsaved = |e: Failure| Failure {
            text: format!("{}: nothing was saved", e.text),
            ..e
        };
        let tokens = oauth
            .exchange(&code, pending.verifier)
            .await
            .map_err(|e| unsaved(Failure::of(&e)))?;
        let me = x
            .networks
            .x_client()
            .ok_or_else(|| Failure::new(Kind::BadInput, "chirp cannot reach X: nothing was saved"))?
            .me(&tokens.access)
            .await
            .map_err(|e| unsaved(Failure::of(&e)))?;
        x.credentials
            .save_connected(&db, &me.id, &me.username, &tokens)
            .await
            .map_err(|e| Failure::of(&e))?;
        Ok(format!("connected as @{}", me.username))
    }
    .await;
    slot_lock(&slot).take();
    Answer::Connected(result)
}

/// Waits for a request's task and sends its answer; a task that panicked or was cancelled
/// answers too, saying so.
fn supervise(id: ReqId, what: String, work: JoinHandle<Answer>, tx: Tx) {
    tokio::spawn(async move {
        let answer = match work.await {
            Ok(a) => a,
            Err(e) if e.is_panic() => {
                tracing::error!(request = id, "{what} crashed: {e}");
                Answer::Crashed(Failure::new(
                    Kind::Bug,
                    format!("{what} failed unexpectedly: try again"),
                ))
            }
            Err(_) => Answer::Crashed(Failure::new(
                Kind::Bug,
                format!("{what} was cancelled: try again"),
            )),
        };
        let _ = tx.send(Msg::Answer(id, answer));
    });
}

/// What a command is, for a message about it.
fn describe(cmd: &Cmd) -> String {
    match cmd {
        Cmd::Load { pane, .. } => format!("loading {}", pane.title()),
        Cmd::LoadAccount => "loading the account".into(),
        Cmd::Create(..) => "saving the new post".into(),
        Cmd::Save(id, ..) => format!("saving post {id}"),
        Cmd::SaveQueued { .. } => "saving the post into the queue".into(),
        Cmd::Inspect(path) => format!("reading {}", path.display()),
        Cmd::Complete(_) => "completing the path".into(),
        Cmd::LoadPreview(_) => "loading the preview".into(),
        Cmd::Schedule(id, _) => format!("scheduling post {id}"),
        Cmd::Enqueue(id) => format!("adding post {id} to the queue"),
        Cmd::LoadQueue(_) => "reading the queue".into(),
        Cmd::LoadStats(_) => "reading the stats".into(),
        Cmd::Resume(_) => "resuming the account".into(),
        Cmd::LoadTemplates | Cmd::LoadTemplate(_) => "reading templates".into(),
        Cmd::Unschedule(id) => format!("unscheduling post {id}"),
        Cmd::Delete(id) => format!("deleting post {id}"),
        Cmd::Duplicate(id) => format!("duplicating post {id}"),
        Cmd::Retry(id) => format!("retrying post {id}"),
        Cmd::Unpublish(id) => format!("unpublishing post {id}"),
        Cmd::SplitOff(id) => format!("splitting off the rest of post {id}"),
        Cmd::OpenEditor(_) => "the external editor".into(),
        Cmd::Suspend => "suspending".into(),
        Cmd::Connect => "connecting the account".into(),
        Cmd::ConnectPaste(_) => "reading the pasted answer".into(),
        Cmd::ConnectCancel => "cancelling the connect".into(),
        Cmd::Copy(_) => "copying".into(),
    }
}

async fn perform(cmd: Cmd, db: Arc<Db>, tz: Tz, x: Access) -> Answer {
    let err = Failure::from;
    match cmd {
        Cmd::Load {
            pane,
            after,
            filter,
            account,
        } => {
            let q = pane.query(after, &filter, account);
            Answer::Loaded(
                async { posts::list(&db.client().await?, &q).await }
                    .await
                    .map_err(err),
            )
        }
        Cmd::LoadAccount => Answer::Account(
            async {
                let c = db.client().await?;
                let all = accounts::list(&c).await?;
                // None connected yet: the local account, to say so and what waits for it.
                if all.is_empty() {
                    return Ok(accounts::status(&c).await?.into_iter().collect());
                }
                Ok(all)
            }
            .await
            .map_err(err),
        ),
        Cmd::Create(parts, to, files, unfilled) => {
            Answer::Saved(create(&db, parts, to, files, posts::Schedule::Draft, &unfilled).await)
        }
        Cmd::Complete(asked) => {
            let a = asked.clone();
            let (input, names) = tokio::task::spawn_blocking(move || {
                crate::media::complete(
                    &a,
                    &std::env::current_dir().unwrap_or_default(),
                    dirs::home_dir().as_deref(),
                )
            })
            .await
            .unwrap_or_else(|_| (asked.clone(), Vec::new()));
            Answer::Completed(asked, input, names)
        }
        Cmd::LoadPreview(media) => Answer::Preview(media, preview(&db, media).await),
        Cmd::Inspect(path) => Answer::Inspected(
            tokio::task::spawn_blocking(move || crate::media::inspect(&path))
                .await
                .unwrap_or_else(|e| Err(format!("reading the file failed: {e}"))),
        ),
        Cmd::Save(id, parts, files) => Answer::Saved(
            async {
                let mut c = db.client().await?;
                let media = store_files(&mut c, files).await?;
                Ok(posts::edit_with_media(&mut c, ACTOR, id, &parts, &media).await?)
            }
            .await,
        ),
        Cmd::SaveQueued {
            id: None,
            parts,
            to,
            files,
            unfilled,
        } => Answer::Saved(create(&db, parts, to, files, posts::Schedule::Queue, &unfilled).await),
        Cmd::SaveQueued {
            id: Some(id),
            parts,
            files,
            ..
        } => Answer::Saved(
            async {
                let mut c = db.client().await?;
                let media = store_files(&mut c, files).await?;
                Ok(posts::edit_into_queue(&mut c, ACTOR, id, &parts, &media).await?)
            }
            .await,
        ),
        Cmd::Duplicate(id) => Answer::Saved(
            async { posts::duplicate(&mut db.client().await?, ACTOR, id).await }
                .await
                .map_err(err),
        ),
        Cmd::SplitOff(id) => Answer::Saved(
            async { posts::split_off(&mut db.client().await?, ACTOR, id).await }
                .await
                .map(|(_, new)| new)
                .map_err(err),
        ),
        Cmd::Unpublish(id) => Answer::Done(unpublish(&db, x, id).await),
        Cmd::Schedule(id, at) => done(
            async { posts::schedule(&mut db.client().await?, ACTOR, id, at).await }.await,
            format!("post {id} scheduled for {}", when::show(at, &tz)),
        ),
        Cmd::Enqueue(id) => Answer::Done(
            async {
                let mut c = db.client().await?;
                let p = posts::enqueue(&mut c, ACTOR, id).await?;
                let tz = chirp_store::queue::get(&c, p.x_account_id)
                    .await?
                    .map_or(tz, |q| q.tz);
                Ok::<_, StoreError>(match p.scheduled_at {
                    Some(at) => format!("post {id} queued for {}", when::show(at, &tz)),
                    None => format!("post {id} queued"),
                })
            }
            .await
            .map_err(err),
        ),
        Cmd::LoadTemplates => Answer::Templates(
            async { chirp_store::templates::list(&db.client().await?).await }
                .await
                .map_err(err),
        ),
        Cmd::LoadTemplate(name) => Answer::Template(
            async {
                let c = db.client().await?;
                let t = chirp_store::templates::get(&c, &name).await?;
                let files = chirp_store::templates::files(&c, &name).await?;
                Ok::<_, StoreError>((t.parts, files))
            }
            .await
            .map_err(err),
        ),
        Cmd::LoadQueue(week) => Answer::Queue(load_queue(&db, week).await.map_err(err)),
        Cmd::LoadStats(pricing) => Answer::Stats(
            crate::stats::gather(&db, None, super::screens::stats::DAYS, tz, &pricing)
                .await
                .map_err(err),
        ),
        Cmd::Resume(account) => Answer::Done(
            async {
                let mut c = db.client().await?;
                let name = accounts::handle(&c, account).await?.unwrap_or_default();
                Ok::<_, StoreError>(match accounts::resume(&mut c, account).await? {
                    Some(n) => format!("@{name} resumed: {n} post(s) due now go out at once"),
                    None => format!("@{name} was not held for credits"),
                })
            }
            .await
            .map_err(err),
        ),
        Cmd::Unschedule(id) => done(
            async { posts::unschedule(&mut db.client().await?, ACTOR, id).await }.await,
            format!("post {id} is a draft again"),
        ),
        Cmd::Retry(id) => done(
            async { posts::retry(&mut db.client().await?, ACTOR, id).await }.await,
            format!("post {id} queued to be sent again"),
        ),
        Cmd::Delete(id) => done(
            async { posts::delete(&mut db.client().await?, ACTOR, id).await }.await,
            format!("post {id} deleted"),
        ),
        // The runtime hands the terminal to the editor itself; it never comes here.
        Cmd::OpenEditor(_) => Answer::Crashed(misrouted("the external editor")),
        Cmd::Suspend => Answer::Crashed(misrouted("suspending")),
        Cmd::Copy(_) => Answer::Crashed(misrouted("copying")),
        // Run apart (see Effects::run).
        Cmd::Connect | Cmd::ConnectPaste(_) | Cmd::ConnectCancel => {
            Answer::Crashed(misrouted("connecting"))
        }
    }
}

/// A request the runtime carries out itself that reached the runner: chirp's bug.
fn misrouted(what: &str) -> Failure {
    Failure::new(Kind::Bug, format!("{what} cannot happen here"))
}

/// Each part's files as attachments: those stored already as they are, new ones stored now
/// (read a chunk at a time, their hash checked again).
async fn store_files(
    c: &mut chirp_store::Object,
    files: Vec<Vec<FileRef>>,
) -> Result<Vec<Vec<NewAttachment>>, Failure> {
    let mut out = Vec::with_capacity(files.len());
    for part in files {
        let mut refs = Vec::with_capacity(part.len());
        for f in part {
            refs.push(match f {
                FileRef::Stored { media_id, alt, .. } => NewAttachment {
                    media_id,
                    alt_text: alt,
                },
                FileRef::New { file, alt } => {
                    // The file went away since it was attached: the person's to put back or
                    // attach again (not a database fault, not a bug).
                    let mut chunks = crate::media::FileChunks::open(&file)
                        .map_err(|e| Failure::new(Kind::BadInput, e))?;
                    let meta = chirp_store::media::NewMedia {
                        sha256: &file.sha256,
                        media_type: file.media_type,
                        kind: file.kind,
                        size: file.size,
                    };
                    NewAttachment {
                        media_id: chirp_store::media::store(c, &meta, &mut chunks).await?,
                        alt_text: alt,
                    }
                }
            });
        }
        out.push(refs);
    }
    Ok(out)
}

/// A stored image (or a GIF's first frame), decoded off the key loop and scaled down to what
/// a terminal can show.
async fn preview(db: &Db, media: i32) -> Result<image::DynamicImage, String> {
    let mut reader = chirp_store::media::Reader::new(db, media);
    let mut bytes = Vec::new();
    while let Some(chunk) = chirp_core::media::Chunks::next_chunk(&mut reader).await? {
        bytes.extend_from_slice(&chunk);
        // Images are at most 15 MB; anything larger is not one to preview.
        if bytes.len() > 16 * 1024 * 1024 {
            return Err("too large to preview".into());
        }
    }
    tokio::task::spawn_blocking(move || decode_preview(bytes))
        .await
        .map_err(|e| e.to_string())?
}

/// Decodes a stored image for its preview within limits: a small file can claim a huge
/// picture (an 11001×11001 PNG of zeros is 353 KB), and the preview holds only a thumbnail.
fn decode_preview(bytes: Vec<u8>) -> Result<image::DynamicImage, String> {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(chirp_core::media::MAX_SIDE);
    limits.max_image_height = Some(chirp_core::media::MAX_SIDE);
    limits.max_alloc = Some(64 * 1024 * 1024);
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("cannot show this image: {e}"))?;
    reader.limits(limits);
    reader
        .decode()
        .map(|img| img.thumbnail(1024, 1024))
        .map_err(|e| match e {
            image::ImageError::Limits(_) => "too large to preview".to_string(),
            e => format!("cannot show this image: {e}"),
        })
}

/// Deletes every part of post `id` on X; the line for the status bar.
async fn unpublish(db: &Db, x: Access, id: chirp_core::PostId) -> Result<String, Failure> {
    let x = x.map_err(|why| why.context(format_args!("cannot unpublish post {id}")))?;
    let post = chirp_publisher::unpublish::unpublish(
        db,
        &x.networks,
        &x.credentials,
        id,
        ACTOR,
        chirp_net::DEFAULT_TIMEOUT,
    )
    .await
    .map_err(|e| Failure::of(&e))?;
    Ok(if post.parts > 1 {
        format!(
            "post {id} unpublished: all {} parts deleted on X",
            post.parts
        )
    } else {
        format!("post {id} unpublished: deleted on X")
    })
}

/// The answer to an action on one post: `ok` for the status bar, or the error.
fn done<T>(r: Result<T, StoreError>, ok: String) -> Answer {
    Answer::Done(r.map(|_| ok).map_err(Failure::from))
}

/// Saves what was being composed when the TUI ends, so typed text is never thrown away.
/// Returns the line that says where it went (printed once the terminal is back).
pub(super) async fn save_unsaved(
    db: &Db,
    id: Option<chirp_core::PostId>,
    parts: &[String],
) -> String {
    // Empty parts are dropped (they cannot be stored); the words are what matters.
    let parts: Vec<String> = parts
        .iter()
        .filter(|p| !p.trim().is_empty())
        .cloned()
        .collect();
    let text = parts.join("\n---\n");
    let result = async {
        let mut c = db.client().await?;
        match id {
            Some(id) => posts::edit_thread(&mut c, ACTOR, id, &parts).await,
            None => {
                let account = accounts::default_account(&mut c).await?;
                posts::create_thread(&mut c, ACTOR, account, &parts, None).await
            }
        }
    }
    .await;
    match result {
        Ok(p) => format!(
            "chirp: kept the text you were writing as post {} ({})",
            p.id, p.status
        ),
        Err(e) => {
            // Last resort: a private file (0600, created exclusively, never over another).
            let kept = tempfile::Builder::new()
                .prefix("chirp-unsaved-")
                .suffix(".txt")
                .tempfile()
                .and_then(|mut f| {
                    std::io::Write::write_all(&mut f, text.as_bytes())?;
                    f.keep().map_err(|e| e.error)
                });
            match kept {
                Ok((_, path)) => format!(
                    "chirp: could not save the text you were writing ({e}); it is in {}",
                    path.display()
                ),
                Err(io) => format!(
                    "chirp: could not save the text you were writing ({e}), nor write it to a file ({io})"
                ),
            }
        }
    }
}

/// A new post of `parts` with its files, for each of `to` (none: the default account),
/// going out `when`; the first one made.
async fn create(
    db: &Db,
    parts: Vec<String>,
    to: Vec<chirp_core::AccountId>,
    files: Vec<Vec<FileRef>>,
    when: posts::Schedule,
    unfilled: &[String],
) -> Result<chirp_core::Post, Failure> {
    let mut c = db.client().await?;
    let to = if to.is_empty() {
        vec![accounts::default_account(&mut c).await?]
    } else {
        to
    };
    let media = store_files(&mut c, files).await?;
    posts::create_owing(&mut c, ACTOR, &to, &parts, &media, when, unfilled)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Failure::new(Kind::Bug, "no post was made"))
}

/// Each account's slots for week `week` (0: the 7 days from now, 1: the 7 after…) and what
/// waits in them.
async fn load_queue(db: &Db, week: u32) -> Result<Vec<crate::tui::model::QueueOf>, StoreError> {
    let c = db.client().await?;
    let from = chrono::Utc::now() + chrono::Duration::weeks(i64::from(week));
    let until = from + chrono::Duration::weeks(1);
    let mut out = Vec::new();
    for q in chirp_store::queue::all(&c).await? {
        let handle = accounts::handle(&c, q.account)
            .await?
            .map_or_else(|| q.account.to_string(), |h| format!("@{h}"));
        let slots = chirp_store::queue::upcoming(&c, q.account, from, until)
            .await?
            .into_iter()
            .map(|s| (s.at, s.post.map(|p| (p.id, p.content))))
            .collect();
        out.push(crate::tui::model::QueueOf {
            handle,
            spec: q.slots.to_string(),
            tz: q.tz,
            slots,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer_of(work: JoinHandle<Answer>) -> (ReqId, Answer) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        supervise(7, "saving post 3".into(), work, tx);
        match rx.recv().await {
            Some(Msg::Answer(id, a)) => (id, a),
            _ => panic!("no answer"),
        }
    }

    #[tokio::test]
    async fn a_panic_or_a_cancel_still_answers() {
        let (id, a) = answer_of(tokio::spawn(async { Answer::Done(Ok("fine".into())) })).await;
        assert_eq!(id, 7);
        assert!(matches!(a, Answer::Done(Ok(s)) if s == "fine"));

        let boom = tokio::spawn(async move {
            assert!(id != 7, "a bug in a query");
            Answer::Done(Ok(String::new()))
        });
        let (id, a) = answer_of(boom).await;
        assert_eq!(id, 7);
        assert!(
            matches!(&a, Answer::Crashed(m) if m.kind == Kind::Bug && m.to_string() == "chirp bug: saving post 3 failed unexpectedly: try again (see chirp.log)"),
            "{a:?}"
        );

        let stuck = tokio::spawn(std::future::pending::<Answer>());
        stuck.abort();
        let (_, a) = answer_of(stuck).await;
        assert!(
            matches!(&a, Answer::Crashed(m) if m.text == "saving post 3 was cancelled: try again"),
            "{a:?}"
        );
    }

    #[test]
    fn a_picture_bomb_is_not_decoded_for_its_preview() {
        assert_eq!(
            decode_preview(chirp_testing::png_claiming(11001, 0)).unwrap_err(),
            "too large to preview"
        );
        // Within X's sides but too big to hold: 8000×8000 RGBA is 256 MB, over the 64 MB limit.
        assert_eq!(
            decode_preview(chirp_testing::png_claiming(8000, 6)).unwrap_err(),
            "too large to preview"
        );
    }
}
