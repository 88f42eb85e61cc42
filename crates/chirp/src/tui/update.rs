//! `update`: every change to the model, as a plain function of (model, message). It never
//! awaits; the IO it needs goes out as [`Request`]s for the effects runner, each answered by
//! exactly one [`Msg::Answer`] with the same id.

use chirp_core::{Kind, Post, Quota, when};
use chirp_credentials::Refresh;
use chirp_publisher::Event;
use chirp_store::accounts::AccountStatus;
use chirp_store::posts::Page;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::keymap::Context;
use super::model::{
    Answer, Cmd, DbState, Failure, List, Loading, Model, Msg, Pane, Preview, PublisherState, ReqId,
    Request,
};
use super::screens::{Notice, Step, Taken, lists};

/// Handles one message; returns the requests it made.
pub fn update(m: &mut Model, msg: Msg) -> Vec<Request> {
    handle(m, msg);
    want_preview(m);
    std::mem::take(&mut m.out)
}

/// The selected post's first image (or GIF) is loaded for its preview, once.
fn want_preview(m: &mut Model) {
    if m.picker.is_none() {
        return;
    }
    let Some(p) = m.selected() else {
        return;
    };
    let first = m
        .list(m.focus)
        .media
        .get(&p.id)
        .and_then(|files| {
            files
                .iter()
                .find(|a| a.kind != chirp_core::MediaKind::Video)
        })
        .map(|a| a.media_id);
    let Some(media) = first.filter(|id| !m.previews.contains_key(id)) else {
        return;
    };
    // A few at most: decoded images are large.
    if m.previews.len() >= 8 {
        m.previews.retain(|_, p| matches!(p, Preview::Loading));
    }
    m.previews.insert(media, Preview::Loading);
    m.request(Cmd::LoadPreview(media));
}

/// Loads the first page of every pane (and coalesces: a pane already loading reloads once
/// when its answer lands).
pub fn reload_all(m: &mut Model) -> Vec<Request> {
    for p in Pane::ALL {
        reload(m, p);
    }
    std::mem::take(&mut m.out)
}

/// Loads the account line, unless a load is already on its way.
pub fn load_account(m: &mut Model) {
    if m.account_loading.is_none() {
        m.account_loading = Some(m.request(Cmd::LoadAccount));
    }
}

fn reload(m: &mut Model, pane: Pane) -> bool {
    if m.list(pane).loading.is_some() {
        m.list_mut(pane).stale = true;
        return false;
    }
    let filter = m.filter.clone();
    let account = m.showing;
    let id = m.request(Cmd::Load {
        pane,
        after: None,
        filter,
        account,
    });
    m.list_mut(pane).loading = Some(Loading { id, append: false });
    true
}

/// The filter changed: every pane starts again, and pages still on their way for the old
/// filter are dropped when they land (their ids are no longer awaited).
/// Every pane loaded again with the filter in force, for a filter that follows each key:
/// what a pane shows stays until its new page lands, and a page asked for with an older
/// filter is dropped when it comes (its request is superseded).
pub fn refilter(m: &mut Model) {
    for pane in Pane::ALL {
        let id = m.request(Cmd::Load {
            pane,
            after: None,
            filter: m.filter.clone(),
            account: m.showing,
        });
        let l = m.list_mut(pane);
        l.loading = Some(Loading { id, append: false });
        l.stale = false;
    }
}

pub fn reset_and_reload(m: &mut Model) {
    for l in &mut m.lists {
        *l = List::default();
    }
    for p in Pane::ALL {
        reload(m, p);
    }
}

pub(crate) fn handle(m: &mut Model, msg: Msg) {
    match msg {
        Msg::Key(k) if k.kind != KeyEventKind::Release => key(m, k),
        Msg::Key(_) => {}
        Msg::Paste(s) => {
            if let Some(top) = m.stack.last_mut() {
                top.on_paste(&s);
            }
        }
        Msg::Resize(w, h) => {
            m.width = w;
            m.height = h;
        }
        Msg::Mouse(e) => super::mouse::event(m, e),
        Msg::Tick(now) => m.now = now,
        Msg::Db(state) => {
            let back = matches!(m.db, DbState::Reconnecting(_)) && state == DbState::Connected;
            m.db = state;
            if back {
                for p in Pane::ALL {
                    reload(m, p);
                }
                load_account(m);
            }
        }
        Msg::Changed => {
            // A burst of changes reloads once per pane (loads in flight coalesce the rest).
            let mut any = false;
            for p in Pane::ALL {
                any |= reload(m, p);
            }
            if any {
                load_account(m);
            }
            // Open screens follow too (the queue's week, the stats).
            notify(m, &Notice::Changed);
        }
        Msg::Publisher(e) => publisher_event(m, e),
        Msg::ConnectReady { id, url, redirect } => {
            notify(m, &Notice::ConnectReady { id, url, redirect });
        }
        Msg::Answer(id, answer) => {
            // Each screen takes the answers it waits for; the model, the rest.
            if let Some(answer) = offer(m, id, answer) {
                answered(m, id, answer);
            }
        }
        Msg::Quit => m.quit = true,
    }
}

