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
/// composer. Taller than the screen, it scrolls (j/k, arrows, PgUp/PgDn, Home/End); any
/// other key closes it.
pub struct Help {
    pub context: Context,
    pub scroll: usize,
}

impl Help {
    pub fn of(context: Context) -> Help {
        Help { context, scroll: 0 }
    }
}

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

    fn on_key(&mut self, _m: &mut Model, key: KeyEvent, _action: Option<Action>) -> Step {
        use crossterm::event::KeyCode;
        match key.code {
            KeyCode::Char('j') | KeyCode::Down => self.scroll += 1,
            KeyCode::Char('k') | KeyCode::Up => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::PageDown | KeyCode::Char(' ') => self.scroll += 10,
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(10),
            KeyCode::Home | KeyCode::Char('g') => self.scroll = 0,
            KeyCode::End | KeyCode::Char('G') => self.scroll = usize::MAX / 2,
            // Any other key closes it.
            _ => return Step::Pop,
        }
        Step::Stay
    }

    fn draw(&self, m: &Model, f: &mut Frame, theme: &Theme) {
        let lines = lines(m, self.context);
        // The keys right-aligned in a column as wide as the widest, the words after them.
        let col = lines.iter().map(|(k, _)| width(k)).max().unwrap_or(0);
        let what = lines.iter().map(|(_, w)| width(w)).max().unwrap_or(0);
        let area = popup(f.area(), (col + what + 6) as u16, lines.len() as u16 + 2);
        f.render_widget(Clear, area);
        // What does not fit scrolls; never past the last line.
        let room = usize::from(area.height.saturating_sub(2));
        let most = lines.len().saturating_sub(room);
        let scroll = self.scroll.min(most);
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
            .title(if self.context == Context::Composer {
                " Composer keys "
            } else {
                " Keys "
            })
            .title_bottom(if most == 0 {
                " any key closes ".to_string()
            } else {
                format!(
                    " {}/{} · j/k scroll · any other key closes ",
                    (scroll + room).min(lines.len()),
                    lines.len()
                )
            });
        f.render_widget(
            Paragraph::new(lines)
                .block(block)
                .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0)),
            area,
        );
    }
}
