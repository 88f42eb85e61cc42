//! The TUI's state and messages. `update` (in update.rs) is the only thing that changes a
//! [`Model`]; `view` only reads it; IO happens in tasks that answer with a [`Msg`].

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use crossterm::event::KeyEvent;
use ratatui_textarea::TextArea;

use chirp_core::{Post, PostId, Status};
use chirp_publisher::Event;
use chirp_store::accounts::AccountStatus;
use chirp_store::posts::{Cursor, ListQuery, Order, Page};

/// Rows fetched per page; more are fetched as the selection nears the end.
pub const PAGE: i64 = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    Drafts,
    Scheduled,
    Posted,
}

impl Pane {
    pub const ALL: [Pane; 3] = [Pane::Drafts, Pane::Scheduled, Pane::Posted];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Drafts => "Drafts",
            Pane::Scheduled => "Scheduled",
            Pane::Posted => "Posted",
        }
    }

    /// Which statuses a pane lists. Failed posts live with the posted ones, marked.
    pub fn statuses(self) -> Vec<Status> {
        match self {
            Pane::Drafts => vec![Status::Draft],
            Pane::Scheduled => vec![Status::Scheduled, Status::Publishing],
            Pane::Posted => vec![Status::Posted, Status::Failed],
        }
    }

    pub fn of(status: Status) -> Pane {
        match status {
            Status::Draft => Pane::Drafts,
            Status::Scheduled | Status::Publishing => Pane::Scheduled,
            Status::Posted | Status::Failed => Pane::Posted,
        }
    }

    /// The query for one page of this pane.
    pub fn query(self, after: Option<Cursor>, filter: &str) -> ListQuery {
        ListQuery {
            statuses: self.statuses(),
            order: if self == Pane::Scheduled {
                Order::Soonest
            } else {
                Order::Newest
            },
            after,
            limit: PAGE,
            text: (!filter.is_empty()).then(|| filter.to_string()),
        }
    }

    pub fn index(self) -> usize {
        match self {
            Pane::Drafts => 0,
            Pane::Scheduled => 1,
            Pane::Posted => 2,
        }
    }
}

/// One list, loaded page by page.
#[derive(Debug, Clone, Default)]
pub struct List {
    pub posts: Vec<Post>,
    pub selected: usize,
    /// Where the next page starts; None when everything is loaded.
    pub next: Option<Cursor>,
    pub loading: bool,
    /// A change arrived while loading: load again when this one lands.
    pub stale: bool,
    pub loaded_once: bool,
}

impl List {
    pub fn selected_post(&self) -> Option<&Post> {
        self.posts.get(self.selected)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbState {
    Connected,
    Reconnecting(String),
}

/// What the background publisher is doing, as far as the TUI knows.
#[derive(Debug, Clone, PartialEq)]
pub enum PublisherState {
    Off(String),
    Running {
        next: Option<DateTime<Utc>>,
        /// Posts X says are left in the account's window: (remaining, limit).
        x_left: Option<(u32, u32)>,
    },
}

/// The editor: a new post (`id` None) or an existing one.
pub struct Composer {
    pub id: Option<PostId>,
    pub textarea: TextArea<'static>,
    pub original: String,
    pub saving: bool,
    pub error: Option<String>,
    /// Asking whether to throw away the changes.
    pub confirm_discard: bool,
}

impl Composer {
    pub fn new(id: Option<PostId>, text: &str) -> Composer {
        let lines: Vec<String> = if text.is_empty() {
            vec![String::new()]
        } else {
            text.split('\n').map(String::from).collect()
        };
        let mut textarea = TextArea::new(lines);
        textarea.set_wrap_mode(ratatui_textarea::WrapMode::WordOrGlyph);
        textarea.move_cursor(ratatui_textarea::CursorMove::Bottom);
        textarea.move_cursor(ratatui_textarea::CursorMove::End);
        Composer {
            id,
            textarea,
            original: text.to_string(),
            saving: false,
            error: None,
            confirm_discard: false,
        }
    }

    pub fn text(&self) -> String {
        self.textarea.lines().join("\n")
    }

    pub fn modified(&self) -> bool {
        self.text() != self.original
    }
}

/// The schedule prompt: what was typed and what it means.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub id: PostId,
    pub input: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    Delete(PostId),
    PublishNow(PostId),
}

pub enum Mode {
    Normal,
    Compose(Box<Composer>),
    Schedule(Prompt),
    Confirm(Confirm),
    Filter(String),
    Help,
}

pub struct Model {
    pub lists: [List; 3],
    pub focus: Pane,
    pub mode: Mode,
    pub account: Option<AccountStatus>,
    pub db: DbState,
    pub publisher: PublisherState,
    /// A one-line message for the status bar: (text, is_error).
    pub flash: Option<(String, bool)>,
    pub tz: Tz,
    /// The clock the view shows ("in 2h"): set by ticks, so a frame is a pure function of
    /// the model.
    pub now: DateTime<Utc>,
    pub filter: String,
    /// After a save, select this post once its pane reloads.
    pub select_after_load: Option<PostId>,
    pub color: bool,
    pub width: u16,
    pub quit: bool,
}

impl Model {
    pub fn new(tz: Tz, now: DateTime<Utc>, color: bool) -> Model {
        Model {
            lists: Default::default(),
            focus: Pane::Drafts,
            mode: Mode::Normal,
            account: None,
            db: DbState::Connected,
            publisher: PublisherState::Off("disabled".into()),
            flash: None,
            tz,
            now,
            filter: String::new(),
            select_after_load: None,
            color,
            width: 80,
            quit: false,
        }
    }

    pub fn list(&self, pane: Pane) -> &List {
        &self.lists[pane.index()]
    }

    pub fn list_mut(&mut self, pane: Pane) -> &mut List {
        &mut self.lists[pane.index()]
    }

    pub fn selected(&self) -> Option<&Post> {
        self.list(self.focus).selected_post()
    }

    /// Side by side from this width on; tabs below it.
    pub fn wide(&self) -> bool {
        self.width >= 120
    }
}

/// Everything that can happen to the TUI.
pub enum Msg {
    Key(KeyEvent),
    Paste(String),
    Resize(u16, u16),
    Tick(DateTime<Utc>),
    Loaded {
        pane: Pane,
        append: bool,
        result: Result<Page, String>,
    },
    Account(Option<AccountStatus>),
    Db(DbState),
    /// A post changed in the database (ours, the publisher's, another process's).
    Changed,
    Saved(Result<Post, String>),
    /// An action finished: the message to flash.
    Done(Result<String, String>),
    Publisher(Event),
    EditorDone(Result<String, String>),
    Quit,
}

/// IO for the runtime to carry out; each answers with a [`Msg`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    Load {
        pane: Pane,
        after: Option<Cursor>,
        filter: String,
    },
    LoadAccount,
    Create(String),
    Save(PostId, String),
    Schedule(PostId, DateTime<Utc>),
    Unschedule(PostId),
    Delete(PostId),
    Duplicate(PostId),
    Retry(PostId),
    OpenEditor(String),
}
