//! The TUI's state and messages. `update` (in update.rs) is the only thing that changes a
//! [`Model`]; `view` only reads it; IO happens in the effects runner, whose every request
//! answers with a [`Msg::Answer`] carrying the request's id.

use std::any::Any;

use chirp_core::{Post, PostId, Status, TextRule};
use chirp_publisher::Event;
use chirp_store::accounts::AccountStatus;
use chirp_store::posts::{Cursor, ListQuery, Order, Page};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use crossterm::event::KeyEvent;

pub use super::failure::Failure;
use super::keymap::Keymap;
use super::screens::Screen;

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

    /// The query for one page of this pane (of one account's posts, or of all).
    pub fn query(
        self,
        after: Option<Cursor>,
        filter: &str,
        account: Option<chirp_core::AccountId>,
    ) -> ListQuery {
        ListQuery {
            statuses: self.statuses(),
            // Scheduled: soonest first; Posted: what went out (or failed) last first.
            order: match self {
                Pane::Drafts => Order::Newest,
                Pane::Scheduled => Order::Soonest,
                Pane::Posted => Order::Latest,
            },
            after,
            limit: PAGE,
            text: (!filter.is_empty()).then(|| filter.to_string()),
            account,
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

/// The id of one background request: its answer carries it back, so an answer to a request
/// that was superseded (a page of an old filter) is recognised and dropped.
pub type ReqId = u64;

/// A page load in flight for a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loading {
    pub id: ReqId,
    /// A next page (appended) rather than the first.
    pub append: bool,
}

/// One list, loaded page by page.
#[derive(Debug, Clone, Default)]
pub struct List {
    pub posts: Vec<Post>,
    /// The parts of the threads among `posts`.
    pub threads: std::collections::HashMap<chirp_core::PostId, Vec<chirp_core::PostPart>>,
    /// How far the groups among `posts` got (one text sent to several accounts).
    pub groups: std::collections::HashMap<chirp_core::PostId, chirp_store::posts::Group>,
    /// The files of the posts among `posts` that have any.
    pub media: std::collections::HashMap<chirp_core::PostId, Vec<chirp_store::media::Attachment>>,
    /// The metrics reads of the posts among `posts` that have any, oldest first.
    pub metrics: chirp_store::analytics::Histories,
    /// What sending every loaded post would cost (its parts not on X yet), at X's prices.
    pub cost: chirp_core::price::Micros,
    pub selected: usize,
    /// Where the next page starts; None when everything is loaded.
    pub next: Option<Cursor>,
    /// The load in flight, if any; only its answer is applied.
    pub loading: Option<Loading>,
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

pub struct Model {
    pub lists: [List; 3],
    pub focus: Pane,
    /// Popups over the lists, the top one receiving keys. Empty: the lists have the keys.
    pub stack: Vec<Box<dyn Screen>>,
    pub keys: Keymap,
    /// The user's X accounts (the default first when none is connected yet: the local one).
    pub accounts: Vec<AccountStatus>,
    /// Whose posts the panes show: one account's, or (None) every account's.
    pub showing: Option<chirp_core::AccountId>,
    pub db: DbState,
    pub publisher: PublisherState,
    /// A one-line message for the status bar: (text, the kind of failure it says, if it is
    /// one: the kind picks its colour).
    pub flash: Option<(String, Option<chirp_core::Kind>)>,
    pub tz: Tz,
    /// The clock the view shows ("in 2h"): set by ticks, so a frame is a pure function of
    /// the model.
    pub now: DateTime<Utc>,
    pub filter: String,
    /// How far the selected post's detail area is scrolled, in lines.
    pub detail_scroll: u16,
    /// After a save, select this post once its pane reloads.
    pub select_after_load: Option<PostId>,
    pub color: bool,
    pub width: u16,
    pub height: u16,
    pub quit: bool,
    /// The account load in flight, if any.
    pub account_loading: Option<ReqId>,
    /// How images are drawn (None: no previews).
    pub picker: Option<ratatui_image::picker::Picker>,
    /// Image previews by stored file, as far as they are loaded.
    pub previews: std::collections::HashMap<i32, Preview>,
    /// What X charges (`[x.pricing]`), for the prices the composer and panes show.
    pub pricing: chirp_core::Pricing,
    /// Requests made while handling the current message, for the effects runner.
    pub(crate) out: Vec<Request>,
    next_req: ReqId,
}

impl Model {
    pub fn new(tz: Tz, now: DateTime<Utc>, color: bool) -> Model {
        Model {
            lists: Default::default(),
            focus: Pane::Drafts,
            stack: Vec::new(),
            keys: Keymap::default(),
            accounts: Vec::new(),
            showing: None,
            db: DbState::Connected,
            publisher: PublisherState::Off("disabled".into()),
            flash: None,
            tz,
            now,
            filter: String::new(),
            detail_scroll: 0,
            select_after_load: None,
            color,
            width: 80,
            height: 24,
            quit: false,
            account_loading: None,
            picker: None,
            previews: std::collections::HashMap::new(),
            pricing: chirp_core::Pricing::default(),
            out: Vec::new(),
            next_req: 1,
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

    /// The text rules of `accounts`' networks, strictest first, each once; X's when none of
    /// them is known (the list of accounts not read yet).
    pub fn text_rules(&self, accounts: &[chirp_core::AccountId]) -> Vec<&'static dyn TextRule> {
        let mut rules: Vec<&'static dyn TextRule> = Vec::new();
        for a in self.accounts.iter().filter(|a| accounts.contains(&a.id)) {
            let rule = chirp_core::rule_for(a.network);
            if !rules.iter().any(|r| r.network() == rule.network()) {
                rules.push(rule);
            }
        }
        if rules.is_empty() {
            rules.push(chirp_core::rule_for(chirp_core::Network::X));
        }
        rules.sort_by_key(|r| r.limit());
        rules
    }

    /// The rule a text for `accounts` is counted by: the strictest of theirs.
    pub fn text_rule(&self, accounts: &[chirp_core::AccountId]) -> &'static dyn TextRule {
        self.text_rules(accounts)
            .first()
            .copied()
            .unwrap_or_else(|| chirp_core::rule_for(chirp_core::Network::X))
    }

    /// Shows a failure in the status bar, in its kind's words and colour.
    pub fn failed(&mut self, f: Failure) {
        let kind = f.kind;
        self.flash = Some((f.to_string(), Some(kind)));
    }

    /// The handle of an account, as shown ("@name"), if it has one.
    pub fn handle(&self, id: chirp_core::AccountId) -> Option<String> {
        self.accounts
            .iter()
            .find(|a| a.id == id)
            .and_then(|a| a.username.as_ref())
            .map(|u| format!("@{u}"))
    }

    /// Whether rows say whose they are: every account's posts shown, and more than one.
    pub fn several_shown(&self) -> bool {
        self.showing.is_none() && self.accounts.len() > 1
    }

    /// Side by side from this width on; tabs below it.
    pub fn wide(&self) -> bool {
        self.width >= 120
    }

    /// Asks the effects runner for `cmd`; returns the id its answer will carry.
    pub fn request(&mut self, cmd: Cmd) -> ReqId {
        let id = self.next_req;
        self.next_req += 1;
        self.out.push(Request { id, cmd });
        id
    }

    /// The topmost screen of type `S`, if one is open.
    pub fn screen<S: Screen>(&self) -> Option<&S> {
        self.stack
            .iter()
            .rev()
            .find_map(|s| (s.as_ref() as &dyn Any).downcast_ref::<S>())
    }

    pub fn screen_mut<S: Screen>(&mut self) -> Option<&mut S> {
        self.stack
            .iter_mut()
            .rev()
            .find_map(|s| (s.as_mut() as &mut dyn Any).downcast_mut::<S>())
    }

    /// Whether the top screen is an `S`.
    pub fn on_top<S: Screen>(&self) -> bool {
        self.stack
            .last()
            .is_some_and(|s| (s.as_ref() as &dyn Any).is::<S>())
    }
}

/// Everything that can happen to the TUI.
pub enum Msg {
    Key(KeyEvent),
    Mouse(crossterm::event::MouseEvent),
    Paste(String),
    Resize(u16, u16),
    Tick(DateTime<Utc>),
    Db(DbState),
    /// A post changed in the database (ours, the publisher's, another process's).
    Changed,
    Publisher(Event),
    /// The answer to request `id`. Every request gets exactly one.
    Answer(ReqId, Answer),
    /// Connecting an account (request `id`) is under way: the address to open in a browser,
    /// and where X sends the browser back.
    ConnectReady {
        id: ReqId,
        url: String,
        redirect: String,
    },
    Quit,
}

/// What a request came back with.
#[derive(Debug, Clone)]
pub enum Answer {
    Loaded(Result<Page, Failure>),
    Account(Result<Vec<AccountStatus>, Failure>),
    /// A post written from the composer (or duplicated).
    Saved(Result<Post, Failure>),
    /// An action finished: the message to flash.
    Done(Result<String, Failure>),
    /// `$EDITOR` finished: the new text, or why not.
    Edited(Result<String, String>),
    /// A file to attach was read and checked, or why it cannot be attached.
    Inspected(Result<crate::media::Inspected, String>),
    /// A path completed: (what was asked, the input completed, the names that match).
    Completed(String, String, Vec<String>),
    /// A stored image decoded for its preview (scaled down), or why it cannot be shown.
    Preview(i32, Result<image::DynamicImage, String>),
    /// Each account's queue for the next days.
    Queue(Result<Vec<QueueOf>, Failure>),
    /// Every account's stats.
    Stats(Result<Vec<crate::stats::AccountStats>, Failure>),
    /// The templates there are.
    Templates(Result<Vec<chirp_store::templates::Summary>, Failure>),
    /// A template's parts and files.
    Template(Result<(Vec<String>, Vec<chirp_store::media::Attachment>), Failure>),
    /// Connecting an account ended: "connected as @me", or why not.
    Connected(Result<String, Failure>),
    /// A pasted answer was handed to the connect under way, or why it cannot be used.
    Pasted(Result<(), String>),
    /// The task answering it panicked or was cancelled: what to tell the user.
    Crashed(Failure),
}

/// One account's queue as the queue view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueOf {
    pub handle: String,
    pub spec: String,
    pub tz: chrono_tz::Tz,
    /// Each slot, with the post waiting in it.
    pub slots: Vec<(DateTime<Utc>, Option<Waiting>)>,
}

/// A post waiting in a slot: its id and text.
pub type Waiting = (PostId, String);

/// IO for the effects runner to carry out.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    Load {
        pane: Pane,
        after: Option<Cursor>,
        filter: String,
        account: Option<chirp_core::AccountId>,
    },
    LoadAccount,
    /// A new post of these parts (one for a single post), for each of these accounts (none:
    /// the default one), with each part's files (none at all: an empty list).
    /// A new post: its parts, accounts, files, and the placeholders its template left to
    /// fill (the database refuses to schedule it while its text holds one).
    Create(
        Vec<String>,
        Vec<chirp_core::AccountId>,
        Vec<Vec<FileRef>>,
        Vec<String>,
    ),
    /// Every part of a post replaced, and its files (an empty list: none).
    Save(PostId, Vec<String>, Vec<Vec<FileRef>>),
    /// [`Cmd::Create`] (no id) or [`Cmd::Save`], then into the next free queue slot.
    SaveQueued {
        id: Option<PostId>,
        parts: Vec<String>,
        to: Vec<chirp_core::AccountId>,
        files: Vec<Vec<FileRef>>,
        unfilled: Vec<String>,
    },
    /// Read and check a file from disk (type from its content, size, hash) to attach it.
    Inspect(std::path::PathBuf),
    /// Complete a path as typed (from the current directory, `~` for home).
    Complete(String),
    /// Read and decode a stored image for its preview.
    LoadPreview(i32),
    Schedule(PostId, DateTime<Utc>),
    /// Into its account's next free queue slot.
    Enqueue(PostId),
    /// Every account's queue for a week: this one (0, from now), the next (1)….
    LoadQueue(u32),
    /// Every account's stats for the stats screen, priced so.
    LoadStats(chirp_core::Pricing),
    /// Send an account's posts held for want of credits.
    Resume(chirp_core::AccountId),
    LoadTemplates,
    LoadTemplate(String),
    Unschedule(PostId),
    Delete(PostId),
    Duplicate(PostId),
    Retry(PostId),
    /// Delete every part on X (needs the network and the account's token).
    Unpublish(PostId),
    /// A stopped thread's unsent parts become a new draft.
    SplitOff(PostId),
    OpenEditor(String),
    /// Ctrl-Z: give the terminal back and stop until `fg`.
    Suspend,
    /// Connect an X account: listen for X's redirect, say the address (`Msg::ConnectReady`),
    /// then wait for the redirect or a pasted answer, and save the account.
    Connect,
    /// What the user pasted (the address the browser ended on, or the code), for the connect
    /// under way.
    ConnectPaste(String),
    /// Give up the connect under way.
    ConnectCancel,
    /// Put text on the terminal's clipboard (OSC 52; tmux keeps it as a buffer too).
    Copy(String),
}

