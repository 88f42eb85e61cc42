//! The template picker (`T`): a saved template becomes a new post in the composer, `{date}`
//! and `{weekday}` filled with today's, other placeholders left for the user to fill in.

use chirp_store::media::Attachment;
use chirp_store::templates::Summary;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::style::{Color, Modifier};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::{Composer, Screen, Step, Taken, hint_line, load_died, popup};
use crate::present::{clip, inert};
use crate::tui::keymap::{Action, Context};
use crate::tui::model::{Answer, Cmd, Failure, FileRef, Model, ReqId};
use crate::tui::view::Theme;
use chirp_core::template;

pub struct TemplatePicker {
    pub loading: Option<ReqId>,
    pub items: Vec<Summary>,
    pub cursor: usize,
    /// The template being read to open it.
    pub opening: Option<(ReqId, String)>,
    pub error: Option<String>,
}

impl TemplatePicker {
    pub fn open(m: &mut Model) -> TemplatePicker {
        TemplatePicker {
            loading: Some(m.request(Cmd::LoadTemplates)),
            items: Vec::new(),
            cursor: 0,
            opening: None,
            error: None,
        }
    }

    pub fn listed(&mut self, id: ReqId, result: Result<Vec<Summary>, Failure>) {
        if self.loading == Some(id) {
            self.loading = None;
            match result {
                Ok(items) => self.items = items,
                Err(e) => self.error = Some(e.to_string()),
            }
        }
    }
}

/// A new post's composer from a template's parts and files, placeholders chirp knows filled.
pub fn composer_from(m: &Model, name: &str, parts: &[String], files: Vec<Attachment>) -> Composer {
    let day = m.now.with_timezone(&m.tz).date_naive();
    let known = template::builtins(day);
    let filled: Vec<String> = parts
        .iter()
        .map(|p| template::fill_known(p, &known))
        .collect();
    let mut left: Vec<String> = Vec::new();
    for p in &filled {
        for n in template::placeholders(p).unwrap_or_default() {
            if !left.contains(&n) {
                left.push(n);
            }
        }
    }
    let mut per_part: Vec<Vec<FileRef>> = vec![Vec::new(); filled.len()];
    for a in files {
        let i = usize::try_from(a.position - 1)
            .unwrap_or(0)
            .min(filled.len().saturating_sub(1));
        per_part[i].push(FileRef::Stored {
            media_id: a.media_id,
            kind: a.kind,
            media_type: a.media_type,
            size: u64::try_from(a.size_bytes).unwrap_or(0),
            alt: a.alt_text,
        });
    }
    let mut c = Composer::thread(None, filled).with_files(per_part);
    c.to = m.showing.into_iter().collect();
    c.unfilled.clone_from(&left);
    c.note = Some(if left.is_empty() {
        format!("from template {name}")
    } else {
        let names: Vec<String> = left.iter().map(|n| format!("{{{n}}}")).collect();
        format!("from template {name}: fill in {}", names.join(", "))
    });
    c
}

impl Screen for TemplatePicker {
    fn context(&self) -> Option<Context> {
        Some(Context::Templates)
    }

    fn on_answer(&mut self, m: &mut Model, id: ReqId, answer: Answer) -> Taken {
        match answer {
            Answer::Templates(result) => {
                self.listed(id, result);
                Taken::Yes(Step::Stay)
            }
            // The template read to start a post: the picker gives way to a composer.
            Answer::Template(result) if self.opening.as_ref().is_some_and(|(r, _)| *r == id) => {
                match result {
                    Ok((parts, files)) => {
                        let name = self.opening.take().map(|(_, n)| n).unwrap_or_default();
                        Taken::Yes(Step::Replace(Box::new(composer_from(
                            m, &name, &parts, files,
                        ))))
                    }
                    Err(e) => {
                        self.opening = None;
                        self.error = Some(e.to_string());
                        Taken::Yes(Step::Stay)
                    }
                }
            }
            other => load_died(&mut self.loading, &mut self.error, id, other),
        }
    }

    fn on_key(&mut self, m: &mut Model, _key: KeyEvent, action: Option<Action>) -> Step {
        let last = self.items.len().saturating_sub(1);
        match action {
            Some(Action::Cancel) => return Step::Pop,
            Some(Action::Down) => self.cursor = (self.cursor + 1).min(last),
            Some(Action::Up) => self.cursor = self.cursor.saturating_sub(1),
            Some(Action::Confirm) => {
                if let Some(t) = self.items.get(self.cursor) {
                    let name = t.name.clone();
                    self.opening = Some((m.request(Cmd::LoadTemplate(name.clone())), name));
                }
            }
            _ => {}
        }
        Step::Stay
    }

    fn draw(&self, m: &Model, f: &mut Frame, theme: &Theme) {
        let height = u16::try_from(self.items.len())
            .unwrap_or(u16::MAX)
            .saturating_add(4)
            .clamp(6, 20);
        let area = popup(f.area(), 70, height);
        f.render_widget(Clear, area);
        let block = Block::default()
            .borders(Borders::ALL)
            .title(" New post from a template ")
            .title_bottom(Line::styled(
                format!(" {} ", hint_line(m, Context::Templates)),
                theme.fg(Color::DarkGray),
            ));
        let dim = theme.fg(Color::DarkGray);
        let mut lines: Vec<Line> = Vec::new();
        if let Some(e) = &self.error {
            lines.push(Line::styled(e.clone(), theme.fg(Color::Red)));
        } else if self.loading.is_some() {
            lines.push(Line::styled("reading templates…", dim));
        } else if self.items.is_empty() {
            lines.push(Line::raw("No templates yet. Make one from any post:"));
            lines.push(Line::styled("  chirp template save POST_ID NAME", dim));
        }
        for (i, t) in self.items.iter().enumerate() {
            let mut name = Span::raw(format!("{:<16}", clip(&t.name, 16)));
            if i == self.cursor {
                name = name.style(theme.fg(Color::Cyan).add_modifier(Modifier::REVERSED));
            }
            let shape = if t.files > 0 {
                format!(" {} part(s) · {} file(s) ", t.parts, t.files)
            } else {
                format!(" {} part(s) ", t.parts)
            };
            let room = usize::from(area.width.saturating_sub(2))
                .saturating_sub(16 + shape.chars().count());
            lines.push(Line::from(vec![
                name,
                Span::styled(shape, dim),
                Span::raw(inert(&clip(&t.first, room), false)),
            ]));
        }
        f.render_widget(Paragraph::new(lines).block(block), area);
    }
}
