//! The composer: a thread editor. A post is one part or several, each a `ratatui-textarea`
//! with its own live weighted counter; keys add, split, join, delete and move between parts,
//! and auto-split cuts the whole text under the limit. Nothing typed is ever thrown away: a
//! failed save keeps the text here, closing asks before discarding, and quitting keeps it as
//! a draft.

use chirp_core::{PostId, TextRule, price, text};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui_textarea::{CursorMove, TextArea};

use super::{AccountPicker, Help, Input, Screen, Step, Taken, hint_line, popup};
use crate::present::{inert, width};
use crate::tui::keymap::{Action, Context};
use crate::tui::model::{Answer, Cmd, FileRef, Model, ReqId};
use crate::tui::view::Theme;

/// How the composer looks: its parts, their rules and counters, files and the message line.
mod view;
use view::counter;

/// A question the composer waits on: the next key answers it (y: yes, any other: no).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// Close and throw away the changes?
    Discard,
    /// Delete the current part, which has text?
    DeletePart,
    /// Split into a thread worth asking about (more than 25 parts, or dear): the words
    /// name the count and the price.
    BigSplit {
        numbered: bool,
        parts: usize,
        cost: chirp_core::price::Micros,
    },
    /// Save it into the queue, though it is a thread worth asking about?
    BigQueue {
        parts: usize,
        cost: chirp_core::price::Micros,
    },
}

/// The editor: a new post (`id` None) or an existing one, as parts.
pub struct Composer {
    pub id: Option<PostId>,
    parts: Vec<TextArea<'static>>,
    /// The part being edited.
    pub current: usize,
    pub original: Vec<String>,
    /// The save in flight, if any.
    pub saving: Option<ReqId>,
    pub error: Option<String>,
    /// A word for the user that is not an error ("split into 4 parts").
    pub note: Option<String>,
    pub ask: Option<Ask>,
    /// The accounts a new post goes to; none: the default one.
    pub to: Vec<chirp_core::AccountId>,
    /// Each part's files (one list per part, kept in step with `parts`), and the one of the
    /// current part that the file keys act on.
    pub files: Vec<Vec<FileRef>>,
    pub file: usize,
    original_files: Vec<Vec<FileRef>>,
    /// A file being read to be attached, if any.
    pub inspecting: Option<ReqId>,
    /// The placeholders the template it came from left to fill (`version` for
    /// `{version}`): saved with a new post, so that it cannot be scheduled, queued or published
    /// while its text holds one.
    pub unfilled: Vec<String>,
}

/// The queue slot a post of `account` added now would take.
fn next_slot(m: &Model, account: chirp_core::AccountId) -> Option<chrono::DateTime<chrono::Utc>> {
    m.accounts
        .iter()
        .find(|a| a.id == account)
        .and_then(|a| a.next_slot)
}

fn area_of(text: &str) -> TextArea<'static> {
    let lines: Vec<String> = if text.is_empty() {
        vec![String::new()]
    } else {
        text.split('\n').map(String::from).collect()
    };
    let mut t = TextArea::new(lines);
    t.set_wrap_mode(ratatui_textarea::WrapMode::WordOrGlyph);
    t.move_cursor(CursorMove::Bottom);
    t.move_cursor(CursorMove::End);
    t
}

fn text_of(t: &TextArea<'_>) -> String {
    t.lines().join("\n")
}

impl Composer {
    /// A single post (or a new, empty one).
    pub fn new(id: Option<PostId>, text: &str) -> Composer {
        Composer::thread(id, vec![text.to_string()])
    }

    /// A thread of `parts` (at least one; none is taken as one empty part).
    pub fn thread(id: Option<PostId>, parts: Vec<String>) -> Composer {
        let parts = if parts.is_empty() {
            vec![String::new()]
        } else {
            parts
        };
        let n = parts.len();
        Composer {
            id,
            current: parts.len() - 1,
            parts: parts.iter().map(|p| area_of(p)).collect(),
            original: parts,
            saving: None,
            error: None,
            note: None,
            ask: None,
            to: Vec::new(),
            files: vec![Vec::new(); n],
            file: 0,
            original_files: vec![Vec::new(); n],
            inspecting: None,
            unfilled: Vec::new(),
        }
    }

