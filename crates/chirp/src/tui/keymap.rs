//! One keymap: every binding is a row of (context, action, keys, help), and everything that
//! tells the user about keys — the `?` help, the hint line, the composer's and the prompts'
//! hints — is generated from it. The `[keys]` section of the config rebinds any action:
//!
//! ```toml
//! [keys.lists]
//! new = "w"                  # one key
//! delete = ["x", "Delete"]   # or several
//! ```

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a key is pressed: each screen reads its own section of the keymap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    /// The panes (no popup open).
    Lists,
    Composer,
    /// The "when?" prompt of `s`.
    Schedule,
    Filter,
    /// A yes/no question before something destructive.
    Confirm,
    /// Choosing the accounts a new post goes to.
    Accounts,
    /// A one-line prompt over the composer: a file to attach, or its alt text.
    Input,
    /// Each account's queue slots for the next days.
    Queue,
    /// Choosing a template to start a post from.
    Templates,
    /// How each account's posts did, and what X cost.
    Stats,
    /// Connecting an X account.
    Connect,
}

impl Context {
    pub const ALL: [Context; 11] = [
        Context::Lists,
        Context::Composer,
        Context::Schedule,
        Context::Filter,
        Context::Confirm,
        Context::Accounts,
        Context::Input,
        Context::Queue,
        Context::Templates,
        Context::Stats,
        Context::Connect,
    ];

    /// The name of its table under `[keys]`.
    pub fn name(self) -> &'static str {
        match self {
            Context::Lists => "lists",
            Context::Composer => "composer",
            Context::Schedule => "schedule",
            Context::Filter => "filter",
            Context::Confirm => "confirm",
            Context::Accounts => "accounts",
            Context::Input => "input",
            Context::Queue => "queue",
            Context::Templates => "templates",
            Context::Stats => "stats",
            Context::Connect => "connect",
        }
    }
}

/// What a key does. Names (snake_case) are what `[keys]` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Help,
    Quit,
    NextPane,
    PrevPane,
    Down,
    Up,
    PageDown,
    PageUp,
    Top,
    Bottom,
    New,
    Edit,
    Schedule,
    Unschedule,
    PublishNow,
    Delete,
    Duplicate,
    Retry,
    Unpublish,
    SplitOff,
    SwitchAccount,
    AddToQueue,
    SaveToQueue,
    FromTemplate,
    ShowQueue,
    ShowStats,
    Resume,
    Suspend,
    ConnectAccount,
    Copy,
    DetailDown,
    DetailUp,
    Filter,
    Save,
    Close,
    ExternalEditor,
    AddPart,
    SplitPart,
    JoinPart,
    DeletePart,
    NextPart,
    PrevPart,
    AutoSplit,
    AutoSplitNumbered,
    ChooseAccount,
    Attach,
    AltText,
    RemoveFile,
    NextFile,
    Complete,
    Toggle,
    Confirm,
    Cancel,
    Yes,
}

/// One row of the default table.
struct Row {
    context: Context,
    action: Action,
    name: &'static str,
    keys: &'static [&'static str],
    /// What the help screen says; consecutive rows with the same text share one help line.
    help: &'static str,
    /// The word in the hint line, for the actions worth a place there.
    hint: Option<&'static str>,
}

const fn row(
    context: Context,
    action: Action,
    name: &'static str,
    keys: &'static [&'static str],
    help: &'static str,
    hint: Option<&'static str>,
) -> Row {
    Row {
        context,
        action,
        name,
        keys,
        help,
        hint,
    }
}

use Action as A;
use Context as C;