fn key(m: &mut Model, k: KeyEvent) {
    // Ctrl-C quits from anywhere but the composer (which asks before dropping text) and what
    // is open over it (its help).
    let ctrl_c = k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c');
    if ctrl_c && !m.stack.iter().any(|s| s.holds_text()) {
        m.quit = true;
        return;
    }
    let Some(mut top) = m.stack.pop() else {
        // The lists have the keys.
        match m.keys.action(Context::Lists, &k) {
            Some(action) => {
                if let Step::Push(popup) | Step::Replace(popup) = lists::on_action(m, action) {
                    m.stack.push(popup);
                }
            }
            None => m.flash = None,
        }
        return;
    };
    let action = top.context().and_then(|c| m.keys.action(c, &k));
    match top.on_key(m, k, action) {
        Step::Stay => m.stack.push(top),
        Step::Pop => {}
        Step::Push(next) => {
            m.stack.push(top);
            m.stack.push(next);
        }
        Step::Replace(next) => m.stack.push(next),
    }
}

/// Tells every open screen of `notice`, top first.
fn notify(m: &mut Model, notice: &Notice) {
    for i in (0..m.stack.len()).rev() {
        let mut s = m.stack.remove(i);
        s.on_notice(m, notice);
        m.stack.insert(i.min(m.stack.len()), s);
    }
}

/// Offers an answer to the open screens, top first, each off the stack while it looks (like
/// a key); what none takes (or one takes and passes on) is the model's.
fn offer(m: &mut Model, id: ReqId, mut answer: Answer) -> Option<Answer> {
    for i in (0..m.stack.len()).rev() {
        let mut s = m.stack.remove(i);
        let (step, rest) = match s.on_answer(m, id, answer) {
            Taken::No(a) => {
                m.stack.insert(i.min(m.stack.len()), s);
                answer = a;
                continue;
            }
            Taken::Yes(step) => (step, None),
            Taken::Also(a, step) => (step, Some(a)),
        };
        let at = i.min(m.stack.len());
        match step {
            Step::Stay => m.stack.insert(at, s),
            Step::Pop => {}
            Step::Push(next) => {
                m.stack.insert(at, s);
                m.stack.insert(at + 1, next);
            }
            Step::Replace(next) => m.stack.insert(at, next),
        }
        return rest;
    }
    Some(answer)
}

/// An answer no screen took. Answers to requests nobody waits for any more (a page of an
/// old filter, a screen closed meanwhile) are dropped here.
fn answered(m: &mut Model, id: ReqId, answer: Answer) {
    match answer {
        Answer::Loaded(result) => {
            if let Some(pane) = Pane::ALL
                .into_iter()
                .find(|p| m.list(*p).loading.is_some_and(|l| l.id == id))
            {
                loaded(m, pane, result);
            }
        }
        Answer::Account(result) => {
            if m.account_loading == Some(id) {
                m.account_loading = None;
                account_loaded(m, result);
            }
        }
        Answer::Saved(result) => saved(m, result),
        Answer::Done(Ok(s)) => m.flash = Some((s, None)),
        Answer::Done(Err(e)) => m.failed(e),
        Answer::Preview(media, result) => {
            let shown = match (result, &m.picker) {
                (Ok(img), Some(picker)) => Preview::Ready(Box::new(std::cell::RefCell::new(
                    picker.new_resize_protocol(img),
                ))),
                (Ok(_), None) => return,
                (Err(e), _) => Preview::Failed(e),
            };
            m.previews.insert(media, shown);
        }
        // A connect done (its screen closed, or given up on: then nothing to say on failure).
        Answer::Connected(Ok(msg)) => {
            m.flash = Some((msg, None));
            load_account(m);
        }
        Answer::Crashed(why) => crashed(m, id, why),
        // Answers for a screen that has closed meanwhile.
        Answer::Connected(Err(_))
        | Answer::Pasted(_)
        | Answer::Edited(_)
        | Answer::Inspected(_)
        | Answer::Completed(..)
        | Answer::Stats(_)
        | Answer::Queue(_)
        | Answer::Templates(_)
        | Answer::Template(_) => {}
    }
}

