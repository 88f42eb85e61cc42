//! X's rule for post text (twitter-text, config v3): weighted length up to 280, where URLs
//! weigh 23, CJK and emoji 2, after NFC normalisation. The database only keeps a loose sanity
//! CHECK; this module is the rule the app enforces before every write and every publish.

use std::fmt::Write as _;

/// X's limit in weighted characters.
pub const LIMIT: i32 = 280;

/// From this many weighted characters on, the composer warns.
pub const WARN_AT: i32 = 260;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextCount {
    pub weighted: i32,
    /// What twitter-text says: within the limit, not empty, no invalid characters.
    pub valid: bool,
}

impl TextCount {
    pub fn over_by(&self) -> i32 {
        (self.weighted - LIMIT).max(0)
    }
}

/// Weighted length as X counts it.
pub fn count(text: &str) -> TextCount {
    let r = twitter_text::parse(text, twitter_text_config::config_v3(), true);
    TextCount {
        weighted: r.weighted_length,
        valid: r.is_valid,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("the post is empty: write some text")]
    Empty,
    #[error("the post is {weighted}/{LIMIT} weighted characters: shorten it by {}", weighted - LIMIT)]
    TooLong { weighted: i32 },
    #[error("the post contains a NUL byte, which X does not accept: remove it")]
    Nul,
    #[error("the post contains the character {0}, which X does not accept: remove it")]
    InvalidChar(String),
}

/// Whether X would accept `text`; the error says what to change.
pub fn validate(text: &str) -> Result<TextCount, TextError> {
    if text.trim().is_empty() {
        return Err(TextError::Empty);
    }
    if text.contains('\0') {
        return Err(TextError::Nul);
    }
    if let Some(c) = text
        .chars()
        .find(|c| matches!(c, '\u{FFFE}' | '\u{FEFF}' | '\u{FFFF}'))
    {
        return Err(TextError::InvalidChar(format!("U+{:04X}", c as u32)));
    }
    let c = count(text);
    if c.weighted > LIMIT {
        return Err(TextError::TooLong {
            weighted: c.weighted,
        });
    }
    if !c.valid {
        // twitter-text refused it for a reason not caught above; say so rather than guess.
        return Err(TextError::InvalidChar("that X does not accept".into()));
    }
    Ok(c)
}

/// Text made safe to put on a terminal: control characters (including ESC, so no escape
/// sequence can reach the terminal) become visible escapes like `\e` or `\u{7}`. Newlines and
/// tabs are kept only when `keep_newlines` is set (the detail view); lists show `⏎`.
pub fn inert(text: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' if keep_newlines => out.push('\n'),
            '\n' => out.push('⏎'),
            '\t' => out.push_str("    "),
            '\u{1b}' => out.push_str("\\e"),
            // Bidi overrides and isolates can reorder what the terminal shows: make them visible.
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Whether a post read back from X's timeline is the one chirp sent, for reconciliation. X
/// stores text NFC-normalised and trimmed, returns it HTML-escaped (`&amp;`), and replaces
/// every link with a t.co one; so both sides are normalised and links compared as "a link".
pub fn same_post(on_x: &str, ours: &str) -> bool {
    let unescaped = on_x
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    reconcile_key(&unescaped) == reconcile_key(ours)
}

fn reconcile_key(text: &str) -> String {
    use twitter_text::extractor::{Extract, Extractor};
    use unicode_normalization::UnicodeNormalization;
    let mut s: String = text.trim().nfc().collect();
    let urls: Vec<String> = Extractor::new()
        .extract_urls_with_indices(&s)
        .iter()
        .map(|e| e.get_value().to_string())
        .collect();
    // Longest first, so a URL that is a prefix of another is not half-replaced.
    let mut urls = urls;
    urls.sort_by_key(|u| std::cmp::Reverse(u.len()));
    for u in urls {
        s = s.replace(&u, "\u{1}link");
    }
    s
}

/// Cuts `s` to `cols` terminal columns (wide characters count two), ending in `…` when cut.
pub fn clip(s: &str, cols: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let total: usize = s.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= cols {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > cols.saturating_sub(1) {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_weigh_23_whatever_their_length() {
        let long = format!("see https://example.com/{}", "a".repeat(300));
        let c = count(&long);
        assert_eq!(c.weighted, 4 + 23);
        assert!(c.valid);
        assert!(validate(&long).is_ok(), "a long URL must not be refused");
    }

    #[test]
    fn cjk_and_emoji_weigh_two() {
        assert_eq!(count("日本語").weighted, 6);
        assert_eq!(count("👍").weighted, 2);
        // A ZWJ family is one emoji sequence: 2 in total.
        assert_eq!(count("👨\u{200d}👩\u{200d}👧").weighted, 2);
        // 141 CJK characters are 282 > 280 even though char_length is only 141.
        let cjk = "字".repeat(141);
        assert_eq!(validate(&cjk), Err(TextError::TooLong { weighted: 282 }));
    }

    #[test]
    fn nfc_first() {
        // "e" + combining acute normalises to one character.
        assert_eq!(count("e\u{301}").weighted, 1);
    }

    #[test]
    fn limits_and_messages() {
        assert!(validate(&"a".repeat(280)).is_ok());
        let err = validate(&"a".repeat(281)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the post is 281/280 weighted characters: shorten it by 1"
        );
        assert_eq!(validate("   \n"), Err(TextError::Empty));
        assert_eq!(validate("a\0b"), Err(TextError::Nul));
        assert_eq!(
            validate("a\u{FEFF}b"),
            Err(TextError::InvalidChar("U+FEFF".into()))
        );
    }

    #[test]
    fn reconciliation_sees_through_what_x_does_to_text() {
        assert!(same_post("hello world", " hello world\n"));
        assert!(same_post("caf\u{e9}", "cafe\u{301}"), "NFC");
        assert!(same_post(
            "read this https://t.co/AbCdEf123 &amp; that &lt;3",
            "read this https://example.com/a/very/long/path?x=1 & that <3"
        ));
        assert!(!same_post(
            "read this https://t.co/AbCdEf123",
            "read that https://example.com/"
        ));
        assert!(!same_post("hello world", "hello world!"));
        assert!(!same_post(
            "two https://t.co/a1 https://t.co/b2",
            "two https://example.com/"
        ));
    }

    #[test]
    fn clip_counts_columns() {
        assert_eq!(clip("hello", 5), "hello");
        assert_eq!(clip("hello world", 6), "hello…");
        // Wide characters take two columns each.
        assert_eq!(clip("日本語です", 7), "日本語…");
    }

    #[test]
    fn inert_neutralises_escapes() {
        let s = inert("hi\u{1b}[31mred\u{7}\u{202e}x\nnext", false);
        assert_eq!(s, "hi\\e[31mred\\u{7}\\u{202e}x⏎next");
        assert!(!s.chars().any(|c| c.is_control()));
        assert_eq!(inert("a\nb", true), "a\nb");
    }
}