/// The default bindings, in the order help and hints show them.
const DEFAULTS: &[Row] = &[
    row(
        C::Lists,
        A::NextPane,
        "next_pane",
        &["Tab", "l", "Right"],
        "switch pane",
        None,
    ),
    row(
        C::Lists,
        A::PrevPane,
        "prev_pane",
        &["S-Tab", "h", "Left"],
        "switch pane",
        None,
    ),
    row(C::Lists, A::Down, "down", &["j", "Down"], "move", None),
    row(C::Lists, A::Up, "up", &["k", "Up"], "move", None),
    row(
        C::Lists,
        A::PageDown,
        "page_down",
        &["PageDown"],
        "move",
        None,
    ),
    row(C::Lists, A::PageUp, "page_up", &["PageUp"], "move", None),
    row(C::Lists, A::Top, "top", &["g", "Home"], "move", None),
    row(C::Lists, A::Bottom, "bottom", &["G", "End"], "move", None),
    row(
        C::Lists,
        A::DetailDown,
        "detail_down",
        &["J", "C-d"],
        "scroll the post below",
        None,
    ),
    row(
        C::Lists,
        A::DetailUp,
        "detail_up",
        &["K", "C-u"],
        "scroll the post below",
        None,
    ),
    row(C::Lists, A::New, "new", &["n"], "new post", Some("new")),
    row(
        C::Lists,
        A::Edit,
        "edit",
        &["e", "Enter"],
        "edit (drafts, scheduled, failed)",
        Some("edit"),
    ),
    row(
        C::Lists,
        A::Schedule,
        "schedule",
        &["s"],
        "schedule: type a time in plain words",
        Some("schedule"),
    ),
    row(
        C::Lists,
        A::Unschedule,
        "unschedule",
        &["u"],
        "unschedule (back to draft)",
        None,
    ),
    row(
        C::Lists,
        A::PublishNow,
        "publish_now",
        &["p"],
        "publish now (asks first)",
        Some("publish now"),
    ),
    row(
        C::Lists,
        A::Delete,
        "delete",
        &["d"],
        "delete (asks first)",
        Some("delete"),
    ),
    row(
        C::Lists,
        A::Duplicate,
        "duplicate",
        &["y"],
        "duplicate as a new draft",
        Some("duplicate"),
    ),
    row(
        C::Lists,
        A::Retry,
        "retry",
        &["r"],
        "retry a failed post",
        Some("retry"),
    ),
    row(
        C::Lists,
        A::Unpublish,
        "unpublish",
        &["U"],
        "unpublish: delete it on X (asks first)",
        None,
    ),
    row(
        C::Lists,
        A::SplitOff,
        "split_off",
        &["t"],
        "a stopped thread's rest as a new draft",
        None,
    ),
    row(
        C::Lists,
        A::SwitchAccount,
        "switch_account",
        &["A"],
        "show every account's posts, or one's",
        None,
    ),
    row(
        C::Lists,
        A::AddToQueue,
        "add_to_queue",
        &["a"],
        "add to the queue (next free slot)",
        None,
    ),
    row(
        C::Lists,
        A::FromTemplate,
        "from_template",
        &["T"],
        "new post from a template",
        None,
    ),
    row(
        C::Lists,
        A::ShowQueue,
        "show_queue",
        &["Q"],
        "the queue: slots of the next days",
        None,
    ),
    row(
        C::Lists,
        A::ShowStats,
        "show_stats",
        &["S"],
        "stats: how posts did, what X cost",
        None,
    ),
    row(
        C::Lists,
        A::ConnectAccount,
        "connect",
        &["C"],
        "connect an X account",
        None,
    ),
    row(
        C::Lists,
        A::Filter,
        "filter",
        &["/"],
        "filter by text",
        None,
    ),
    row(
        C::Lists,
        A::Suspend,
        "suspend",
        &["C-z"],
        "suspend (fg resumes)",
        None,
    ),
    row(C::Lists, A::Help, "help", &["?"], "this help", Some("help")),
    row(
        C::Lists,
        A::Quit,
        "quit",
        &["q", "C-c"],
        "quit",
        Some("quit"),
    ),
    row(
        C::Composer,
        A::Help,
        "help",
        &["F1"],
        "these keys",
        Some("help"),
    ),
    row(
        C::Composer,
        A::Save,
        "save",
        &["C-s"],
        "save and close",
        Some("save"),
    ),
    row(
        C::Composer,
        A::SaveToQueue,
        "save_to_queue",
        &["A-q"],
        "save into the queue (next free slot)",
        None,
    ),
    row(
        C::Composer,
        A::Close,
        "close",
        &["Esc", "C-c"],
        "close (asks before discarding)",
        Some("close"),
    ),
    row(
        C::Composer,
        A::ExternalEditor,
        "external_editor",
        &["C-e"],
        "edit in $EDITOR (a line holding only --- between parts)",
        Some("$EDITOR"),
    ),
    row(
        C::Composer,
        A::Suspend,
        "suspend",
        &["C-z"],
        "suspend (fg resumes; the text stays)",
        None,
    ),
    row(
        C::Composer,
        A::AddPart,
        "add_part",
        &["C-t", "A-Enter"],
        "thread: add a part after this one",
        Some("add part"),
    ),
    row(
        C::Composer,
        A::SplitPart,
        "split_part",
        &["A-s"],
        "thread: split this part at the cursor",
        None,
    ),
    row(
        C::Composer,
        A::JoinPart,
        "join_part",
        &["A-j"],
        "thread: join this part with the next",
        None,
    ),
    row(
        C::Composer,
        A::DeletePart,
        "delete_part",
        &["A-x"],
        "thread: delete this part (asks if it has text)",
        None,
    ),
    row(
        C::Composer,
        A::NextPart,
        "next_part",
        &["A-Down", "PageDown"],
        "thread: next part (↓ at a part's end too)",
        None,
    ),
    row(
        C::Composer,
        A::PrevPart,
        "prev_part",
        &["A-Up", "PageUp"],
        "thread: previous part (↑ at a part's start too)",
        None,
    ),
    row(
        C::Composer,
        A::AutoSplit,
        "auto_split",
        &["A-a"],
        "auto-split the whole text into parts under the limit",
        None,
    ),
    row(
        C::Composer,
        A::AutoSplitNumbered,
        "auto_split_numbered",
        &["A-n"],
        "auto-split, each part numbered k/n",
        None,
    ),
    row(
        C::Composer,
        A::ChooseAccount,
        "choose_account",
        &["F2"],
        "choose the accounts a new post goes to",
        None,
    ),
    row(
        C::Composer,
        A::Attach,
        "attach",
        &["A-m"],
        "attach a file to this part (image, GIF, video)",
        None,
    ),
    row(
        C::Composer,
        A::AltText,
        "alt_text",
        &["A-t"],
        "alt text of the selected file",
        None,
    ),
    row(
        C::Composer,
        A::RemoveFile,
        "remove_file",
        &["A-r"],
        "remove the selected file",
        None,
    ),
    row(
        C::Composer,
        A::NextFile,
        "next_file",
        &["A-f"],
        "select the part's next file",
        None,
    ),
    row(
        C::Schedule,
        A::Confirm,
        "confirm",
        &["Enter"],
        "schedule at the time shown",
        Some("confirm"),
    ),
    row(
        C::Schedule,
        A::Cancel,
        "cancel",
        &["Esc"],
        "cancel",
        Some("cancel"),
    ),
    row(
        C::Filter,
        A::Confirm,
        "apply",
        &["Enter"],
        "keep the filter (it applies as you type)",
        Some("keep"),
    ),
    row(
        C::Filter,
        A::Cancel,
        "clear",
        &["Esc"],
        "clear the filter",
        Some("clear"),
    ),
    row(
        C::Confirm,
        A::Yes,
        "yes",
        &["y", "Y"],
        "yes (any other key: no)",
        Some("yes"),
    ),
    row(C::Accounts, A::Down, "down", &["j", "Down"], "move", None),
    row(C::Accounts, A::Up, "up", &["k", "Up"], "move", None),
    row(
        C::Accounts,
        A::Toggle,
        "toggle",
        &["Space", "x"],
        "post to this account, or not",
        Some("toggle"),
    ),
    row(
        C::Accounts,
        A::Confirm,
        "done",
        &["Enter"],
        "done",
        Some("done"),
    ),
    row(
        C::Accounts,
        A::Cancel,
        "cancel",
        &["Esc"],
        "cancel",
        Some("cancel"),
    ),
    row(
        C::Input,
        A::Confirm,
        "confirm",
        &["Enter"],
        "done",
        Some("done"),
    ),
    row(
        C::Input,
        A::Complete,
        "complete",
        &["Tab"],
        "complete the path",
        Some("complete"),
    ),
    row(
        C::Input,
        A::Cancel,
        "cancel",
        &["Esc"],
        "cancel",
        Some("cancel"),
    ),
    row(
        C::Queue,
        A::NextPane,
        "next_week",
        &["l", "Right", "Tab"],
        "the week after",
        Some("next week"),
    ),
    row(
        C::Queue,
        A::PrevPane,
        "prev_week",
        &["h", "Left", "S-Tab"],
        "the week before",
        Some("week before"),
    ),
    row(C::Queue, A::Down, "down", &["j", "Down"], "scroll", None),
    row(C::Queue, A::Up, "up", &["k", "Up"], "scroll", None),
    row(
        C::Queue,
        A::Cancel,
        "close",
        &["Esc", "q", "Q"],
        "close",
        Some("close"),
    ),
    row(
        C::Stats,
        A::NextPane,
        "next_account",
        &["l", "Right", "Tab"],
        "the next account",
        Some("next account"),
    ),
    row(
        C::Stats,
        A::PrevPane,
        "prev_account",
        &["h", "Left", "S-Tab"],
        "the account before",
        None,
    ),
    row(
        C::Stats,
        A::Resume,
        "resume",
        &["R"],
        "resume an account held for want of credits (after topping up)",
        Some("resume"),
    ),
    row(
        C::Stats,
        A::Cancel,
        "close",
        &["Esc", "q", "S"],
        "close",
        Some("close"),
    ),
    row(
        C::Connect,
        A::Copy,
        "copy",
        &["C-y"],
        "copy the address (to the terminal's clipboard)",
        Some("copy address"),
    ),
    row(
        C::Connect,
        A::Confirm,
        "use_pasted",
        &["Enter"],
        "use the pasted address or code",
        Some("use pasted"),
    ),
    row(
        C::Connect,
        A::Cancel,
        "cancel",
        &["Esc"],
        "give up",
        Some("cancel"),
    ),
    row(C::Templates, A::Down, "down", &["j", "Down"], "move", None),
    row(C::Templates, A::Up, "up", &["k", "Up"], "move", None),
    row(
        C::Templates,
        A::Confirm,
        "open",
        &["Enter"],
        "a new post from it",
        Some("new post"),
    ),
    row(
        C::Templates,
        A::Cancel,
        "cancel",
        &["Esc"],
        "cancel",
        Some("cancel"),
    ),
];

