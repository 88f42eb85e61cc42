//! Every SQL statement of chirp-store, prepared against a migrated database: a column renamed
//! by a migration, a typo in a query no test happens to run, a parameter PostgreSQL cannot
//! type, all fail here rather than in a publisher weeks later. The statements are read from
//! the crate's sources (string literals that begin like SQL); `format!` placeholders are
//! filled with the crate's own constants, or with what the code puts there.
// Tests stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chirp_testdb::fresh_db;

/// A string literal of the sources: where it is, its value, whether it is `format!`'s.
struct Literal {
    at: String,
    value: String,
    formatted: bool,
}

/// The string literals of `src`, unescaped (comments and char literals skipped).
fn literals(file: &str, src: &str) -> Vec<Literal> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let line_of = |i: usize| src[..i].matches('\n').count() + 1;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = src[i..].find('\n').map_or(b.len(), |n| i + n);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = src[i..].find("*/").map_or(b.len(), |n| i + n + 2);
            }
            // A char literal ('"', '\'', 'a'); a lifetime ('a) is left alone.
            b'\'' if b.get(i + 2) == Some(&b'\'') || b.get(i + 1) == Some(&b'\\') => {
                i += src[i + 2..].find('\'').map_or(1, |n| n + 3);
            }
            b'r' if matches!(b.get(i + 1), Some(b'"' | b'#'))
                && !b[i.saturating_sub(1)].is_ascii_alphanumeric() =>
            {
                let hashes = src[i + 1..].bytes().take_while(|c| *c == b'#').count();
                let open = i + 1 + hashes;
                if b.get(open) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let end = src[open + 1..]
                    .find(&close)
                    .map_or(b.len(), |n| open + 1 + n);
                out.push(Literal {
                    at: format!("{file}:{}", line_of(i)),
                    value: src[open + 1..end].to_string(),
                    formatted: src[..i].trim_end().ends_with("format!("),
                });
                i = end + close.len();
            }
            b'"' => {
                let start = i;
                let mut value = String::new();
                let mut chars = src[i + 1..].char_indices();
                let mut end = b.len();
                while let Some((k, c)) = chars.next() {
                    match c {
                        '"' => {
                            end = i + 1 + k;
                            break;
                        }
                        '\\' => match chars.next() {
                            Some((_, 'n')) => value.push('\n'),
                            Some((_, 't')) => value.push('\t'),
                            Some((_, '\n')) => {
                                // A continued line: the next line's indentation is not text.
                                for (_, w) in chars.clone() {
                                    if !w.is_whitespace() {
                                        break;
                                    }
                                    chars.next();
                                }
                            }
                            Some((_, other)) => value.push(other),
                            None => {}
                        },
                        c => value.push(c),
                    }
                }
                out.push(Literal {
                    at: format!("{file}:{}", line_of(start)),
                    value,
                    formatted: src[..start].trim_end().ends_with("format!("),
                });
                i = end + 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// `const NAME: &str = "…";` of the sources, by name.
fn constants(sources: &[(String, String)]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (file, src) in sources {
        for (k, _) in src.match_indices("const ") {
            let rest = &src[k + 6..];
            let Some(colon) = rest.find(':') else {
                continue;
            };
            let name = rest[..colon].trim();
            let Some(eq) = rest.find('=') else { continue };
            if !rest[colon..eq].contains("&str")
                || !name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            {
                continue;
            }
            if let Some(l) = literals(file, &rest[eq..]).into_iter().next() {
                out.insert(name.to_string(), l.value);
            }
        }
    }
    out
}

/// Fills `format!`'s placeholders: a constant by its name, else what the code puts there.
fn filled(sql: &str, consts: &HashMap<String, String>) -> String {
    // What the code computes for the placeholders that are not constants.
    let computed: HashMap<&str, &str> = HashMap::from([
        ("keyset", "($2::int IS NULL OR id < $2)"),
        ("order", "id"),
        ("", "NULL"),
    ]);
    let mut out = String::new();
    let mut rest = sql;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open].replace("}}", "}"));
        if rest[open..].starts_with("{{") {
            out.push('{');
            rest = &rest[open + 2..];
            continue;
        }
        let close = rest[open..].find('}').map_or(rest.len(), |n| open + n);
        let name = &rest[open + 1..close];
        let with = consts
            .get(name)
            .map(String::as_str)
            .or_else(|| computed.get(name).copied())
            .unwrap_or_else(|| panic!("no value for {{{name}}} in {sql}"));
        out.push_str(with);
        rest = &rest[(close + 1).min(rest.len())..];
    }
    out.push_str(&rest.replace("}}", "}"));
    out
}

fn sources() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

fn is_statement(s: &str) -> bool {
    let first = s.split_whitespace().next().unwrap_or("");
    ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"].contains(&first)
}

#[tokio::test]
async fn every_statement_of_the_store_prepares_against_the_migrated_schema() {
    let t = fresh_db().await;
    let c = t.client().await;
    let sources = sources();
    let consts = constants(&sources);
    let mut statements = Vec::new();
    for (file, src) in &sources {
        for l in literals(file, src) {
            if !is_statement(&l.value) {
                continue;
            }
            let sql = if l.formatted {
                filled(&l.value, &consts)
            } else {
                l.value.clone()
            };
            statements.push((l.at, sql));
        }
    }
    // The scan found the store's statements (a scanner that finds none passes nothing).
    assert!(statements.len() > 120, "found only {}", statements.len());
    let mut failed = Vec::new();
    for (at, sql) in &statements {
        if let Err(e) = c.prepare(sql).await {
            let why = e
                .as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_string());
            failed.push(format!(
                "{at}: {why}\n    {}",
                sql.split_whitespace().collect::<Vec<_>>().join(" ")
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "{} statement(s) do not prepare:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[test]
fn the_scanner_reads_literals_as_rust_does() {
    let src = r##"
        // "SELECT not this"
        let a = 'x'; let q = '"';
        c.query("SELECT a, \"b\" FROM t \
                 WHERE x = 1", &[]);
        c.query(&format!("SELECT {COLS} FROM t WHERE {{}} = '{}'"), &[]);
        c.query(r#"SELECT "quoted" FROM t"#, &[]);
    "##;
    let l: Vec<(String, bool)> = literals("f.rs", src)
        .into_iter()
        .map(|l| (l.value, l.formatted))
        .collect();
    assert_eq!(
        l,
        [
            ("SELECT a, \"b\" FROM t WHERE x = 1".to_string(), false),
            ("SELECT {COLS} FROM t WHERE {{}} = '{}'".to_string(), true),
            ("SELECT \"quoted\" FROM t".to_string(), false),
        ]
    );
    let consts = HashMap::from([("COLS".to_string(), "a, b".to_string())]);
    assert_eq!(
        filled(&l[1].0, &consts),
        "SELECT a, b FROM t WHERE {} = 'NULL'"
    );
}