/// An image preview: being read, ready to draw (its protocol keeps the encoding for the area
/// it was last drawn in, hence the cell: drawing is the only thing that changes it), or why not.
pub enum Preview {
    Loading,
    Ready(Box<std::cell::RefCell<ratatui_image::protocol::StatefulProtocol>>),
    Failed(String),
}

/// A file on a part in the composer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRef {
    /// Stored already (an attachment of the post being edited).
    Stored {
        media_id: i32,
        kind: chirp_core::MediaKind,
        media_type: String,
        size: u64,
        alt: Option<String>,
    },
    /// Read from disk and checked; stored when the post is saved.
    New {
        file: crate::media::Inspected,
        alt: Option<String>,
    },
}

impl FileRef {
    pub fn kind(&self) -> chirp_core::MediaKind {
        match self {
            FileRef::Stored { kind, .. } => *kind,
            FileRef::New { file, .. } => file.kind,
        }
    }

    pub fn alt(&self) -> Option<&str> {
        match self {
            FileRef::Stored { alt, .. } | FileRef::New { alt, .. } => alt.as_deref(),
        }
    }

    pub fn set_alt(&mut self, text: Option<String>) {
        match self {
            FileRef::Stored { alt, .. } | FileRef::New { alt, .. } => *alt = text,
        }
    }

    /// "image/png 3.2 MB · cat.png"
    pub fn label(&self) -> String {
        match self {
            FileRef::Stored {
                media_type, size, ..
            } => format!("{media_type} {}", chirp_core::media::size(*size)),
            FileRef::New { file, .. } => format!(
                "{} {} · {}",
                file.media_type,
                chirp_core::media::size(file.size),
                file.path
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().to_string())
            ),
        }
    }
}

/// A command with the id its answer will carry.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: ReqId,
    pub cmd: Cmd,
}
