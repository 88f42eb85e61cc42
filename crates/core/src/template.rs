//! Post templates: text with `{name}` placeholders, filled when a post is made from it.
//! `{{` and `}}` stand for literal braces.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// Placeholders with no value, each named once, in order of appearance.
    #[error("no value for {}: give it with --var NAME=VALUE", names(.0))]
    Unknown(Vec<String>),
    #[error("a `{{` with no `}}` after it: write `{{{{` for a brace of its own")]
    Unclosed,
}

fn names(unknown: &[String]) -> String {
    unknown
        .iter()
        .map(|n| format!("{{{n}}}"))
        .collect::<Vec<_>>()
        .join(", ")
}

enum Piece<'a> {
    Text(&'a str),
    Brace(char),
    Name(&'a str),
}

/// The text cut into literal runs and placeholders.
fn pieces(text: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['{', '}']) {
        out.push(Piece::Text(&rest[..i]));
        let after = &rest[i + 1..];
        let c = rest.as_bytes()[i] as char;
        if after.starts_with(c) {
            out.push(Piece::Brace(c));
            rest = &after[1..];
        } else if c == '}' {
            // A lone `}` is just a brace.
            out.push(Piece::Brace('}'));
            rest = after;
        } else {
            let end = after.find('}').ok_or(TemplateError::Unclosed)?;
            out.push(Piece::Name(after[..end].trim()));
            rest = &after[end + 1..];
        }
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// The placeholders `text` uses, each once, in order.
pub fn placeholders(text: &str) -> Result<Vec<String>, TemplateError> {
    let mut seen: Vec<String> = Vec::new();
    for p in pieces(text)? {
        if let Piece::Name(n) = p
            && !seen.iter().any(|s| s == n)
        {
            seen.push(n.to_string());
        }
    }
    Ok(seen)
}

/// `text` with every placeholder replaced by its value in `vars`; every placeholder without
/// one is named in the error, and nothing is filled.
pub fn fill(text: &str, vars: &BTreeMap<String, String>) -> Result<String, TemplateError> {
    let unknown: Vec<String> = placeholders(text)?
        .into_iter()
        .filter(|n| !vars.contains_key(n))
        .collect();
    if !unknown.is_empty() {
        return Err(TemplateError::Unknown(unknown));
    }
    let mut out = String::with_capacity(text.len());
    for p in pieces(text)? {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Brace(c) => out.push(c),
            Piece::Name(n) => out.push_str(vars.get(n).map_or("", String::as_str)),
        }
    }
    Ok(out)
}

/// `text` with the placeholders `vars` has values for filled, the others left as written
/// (for an editor, where the user fills in the rest).
pub fn fill_known(text: &str, vars: &BTreeMap<String, String>) -> String {
    let Ok(pieces) = pieces(text) else {
        return text.to_string();
    };
    let mut out = String::with_capacity(text.len());
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Brace(c) => {
                out.push(c);
                out.push(c);
            }
            Piece::Name(n) => match vars.get(n) {
                Some(v) => out.push_str(v),
                None => {
                    out.push('{');
                    out.push_str(n);
                    out.push('}');
                }
            },
        }
    }
    out
}

/// [`fill`] for every part: the unknown placeholders of all parts in one error.
pub fn fill_parts(
    parts: &[String],
    vars: &BTreeMap<String, String>,
) -> Result<Vec<String>, TemplateError> {
    let mut unknown: Vec<String> = Vec::new();
    for p in parts {
        for n in placeholders(p)? {
            if !vars.contains_key(&n) && !unknown.contains(&n) {
                unknown.push(n);
            }
        }
    }
    if !unknown.is_empty() {
        return Err(TemplateError::Unknown(unknown));
    }
    parts.iter().map(|p| fill(p, vars)).collect()
}

/// The values chirp gives itself: `{date}` (2026-11-27) and `{weekday}` (Friday) of `day`.
pub fn builtins(day: chrono::NaiveDate) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("date".to_string(), day.format("%Y-%m-%d").to_string()),
        ("weekday".to_string(), day.format("%A").to_string()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn placeholders_are_filled_from_builtins_and_given_values() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let mut v = builtins(day);
        v.extend(vars(&[("release", "v2.1")]));
        assert_eq!(
            fill("{weekday} {date}: chirp {release} is out ({ release })", &v).unwrap(),
            "Friday 2026-11-27: chirp v2.1 is out (v2.1)"
        );
    }

    #[test]
    fn doubled_braces_are_braces_and_lone_closing_ones_too() {
        assert_eq!(
            fill("{{literal}} and } alone", &BTreeMap::new()).unwrap(),
            "{literal} and } alone"
        );
        assert_eq!(fill("a {b", &BTreeMap::new()), Err(TemplateError::Unclosed));
    }

    #[test]
    fn filling_what_is_known_leaves_the_rest_for_the_user() {
        assert_eq!(
            fill_known("{weekday}: {what} {{x}}", &vars(&[("weekday", "Friday")])),
            "Friday: {what} {{x}}"
        );
        assert_eq!(fill_known("a {b", &BTreeMap::new()), "a {b");
    }

    #[test]
    fn unknown_placeholders_are_all_named_once_in_order() {
        let err = fill_parts(
            &["{who} {what}".into(), "{what} {when} {date}".into()],
            &vars(&[("date", "x")]),
        )
        .unwrap_err();
        assert_eq!(
            err,
            TemplateError::Unknown(vec!["who".into(), "what".into(), "when".into()])
        );
        assert_eq!(
            err.to_string(),
            "no value for {who}, {what}, {when}: give it with --var NAME=VALUE"
        );
    }
}
