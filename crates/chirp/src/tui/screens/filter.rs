//! The `/` filter: typed in the hint line, applied on Enter to every pane.

use crossterm::event::KeyEvent;
use ratatui::Frame;

use super::{Screen, Step, edit_line, hint_line, paste_line};
use crate::present::inert;
use crate::tui::keymap::{Action, Context};
use crate::tui::model::Model;
use crate::tui::update::reset_and_reload;
use crate::tui::view::Theme;

/// The text being typed.
#[derive(Debug, Clone, Default)]
pub struct Filter(pub String);

impl Screen for Filter {
    fn context(&self) -> Option<Context> {
        Some(Context::Filter)
    }

    fn on_key(&mut self, m: &mut Model, key: KeyEvent, action: Option<Action>) -> Step {
        match action {
            Some(Action::Cancel) => {
                let had = !m.filter.is_empty();
                m.filter.clear();
                if had {
                    reset_and_reload(m);
                }
                return Step::Pop;
            }
            Some(Action::Confirm) => {
                m.filter = std::mem::take(&mut self.0);
                reset_and_reload(m);
                return Step::Pop;
            }
            _ => {}
        }
        edit_line(&mut self.0, &key);
        Step::Stay
    }

    fn on_paste(&mut self, text: &str) {
        paste_line(&mut self.0, text);
    }

    fn draw(&self, _m: &Model, _f: &mut Frame, _theme: &Theme) {
        // It lives in the hint line.
    }

    fn hint(&self, m: &Model) -> Option<String> {
        Some(format!(
            " filter: {}▏ ({})",
            inert(&self.0, false),
            hint_line(m, Context::Filter)
        ))
    }
}
