//! Screens: each owns its state, handles its keys and draws itself. The lists are the base;
//! popups (composer, schedule prompt, confirm, filter, help) live on the model's stack, and a
//! key handler says what becomes of its screen with a [`Step`], so a handler cannot lose a
//! screen by forgetting to put it back.

pub mod accounts;
pub mod composer;
pub mod confirm;
pub mod connect;
pub mod filter;
pub mod help;
pub mod input;
pub mod line;
pub mod lists;
pub mod queue;
pub mod schedule;
pub mod stats;
pub mod templates;

use std::any::Any;

use crossterm::event::KeyEvent;
use ratatui::Frame;

use super::keymap::{Action, Context};
use super::model::{Answer, Model, ReqId};
use super::view::Theme;

pub use accounts::AccountPicker;
pub use composer::Composer;
pub use confirm::Confirm;
pub use connect::ConnectView;
pub use filter::Filter;
pub use help::Help;
pub use input::Input;
pub use queue::QueueView;
pub use schedule::Prompt;
pub use stats::StatsView;
pub use templates::TemplatePicker;

/// What becomes of the screen that handled a key.
pub enum Step {
    /// It stays on top.
    Stay,
    /// It closes.
    Pop,
    /// It stays, and another opens over it.
    Push(Box<dyn Screen>),
    /// It closes, and another takes its place.
    Replace(Box<dyn Screen>),
}

/// What a screen did with an answer it was offered.
pub enum Taken {
    /// Not its answer: it goes to the screen below, then to the model.
    No(Answer),
    /// Its answer; the screen's fate, as after a key.
    Yes(Step),
    /// Its answer, and the model's too (a post saved: the composer closes, the lists reload).
    Also(Answer, Step),
}

/// Something a screen may follow that is not an answer to it.
pub enum Notice {
    /// The database changed (a NOTIFY): what is shown may be stale.
    Changed,
    /// A connect under way has its address to open.
    ConnectReady {
        id: ReqId,
        url: String,
        redirect: String,
    },
}

/// For a screen that loads what it shows: an answer that says its load died makes it stop
/// waiting and say why; any other is not its.
pub(crate) fn load_died(
    loading: &mut Option<ReqId>,
    error: &mut Option<String>,
    id: ReqId,
    answer: Answer,
) -> Taken {
    match answer {
        Answer::Crashed(e) if *loading == Some(id) => {
            *loading = None;
            *error = Some(e.to_string());
            Taken::Yes(Step::Stay)
        }
        other => Taken::No(other),
    }
}

/// A screen on the stack.
pub trait Screen: Any {
    /// The keymap section its keys are read in; None: it reads raw keys (help: any key).
    fn context(&self) -> Option<Context>;

    /// A key, with the action the keymap gives it in this screen's context. The screen is off
    /// the stack while it handles the key, so it may change the whole model.
    fn on_key(&mut self, m: &mut Model, key: KeyEvent, action: Option<Action>) -> Step;

    /// An answer to a request: each screen takes the ones it waits for (by their id), off the
    /// stack like a key, so it may change the whole model.
    fn on_answer(&mut self, _m: &mut Model, _id: ReqId, answer: Answer) -> Taken {
        Taken::No(answer)
    }

    /// A change it may follow (reloading what it shows).
    fn on_notice(&mut self, _m: &mut Model, _notice: &Notice) {}

    /// Whether it holds text the user typed (then Ctrl-C asks it, not the program, to close).
    fn holds_text(&self) -> bool {
        false
    }

    /// Pasted text (bracketed paste); ignored by screens without a text field.
    fn on_paste(&mut self, _text: &str) {}

    /// Draws it over what is below.
    fn draw(&self, m: &Model, f: &mut Frame, theme: &Theme);

    /// What the hint line says while it is on top; None: the lists' hints.
    fn hint(&self, _m: &Model) -> Option<String> {
        None
    }
}

/// A centred popup of at most `w`×`h` cells.
pub(crate) fn popup(area: ratatui::layout::Rect, w: u16, h: u16) -> ratatui::layout::Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    ratatui::layout::Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// "Ctrl-S save · Esc close": the hint line of a context, from the keymap.
pub(crate) fn hint_line(m: &Model, context: Context) -> String {
    m.keys
        .hints(context)
        .into_iter()
        .map(|(k, h)| format!("{k} {h}"))
        .collect::<Vec<_>>()
        .join(" · ")
}
