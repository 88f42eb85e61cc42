//! Mastodon's rule: the text counted in grapheme clusters, where every `http(s)://` link counts
//! as the instance's `characters_reserved_per_url` (23) and a mention `@user@domain` as
//! `@user`, up to the instance's `max_characters` (500 on most, more on some).

use unicode_segmentation::UnicodeSegmentation;

use super::{TextCount, TextError, TextRule, basic_checks};
use crate::Network;

/// The most characters any text is counted for (no instance allows posts near this).
const MAX_CHARS: usize = 100_000;

/// Mastodon's rule, with an instance's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MastodonText {
    pub max_characters: i32,
    pub characters_reserved_per_url: i32,
}

impl MastodonText {
    /// What most instances say (mastodon.social among them).
    pub const DEFAULT: MastodonText = MastodonText {
        max_characters: 500,
        characters_reserved_per_url: 23,
    };
}

impl Default for MastodonText {
    fn default() -> Self {
        MastodonText::DEFAULT
    }
}

impl TextRule for MastodonText {
    fn network(&self) -> Network {
        Network::Mastodon
    }

    fn limit(&self) -> i32 {
        self.max_characters
    }

    fn count(&self, text: &str) -> TextCount {
        let url = usize::try_from(self.characters_reserved_per_url).unwrap_or(23);
        let weighted =
            i32::try_from(countable(text, url).graphemes(true).count()).unwrap_or(i32::MAX);
        TextCount {
            weighted,
            valid: weighted <= self.max_characters && !text.chars().all(super::invisible),
        }
    }

    fn validate(&self, text: &str) -> Result<TextCount, TextError> {
        basic_checks(Network::Mastodon, text, MAX_CHARS)?;
        let c = self.count(text);
        if c.weighted > self.max_characters {
            return Err(TextError::TooLong {
                network: Network::Mastodon,
                weighted: c.weighted,
                limit: self.max_characters,
            });
        }
        Ok(c)
    }
}

/// The text as Mastodon counts it: each link replaced by `url_chars` characters, each
/// mention by its local part.
fn countable(text: &str, url_chars: usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev: Option<char> = None;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let boundary = prev.is_none_or(|p| !is_word(p));
        if boundary && let Some(len) = url_at(rest) {
            out.extend(std::iter::repeat_n('x', url_chars));
            prev = rest[..len].chars().next_back();
            rest = &rest[len..];
            continue;
        }
        if c == '@'
            && prev.is_none_or(|p| !(is_word(p) || p == '=' || p == '/'))
            && let Some((local, len)) = mention_at(rest)
        {
            out.push('@');
            out.push_str(local);
            prev = rest[..len].chars().next_back();
            rest = &rest[len..];
            continue;
        }
        out.push(c);
        prev = Some(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The length of the link `s` starts with: `http://` or `https://` and what follows up to
/// whitespace, less the punctuation that ends a sentence around it.
fn url_at(s: &str) -> Option<usize> {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    let scheme = if lower.starts_with("https://") {
        8
    } else if lower.starts_with("http://") {
        7
    } else {
        return None;
    };
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    let url = s[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '"', '\'']);
    (url.len() > scheme).then_some(url.len())
}

/// At an `@`: the mention's local part and the whole mention's length (`@user` or
/// `@user@domain.tld`), as Mastodon's mention pattern finds them.
fn mention_at(s: &str) -> Option<(&str, usize)> {
    let after = &s[1..];
    let user_len = after
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(after.len());
    if user_len == 0 {
        return None;
    }
    let local = &after[..user_len];
    let mut len = 1 + user_len;
    if let Some(domain) = s[len..].strip_prefix('@') {
        let d = domain_len(domain);
        if d > 0 {
            len += 1 + d;
        }
    }
    Some((local, len))
}

/// `word+ ([.-]+ word+)*` at the start of `s`: a domain.
fn domain_len(s: &str) -> usize {
    let word = |t: &str| t.find(|c: char| !is_word(c)).unwrap_or(t.len());
    let mut len = word(s);
    if len == 0 {
        return 0;
    }
    loop {
        let rest = &s[len..];
        let seps = rest.find(|c| c != '.' && c != '-').unwrap_or(rest.len());
        if seps == 0 {
            return len;
        }
        let w = word(&rest[seps..]);
        if w == 0 {
            return len;
        }
        len += seps + w;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weight(text: &str) -> i32 {
        MastodonText::DEFAULT.count(text).weighted
    }

    #[test]
    fn graphemes_count_one_each() {
        assert_eq!(weight("hello"), 5);
        // An emoji with a skin tone, a flag, a combining accent: one each.
        assert_eq!(weight("👍🏽🇫🇷e\u{301}"), 3);
        assert_eq!(weight("故人西辞"), 4);
    }

    #[test]
    fn links_count_as_the_reserved_length_whatever_their_length() {
        let long = format!("see https://example.com/{}", "a".repeat(200));
        assert_eq!(weight(&long), 4 + 23);
        // Without a scheme it is text, as Mastodon counts it.
        assert_eq!(weight("example.com"), 11);
        // The full stop after a link is the sentence's.
        assert_eq!(weight("https://example.com/x."), 24);
        let wide = MastodonText {
            characters_reserved_per_url: 30,
            ..MastodonText::DEFAULT
        };
        assert_eq!(wide.count("http://a.b").weighted, 30);
    }

    #[test]
    fn a_mention_counts_as_its_local_part() {
        assert_eq!(
            weight("@alice@mastodon.social hi"),
            "@alice hi".len() as i32
        );
        assert_eq!(weight("@bob"), 4);
        // Not a mention: an address, a link's path.
        assert_eq!(weight("me@example.org"), 14);
        assert_eq!(weight("https://x.y/@bob@z.w"), 23);
    }

    #[test]
    fn the_instance_limit_decides() {
        let r = MastodonText::DEFAULT;
        assert!(r.validate(&"a".repeat(500)).is_ok());
        assert_eq!(
            r.validate(&"a".repeat(501)).unwrap_err().to_string(),
            "the post is 501/500 characters: shorten it by 1"
        );
        let big = MastodonText {
            max_characters: 5000,
            ..MastodonText::DEFAULT
        };
        assert!(big.validate(&"a".repeat(501)).is_ok());
        assert_eq!(r.validate(" \n"), Err(TextError::Empty));
        assert_eq!(
            r.validate("a\0").unwrap_err().to_string(),
            "the post contains a NUL byte, which Mastodon does not accept: remove it"
        );
    }
}
