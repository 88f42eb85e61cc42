//! The queue view (`Q`): each account's slots for the next days, filled and free.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::style::{Color, Modifier};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::{Notice, Screen, Step, Taken, hint_line, load_died, popup};
use crate::present::clip;
use crate::tui::keymap::{Action, Context};
use crate::tui::model::{Answer, Cmd, Failure, Model, QueueOf, ReqId};
use crate::tui::view::Theme;

pub struct QueueView {
    /// The week shown: 0 the 7 days from now, 1 the 7 after, ….
    pub week: u32,
    /// The request being answered; None once it is.
    pub loading: Option<ReqId>,
    pub queues: Vec<QueueOf>,
    pub error: Option<String>,
    pub scroll: usize,
}

impl QueueView {
    /// Opens it and asks for the queues.
    pub fn open(m: &mut Model) -> QueueView {
        QueueView {
            week: 0,
            loading: Some(m.request(Cmd::LoadQueue(0))),
            queues: Vec::new(),
            error: None,
            scroll: 0,
        }
    }

    /// Reads week `week` (what is shown stays until it comes).
    pub fn show_week(&mut self, m: &mut Model, week: u32) {
        self.week = week;
        self.scroll = 0;
        self.loading = Some(m.request(Cmd::LoadQueue(week)));
    }

    /// The answer to `id`, if it is the one awaited.
    pub fn answered(&mut self, id: ReqId, result: Result<Vec<QueueOf>, Failure>) {
        if self.loading != Some(id) {
            return;
        }
        self.loading = None;
        match result {
            Ok(q) => self.queues = q,
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    fn lines(&self, m: &Model, theme: &Theme, width: usize) -> Vec<Line<'static>> {
        let dim = theme.fg(Color::DarkGray);
        if let Some(e) = &self.error {
            return vec![Line::styled(
                format!("cannot read the queue: {e}"),
                theme.fg(Color::Red),
            )];
        }
        // A reload keeps what is shown until it is answered.
        if self.loading.is_some() && self.queues.is_empty() {
            return vec![Line::styled("reading the queue…", dim)];
        }
        if self.queues.is_empty() {
            let h = m
                .accounts
                .iter()
                .find(|a| a.is_default)
                .and_then(|a| m.handle(a.id))
                .unwrap_or_else(|| "@you".into());
            return vec![
                Line::raw("No account has queue slots yet. Set some from a shell:"),
                Line::styled(
                    format!("  chirp queue set {h} \"mon-fri 09:00,17:00\""),
                    dim,
                ),
                Line::raw(
                    "then `a` on a post (or `next` at the `s` prompt) takes the next free one.",
                ),
            ];
        }
        let mut out = Vec::new();
        for q in &self.queues {
            let free = q.slots.iter().filter(|(_, p)| p.is_none()).count();
            out.push(Line::from(vec![
                Span::styled(
                    q.handle.clone(),
                    theme.fg(Color::Cyan).add_modifier(Modifier::BOLD),
                ),
                Span::styled(
                    format!(
                        " · {} ({}) · {free} free of {}",
                        q.spec,
                        q.tz.name(),
                        q.slots.len()
                    ),
                    dim,
                ),
            ]));
            let mut day = None;
            for (at, post) in &q.slots {
                let local = at.with_timezone(&q.tz);
                let this_day = local.date_naive();
                let label = if day == Some(this_day) {
                    " ".repeat(9)
                } else {
                    day = Some(this_day);
                    local.format("%a %m-%d").to_string()
                };
                let time = local.format("%H:%M").to_string();
                let what = match post {
                    Some((id, text)) => {
                        Span::raw(format!("#{id} {}", clip(text, width.saturating_sub(24))))
                    }
                    None => Span::styled("· free", theme.fg(Color::Green)),
                };
                out.push(Line::from(vec![
                    Span::styled(format!("  {label}  {time}  "), dim),
                    what,
                ]));
            }
            out.push(Line::raw(""));
        }
        out
    }
}

impl Screen for QueueView {
    fn context(&self) -> Option<Context> {
        Some(Context::Queue)
    }

    fn on_answer(&mut self, _m: &mut Model, id: ReqId, answer: Answer) -> Taken {
        match answer {
            Answer::Queue(result) => {
                self.answered(id, result);
                Taken::Yes(Step::Stay)
            }
            other => load_died(&mut self.loading, &mut self.error, id, other),
        }
    }

    /// The week shown follows the database (once: a load in flight covers a burst).
    fn on_notice(&mut self, m: &mut Model, notice: &Notice) {
        if matches!(notice, Notice::Changed) && self.loading.is_none() {
            self.loading = Some(m.request(Cmd::LoadQueue(self.week)));
        }
    }

    fn on_key(&mut self, m: &mut Model, _key: KeyEvent, action: Option<Action>) -> Step {
        match action {
            Some(Action::Cancel) => return Step::Pop,
            Some(Action::NextPane) => self.show_week(m, self.week + 1),
            Some(Action::PrevPane) if self.week > 0 => self.show_week(m, self.week - 1),
            Some(Action::Down) => self.scroll += 1,
            Some(Action::Up) => self.scroll = self.scroll.saturating_sub(1),
            _ => {}
        }
        Step::Stay
    }

    fn draw(&self, m: &Model, f: &mut Frame, theme: &Theme) {
        let area = popup(f.area(), 76, f.area().height.saturating_sub(2));
        f.render_widget(Clear, area);
        let block = Block::default()
            .borders(Borders::ALL)
            .title(match self.week {
                0 => " Queue · the next 7 days ".to_string(),
                1 => " Queue · the 7 days after ".to_string(),
                w => format!(" Queue · {} to {} days ahead ", w * 7, w * 7 + 7),
            })
            .title_bottom(Line::styled(
                format!(" {} ", hint_line(m, Context::Queue)),
                theme.fg(Color::DarkGray),
            ));
        let inner = block.inner(area);
        let lines = self.lines(m, theme, usize::from(inner.width));
        // Never past the last screenful.
        let most = lines.len().saturating_sub(usize::from(inner.height));
        let scroll = u16::try_from(self.scroll.min(most)).unwrap_or(u16::MAX);
        f.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), area);
    }
}