/// A key with its modifiers, as bound. Shift is part of the character for letters (`G`), so
/// it is only kept for keys that have no shifted character (`S-Tab`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Chord {
    code: ChordCode,
    ctrl: bool,
    alt: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum ChordCode {
    Char(char),
    Named(Named),
    F(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Named {
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Insert,
    Left,
    Right,
    Up,
    Down,
    Home,
    End,
    PageUp,
    PageDown,
}

const NAMES: &[(&str, Named, &str)] = &[
    ("Enter", Named::Enter, "Enter"),
    ("Esc", Named::Esc, "Esc"),
    ("Tab", Named::Tab, "Tab"),
    ("S-Tab", Named::BackTab, "Shift-Tab"),
    ("Backspace", Named::Backspace, "Backspace"),
    ("Delete", Named::Delete, "Del"),
    ("Insert", Named::Insert, "Ins"),
    ("Left", Named::Left, "←"),
    ("Right", Named::Right, "→"),
    ("Up", Named::Up, "↑"),
    ("Down", Named::Down, "↓"),
    ("Home", Named::Home, "Home"),
    ("End", Named::End, "End"),
    ("PageUp", Named::PageUp, "PgUp"),
    ("PageDown", Named::PageDown, "PgDn"),
];

impl Chord {
    /// Reads `a`, `G`, `?`, `C-s`, `A-x`, `Enter`, `S-Tab`, `PageDown`, `F5`…
    pub fn parse(spec: &str) -> Result<Chord, String> {
        let bad = || {
            format!(
                "`{spec}` is not a key (examples: a, G, ?, C-s, A-x, Enter, Esc, Tab, S-Tab, Left, PageDown, F5)"
            )
        };
        let mut rest = spec.trim();
        let (mut ctrl, mut alt) = (false, false);
        loop {
            if let Some(r) = rest.strip_prefix("C-").filter(|r| !r.is_empty()) {
                ctrl = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("A-").filter(|r| !r.is_empty()) {
                alt = true;
                rest = r;
            } else {
                break;
            }
        }
        let code = if let Some(named) = NAMES.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(rest))
        {
            ChordCode::Named(named.1)
        } else if let Some(n) = rest
            .strip_prefix(['F', 'f'])
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| (1..=12).contains(n))
        {
            ChordCode::F(n)
        } else if rest == "Space" {
            ChordCode::Char(' ')
        } else {
            let mut chars = rest.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if !c.is_control() => {
                    ChordCode::Char(if ctrl { c.to_ascii_lowercase() } else { c })
                }
                _ => return Err(bad()),
            }
        };
        Ok(Chord { code, ctrl, alt })
    }

    /// The chord of a key event, None for keys chirp never binds (media keys, modifiers).
    pub fn of(k: &KeyEvent) -> Option<Chord> {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        let alt = k.modifiers.contains(KeyModifiers::ALT);
        let named = |n| Some(ChordCode::Named(n));
        let code = match k.code {
            KeyCode::Char(c) => Some(ChordCode::Char(if ctrl {
                c.to_ascii_lowercase()
            } else {
                c
            })),
            KeyCode::F(n) => Some(ChordCode::F(n)),
            KeyCode::Enter => named(Named::Enter),
            KeyCode::Esc => named(Named::Esc),
            KeyCode::Tab if k.modifiers.contains(KeyModifiers::SHIFT) => named(Named::BackTab),
            KeyCode::Tab => named(Named::Tab),
            KeyCode::BackTab => named(Named::BackTab),
            KeyCode::Backspace => named(Named::Backspace),
            KeyCode::Delete => named(Named::Delete),
            KeyCode::Insert => named(Named::Insert),
            KeyCode::Left => named(Named::Left),
            KeyCode::Right => named(Named::Right),
            KeyCode::Up => named(Named::Up),
            KeyCode::Down => named(Named::Down),
            KeyCode::Home => named(Named::Home),
            KeyCode::End => named(Named::End),
            KeyCode::PageUp => named(Named::PageUp),
            KeyCode::PageDown => named(Named::PageDown),
            _ => None,
        }?;
        Some(Chord { code, ctrl, alt })
    }
}

