//! Bluesky's rule: a post's text is at most 300 grapheme clusters and 3,000 bytes (the
//! `app.bsky.feed.post` lexicon's `maxGraphemes` and `maxLength`). Links count as written.

use unicode_segmentation::UnicodeSegmentation;

use super::{TextCount, TextError, TextRule, basic_checks};
use crate::Network;

pub const MAX_GRAPHEMES: i32 = 300;
pub const MAX_BYTES: usize = 3000;

/// Bluesky's rule.
#[derive(Debug, Clone, Copy, Default)]
pub struct BlueskyText;

impl TextRule for BlueskyText {
    fn network(&self) -> Network {
        Network::Bluesky
    }

    fn limit(&self) -> i32 {
        MAX_GRAPHEMES
    }

    fn count(&self, text: &str) -> TextCount {
        let weighted = i32::try_from(text.graphemes(true).count()).unwrap_or(i32::MAX);
        TextCount {
            weighted,
            valid: weighted <= MAX_GRAPHEMES
                && text.len() <= MAX_BYTES
                && !text.chars().all(super::invisible),
        }
    }

    fn validate(&self, text: &str) -> Result<TextCount, TextError> {
        let network = Network::Bluesky;
        basic_checks(network, text, MAX_BYTES)?;
        let c = self.count(text);
        if c.weighted > MAX_GRAPHEMES {
            return Err(TextError::TooLong {
                network,
                weighted: c.weighted,
                limit: MAX_GRAPHEMES,
            });
        }
        if text.len() > MAX_BYTES {
            return Err(TextError::TooManyBytes {
                network,
                bytes: text.len(),
                max: MAX_BYTES,
            });
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphemes_up_to_300() {
        let r = BlueskyText;
        assert_eq!(r.count("👍🏽🇫🇷e\u{301}").weighted, 3);
        assert!(r.validate(&"a".repeat(300)).is_ok());
        assert_eq!(
            r.validate(&"a".repeat(301)).unwrap_err().to_string(),
            "the post is 301/300 characters: shorten it by 1"
        );
        // A link counts every character.
        let link = format!("https://example.com/{}", "a".repeat(280));
        assert_eq!(r.count(&link).weighted, 300);
    }

    #[test]
    fn and_3000_bytes() {
        // 300 family emoji: 300 graphemes, 7,500 bytes.
        let family = "👨‍👩‍👧‍👦".repeat(300);
        assert_eq!(BlueskyText.count(&family).weighted, 300);
        assert!(matches!(
            BlueskyText.validate(&family),
            Err(TextError::TooManyBytes { bytes: 7500, .. })
        ));
    }
}
