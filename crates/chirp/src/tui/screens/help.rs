//! `?` on the lists, F1 in the composer: the keys of where it was opened, generated from the
//! keymap in force.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::{Screen, Step, popup};
use crate::present::width;
use crate::tui::keymap::{Action, Context};
use crate::tui::model::Model;
use crate::tui::view::Theme;

/// The keys of one context: the lists (which also say how to see the composer's) or the
/// composer.
pub struct Help(pub Context);

/// The help's lines: (keys, what).
pub fn lines(m: &Model, context: Context) -> Vec<(String, &'static str)> {
    let mut lines = m.keys.help(context);
    if context == Context::Lists {
        let key = m.keys.key_of(Context::Composer, Action::Help);
        lines.push((
            format!("Composer: {key}"),
            "the composer's keys, threads included",
        ));
    }
    lines
}

impl Screen for Help {
    fn context(&self) -> Option<Context> {
        None
    }

    fn on_key(&mut self, _m: &mut Model, _key: KeyEvent, _action: Option<Action>) -> Step {
        // Any key closes it.
        Step::Pop
    }

    fn draw(&self, m: &Model, f: &mut Frame, theme: &Theme) {
        let lines = lines(m, self.0);
        // The keys right-aligned in a column as wide as the widest, the words after them.
        let col = lines.iter().map(|(k, _)| width(k)).max().unwrap_or(0);
        let what = lines.iter().map(|(_, w)| width(w)).max().unwrap_or(0);
        let area = popup(f.area(), (col + what + 6) as u16, lines.len() as u16 + 2);
        f.render_widget(Clear, area);
        let lines: Vec<Line> = lines
            .iter()
            .map(|(k, what)| {
                let pad = " ".repeat(col.saturating_sub(width(k)));
                Line::from(vec![
                    Span::styled(format!(" {pad}{k}  "), theme.bold()),
                    Span::raw(*what),
                ])
            })
            .collect();
        let block = Block::default()
            .borders(Borders::ALL)
            .title(if self.0 == Context::Composer {
                " Composer keys "
            } else {
                " Keys "
            })
            .title_bottom(" any key closes ");
        f.render_widget(Paragraph::new(lines).block(block), area);
    }
}
