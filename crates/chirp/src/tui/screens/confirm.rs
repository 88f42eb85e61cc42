//! A yes/no question before something destructive or irreversible.

use chirp_core::PostId;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::style::Color;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::{Screen, Step, hint_line, popup};
use crate::tui::keymap::{Action, Context};
use crate::tui::model::{Cmd, Model};
use crate::tui::view::Theme;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    Delete(PostId),
    /// Publish it now; what is worth knowing first (a huge thread, a dear post), if anything.
    PublishNow(PostId, Option<String>),
    /// Put it into its account's queue, though it is this (a huge thread, a dear post).
    Enqueue(PostId, String),
    /// Delete on X the post's parts that are there (how many).
    Unpublish(PostId, i32),
}

impl Screen for Confirm {
    fn context(&self) -> Option<Context> {
        Some(Context::Confirm)
    }

    fn on_key(&mut self, m: &mut Model, _key: KeyEvent, action: Option<Action>) -> Step {
        if action != Some(Action::Yes) {
            m.flash = Some(("cancelled".into(), None));
            return Step::Pop;
        }
        m.request(match *self {
            Confirm::Delete(id) => Cmd::Delete(id),
            Confirm::PublishNow(id, _) => Cmd::Schedule(id, m.now),
            Confirm::Enqueue(id, _) => Cmd::Enqueue(id),
            Confirm::Unpublish(id, _) => Cmd::Unpublish(id),
        });
        Step::Pop
    }

    fn draw(&self, m: &Model, f: &mut Frame, theme: &Theme) {
        let area = popup(f.area(), 50, 5);
        f.render_widget(Clear, area);
        let q = match self {
            Confirm::Delete(id) => format!("Delete post {id} from chirp? (X is not touched)"),
            Confirm::PublishNow(id, None) => format!("Publish post {id} now?"),
            Confirm::PublishNow(id, Some(w)) => format!("Publish post {id} now? It is {w}."),
            Confirm::Enqueue(id, w) => format!("Queue post {id}? It is {w}."),
            Confirm::Unpublish(id, 1) => format!("Delete post {id} on X? (kept here)"),
            Confirm::Unpublish(id, n) => {
                format!("Delete all {n} parts of post {id} on X? (kept here)")
            }
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .title(" Confirm ")
            .border_style(theme.fg(Color::Yellow));
        f.render_widget(
            Paragraph::new(vec![
                Line::raw(q),
                Line::styled(
                    format!("{} · any other key no", hint_line(m, Context::Confirm)),
                    theme.fg(Color::DarkGray),
                ),
            ])
            .block(block)
            .wrap(Wrap { trim: true }),
            area,
        );
    }
}