/// How a chord is shown to the user: `Ctrl-S`, `Shift-Tab`, `←`, `q`.
impl fmt::Display for Chord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        match self.code {
            ChordCode::Char(' ') => f.write_str("Space"),
            ChordCode::Char(c) if self.ctrl => write!(f, "{}", c.to_ascii_uppercase()),
            ChordCode::Char(c) => write!(f, "{c}"),
            ChordCode::F(n) => write!(f, "F{n}"),
            ChordCode::Named(n) => {
                let shown = NAMES.iter().find(|(_, m, _)| *m == n).map_or("?", |e| e.2);
                f.write_str(shown)
            }
        }
    }
}

/// A bound action with its keys and words.
#[derive(Debug, Clone)]
struct Binding {
    context: Context,
    action: Action,
    keys: Vec<Chord>,
    help: &'static str,
    hint: Option<&'static str>,
}

/// The keymap in force: the defaults with the config's overrides applied.
#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<Binding>,
}

/// What `[keys]` holds: per context, per action name, one key or several.
pub type Overrides = BTreeMap<String, BTreeMap<String, KeySpec>>;

/// One key (`"a"`) or several (`["a", "Delete"]`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(untagged)]
pub enum KeySpec {
    One(String),
    Many(Vec<String>),
}

impl Default for Keymap {
    fn default() -> Self {
        let bindings = DEFAULTS
            .iter()
            .map(|r| Binding {
                context: r.context,
                action: r.action,
                // The table is ours and its keys parse (a unit test checks every one).
                keys: r.keys.iter().filter_map(|k| Chord::parse(k).ok()).collect(),
                help: r.help,
                hint: r.hint,
            })
            .collect();
        Keymap { bindings }
    }
}