    /// Every part's text, in order.
    pub fn parts(&self) -> Vec<String> {
        self.parts.iter().map(text_of).collect()
    }

    /// The whole thread as one text, parts separated by lines holding only `---` (what
    /// `$EDITOR` gets); a single post is just its text.
    pub fn text(&self) -> String {
        self.parts().join("\n---\n")
    }

    /// The post's files as stored (an existing post's attachments), part by part.
    pub fn with_files(mut self, mut files: Vec<Vec<FileRef>>) -> Composer {
        files.resize(self.parts.len(), Vec::new());
        self.original_files.clone_from(&files);
        self.files = files;
        self
    }

    pub fn modified(&self) -> bool {
        self.parts() != self.original || self.files != self.original_files
    }

    /// Whether there is anything worth keeping.
    pub fn has_text(&self) -> bool {
        self.parts().iter().any(|p| !p.trim().is_empty())
            || self.files.iter().any(|f| !f.is_empty())
    }

    /// A file read and checked: attached to the current part, if it goes with its others.
    pub fn add_file(&mut self, file: crate::media::Inspected) {
        let mut kinds: Vec<_> = self.files[self.current].iter().map(FileRef::kind).collect();
        kinds.push(file.kind);
        if let Err(e) = chirp_core::media::check_part(&kinds) {
            self.error = Some(e.to_string());
            return;
        }
        self.files[self.current].push(FileRef::New { file, alt: None });
        self.file = self.files[self.current].len() - 1;
        self.note = Some("attached: Alt-T gives it alt text".into());
    }

    /// The file the file keys act on, if the current part has any.
    pub fn selected_file(&mut self) -> Option<&mut FileRef> {
        let i = self.file;
        self.files[self.current].get_mut(i)
    }

    /// Files kept in step with a new set of parts: each part keeps its own; files of parts
    /// that are gone move to the last part (never dropped without asking).
    fn fit_files(&mut self) {
        let n = self.parts.len();
        if self.files.len() > n {
            let extra: Vec<FileRef> = self.files.drain(n..).flatten().collect();
            self.files[n - 1].extend(extra);
        }
        self.files.resize(n, Vec::new());
        self.file = 0;
    }

    /// The text came back from `$EDITOR`: its `---` lines separate parts, and it replaces
    /// what is here (still unsaved).
    pub fn replace_text(&mut self, text: &str) {
        self.set_parts(text::split_thread(text));
    }

    fn set_parts(&mut self, parts: Vec<String>) {
        let parts = if parts.is_empty() {
            vec![String::new()]
        } else {
            parts
        };
        self.parts = parts.iter().map(|p| area_of(p)).collect();
        self.current = self.current.min(self.parts.len() - 1);
        self.fit_files();
    }

    fn save(&mut self, m: &mut Model) {
        if let Some((parts, files)) = self.checked(m) {
            self.saving = Some(m.request(match self.id {
                Some(id) => Cmd::Save(id, parts, files),
                None => Cmd::Create(parts, self.to.clone(), files, self.unfilled.clone()),
            }));
        }
    }

    /// Saves it into the next free queue slot of its account (each account's, for a new
    /// post to several); refused here when one has no slots.
    fn save_to_queue(&mut self, m: &mut Model) {
        let owed = self.still_unfilled();
        if !owed.is_empty() {
            self.error = Some(format!(
                "fill in {} first: the template left it to you (Ctrl-S keeps it a draft)",
                owed.join(", ")
            ));
            return;
        }
        let targets = self.targets(m);
        if let Some(a) = targets.iter().find(|a| next_slot(m, **a).is_none()) {
            let h = m.handle(*a).unwrap_or_else(|| "this account".into());
            self.error = Some(format!(
                "{h} has no queue slots: chirp queue set {h} \"mon-fri 09:00,17:00\""
            ));
            return;
        }
        let parts = self.parts();
        let cost = m.pricing.post(&parts) * targets.len().max(1) as u64;
        if m.pricing.worth_asking(parts.len(), cost).is_some() {
            self.ask = Some(Ask::BigQueue {
                parts: parts.len(),
                cost,
            });
            return;
        }
        self.queue_now(m);
    }

