//! Whether a post read back from X's timeline is the one chirp sent, for reconciliation after
//! an unknown outcome. X stores text NFC-normalised and trimmed, returns it HTML-escaped
//! (`&amp;`), and replaces every link with a t.co one whose target it gives in
//! `entities.urls`. So both sides are normalised, and each link compared by where it points:
//! never "any link matches any link", which would take one post for another.

use twitter_text::extractor::{Extract, Extractor};
use unicode_normalization::UnicodeNormalization;

use super::Tweet;

/// The text of `tweet` as its author wrote it, as far as X lets it be rebuilt: escapes undone
/// and each t.co link replaced by the link it stands for. None when a link cannot be
/// resolved (X gave no target for it): then nobody can tell which post it is.
pub fn rendered_text(tweet: &Tweet) -> Option<String> {
    let mut text = tweet
        .text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let entities = tweet
        .entities
        .as_ref()
        .map(|e| e.urls.as_slice())
        .unwrap_or_default();
    for e in entities {
        let target = e.expanded_url.as_deref()?;
        // X ends the text of a post with media with a link to that media: not the author's.
        if is_media_link(target) && text.trim_end().ends_with(&e.url) {
            let cut = text.trim_end().len() - e.url.len();
            text = text[..cut].trim_end().to_string();
            continue;
        }
        text = text.replacen(&e.url, target, 1);
    }
    // A t.co link left over is one X did not explain.
    (!text.contains("https://t.co/")).then_some(text)
}

/// X's link to a post's own media: `https://x.com/{user}/status/{id}/photo/1` (or `video`).
fn is_media_link(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://x.com/")
        .or_else(|| url.strip_prefix("https://twitter.com/"))
    else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    matches!(
        parts.as_slice(),
        [_, "status", id, "photo" | "video", n]
            if id.bytes().all(|b| b.is_ascii_digit()) && n.bytes().all(|b| b.is_ascii_digit())
    )
}

/// Whether `tweet` (as X returns it) is the text `ours` (as chirp sent it).
pub fn same_post(tweet: &Tweet, ours: &str) -> bool {
    rendered_text(tweet).is_some_and(|theirs| key(&theirs) == key(ours))
}

/// The text normalised as X does (NFC, trimmed), with every link in one canonical form
/// (`example.com/a` and `http://example.com/a` are the same link to X).
fn key(text: &str) -> String {
    let mut s: String = text.trim().nfc().collect();
    let mut urls: Vec<String> = Extractor::new()
        .extract_urls_with_indices(&s)
        .iter()
        .map(|e| e.get_value().to_string())
        .collect();
    // Longest first, so a URL that is a prefix of another is not half-replaced.
    urls.sort_by_key(|u| std::cmp::Reverse(u.len()));
    urls.dedup();
    for u in urls {
        s = s.replace(&u, &format!("\u{1}{}\u{1}", canonical_url(&u)));
    }
    s
}

/// A link as X would point it: a scheme (http when none), host in lower case, no trailing `/`.
fn canonical_url(u: &str) -> String {
    let (scheme, rest) = match u.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => ("http".to_string(), u),
    };
    let (host, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let path = path.strip_suffix('/').unwrap_or(path);
    format!("{scheme}://{}{path}", host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x::{Entities, UrlEntity};

    fn tweet(text: &str, links: &[(&str, &str)]) -> Tweet {
        Tweet {
            id: "1".into(),
            text: text.into(),
            entities: (!links.is_empty()).then(|| Entities {
                urls: links
                    .iter()
                    .map(|(url, to)| UrlEntity {
                        url: (*url).into(),
                        expanded_url: Some((*to).into()),
                    })
                    .collect(),
            }),
            referenced_tweets: None,
            attachments: None,
        }
    }

    #[test]
    fn the_link_x_adds_to_a_post_with_media_is_not_the_authors() {
        let photo = "https://x.com/chirp_tester/status/1860000000000000001/photo/1";
        let x = tweet("two pets https://t.co/m1", &[("https://t.co/m1", photo)]);
        assert!(same_post(&x, "two pets"));
        assert!(!same_post(&x, "two pets https://t.co/m1"));
        // Media and no text.
        let video = "https://x.com/chirp_tester/status/1860000000000000002/video/1";
        assert!(same_post(
            &tweet("https://t.co/v1", &[("https://t.co/v1", video)]),
            ""
        ));
        // A link the author wrote to someone's photo, in the middle, stays a link.
        let theirs = tweet("look https://t.co/a1 wow", &[("https://t.co/a1", photo)]);
        assert!(same_post(&theirs, &format!("look {photo} wow")));
    }

    #[test]
    fn reconciliation_sees_through_what_x_does_to_text() {
        assert!(same_post(&tweet("hello world", &[]), " hello world\n"));
        assert!(same_post(&tweet("caf\u{e9}", &[]), "cafe\u{301}"), "NFC");
        let long = "https://example.com/a/very/long/path?x=1";
        assert!(same_post(
            &tweet(
                "read this https://t.co/AbCdEf123 &amp; that &lt;3",
                &[("https://t.co/AbCdEf123", long)]
            ),
            &format!("read this {long} & that <3")
        ));
        // A bare domain is a link to X, which gives it a scheme.
        assert!(same_post(
            &tweet(
                "see https://t.co/x1",
                &[("https://t.co/x1", "http://Example.com/a/")]
            ),
            "see example.com/a"
        ));
        assert!(!same_post(&tweet("hello world", &[]), "hello world!"));
    }

    #[test]
    fn links_are_compared_by_where_they_point() {
        let x = tweet(
            "launch https://t.co/a1",
            &[("https://t.co/a1", "https://example.com/1")],
        );
        assert!(same_post(&x, "launch https://example.com/1"));
        assert!(
            !same_post(&x, "launch https://example.org/2"),
            "two posts that differ only in their link are two posts"
        );
        // X did not say where the link goes: it cannot be told apart, so it is not a match.
        assert!(!same_post(
            &tweet("launch https://t.co/a1", &[]),
            "launch https://example.com/1"
        ));
        assert!(!same_post(
            &tweet(
                "two https://t.co/a1 https://t.co/b2",
                &[
                    ("https://t.co/a1", "https://example.com/"),
                    ("https://t.co/b2", "https://example.org/")
                ]
            ),
            "two https://example.com/"
        ));
    }
}