impl Keymap {
    /// The defaults with `overrides` applied. An unknown context or action, a key that is not
    /// a key, or one key bound to two actions of one context is an error naming the place
    /// (`keys.lists.new: …`).
    pub fn with_overrides(overrides: &Overrides) -> Result<Keymap, String> {
        let mut map = Keymap::default();
        for (context_name, actions) in overrides {
            let context = Context::ALL
                .into_iter()
                .find(|c| c.name() == context_name)
                .ok_or_else(|| {
                    let names: Vec<&str> = Context::ALL.iter().map(|c| c.name()).collect();
                    format!(
                        "keys.{context_name}: no such screen (use one of {})",
                        names.join(", ")
                    )
                })?;
            for (action_name, spec) in actions {
                let place = format!("keys.{context_name}.{action_name}");
                let row = DEFAULTS
                    .iter()
                    .find(|r| r.context == context && r.name == action_name)
                    .ok_or_else(|| {
                        let names: Vec<&str> = DEFAULTS
                            .iter()
                            .filter(|r| r.context == context)
                            .map(|r| r.name)
                            .collect();
                        format!("{place}: no such action (use one of {})", names.join(", "))
                    })?;
                let specs = match spec {
                    KeySpec::One(s) => vec![s.clone()],
                    KeySpec::Many(v) => v.clone(),
                };
                if specs.is_empty() {
                    return Err(format!("{place}: give at least one key"));
                }
                let keys = specs
                    .iter()
                    .map(|s| Chord::parse(s).map_err(|e| format!("{place}: {e}")))
                    .collect::<Result<Vec<_>, _>>()?;
                if let Some(b) = map
                    .bindings
                    .iter_mut()
                    .find(|b| b.context == context && b.action == row.action)
                {
                    b.keys = keys;
                }
            }
        }
        map.check_conflicts()?;
        Ok(map)
    }

