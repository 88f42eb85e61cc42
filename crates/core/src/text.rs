//! X's rule for post text (twitter-text, config v3): weighted length up to 280, where URLs
//! weigh 23, CJK and emoji 2, after NFC normalisation. The database only keeps a loose sanity
//! CHECK; this module is the rule the app enforces before every write and every publish.

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

/// A network's rule for the text of one post. X's is [`XText`]; another network brings its own.
pub trait TextRule {
    /// The most a post may weigh.
    fn limit(&self) -> i32;
    /// The post's weight as the network counts it.
    fn count(&self, text: &str) -> TextCount;
    /// Whether the network would accept `text`; the error says what to change.
    fn validate(&self, text: &str) -> Result<TextCount, TextError>;
}

/// X's rule: twitter-text with config v3.
#[derive(Debug, Clone, Copy, Default)]
pub struct XText;

impl TextRule for XText {
    fn limit(&self) -> i32 {
        LIMIT
    }
    fn count(&self, text: &str) -> TextCount {
        count(text)
    }
    fn validate(&self, text: &str) -> Result<TextCount, TextError> {
        validate(text)
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

/// Characters that show nothing: a post made only of these (and spaces) looks empty.
fn invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}' | '\u{034F}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}'
                | '\u{FEFF}'
        )
}

/// Line ends as typed on any terminal or pasted from anywhere (CRLF, lone CR) as LF.
pub fn normalize_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// Whether X would accept `text`; the error says what to change.
pub fn validate(text: &str) -> Result<TextCount, TextError> {
    if text.chars().all(invisible) {
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
        // Zero-width characters show nothing: still empty.
        assert_eq!(validate("\u{200b}\u{200b} \u{2060}"), Err(TextError::Empty));
        assert!(validate("a\u{200b}").is_ok());
        assert_eq!(normalize_newlines("a\r\nb\rc\n"), "a\nb\nc\n");
        assert_eq!(validate("a\0b"), Err(TextError::Nul));
        assert_eq!(
            validate("a\u{FEFF}b"),
            Err(TextError::InvalidChar("U+FEFF".into()))
        );
    }
}
