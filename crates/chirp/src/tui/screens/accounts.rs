//! The accounts a new post goes to: a checklist over the composer (F2). One text to several
//! accounts makes one post per account.

use chirp_core::AccountId;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::style::Color;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::{Composer, Screen, Step, hint_line, popup};
use crate::present::inert;
use crate::tui::keymap::{Action, Context};
use crate::tui::model::Model;
use crate::tui::view::Theme;

pub struct AccountPicker {
    /// (account, "@handle (default)"), in the order `chirp account list` shows them.
    pub choices: Vec<(AccountId, String)>,
    pub chosen: Vec<bool>,
    pub cursor: usize,
    pub error: Option<String>,
}

impl AccountPicker {
    /// The user's accounts, those in `to` ticked (none: the default one).
    pub fn new(m: &Model, to: &[AccountId]) -> AccountPicker {
        let accounts: Vec<_> = m.accounts.iter().filter(|a| a.username.is_some()).collect();
        let choices: Vec<(AccountId, String)> = accounts
            .iter()
            .map(|a| {
                let h = m.handle(a.id).unwrap_or_default();
                let label = if a.is_default {
                    format!("{h} (default)")
                } else {
                    h
                };
                (a.id, label)
            })
            .collect();
        let chosen = accounts
            .iter()
            .map(|a| {
                if to.is_empty() {
                    a.is_default
                } else {
                    to.contains(&a.id)
                }
            })
            .collect();
        AccountPicker {
            choices,
            chosen,
            cursor: 0,
            error: None,
        }
    }

    fn picked(&self) -> Vec<AccountId> {
        self.choices
            .iter()
            .zip(&self.chosen)
            .filter(|(_, c)| **c)
            .map(|((id, _), _)| *id)
            .collect()
    }
}

impl Screen for AccountPicker {
    fn context(&self) -> Option<Context> {
        Some(Context::Accounts)
    }

    fn on_key(&mut self, m: &mut Model, _key: KeyEvent, action: Option<Action>) -> Step {
        self.error = None;
        let last = self.choices.len().saturating_sub(1);
        match action {
            Some(Action::Down) => self.cursor = (self.cursor + 1).min(last),
            Some(Action::Up) => self.cursor = self.cursor.saturating_sub(1),
            Some(Action::Toggle) => {
                if let Some(c) = self.chosen.get_mut(self.cursor) {
                    *c = !*c;
                }
            }
            Some(Action::Confirm) => {
                let picked = self.picked();
                if picked.is_empty() {
                    self.error = Some("choose at least one account".into());
                    return Step::Stay;
                }
                if let Some(c) = m.screen_mut::<Composer>() {
                    c.to = picked;
                }
                return Step::Pop;
            }
            Some(Action::Cancel) => return Step::Pop,
            _ => {}
        }
        Step::Stay
    }

    fn draw(&self, m: &Model, f: &mut Frame, theme: &Theme) {
        let h = u16::try_from(self.choices.len()).unwrap_or(20) + 4;
        let area = popup(f.area(), 48, h);
        f.render_widget(Clear, area);
        let mut lines: Vec<Line> = self
            .choices
            .iter()
            .zip(&self.chosen)
            .enumerate()
            .map(|(i, ((_, label), on))| {
                let mark = if *on { "[x]" } else { "[ ]" };
                let line = format!(
                    "{} {mark} {}",
                    if i == self.cursor { ">" } else { " " },
                    inert(label, false)
                );
                if i == self.cursor {
                    Line::styled(line, theme.bold())
                } else {
                    Line::raw(line)
                }
            })
            .collect();
        lines.push(match &self.error {
            Some(e) => Line::styled(e.clone(), theme.fg(Color::Red)),
            None => Line::raw(""),
        });
        lines.push(Line::styled(
            hint_line(m, Context::Accounts),
            theme.fg(Color::DarkGray),
        ));
        let block = Block::default().borders(Borders::ALL).title(" Post as ");
        f.render_widget(Paragraph::new(lines).block(block), area);
    }
}