    fn check_conflicts(&self) -> Result<(), String> {
        for (i, a) in self.bindings.iter().enumerate() {
            for b in &self.bindings[i + 1..] {
                if a.context != b.context {
                    continue;
                }
                if let Some(k) = a.keys.iter().find(|k| b.keys.contains(k)) {
                    return Err(format!(
                        "keys.{}: `{k}` is bound to both {} and {}: give one of them another key",
                        a.context.name(),
                        name_of(a.context, a.action),
                        name_of(b.context, b.action)
                    ));
                }
            }
        }
        Ok(())
    }

    /// The action a key does in a context, if any.
    pub fn action(&self, context: Context, key: &KeyEvent) -> Option<Action> {
        let chord = Chord::of(key)?;
        self.bindings
            .iter()
            .find(|b| b.context == context && b.keys.contains(&chord))
            .map(|b| b.action)
    }

    /// The first key of an action, as shown ("Ctrl-S").
    pub fn key_of(&self, context: Context, action: Action) -> String {
        self.bindings
            .iter()
            .find(|b| b.context == context && b.action == action)
            .and_then(|b| b.keys.first())
            .map_or_else(|| "(unbound)".to_string(), ToString::to_string)
    }

    /// The hint line of a context: "? help · q quit · n new …", in the table's order for the
    /// lists with help first, each action with its first key.
    pub fn hints(&self, context: Context) -> Vec<(String, &'static str)> {
        self.hint_actions(context)
            .into_iter()
            .map(|(_, k, h)| (k, h))
            .collect()
    }

