//! Text on a terminal: post text and network messages are made inert (no control character
//! or escape sequence reaches the terminal) and cut to the columns they have.

use std::fmt::Write as _;

use unicode_width::UnicodeWidthChar;

/// Text made safe to put on a terminal: control characters (including ESC, so no escape
/// sequence can reach the terminal) become visible escapes like `\e` or `\u{7}`. Newlines and
/// tabs are kept only when `keep_newlines` is set (the detail view); lists show `⏎`.
pub(crate) fn inert(text: &str, keep_newlines: bool) -> String {
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

/// Terminal columns `s` takes (wide characters count two).
pub(crate) fn width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// Cuts `s` to `cols` terminal columns, ending in `…` when cut.
pub(crate) fn clip(s: &str, cols: usize) -> String {
    if width(s) <= cols {
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

/// Cuts `s` to `cols` columns between words, ending in `…` when cut (a first word longer
/// than the line is cut inside it, as nothing else would show).
pub(crate) fn clip_words(s: &str, cols: usize) -> String {
    if width(s) <= cols {
        return s.to_string();
    }
    let room = cols.saturating_sub(1);
    let mut out = String::new();
    for word in s.split_inclusive(' ') {
        if width(&out) + width(word.trim_end()) > room {
            break;
        }
        out.push_str(word);
    }
    let out = out.trim_end();
    if out.is_empty() {
        return clip(s, cols);
    }
    format!("{out}…")
}

/// Key hints that fit in `cols` columns: as many of `items` as fit, in order, then `last`
/// (the help key), which is always shown.
pub(crate) fn fit_hints(items: &[String], last: &str, cols: usize) -> String {
    let mut shown: Vec<&str> = Vec::new();
    let mut used = width(last);
    for item in items {
        let add = width(item) + 3;
        if used + add > cols {
            break;
        }
        used += add;
        shown.push(item);
    }
    shown.push(last);
    shown.join(" · ")
}

/// "alt: a cat on a keyboard" (inert), or "no alt text".
pub(crate) fn alt_label(alt: Option<&str>) -> String {
    alt.map_or_else(
        || "no alt text".to_string(),
        |t| format!("alt: {}", inert(t, false)),
    )
}

/// "image image/png · 3.2 MB · alt: a cat": a stored file, as the lists' detail area and
/// `chirp show` describe it.
pub(crate) fn attachment(a: &chirp_store::media::Attachment) -> String {
    format!(
        "{} {} · {} · {}",
        a.kind,
        a.media_type,
        chirp_core::media::size(u64::try_from(a.size_bytes).unwrap_or(0)),
        alt_label(a.alt_text.as_deref())
    )
}

/// A store error as the command line says it: the store says what is wrong, and the command
/// line adds what to run about a refusal (the TUI says its own).
pub(crate) fn cli_words(e: &chirp_store::StoreError) -> String {
    match e.refusal() {
        Some(r) => refusal_words(r),
        None => e.to_string(),
    }
}

/// A refusal with what to run about it.
pub(crate) fn refusal_words(r: &chirp_store::Refusal) -> String {
    use chirp_store::Refusal as R;
    match r {
        R::UnknownAccount { handle, known } if known.is_empty() => {
            format!(
                "no connected account @{handle}; none is connected: run `chirp account connect`"
            )
        }
        R::UnknownAccount { handle, known } => {
            let handles: Vec<String> = known.iter().map(|h| format!("@{h}")).collect();
            format!(
                "no connected account @{handle} (connected: {}; see chirp account list)",
                handles.join(", ")
            )
        }
        R::NoQueue(h) => {
            format!("{r}: set them with `chirp queue set @{h} \"mon-fri 09:00,17:00\"`")
        }
        R::UnknownTemplate { known, .. } if known.is_empty() => {
            format!("{r}: `chirp template save POST_ID NAME` makes one")
        }
        R::TemplateExists(_) => format!("{r}: pick another name, or --replace it"),
        R::Unfilled(_) => format!("{r}: `chirp edit ID` fills them (it stays a draft until then)"),
        other => other.to_string(),
    }
}

/// A failure as the command line prints it: each error of the chain in its words (a store
/// error with the command line's advice), outermost first, on one line.
pub(crate) fn cli_failure(e: &anyhow::Error) -> String {
    let said = e
        .chain()
        .map(|c| match c.downcast_ref::<chirp_store::StoreError>() {
            Some(db) => cli_words(db),
            None => c.to_string(),
        })
        .collect::<Vec<_>>()
        .join(": ")
        .replace('\n', " ");
    // Errors quote what was given (an --at, a handle, a row of a file): never as escapes.
    inert(&said, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_text_is_cut_between_words_and_hints_keep_help_last() {
        assert_eq!(
            clip_words("post 1 scheduled for Fri 2026-11-27 17:00", 24),
            "post 1 scheduled for…"
        );
        assert_eq!(clip_words("short", 24), "short");
        assert_eq!(clip_words("unbreakable-long-word", 8), "unbreak…");
        let items: Vec<String> = ["q quit", "n new", "e edit", "s schedule"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            fit_hints(&items, "? help", 80),
            "q quit · n new · e edit · s schedule · ? help"
        );
        assert_eq!(fit_hints(&items, "? help", 24), "q quit · n new · ? help");
        assert_eq!(fit_hints(&items, "? help", 3), "? help");
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
        assert!(!s.chars().any(char::is_control));
        assert_eq!(inert("a\nb", true), "a\nb");
    }
}
