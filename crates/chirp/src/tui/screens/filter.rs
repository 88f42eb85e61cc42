//! The `/` filter: typed in the hint line, applied to every pane as it is typed; Enter keeps
//! it, Esc clears it.

use crossterm::event::KeyEvent;
use ratatui::Frame;

use super::line::LineEdit;
use super::{Screen, Step, hint_line};
use crate::present::inert;
use crate::tui::keymap::{Action, Context};
use crate::tui::model::Model;
use crate::tui::update::refilter;
use crate::tui::view::Theme;

/// The text being typed.
#[derive(Debug, Clone, Default)]
pub struct Filter(pub LineEdit);

impl Filter {
    /// Opens on the filter in force, to refine it.
    pub fn open(m: &Model) -> Filter {
        Filter(LineEdit::from(m.filter.clone()))
    }

    /// The panes follow what is typed.
    fn apply(&self, m: &mut Model) {
        if m.filter != self.0.as_str() {
            m.filter = self.0.to_string();
            refilter(m);
        }
    }
}

impl Screen for Filter {
    fn context(&self) -> Option<Context> {
        Some(Context::Filter)
    }

    fn on_key(&mut self, m: &mut Model, key: KeyEvent, action: Option<Action>) -> Step {
        match action {
            Some(Action::Cancel) => {
                self.0.take();
                self.apply(m);
                return Step::Pop;
            }
            Some(Action::Confirm) => return Step::Pop,
            _ => {}
        }
        if self.0.key(&key) {
            self.apply(m);
        }
        Step::Stay
    }

    fn on_paste(&mut self, text: &str) {
        self.0.paste(text);
    }

    fn draw(&self, _m: &Model, _f: &mut Frame, _theme: &Theme) {
        // It lives in the hint line.
    }

    fn hint(&self, m: &Model) -> Option<String> {
        let (before, after) = self.0.split_at(self.0.len().min(byte_cursor(&self.0)));
        Some(format!(
            " filter: {}▏{} ({})",
            inert(before, false),
            inert(after, false),
            hint_line(m, Context::Filter)
        ))
    }
}

/// The cursor's byte offset.
fn byte_cursor(l: &LineEdit) -> usize {
    l.char_indices()
        .nth(l.cursor_chars())
        .map_or(l.len(), |(i, _)| i)
}