    /// Saves it into the queue, checked, without asking.
    fn queue_now(&mut self, m: &mut Model) {
        if let Some((parts, files)) = self.checked(m) {
            self.saving = Some(m.request(Cmd::SaveQueued {
                id: self.id,
                parts,
                to: self.to.clone(),
                files,
                unfilled: self.unfilled.clone(),
            }));
        }
    }

    /// The placeholders its template left that its text still holds, as `{name}`.
    fn still_unfilled(&self) -> Vec<String> {
        let parts = self.parts();
        self.unfilled
            .iter()
            .map(|n| format!("{{{n}}}"))
            .filter(|p| parts.iter().any(|t| t.contains(p.as_str())))
            .collect()
    }

    /// The accounts it goes to: those chosen (for a post being edited, its own), else the
    /// default one.
    fn targets(&self, m: &Model) -> Vec<chirp_core::AccountId> {
        if self.to.is_empty() {
            m.accounts
                .iter()
                .filter(|a| a.is_default)
                .map(|a| a.id)
                .collect()
        } else {
            self.to.clone()
        }
    }

    /// The rule its text is counted by: the strictest of its accounts' networks.
    fn text_rule(&self, m: &Model) -> &'static dyn TextRule {
        m.text_rule(&self.targets(m))
    }

    /// The parts and files, if they may be saved (else the error says why, naming the part):
    /// the text must fit the rule of every account it goes to.
    fn checked(&mut self, m: &Model) -> Option<(Vec<String>, Vec<Vec<FileRef>>)> {
        if self.saving.is_some() {
            return None;
        }
        let parts = self.parts();
        self.error = None;
        let files = if self.files.iter().all(Vec::is_empty) {
            Vec::new()
        } else {
            self.files.clone()
        };
        // A part with files may have no text; files must go together on X.
        for (i, f) in self.files.iter().enumerate() {
            let kinds: Vec<_> = f.iter().map(FileRef::kind).collect();
            if let Err(e) = chirp_core::media::check_part(&kinds) {
                self.current = i;
                self.error = Some(format!("part {} of {}: {e}", i + 1, parts.len()));
                return None;
            }
        }
        let checked = m
            .text_rules(&self.targets(m))
            .into_iter()
            .try_for_each(|r| r.validate_parts_with(&parts, &|i| !self.files[i].is_empty()));
        match checked {
            // Refused before touching the database, naming the part; the text stays.
            Err(e) if parts.len() == 1 => self.error = Some(e.err.to_string()),
            Err(e) => {
                self.current = e.part - 1;
                self.error = Some(e.to_string());
            }
            Ok(()) => return Some((parts, files)),
        }
        None
    }

    /// The accounts a new post goes to, chosen in a checklist over the composer.
    fn choose_accounts(&mut self, m: &Model) -> Step {
        if self.id.is_some() {
            self.error =
                Some("a saved post stays with its account (duplicate it for another)".into());
            return Step::Stay;
        }
        if m.accounts.iter().filter(|a| a.username.is_some()).count() < 2 {
            self.error =
                Some("one account only: connect another with chirp account connect".into());
            return Step::Stay;
        }
        Step::Push(Box::new(AccountPicker::new(m, &self.to)))
    }

    /// "@a (default)", "@b", "@a @b": where a new post goes.
    fn recipients(&self, m: &Model) -> Option<String> {
        if self.id.is_some() || m.accounts.iter().filter(|a| a.username.is_some()).count() < 2 {
            return None;
        }
        if self.to.is_empty() {
            let default = m.accounts.iter().find(|a| a.is_default)?;
            return Some(format!("{} (default)", m.handle(default.id)?));
        }
        let handles: Vec<String> = self.to.iter().filter_map(|id| m.handle(*id)).collect();
        Some(handles.join(" "))
    }

    fn add_part(&mut self) {
        self.current += 1;
        self.parts.insert(self.current, area_of(""));
        self.files.insert(self.current, Vec::new());
        self.file = 0;
    }

    /// The current part becomes two at the cursor; the cursor starts the second.
    fn split_part(&mut self) {
        let t = &self.parts[self.current];
        let cursor = t.cursor();
        let (row, col) = (cursor.0, cursor.1);
        let lines = t.lines();
        let at = lines[row]
            .char_indices()
            .nth(col)
            .map_or(lines[row].len(), |(i, _)| i);
        let mut before: Vec<String> = lines[..row].to_vec();
        before.push(lines[row][..at].to_string());
        let mut after = vec![lines[row][at..].to_string()];
        after.extend_from_slice(&lines[row + 1..]);
        let before = before.join("\n").trim_end().to_string();
        let after = after.join("\n").trim_start().to_string();
        self.parts[self.current] = area_of(&before);
        // The files stay with the first half.
        self.files.insert(self.current + 1, Vec::new());
        self.current += 1;
        self.file = 0;
        let mut second = area_of(&after);
        second.move_cursor(CursorMove::Top);
        second.move_cursor(CursorMove::Head);
        self.parts.insert(self.current, second);
    }

    /// The next part is appended to the current one (a space between them), the cursor
    /// where they meet.
    fn join_next(&mut self) {
        if self.current + 1 >= self.parts.len() {
            self.error = Some("this is the last part: there is no next part to join".into());
            return;
        }
        let next = text_of(&self.parts.remove(self.current + 1));
        let next_files = self.files.remove(self.current + 1);
        self.files[self.current].extend(next_files);
        let here = text_of(&self.parts[self.current]);
        let glue = if here.trim().is_empty() || next.trim().is_empty() {
            ""
        } else {
            " "
        };
        let head = format!("{}{glue}", here.trim_end());
        let mut joined = area_of(&format!("{head}{}", next.trim_start()));
        // The cursor goes where the two met.
        let rows = head.split('\n').count();
        let col = head.rsplit('\n').next().map_or(0, |l| l.chars().count());
        joined.move_cursor(CursorMove::Jump(
            u16::try_from(rows - 1).unwrap_or(u16::MAX),
            u16::try_from(col).unwrap_or(u16::MAX),
        ));
        self.parts[self.current] = joined;
    }

    fn delete_part(&mut self) {
        self.parts.remove(self.current);
        self.files.remove(self.current);
        if self.parts.is_empty() {
            self.parts.push(area_of(""));
            self.files.push(Vec::new());
        }
        self.current = self.current.min(self.parts.len() - 1);
        self.file = 0;
    }

    fn move_to(&mut self, delta: isize) {
        let last = self.parts.len() as isize - 1;
        self.current = (self.current as isize + delta).clamp(0, last) as usize;
        self.file = 0;
    }

    fn auto_split(&mut self, m: &Model, numbered: bool) {
        let parts = text::resplit(self.text_rule(m), &self.parts(), numbered);
        if parts.is_empty() {
            self.error = Some("there is no text to split".into());
            return;
        }
        let cost = m.pricing.post(&parts) * self.targets(m).len().max(1) as u64;
        if m.pricing.worth_asking(parts.len(), cost).is_some() {
            self.ask = Some(Ask::BigSplit {
                numbered,
                parts: parts.len(),
                cost,
            });
            return;
        }
        self.split_into(parts);
    }

    fn split_into(&mut self, parts: Vec<String>) {
        let n = parts.len();
        self.current = n - 1;
        self.set_parts(parts);
        self.note = Some(if n == 1 {
            "it fits in one post".to_string()
        } else {
            format!("split into {n} parts")
        });
    }

    /// A key the keymap does not claim: text for the current part. An arrow that cannot move
    /// within the part moves to the part above or below.
    fn edit(&mut self, key: KeyEvent) {
        let before = self.parts[self.current].cursor();
        self.parts[self.current].input(key);
        if self.parts[self.current].cursor() != before {
            return;
        }
        match key.code {
            KeyCode::Up if self.current > 0 => {
                self.current -= 1;
                let t = &mut self.parts[self.current];
                t.move_cursor(CursorMove::Bottom);
                t.move_cursor(CursorMove::End);
            }
            KeyCode::Down if self.current + 1 < self.parts.len() => {
                self.current += 1;
                let t = &mut self.parts[self.current];
                t.move_cursor(CursorMove::Top);
                t.move_cursor(CursorMove::Head);
            }
            _ => {}
        }
    }

    fn answer(&mut self, m: &mut Model, key: KeyEvent, ask: Ask) -> Step {
        let yes = matches!(key.code, KeyCode::Char('y' | 'Y'));
        match (ask, yes) {
            (Ask::Discard, true) => {
                m.flash = Some(("discarded the changes".into(), None));
                return Step::Pop;
            }
            (Ask::DeletePart, true) => self.delete_part(),
            (Ask::BigSplit { numbered, .. }, true) => {
                let parts = text::resplit(self.text_rule(m), &self.parts(), numbered);
                self.split_into(parts);
            }
            (Ask::BigSplit { .. }, false) => self.note = Some("not split".into()),
            (Ask::BigQueue { .. }, true) => self.queue_now(m),
            (Ask::BigQueue { .. }, false) => self.note = Some("not queued".into()),
            _ => {}
        }
        Step::Stay
    }
}

