//! `update`: every change to the model, as a plain function of (model, message). It never
//! awaits; IO it needs comes back as [`Cmd`]s for the runtime.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::model::{
    Cmd, Composer, Confirm, DbState, List, Mode, Model, Msg, Pane, Prompt, PublisherState,
};
use chirp_core::{Status, parse_when, text};
use chirp_publisher::Event;

/// Loads the first page of every pane.
pub fn reload_all(m: &mut Model) -> Vec<Cmd> {
    Pane::ALL.iter().filter_map(|p| reload(m, *p)).collect()
}

fn reload(m: &mut Model, pane: Pane) -> Option<Cmd> {
    let filter = m.filter.clone();
    let list = m.list_mut(pane);
    if list.loading {
        list.stale = true;
        return None;
    }
    list.loading = true;
    Some(Cmd::Load {
        pane,
        after: None,
        filter,
    })
}

pub fn update(m: &mut Model, msg: Msg) -> Vec<Cmd> {
    match msg {
        Msg::Key(k) if k.kind != KeyEventKind::Release => key(m, k),
        Msg::Key(_) => vec![],
        Msg::Paste(s) => {
            if let Mode::Compose(c) = &mut m.mode {
                c.textarea.insert_str(&s);
            }
            vec![]
        }
        Msg::Resize(w, _) => {
            m.width = w;
            vec![]
        }
        Msg::Tick(now) => {
            m.now = now;
            vec![]
        }
        Msg::Loaded {
            pane,
            append,
            result,
        } => loaded(m, pane, append, result),
        Msg::Account(a) => {
            m.account = a;
            vec![]
        }
        Msg::Db(state) => {
            let back = matches!(m.db, DbState::Reconnecting(_)) && state == DbState::Connected;
            m.db = state;
            if back {
                let mut cmds = reload_all(m);
                cmds.push(Cmd::LoadAccount);
                return cmds;
            }
            vec![]
        }
        Msg::Changed => {
            // A burst of changes reloads once per pane (loads in flight coalesce the rest).
            let mut cmds = reload_all(m);
            if !cmds.is_empty() {
                cmds.push(Cmd::LoadAccount);
            }
            cmds
        }
        Msg::Saved(result) => saved(m, result),
        Msg::Done(Ok(s)) => {
            m.flash = Some((s, false));
            vec![]
        }
        Msg::Done(Err(e)) => {
            m.flash = Some((e, true));
            vec![]
        }
        Msg::Publisher(e) => {
            publisher_event(m, e);
            vec![]
        }
        Msg::EditorDone(r) => {
            if let Mode::Compose(c) = &mut m.mode {
                match r {
                    Ok(text) => {
                        let id = c.id;
                        let original = c.original.clone();
                        let mut fresh = Composer::new(id, &text);
                        fresh.original = original;
                        **c = fresh;
                    }
                    Err(e) => c.error = Some(e),
                }
            }
            vec![]
        }
        Msg::Quit => {
            m.quit = true;
            vec![]
        }
    }
}

fn loaded(
    m: &mut Model,
    pane: Pane,
    append: bool,
    result: Result<chirp_store::posts::Page, String>,
) -> Vec<Cmd> {
    let select = m.select_after_load;
    let list = m.list_mut(pane);
    list.loading = false;
    let page = match result {
        Ok(p) => p,
        Err(e) => {
            m.flash = Some((e, true));
            return vec![];
        }
    };
    let keep = list.selected_post().map(|p| p.id);
    if append {
        list.posts.extend(page.posts);
    } else {
        list.posts = page.posts;
    }
    list.next = page.next;
    list.loaded_once = true;
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
        return reload(m, pane).into_iter().collect();
    }
    vec![]
}

fn saved(m: &mut Model, result: Result<chirp_core::Post, String>) -> Vec<Cmd> {
    match result {
        Ok(post) => {
            if matches!(m.mode, Mode::Compose(_)) {
                m.mode = Mode::Normal;
            }
            m.flash = Some((format!("saved post {}", post.id), false));
            m.select_after_load = Some(post.id);
            m.focus = Pane::of(post.status);
            reload_all(m)
        }
        Err(e) => {
            // The text stays in the composer: nothing typed is lost.
            if let Mode::Compose(c) = &mut m.mode {
                c.saving = false;
                c.error = Some(e);
            } else {
                m.flash = Some((e, true));
            }
            vec![]
        }
    }
}