fn account_loaded(m: &mut Model, result: Result<Vec<AccountStatus>, Failure>) {
    match result {
        Ok(a) => {
            m.accounts = a;
            // An account that went away is no longer shown alone.
            if m.showing
                .is_some_and(|id| m.accounts.iter().all(|a| a.id != id))
            {
                m.showing = None;
                reset_and_reload(m);
            }
        }
        Err(e) => m.failed(e),
    }
}

/// A request's task died: whatever waited for it stops waiting, and the user is told.
fn crashed(m: &mut Model, id: ReqId, why: Failure) {
    for l in &mut m.lists {
        if l.loading.is_some_and(|x| x.id == id) {
            l.loading = None;
        }
    }
    if m.account_loading == Some(id) {
        m.account_loading = None;
    }
    m.failed(why);
}

fn loaded(m: &mut Model, pane: Pane, result: Result<Page, Failure>) {
    let select = m.select_after_load;
    let pricing = m.pricing;
    let list = m.list_mut(pane);
    let append = list.loading.is_some_and(|l| l.append);
    list.loading = None;
    let page = match result {
        Ok(p) => p,
        Err(e) => {
            m.failed(e);
            return;
        }
    };
    let keep = list.selected_post().map(|p| p.id);
    if append {
        list.posts.extend(page.posts);
        list.threads.extend(page.threads);
        list.groups.extend(page.groups);
        list.media.extend(page.media);
        list.metrics.extend(page.metrics);
    } else {
        list.posts = page.posts;
        list.threads = page.threads;
        list.groups = page.groups;
        list.media = page.media;
        list.metrics = page.metrics;
    }
    list.next = page.next;
    list.loaded_once = true;
    // The Scheduled pane's title says what sending it all costs.
    if pane == Pane::Scheduled {
        list.cost = lists::waiting_cost(&pricing, list);
    }
    // Keep the same post selected across reloads; else stay in range.
    let want = select.or(keep);
    if let Some(i) = want.and_then(|id| list.posts.iter().position(|p| p.id == id)) {
        list.selected = i;
        if select.is_some() {
            m.select_after_load = None;
            m.focus = pane;
        }
    }
    let list = m.list_mut(pane);
    list.selected = list.selected.min(list.posts.len().saturating_sub(1));
    if list.stale {
        list.stale = false;
        reload(m, pane);
    }
}

/// A post saved (the composer that saved it has closed): say so and show it.
fn saved(m: &mut Model, result: Result<Post, Failure>) {
    match result {
        Ok(post) => {
            let said = match post.scheduled_at.filter(|_| post.queued) {
                Some(at) => format!("post {} queued for {}", post.id, when::show(at, &m.tz)),
                None => format!("saved post {}", post.id),
            };
            m.flash = Some((said, None));
            m.select_after_load = Some(post.id);
            m.focus = Pane::of(post.status);
            for p in Pane::ALL {
                reload(m, p);
            }
        }
        Err(e) => m.failed(e),
    }
}

fn publisher_event(m: &mut Model, e: Event) {
    match (&mut m.publisher, e) {
        (_, Event::Stopped) => m.publisher = PublisherState::Off("stopped".into()),
        // The account line shows the new state (expiry, or why it needs reconnecting).
        (_, Event::Token(r)) => {
            if let Refresh::Refused { reason, account } = r {
                let who = m
                    .handle(account)
                    .unwrap_or_else(|| "the X account".to_string());
                m.flash = Some((
                    format!(
                        "{who} needs reconnecting: {reason} (press C, or chirp account connect)"
                    ),
                    Some(Kind::Conflict),
                ));
            }
            load_account(m);
        }
        (_, Event::OutOfCredits { account, .. }) => {
            let who = m
                .handle(account)
                .unwrap_or_else(|| "the X account".to_string());
            m.flash = Some((
                format!(
                    "X says {who} is out of credits: its posts wait until you top up and resume it (S, then R)"
                ),
                Some(Kind::Network),
            ));
            load_account(m);
        }
        (PublisherState::Running { next, .. }, Event::Waiting { next: n }) => *next = n,
        (
            PublisherState::Running { x_left, .. },
            Event::Posted {
                quota:
                    Some(Quota {
                        remaining: Some(r),
                        limit: Some(l),
                        ..
                    }),
                ..
            },
        ) => *x_left = Some((r, l)),
        (PublisherState::Off(_), Event::Started { .. }) => {
            m.publisher = PublisherState::Running {
                next: None,
                x_left: None,
            }
        }
        _ => {}
    }
}
