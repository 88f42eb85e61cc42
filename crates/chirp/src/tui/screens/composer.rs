//! The composer: a `ratatui-textarea` editor with X's weighted counter. Nothing typed is ever
//! thrown away: a failed save keeps the text here, closing asks before discarding, and quitting
//! keeps it as a draft.

use chirp_core::{PostId, text};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui_textarea::TextArea;

use super::{Screen, Step, hint_line, popup};
use crate::present::inert;
use crate::tui::keymap::{Action, Context};
use crate::tui::model::{Cmd, Model, ReqId};
use crate::tui::view::Theme;

/// The editor: a new post (`id` None) or an existing one.
pub struct Composer {
    pub id: Option<PostId>,
    pub textarea: TextArea<'static>,
    pub original: String,
    /// The save in flight, if any.
    pub saving: Option<ReqId>,
    pub error: Option<String>,
    /// Asking whether to throw away the changes.
    pub confirm_discard: bool,
}

impl Composer {
    pub fn new(id: Option<PostId>, text: &str) -> Composer {
        let lines: Vec<String> = if text.is_empty() {
            vec![String::new()]
        } else {
            text.split('\n').map(String::from).collect()
        };
        let mut textarea = TextArea::new(lines);
        textarea.set_wrap_mode(ratatui_textarea::WrapMode::WordOrGlyph);
        textarea.move_cursor(ratatui_textarea::CursorMove::Bottom);
        textarea.move_cursor(ratatui_textarea::CursorMove::End);
        Composer {
            id,
            textarea,
            original: text.to_string(),
            saving: None,
            error: None,
            confirm_discard: false,
        }
    }

    pub fn text(&self) -> String {
        self.textarea.lines().join("\n")
    }

    pub fn modified(&self) -> bool {
        self.text() != self.original
    }

    /// The text came back from `$EDITOR`: it replaces what is here (still unsaved).
    pub fn replace_text(&mut self, text: &str) {
        let mut fresh = Composer::new(self.id, text);
        fresh.original = std::mem::take(&mut self.original);
        *self = fresh;
    }

    fn save(&mut self, m: &mut Model) {
        if self.saving.is_some() {
            return;
        }
        let text = self.text();
        self.error = None;
        match text::validate(&text) {
            // Refused before touching the database; the text stays.
            Err(e) => self.error = Some(e.to_string()),
            Ok(_) => {
                self.saving = Some(m.request(match self.id {
                    Some(id) => Cmd::Save(id, text),
                    None => Cmd::Create(text),
                }));
            }
        }
    }
}

impl Screen for Composer {
    fn context(&self) -> Option<Context> {
        Some(Context::Composer)
    }

    fn on_key(&mut self, m: &mut Model, key: KeyEvent, action: Option<Action>) -> Step {
        if self.confirm_discard {
            self.confirm_discard = false;
            if matches!(key.code, KeyCode::Char('y' | 'Y')) {
                m.flash = Some(("discarded the changes".into(), false));
                return Step::Pop;
            }
            return Step::Stay;
        }
        match action {
            Some(Action::Save) => self.save(m),
            Some(Action::ExternalEditor) => {
                m.request(Cmd::OpenEditor(self.text()));
            }
            Some(Action::Close) => {
                if !self.modified() {
                    return Step::Pop;
                }
                self.confirm_discard = true;
            }
            _ if self.saving.is_none() => {
                self.textarea.input(key);
            }
            _ => {}
        }
        Step::Stay
    }

    fn on_paste(&mut self, text: &str) {
        // Terminals paste line ends as CR (or CRLF): they are new lines here.
        self.textarea.insert_str(text::normalize_newlines(text));
    }

    fn draw(&self, m: &Model, f: &mut Frame, theme: &Theme) {
        let area = popup(f.area(), 76, 14);
        f.render_widget(Clear, area);
        let title = match self.id {
            Some(id) => format!(" Edit post {id} "),
            None => " New post ".to_string(),
        };
        let count = text::count(&self.text());
        let counter = Span::styled(
            format!(" {}/{} ", count.weighted, text::LIMIT),
            theme.counter(count.weighted),
        );
        let block = Block::default()
            .borders(Borders::ALL)
            .title(title)
            .title_bottom(Line::from(counter).right_aligned());
        let inner = block.inner(area);
        f.render_widget(block, area);
        let [edit, msg, keys] = Layout::vertical([
            Constraint::Min(3),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(inner);
        f.render_widget(&self.textarea, edit);
        let note = if self.confirm_discard {
            Line::styled(
                "Discard your changes? y/n",
                theme.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            )
        } else if let Some(e) = &self.error {
            Line::styled(inert(e, false), theme.fg(Color::Red))
        } else if self.saving.is_some() {
            Line::raw("saving…")
        } else if count.weighted > text::LIMIT {
            Line::styled(
                format!(
                    "{} over the limit: it cannot be saved or scheduled",
                    count.weighted - text::LIMIT
                ),
                theme.fg(Color::Red),
            )
        } else {
            Line::raw("")
        };
        f.render_widget(Paragraph::new(note), msg);
        f.render_widget(
            Paragraph::new(format!(" {}", hint_line(m, Context::Composer)))
                .style(theme.fg(Color::DarkGray)),
            keys,
        );
    }
}