impl Screen for Composer {
    fn context(&self) -> Option<Context> {
        Some(Context::Composer)
    }

    fn holds_text(&self) -> bool {
        true
    }

    fn on_answer(&mut self, _m: &mut Model, id: ReqId, answer: Answer) -> Taken {
        match answer {
            // The text from $EDITOR (one editor at a time: no id to wait for).
            Answer::Edited(result) => {
                match result {
                    Ok(text) => self.replace_text(&text),
                    Err(e) => self.error = Some(e),
                }
                Taken::Yes(Step::Stay)
            }
            Answer::Inspected(result) if self.inspecting == Some(id) => {
                self.inspecting = None;
                self.note = None;
                match result {
                    Ok(file) => self.add_file(file),
                    Err(e) => self.error = Some(e),
                }
                Taken::Yes(Step::Stay)
            }
            // Saved: it closes, and the lists show the post.
            Answer::Saved(Ok(post)) if self.saving == Some(id) => {
                Taken::Also(Answer::Saved(Ok(post)), Step::Pop)
            }
            // Not saved, or the request died: the text stays here, nothing typed is lost.
            Answer::Saved(Err(e)) | Answer::Crashed(e) if self.saving == Some(id) => {
                self.saving = None;
                self.error = Some(e.to_string());
                Taken::Yes(Step::Stay)
            }
            Answer::Crashed(e) if self.inspecting == Some(id) => {
                self.inspecting = None;
                self.note = None;
                self.error = Some(e.to_string());
                Taken::Yes(Step::Stay)
            }
            other => Taken::No(other),
        }
    }

