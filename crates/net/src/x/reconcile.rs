//! Whether a post read back from X's timeline is the one chirp sent, for reconciliation after
//! an unknown outcome. X stores text NFC-normalised and trimmed, returns it HTML-escaped
//! (`&amp;`), and replaces every link with a t.co one; so both sides are normalised and links
//! compared as "a link".

use twitter_text::extractor::{Extract, Extractor};
use unicode_normalization::UnicodeNormalization;

/// Whether `on_x` (as X returns it) is the text `ours` (as chirp sent it).
pub fn same_post(on_x: &str, ours: &str) -> bool {
    let unescaped = on_x
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    reconcile_key(&unescaped) == reconcile_key(ours)
}

fn reconcile_key(text: &str) -> String {
    let mut s: String = text.trim().nfc().collect();
    let mut urls: Vec<String> = Extractor::new()
        .extract_urls_with_indices(&s)
        .iter()
        .map(|e| e.get_value().to_string())
        .collect();
    // Longest first, so a URL that is a prefix of another is not half-replaced.
    urls.sort_by_key(|u| std::cmp::Reverse(u.len()));
    for u in urls {
        s = s.replace(&u, "\u{1}link");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
