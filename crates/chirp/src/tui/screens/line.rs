//! A one-line text field with a cursor and the readline keys every prompt shares: Ctrl-A/E
//! (start, end), Ctrl-B/F and ←/→ (a character), Alt-B/F (a word), Ctrl-U/K (delete to the
//! start, to the end), Ctrl-W and Alt-Backspace (the word before), Ctrl-D/Del (the character
//! under the cursor), Backspace, Home/End.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Modifier, Style};
use ratatui::text::Span;

use crate::present::inert;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineEdit {
    text: String,
    /// A byte offset on a character boundary.
    cursor: usize,
}

impl std::ops::Deref for LineEdit {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl From<&str> for LineEdit {
    fn from(s: &str) -> LineEdit {
        LineEdit::from(s.to_string())
    }
}

impl From<String> for LineEdit {
    /// The cursor at the end, where typing goes on.
    fn from(text: String) -> LineEdit {
        let cursor = text.len();
        LineEdit { text, cursor }
    }
}

impl LineEdit {
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The cursor, in characters from the start.
    pub fn cursor_chars(&self) -> usize {
        self.text[..self.cursor].chars().count()
    }

    /// Replaces the text (the cursor goes to its end).
    pub fn set(&mut self, text: String) {
        *self = LineEdit::from(text);
    }

    pub fn take(&mut self) -> String {
        self.cursor = 0;
        std::mem::take(&mut self.text)
    }

    fn prev(&self, at: usize) -> usize {
        self.text[..at].char_indices().last().map_or(0, |(i, _)| i)
    }

    fn next(&self, at: usize) -> usize {
        self.text[at..]
            .chars()
            .next()
            .map_or(at, |c| at + c.len_utf8())
    }

    /// The start of the word before `at` (spaces before it skipped).
    fn word_start(&self, at: usize) -> usize {
        let before = &self.text[..at];
        let trimmed = before.trim_end();
        trimmed
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace())
            .map_or(0, |(i, c)| i + c.len_utf8())
    }

    /// The end of the word after `at` (spaces before it skipped).
    fn word_end(&self, at: usize) -> usize {
        let after = &self.text[at..];
        let skip = after.len() - after.trim_start().len();
        let rest = &after[skip..];
        at + skip + rest.find(char::is_whitespace).unwrap_or(rest.len())
    }

    /// A key; whether the text changed. Keys it does not know are left alone (false).
    pub fn key(&mut self, key: &KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let before = self.text.clone();
        match key.code {
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::Home => self.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cursor = self.text.len(),
            KeyCode::End => self.cursor = self.text.len(),
            KeyCode::Char('b') if ctrl => self.cursor = self.prev(self.cursor),
            KeyCode::Left if !ctrl && !alt => self.cursor = self.prev(self.cursor),
            KeyCode::Char('f') if ctrl => self.cursor = self.next(self.cursor),
            KeyCode::Right if !ctrl && !alt => self.cursor = self.next(self.cursor),
            KeyCode::Char('b') if alt => self.cursor = self.word_start(self.cursor),
            KeyCode::Left => self.cursor = self.word_start(self.cursor),
            KeyCode::Char('f') if alt => self.cursor = self.word_end(self.cursor),
            KeyCode::Right => self.cursor = self.word_end(self.cursor),
            KeyCode::Char('u') if ctrl => {
                self.text.replace_range(..self.cursor, "");
                self.cursor = 0;
            }
            KeyCode::Char('k') if ctrl => self.text.truncate(self.cursor),
            KeyCode::Char('w') if ctrl => self.delete_word_before(),
            KeyCode::Backspace if alt || ctrl => self.delete_word_before(),
            KeyCode::Char('h') if ctrl => self.backspace(),
            KeyCode::Backspace => self.backspace(),
            KeyCode::Char('d') if ctrl => self.delete(),
            KeyCode::Delete => self.delete(),
            KeyCode::Char(c) if !ctrl && !alt => self.insert(&c.to_string()),
            _ => return false,
        }
        self.text != before
    }

    fn backspace(&mut self) {
        let start = self.prev(self.cursor);
        self.text.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    fn delete(&mut self) {
        let end = self.next(self.cursor);
        self.text.replace_range(self.cursor..end, "");
    }

    fn delete_word_before(&mut self) {
        let start = self.word_start(self.cursor);
        self.text.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    fn insert(&mut self, s: &str) {
        self.text.insert_str(self.cursor, s);
        self.cursor += s.len();
    }

    /// Pasted text, at the cursor: line ends become spaces.
    pub fn paste(&mut self, text: &str) {
        self.insert(&text.replace(['\n', '\r'], " "));
    }

    /// The text with the cursor shown (reversed cell), made inert for the terminal.
    pub fn spans(&self, style: Style) -> Vec<Span<'static>> {
        let (before, after) = self.text.split_at(self.cursor);
        let mut rest = after.chars();
        let under = rest.next().map_or(" ".to_string(), |c| c.to_string());
        vec![
            Span::styled(inert(before, false), style),
            Span::styled(inert(&under, false), style.add_modifier(Modifier::REVERSED)),
            Span::styled(inert(rest.as_str(), false), style),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    fn ctrl(c: char) -> KeyEvent {
        k(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn typed(s: &str) -> LineEdit {
        let mut l = LineEdit::default();
        for c in s.chars() {
            l.key(&k(KeyCode::Char(c), KeyModifiers::NONE));
        }
        l
    }

    #[test]
    fn readline_moves_and_deletes() {
        let mut l = typed("tomorrow at 9am");
        assert!(l.key(&ctrl('w')));
        assert_eq!(l.as_str(), "tomorrow at ");
        l.key(&ctrl('a'));
        l.key(&k(KeyCode::Char('x'), KeyModifiers::NONE));
        assert_eq!(l.as_str(), "xtomorrow at ");
        l.key(&ctrl('d'));
        assert_eq!(l.as_str(), "xomorrow at ");
        l.key(&ctrl('e'));
        l.key(&k(KeyCode::Char('5'), KeyModifiers::NONE));
        assert_eq!(l.as_str(), "xomorrow at 5");
        l.key(&k(KeyCode::Char('b'), KeyModifiers::ALT));
        l.key(&ctrl('k'));
        assert_eq!(l.as_str(), "xomorrow at ");
        l.key(&ctrl('b'));
        l.key(&ctrl('u'));
        assert_eq!(l.as_str(), " ");
        assert_eq!(l.cursor_chars(), 0);
    }

    #[test]
    fn the_cursor_stays_on_character_boundaries() {
        let mut l = typed("日本語");
        l.key(&k(KeyCode::Left, KeyModifiers::NONE));
        l.key(&k(KeyCode::Backspace, KeyModifiers::NONE));
        assert_eq!(l.as_str(), "日語");
        assert_eq!(l.cursor_chars(), 1);
        l.paste("x\ny");
        assert_eq!(l.as_str(), "日x y語");
        // Keys a field does not know change nothing.
        assert!(!l.key(&k(KeyCode::F(5), KeyModifiers::NONE)));
    }
}