    fn on_key(&mut self, m: &mut Model, key: KeyEvent, action: Option<Action>) -> Step {
        if let Some(ask) = self.ask.take() {
            return self.answer(m, key, ask);
        }
        if self.saving.is_some() && !matches!(action, Some(Action::Close | Action::Help)) {
            // The text is on its way to the database: it stays as it is until the answer.
            return Step::Stay;
        }
        self.note = None;
        if action.is_some_and(|a| a != Action::Save) {
            self.error = None;
        }
        match action {
            Some(Action::Help) => return Step::Push(Box::new(Help::of(Context::Composer))),
            Some(Action::Save) => self.save(m),
            Some(Action::SaveToQueue) => self.save_to_queue(m),
            Some(Action::Suspend) => {
                m.request(Cmd::Suspend);
            }
            Some(Action::ExternalEditor) => {
                m.request(Cmd::OpenEditor(self.text()));
            }
            Some(Action::Close) => {
                if !self.modified() {
                    return Step::Pop;
                }
                self.ask = Some(Ask::Discard);
            }
            Some(Action::AddPart) => self.add_part(),
            Some(Action::SplitPart) => self.split_part(),
            Some(Action::JoinPart) => self.join_next(),
            Some(Action::DeletePart) if self.parts.len() == 1 => {
                self.error = Some("a post has at least one part".into());
            }
            Some(Action::DeletePart)
                if text_of(&self.parts[self.current]).trim().is_empty()
                    && self.files[self.current].is_empty() =>
            {
                self.delete_part();
            }
            Some(Action::DeletePart) => self.ask = Some(Ask::DeletePart),
            Some(Action::NextPart) => self.move_to(1),
            Some(Action::PrevPart) => self.move_to(-1),
            Some(Action::AutoSplit) => self.auto_split(m, false),
            Some(Action::AutoSplitNumbered) => self.auto_split(m, true),
            Some(Action::ChooseAccount) => return self.choose_accounts(m),
            Some(Action::Attach) if self.inspecting.is_some() => {
                self.error = Some("a file is still being read".into());
            }
            Some(Action::Attach) => return Step::Push(Box::new(Input::attach())),
            Some(Action::AltText) => match self.selected_file() {
                Some(f) => {
                    let alt = f.alt().unwrap_or_default().to_string();
                    return Step::Push(Box::new(Input::alt(alt)));
                }
                None => self.error = Some("this part has no file (Alt-M attaches one)".into()),
            },
            Some(Action::RemoveFile) => {
                let i = self.file;
                if i < self.files[self.current].len() {
                    self.files[self.current].remove(i);
                    self.file = i.saturating_sub(1);
                } else {
                    self.error = Some("this part has no file".into());
                }
            }
            Some(Action::NextFile) => {
                let n = self.files[self.current].len();
                self.file = if n == 0 { 0 } else { (self.file + 1) % n };
            }
            _ => self.edit(key),
        }
        Step::Stay
    }

