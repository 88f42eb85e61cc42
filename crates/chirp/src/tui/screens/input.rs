//! One-line prompts over the composer: the path of a file to attach (Tab completes it,
//! relative to the current directory, `~` for home) and a file's alt text.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::style::Color;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::line::LineEdit;
use super::{Composer, Screen, Step, Taken, hint_line, popup};
use crate::present::inert;
use crate::tui::keymap::{Action, Context};
use crate::tui::model::{Answer, Cmd, Model, ReqId};
use crate::tui::view::Theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A file to attach to the current part.
    Attach,
    /// The alt text of the composer's selected file.
    Alt,
}

pub struct Input {
    pub purpose: Purpose,
    pub input: LineEdit,
    pub error: Option<String>,
    /// What a Tab found, when more than one name matches.
    pub candidates: Vec<String>,
    /// The completion in flight, if any.
    pub completing: Option<ReqId>,
}

impl Input {
    pub fn attach() -> Input {
        Input::new(Purpose::Attach, String::new())
    }

    pub fn alt(current: String) -> Input {
        Input::new(Purpose::Alt, current)
    }

    fn new(purpose: Purpose, input: String) -> Input {
        Input {
            purpose,
            input: LineEdit::from(input),
            error: None,
            candidates: Vec::new(),
            completing: None,
        }
    }

    /// A completion came back for `asked`: applied if nothing was typed since.
    pub fn completed(&mut self, asked: &str, input: String, candidates: Vec<String>) {
        self.completing = None;
        if self.input.as_str() == asked {
            self.input.set(input);
            self.candidates = candidates;
        }
    }

    fn confirm(&mut self, m: &mut Model) -> Step {
        match self.purpose {
            Purpose::Attach => {
                if self.input.trim().is_empty() {
                    self.error = Some("type the path of a file (Tab completes it)".into());
                    return Step::Stay;
                }
                let path = crate::media::expand(
                    &self.input,
                    &std::env::current_dir().unwrap_or_default(),
                    dirs::home_dir().as_deref(),
                );
                let id = m.request(Cmd::Inspect(path));
                if let Some(c) = m.screen_mut::<Composer>() {
                    c.inspecting = Some(id);
                    c.note = Some(format!("reading {}…", inert(&self.input, false)));
                }
                Step::Pop
            }
            Purpose::Alt => {
                if let Err(e) = chirp_core::media::check_alt(&self.input) {
                    self.error = Some(e.to_string());
                    return Step::Stay;
                }
                let alt = (!self.input.trim().is_empty()).then(|| self.input.trim().to_string());
                if let Some(f) = m.screen_mut::<Composer>().and_then(Composer::selected_file) {
                    f.set_alt(alt);
                }
                Step::Pop
            }
        }
    }
}

impl Screen for Input {
    fn context(&self) -> Option<Context> {
        Some(Context::Input)
    }

    fn on_answer(&mut self, _m: &mut Model, id: ReqId, answer: Answer) -> Taken {
        match answer {
            Answer::Completed(asked, input, names) if self.completing == Some(id) => {
                self.completed(&asked, input, names);
                Taken::Yes(Step::Stay)
            }
            other => Taken::No(other),
        }
    }

    fn on_key(&mut self, m: &mut Model, key: KeyEvent, action: Option<Action>) -> Step {
        match action {
            Some(Action::Cancel) => return Step::Pop,
            Some(Action::Confirm) => return self.confirm(m),
            Some(Action::Complete) if self.purpose == Purpose::Attach => {
                self.completing = Some(m.request(Cmd::Complete(self.input.to_string())));
            }
            _ => {
                if self.input.key(&key) {
                    self.error = None;
                    self.candidates.clear();
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
        let area = popup(f.area(), 72, 7);
        f.render_widget(Clear, area);
        let (title, label) = match self.purpose {
            Purpose::Attach => (" Attach a file ", "path"),
            Purpose::Alt => (" Alt text ", "alt"),
        };
        let block = Block::default().borders(Borders::ALL).title(title);
        let below = if let Some(e) = &self.error {
            Line::styled(inert(e, false), theme.fg(Color::Red))
        } else if !self.candidates.is_empty() {
            Line::styled(
                inert(&self.candidates.join("  "), false),
                theme.fg(Color::Cyan),
            )
        } else if self.purpose == Purpose::Alt {
            Line::styled(
                format!(
                    "{}/{} characters: what the file shows, for people who cannot see it",
                    self.input.chars().count(),
                    chirp_core::media::MAX_ALT
                ),
                theme.fg(Color::DarkGray),
            )
        } else {
            Line::styled(
                "JPEG, PNG, WEBP, GIF, MP4 or MOV (checked by content)",
                theme.fg(Color::DarkGray),
            )
        };
        let lines = vec![
            Line::from(
                [
                    vec![Span::raw(format!("{label}: "))],
                    self.input.spans(Style::default()),
                ]
                .concat(),
            ),
            below,
            Line::styled(hint_line(m, Context::Input), theme.fg(Color::DarkGray)),
        ];
        f.render_widget(
            Paragraph::new(lines).block(block).wrap(Wrap { trim: true }),
            area,
        );
    }
}
