//! The `s` prompt: a time in plain words, with the absolute time it means shown as you type.

use chirp_core::{AccountId, PostId, parse_when, when};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::style::Color;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::line::LineEdit;
use super::{Screen, Step, hint_line, popup};
use crate::tui::keymap::{Action, Context};
use crate::tui::model::{Cmd, Model};
use crate::tui::view::{Theme, relative};

/// What was typed and what it means.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub id: PostId,
    /// Whose post it is: `next` means this account's next free queue slot.
    pub account: AccountId,
    pub input: LineEdit,
    pub error: Option<String>,
    /// What is worth knowing before it is scheduled (a huge thread, a dear post).
    pub warning: Option<String>,
}

impl Prompt {
    pub fn new(id: PostId, account: AccountId) -> Prompt {
        Prompt {
            id,
            account,
            input: LineEdit::default(),
            error: None,
            warning: None,
        }
    }

    /// `next` (or `queue`): the queue rather than a time.
    fn queued(&self) -> bool {
        matches!(self.input.trim().to_lowercase().as_str(), "next" | "queue")
    }
}

/// "→ @me's next free slot: Fri 2026-11-27 17:00 CET (in 3h)", or how to get slots.
fn next_slot_line(m: &Model, account: AccountId, theme: &Theme) -> Line<'static> {
    let handle = m.handle(account).unwrap_or_else(|| "this account".into());
    match m
        .accounts
        .iter()
        .find(|a| a.id == account)
        .and_then(|a| a.next_slot)
    {
        Some(at) => Line::styled(
            format!(
                "→ queue slot of {handle}: {} ({})",
                when::show(at, &m.tz),
                relative(at, m.now)
            ),
            theme.fg(Color::Green),
        ),
        None => Line::styled(
            format!("{handle} has no queue slots: chirp queue set {handle} \"mon-fri 09:00\""),
            theme.fg(Color::Red),
        ),
    }
}

impl Screen for Prompt {
    fn context(&self) -> Option<Context> {
        Some(Context::Schedule)
    }

    fn on_key(&mut self, m: &mut Model, key: KeyEvent, action: Option<Action>) -> Step {
        match action {
            Some(Action::Cancel) => return Step::Pop,
            Some(Action::Confirm) if self.queued() => {
                m.request(Cmd::Enqueue(self.id));
                return Step::Pop;
            }
            Some(Action::Confirm) => match parse_when(&self.input, m.now, &m.tz) {
                Ok(at) => {
                    m.request(Cmd::Schedule(self.id, at));
                    return Step::Pop;
                }
                Err(e) => self.error = Some(e.to_string()),
            },
            _ => {
                if self.input.key(&key) {
                    self.error = None;
                }
            }
        }
        Step::Stay
    }

    fn on_paste(&mut self, text: &str) {
        self.input.paste(text);
        self.error = None;
    }

    fn draw(&self, m: &Model, f: &mut Frame, theme: &Theme) {
        let area = popup(f.area(), 70, if self.warning.is_some() { 7 } else { 6 });
        f.render_widget(Clear, area);
        let block = Block::default()
            .borders(Borders::ALL)
            .title(format!(" Schedule post {} ", self.id));
        let understood = if self.input.trim().is_empty() {
            Line::styled(
                "e.g. tomorrow 9am · in 2h · fri 17:30 · 2026-12-01 14:00 · next (queue)",
                theme.fg(Color::DarkGray),
            )
        } else if self.queued() {
            next_slot_line(m, self.account, theme)
        } else {
            match parse_when(&self.input, m.now, &m.tz) {
                Ok(at) => Line::styled(
                    format!("→ {} ({})", when::show(at, &m.tz), relative(at, m.now)),
                    theme.fg(Color::Green),
                ),
                Err(e) => Line::styled(
                    self.error.clone().unwrap_or_else(|| e.to_string()),
                    theme.fg(Color::Red),
                ),
            }
        };
        let lines = vec![
            Line::from(
                [
                    vec![Span::raw("when: ")],
                    self.input.spans(Style::default()),
                ]
                .concat(),
            ),
            understood,
            Line::styled(hint_line(m, Context::Schedule), theme.fg(Color::DarkGray)),
        ];
        let lines = match &self.warning {
            Some(w) => {
                let mut l = vec![Line::styled(w.clone(), theme.fg(Color::Yellow))];
                l.extend(lines);
                l
            }
            None => lines,
        };
        f.render_widget(
            Paragraph::new(lines).block(block).wrap(Wrap { trim: true }),
            area,
        );
    }
}