    fn on_paste(&mut self, text: &str) {
        // Terminals paste line ends as CR (or CRLF): they are new lines here.
        self.parts[self.current].insert_str(text::normalize_newlines(text));
    }

    fn draw(&self, m: &Model, f: &mut Frame, theme: &Theme) {
        let rule = self.text_rule(m);
        let thread = self.parts.len() > 1;
        let full = f.area();
        let height = if thread {
            full.height.saturating_sub(2).max(14)
        } else {
            14
        };
        let area = popup(full, 76, height);
        f.render_widget(Clear, area);
        let mut title = match self.id {
            Some(id) => format!(" Edit post {id} "),
            None => " New post ".to_string(),
        };
        if let Some(to) = self.recipients(m) {
            title.push_str(&format!("→ {} ", inert(&to, false)));
        }
        let mut block = Block::default().borders(Borders::ALL).title(title);
        let cost = Span::styled(format!("{} ", self.cost(m)), theme.fg(Color::DarkGray));
        if thread {
            block = block.title_bottom(
                Line::from(vec![
                    Span::raw(format!(
                        " thread · part {}/{} ",
                        self.current + 1,
                        self.parts.len()
                    )),
                    cost,
                ])
                .right_aligned(),
            );
        } else {
            block = block.title_bottom(
                Line::from(vec![counter(&text_of(&self.parts[0]), rule, theme), cost])
                    .right_aligned(),
            );
        }
        // Where "save into the queue" would put it.
        if let Some(at) = self.targets(m).first().and_then(|a| next_slot(m, *a)) {
            block = block.title_bottom(Line::styled(
                format!(
                    " {} queue → {} ",
                    m.keys.key_of(Context::Composer, Action::SaveToQueue),
                    at.with_timezone(&m.tz).format("%a %d %b %H:%M")
                ),
                theme.fg(Color::DarkGray),
            ));
        }
        let inner = block.inner(area);
        f.render_widget(block, area);
        let [edit, msg, keys] = Layout::vertical([
            Constraint::Min(3),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(inner);
        if thread {
            self.draw_parts(f, edit, rule, theme);
        } else {
            let n = u16::try_from(self.files[0].len()).unwrap_or(4);
            let [text_area, files_area] =
                Layout::vertical([Constraint::Min(1), Constraint::Length(n)]).areas(edit);
            f.render_widget(&self.parts[0], text_area);
            f.render_widget(Paragraph::new(self.file_lines(0, theme)), files_area);
        }
        f.render_widget(Paragraph::new(self.message(m, theme)), msg);
        f.render_widget(
            Paragraph::new(format!(" {}", hint_line(m, Context::Composer)))
                .style(theme.fg(Color::DarkGray)),
            keys,
        );
    }
}