fn publisher_event(m: &mut Model, e: Event) {
    match (&mut m.publisher, e) {
        (_, Event::Stopped) => m.publisher = PublisherState::Off("stopped".into()),
        (PublisherState::Running { next, .. }, Event::Waiting { next: n }) => *next = n,
        (
            PublisherState::Running { x_left, .. },
            Event::Posted {
                quota:
                    Some(chirp_core::Quota {
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

fn ctrl(k: &KeyEvent, c: char) -> bool {
    k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char(c)
}

fn key(m: &mut Model, k: KeyEvent) -> Vec<Cmd> {
    // Ctrl-C always quits (the composer asks first if there is unsaved text).
    if ctrl(&k, 'c') && !matches!(m.mode, Mode::Compose(_)) {
        m.quit = true;
        return vec![];
    }
    match std::mem::replace(&mut m.mode, Mode::Normal) {
        Mode::Normal => normal_key(m, k),
        Mode::Help => vec![], // any key closes help
        Mode::Compose(c) => compose_key(m, c, k),
        Mode::Schedule(p) => schedule_key(m, p, k),
        Mode::Confirm(c) => confirm_key(m, c, k),
        Mode::Filter(f) => filter_key(m, f, k),
    }
}

fn move_selection(m: &mut Model, delta: isize) -> Vec<Cmd> {
    let pane = m.focus;
    let filter = m.filter.clone();
    let list = m.list_mut(pane);
    if list.posts.is_empty() {
        return vec![];
    }
    let last = list.posts.len() as isize - 1;
    list.selected = (list.selected as isize + delta).clamp(0, last) as usize;
    // Near the end of what is loaded: fetch the next page (keyset, so it costs the same).
    if list.selected + 10 >= list.posts.len()
        && !list.loading
        && let Some(after) = list.next
    {
        list.loading = true;
        return vec![Cmd::Load {
            pane,
            after: Some(after),
            filter,
        }];
    }
    vec![]
}

fn switch(m: &mut Model, delta: isize) {
    let i = (m.focus.index() as isize + delta).rem_euclid(3) as usize;
    m.focus = Pane::ALL[i];
}

fn normal_key(m: &mut Model, k: KeyEvent) -> Vec<Cmd> {
    m.flash = None;
    let selected = m.selected().map(|p| (p.id, p.status, p.content.clone()));
    match k.code {
        KeyCode::Char('q') => m.quit = true,
        KeyCode::Char('?') => m.mode = Mode::Help,
        KeyCode::Tab | KeyCode::Char('l') | KeyCode::Right => switch(m, 1),
        KeyCode::BackTab | KeyCode::Char('h') | KeyCode::Left => switch(m, -1),
        KeyCode::Char('j') | KeyCode::Down => return move_selection(m, 1),
        KeyCode::Char('k') | KeyCode::Up => return move_selection(m, -1),
        KeyCode::PageDown => return move_selection(m, 10),
        KeyCode::PageUp => return move_selection(m, -10),
        KeyCode::Char('g') | KeyCode::Home => return move_selection(m, -1_000_000),
        KeyCode::Char('G') | KeyCode::End => return move_selection(m, 1_000_000),
        KeyCode::Char('n') => m.mode = Mode::Compose(Box::new(Composer::new(None, ""))),
        KeyCode::Char('/') => m.mode = Mode::Filter(m.filter.clone()),
        _ => return post_key(m, k, selected),
    }
    vec![]
}

/// Keys that act on the selected post.
fn post_key(m: &mut Model, k: KeyEvent, selected: Option<(i32, Status, String)>) -> Vec<Cmd> {
    let Some((id, status, content)) = selected else {
        return vec![];
    };
    let refuse = |m: &mut Model, what: &str| {
        m.flash = Some((format!("a {status} post cannot be {what}"), true));
        vec![]
    };
    match k.code {
        KeyCode::Char('e') | KeyCode::Enter => match status {
            Status::Draft | Status::Scheduled | Status::Failed => {
                m.mode = Mode::Compose(Box::new(Composer::new(Some(id), &content)));
                vec![]
            }
            _ => refuse(m, "edited (press y to duplicate it as a new draft)"),
        },
        KeyCode::Char('s') => match status {
            Status::Draft | Status::Scheduled | Status::Failed => {
                if let Err(e) = text::validate(&content) {
                    m.flash = Some((format!("cannot schedule: {e}"), true));
                    return vec![];
                }
                m.mode = Mode::Schedule(Prompt {
                    id,
                    input: String::new(),
                    error: None,
                });
                vec![]
            }
            _ => refuse(m, "scheduled"),
        },
        KeyCode::Char('u') => match status {
            Status::Scheduled | Status::Failed => vec![Cmd::Unschedule(id)],
            _ => refuse(m, "unscheduled"),
        },
        KeyCode::Char('p') => match status {
            Status::Draft | Status::Scheduled | Status::Failed => {
                m.mode = Mode::Confirm(Confirm::PublishNow(id));
                vec![]
            }
            _ => refuse(m, "published again"),
        },
        KeyCode::Char('d') => match status {
            Status::Publishing => refuse(m, "deleted while it is being sent"),
            _ => {
                m.mode = Mode::Confirm(Confirm::Delete(id));
                vec![]
            }
        },
        KeyCode::Char('y') => vec![Cmd::Duplicate(id)],
        KeyCode::Char('r') => match status {
            Status::Failed => vec![Cmd::Retry(id)],
            _ => refuse(m, "retried (only failed posts are)"),
        },
        _ => vec![],
    }
}

fn compose_key(m: &mut Model, mut c: Box<Composer>, k: KeyEvent) -> Vec<Cmd> {
    if c.confirm_discard {
        c.confirm_discard = false;
        if matches!(k.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
            m.flash = Some(("discarded the changes".into(), false));
            return vec![];
        }
        m.mode = Mode::Compose(c);
        return vec![];
    }
    let mut cmds = vec![];
    if ctrl(&k, 's') {
        if !c.saving {
            let text = c.text();
            c.error = None;
            match text::validate(&text) {
                // Refused before touching the database; the text stays.
                Err(e) => c.error = Some(e.to_string()),
                Ok(_) => {
                    c.saving = true;
                    cmds.push(match c.id {
                        Some(id) => Cmd::Save(id, text),
                        None => Cmd::Create(text),
                    });
                }
            }
        }
    } else if ctrl(&k, 'e') {
        cmds.push(Cmd::OpenEditor(c.text()));
    } else if k.code == KeyCode::Esc || ctrl(&k, 'c') {
        if c.modified() {
            c.confirm_discard = true;
        } else {
            return vec![];
        }
    } else if !c.saving {
        c.textarea.input(k);
    }
    m.mode = Mode::Compose(c);
    cmds
}

fn schedule_key(m: &mut Model, mut p: Prompt, k: KeyEvent) -> Vec<Cmd> {
    match k.code {
        KeyCode::Esc => return vec![],
        KeyCode::Enter => match parse_when(&p.input, m.now, &m.tz) {
            Ok(at) => return vec![Cmd::Schedule(p.id, at)],
            Err(e) => p.error = Some(e.to_string()),
        },
        KeyCode::Backspace => {
            p.input.pop();
            p.error = None;
        }
        KeyCode::Char(ch) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
            p.input.push(ch);
            p.error = None;
        }
        _ => {}
    }
    m.mode = Mode::Schedule(p);
    vec![]
}

fn confirm_key(m: &mut Model, c: Confirm, k: KeyEvent) -> Vec<Cmd> {
    if !matches!(k.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
        m.flash = Some(("cancelled".into(), false));
        return vec![];
    }
    match c {
        Confirm::Delete(id) => vec![Cmd::Delete(id)],
        Confirm::PublishNow(id) => vec![Cmd::Schedule(id, m.now)],
    }
}

fn filter_key(m: &mut Model, mut f: String, k: KeyEvent) -> Vec<Cmd> {
    match k.code {
        KeyCode::Esc => {
            let had = !m.filter.is_empty();
            m.filter.clear();
            if had {
                return reset_and_reload(m);
            }
            return vec![];
        }
        KeyCode::Enter => {
            m.filter = f;
            return reset_and_reload(m);
        }
        KeyCode::Backspace => {
            f.pop();
        }
        KeyCode::Char(ch) if !k.modifiers.contains(KeyModifiers::CONTROL) => f.push(ch),
        _ => {}
    }
    m.mode = Mode::Filter(f);
    vec![]
}

fn reset_and_reload(m: &mut Model) -> Vec<Cmd> {
    for l in &mut m.lists {
        *l = List {
            loading: l.loading,
            stale: l.loading,
            ..List::default()
        };
    }
    reload_all(m)
}