    /// [`Keymap::hints`] with the action of each (what a click on a hint runs).
    pub fn hint_actions(&self, context: Context) -> Vec<(Action, String, &'static str)> {
        let mut hints: Vec<(Action, String, &'static str)> = self
            .bindings
            .iter()
            .filter(|b| b.context == context)
            .filter_map(|b| Some((b.action, b.keys.first()?.to_string(), b.hint?)))
            .collect();
        // Help and quit lead, so the way out and the way to learn more are always seen.
        hints.sort_by_key(|(a, _, _)| match a {
            Action::Help => 0,
            Action::Quit => 1,
            _ => 2,
        });
        hints
    }

    /// The help screen's lines for a context: (keys, what), consecutive actions with the same
    /// words sharing a line.
    pub fn help(&self, context: Context) -> Vec<(String, &'static str)> {
        let mut lines: Vec<(String, &'static str)> = Vec::new();
        for b in self.bindings.iter().filter(|b| b.context == context) {
            let keys: Vec<String> = b.keys.iter().map(ToString::to_string).collect();
            let keys = keys.join(" ");
            match lines.last_mut() {
                Some((k, what)) if *what == b.help => {
                    k.push_str("  ");
                    k.push_str(&keys);
                }
                _ => lines.push((keys, b.help)),
            }
        }
        lines
    }
}

fn name_of(context: Context, action: Action) -> &'static str {
    DEFAULTS
        .iter()
        .find(|r| r.context == context && r.action == action)
        .map_or("?", |r| r.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    #[test]
    fn every_default_key_parses_and_none_conflict() {
        for r in DEFAULTS {
            for k in r.keys {
                assert!(Chord::parse(k).is_ok(), "{k}");
            }
        }
        Keymap::default().check_conflicts().unwrap();
    }

    #[test]
    fn the_example_config_shows_every_default() {
        let example = include_str!("../../../../config.example.toml");
        for r in DEFAULTS {
            let value = match r.keys {
                [one] => format!("\"{one}\""),
                many => format!(
                    "[{}]",
                    many.iter()
                        .map(|k| format!("\"{k}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            let line = format!("# {} = {value}\n", r.name);
            let section = format!("# [keys.{}]\n", r.context.name());
            let at = example.find(&section).expect(&section);
            assert!(example[at..].contains(&line), "{section} {line}");
        }
    }

    #[test]
    fn keys_resolve_per_context() {
        let km = Keymap::default();
        let none = KeyModifiers::NONE;
        assert_eq!(
            km.action(
                Context::Lists,
                &key(KeyCode::Char('G'), KeyModifiers::SHIFT)
            ),
            Some(Action::Bottom)
        );
        assert_eq!(
            km.action(Context::Lists, &key(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Action::PrevPane)
        );
        assert_eq!(
            km.action(
                Context::Composer,
                &key(KeyCode::Char('s'), KeyModifiers::CONTROL)
            ),
            Some(Action::Save)
        );
        // In the composer, letters are text.
        assert_eq!(
            km.action(Context::Composer, &key(KeyCode::Char('q'), none)),
            None
        );
        assert_eq!(km.key_of(Context::Composer, Action::Save), "Ctrl-S");
    }

    #[test]
    fn overrides_rebind_and_bad_ones_say_where() {
        let parse = |toml: &str| -> Result<Keymap, String> {
            #[derive(serde::Deserialize)]
            struct F {
                keys: Overrides,
            }
            let f: F = toml::from_str(toml).map_err(|e| e.to_string())?;
            Keymap::with_overrides(&f.keys)
        };
        let km = parse("[keys.lists]\nnew = \"w\"\ndelete = [\"x\", \"Delete\"]\n").unwrap();
        let none = KeyModifiers::NONE;
        assert_eq!(
            km.action(Context::Lists, &key(KeyCode::Char('w'), none)),
            Some(Action::New)
        );
        assert_eq!(
            km.action(Context::Lists, &key(KeyCode::Char('n'), none)),
            None
        );
        assert_eq!(
            km.action(Context::Lists, &key(KeyCode::Delete, none)),
            Some(Action::Delete)
        );
        assert!(km.hints(Context::Lists).contains(&("w".to_string(), "new")));

        assert_eq!(
            parse("[keys.lists]\nnew = \"Ctrl+Q\"\n").unwrap_err(),
            "keys.lists.new: `Ctrl+Q` is not a key (examples: a, G, ?, C-s, A-x, Enter, Esc, Tab, S-Tab, Left, PageDown, F5)"
        );
        assert!(
            parse("[keys.lists]\nfly = \"f\"\n")
                .unwrap_err()
                .starts_with("keys.lists.fly: no such action")
        );
        assert!(
            parse("[keys.sidebar]\nnew = \"f\"\n")
                .unwrap_err()
                .starts_with("keys.sidebar: no such screen")
        );
        assert_eq!(
            parse("[keys.lists]\nnew = \"d\"\n").unwrap_err(),
            "keys.lists: `d` is bound to both new and delete: give one of them another key"
        );
        assert!(
            parse("[keys.lists]\nnew = []\n")
                .unwrap_err()
                .contains("at least one key")
        );
    }

    #[test]
    fn help_and_hints_come_from_the_table() {
        let km = Keymap::default();
        let help = km.help(Context::Lists);
        assert_eq!(
            help[0],
            ("Tab l →  Shift-Tab h ←".to_string(), "switch pane")
        );
        assert_eq!(help[1].1, "move");
        let hints: Vec<String> = km
            .hints(Context::Lists)
            .into_iter()
            .map(|(k, h)| format!("{k} {h}"))
            .collect();
        assert_eq!(
            hints.join(" · "),
            "? help · q quit · n new · e edit · s schedule · p publish now · d delete · y duplicate · r retry"
        );
    }
}
