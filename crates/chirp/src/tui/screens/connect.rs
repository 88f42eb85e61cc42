//! Connecting an X account without leaving the TUI (`C`): the address to open in a browser
//! (`Ctrl-Y` copies it through the terminal's clipboard), the `ssh -L` line for a chirp on
//! another host, and a field for the address the browser ended on (or the code), for when
//! the browser cannot reach chirp's listener.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::line::LineEdit;
use super::{Notice, Screen, Step, Taken, hint_line, popup};
use crate::present::inert;
use crate::tui::keymap::{Action, Context};
use crate::tui::model::{Answer, Cmd, Model, ReqId};
use crate::tui::view::Theme;

pub struct ConnectView {
    /// The connect request; it answers when the account is saved (or not).
    pub request: ReqId,
    /// The address to open, once chirp listens for X's answer.
    pub url: Option<String>,
    /// Where X sends the browser back (chirp's listener).
    pub redirect: Option<String>,
    pub input: LineEdit,
    pub error: Option<String>,
    /// A pasted answer is being checked.
    pub checking: bool,
}

impl ConnectView {
    pub fn open(m: &mut Model) -> ConnectView {
        ConnectView {
            request: m.request(Cmd::Connect),
            url: None,
            redirect: None,
            input: LineEdit::default(),
            error: None,
            checking: false,
        }
    }

    /// The `ssh -L` line that lets a browser on the user's machine reach chirp's listener.
    fn ssh_hint(&self) -> Option<String> {
        let port = url::Url::parse(self.redirect.as_deref()?).ok()?.port()?;
        Some(format!(
            "chirp on another host? first: ssh -L {port}:127.0.0.1:{port} THAT_HOST"
        ))
    }
}

impl Screen for ConnectView {
    fn context(&self) -> Option<Context> {
        Some(Context::Connect)
    }

    fn on_answer(&mut self, _m: &mut Model, id: ReqId, answer: Answer) -> Taken {
        match answer {
            // Connected: it closes, and the model says so and reads the accounts again.
            Answer::Connected(Ok(msg)) if id == self.request => {
                Taken::Also(Answer::Connected(Ok(msg)), Step::Pop)
            }
            // A connect failed, or the address pasted into it was not one: say why here.
            Answer::Connected(Err(e)) if id == self.request => {
                self.error = Some(e.to_string());
                self.checking = false;
                Taken::Yes(Step::Stay)
            }
            Answer::Pasted(Err(e)) => {
                self.error = Some(e);
                self.checking = false;
                Taken::Yes(Step::Stay)
            }
            other => Taken::No(other),
        }
    }

    fn on_notice(&mut self, _m: &mut Model, notice: &Notice) {
        if let Notice::ConnectReady { id, url, redirect } = notice
            && *id == self.request
        {
            self.url = Some(url.clone());
            self.redirect = Some(redirect.clone());
        }
    }

    fn on_key(&mut self, m: &mut Model, key: KeyEvent, action: Option<Action>) -> Step {
        match action {
            Some(Action::Cancel) => {
                m.request(Cmd::ConnectCancel);
                return Step::Pop;
            }
            Some(Action::Copy) => {
                if let Some(url) = &self.url {
                    m.request(Cmd::Copy(url.clone()));
                    m.flash = Some(("the address is on the clipboard".into(), None));
                }
            }
            Some(Action::Confirm) if !self.input.trim().is_empty() => {
                self.checking = true;
                self.error = None;
                m.request(Cmd::ConnectPaste(self.input.to_string()));
            }
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
        let area = popup(f.area(), 78, f.area().height.saturating_sub(2).min(18));
        f.render_widget(Clear, area);
        let block = Block::default()
            .borders(Borders::ALL)
            .title(" Connect an X account ")
            .title_bottom(Line::styled(
                format!(" {} ", hint_line(m, Context::Connect)),
                theme.fg(Color::DarkGray),
            ));
        let dim = theme.fg(Color::DarkGray);
        let mut lines = Vec::new();
        match &self.url {
            None if self.error.is_none() => {
                lines.push(Line::styled("asking X…", dim));
            }
            None => {}
            Some(url) => {
                lines.push(Line::raw(
                    "Open this address in a browser and approve chirp:",
                ));
                lines.push(Line::styled(inert(url, false), theme.fg(Color::Cyan)));
                lines.push(Line::raw(""));
                if let Some(hint) = self.ssh_hint() {
                    lines.push(Line::styled(hint, dim));
                }
                lines.push(Line::raw(
                    "Or paste the address the browser ended on (or just the code):",
                ));
                lines.push(Line::from(
                    [vec![Span::raw("> ")], self.input.spans(Style::default())].concat(),
                ));
                if self.checking && self.error.is_none() {
                    lines.push(Line::styled("checking the answer with X…", dim));
                }
            }
        }
        if let Some(e) = &self.error {
            lines.push(Line::styled(inert(e, false), theme.fg(Color::Red)));
        }
        f.render_widget(
            Paragraph::new(lines)
                .block(block)
                .wrap(Wrap { trim: false }),
            area,
        );
    }
}
