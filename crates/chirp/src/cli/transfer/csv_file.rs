//! The CSV side of export and import: a row per post for spreadsheets, and rows read back.
//!
//! Cells a spreadsheet will not run. A cell beginning with `=`, `+`, `-`, `@`, a tab or a
//! carriage return is a formula to Excel, LibreOffice and Google Sheets (`=cmd|' /C calc'!A0`,
//! `=HYPERLINK(…)`), so an exported post could run something when the file is opened. Such a
//! cell is written with a leading `'`, which spreadsheets read as "this is text" and do not
//! show. Import takes the one `'` off again, so an export reads back to the same posts.

use std::path::Path;

use anyhow::{Result, anyhow, bail};
use chrono::{DateTime, Utc};

use super::{PartOut, PostOut, Row, RowMedia, RowPart, RowWhen, resolve};
use crate::cli::UsageError;
use chirp_core::{Status, text};

pub(super) fn csv_of(posts: &[PostOut]) -> Result<Vec<u8>> {
    let most = posts
        .iter()
        .map(|p| p.parts.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let mut header: Vec<String> = [
        "id",
        "account",
        "status",
        "scheduled_at",
        "queued",
        "posted_at",
        "x_tweet_id",
        "error_message",
        "parts",
        "text",
    ]
    .map(String::from)
    .to_vec();
    header.extend((2..=most).map(|n| format!("part{n}")));
    header.push("media".into());
    header.extend((2..=most).map(|n| format!("media{n}")));
    header.push("alt".into());
    header.extend((2..=most).map(|n| format!("alt{n}")));
    // How it did, as last read (posted posts that were read).
    header.extend(["impressions", "likes", "reposts", "replies"].map(String::from));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header)?;
    let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    for p in posts {
        let mut row = vec![
            p.id.to_string(),
            p.account.clone().unwrap_or_default(),
            p.status.clone(),
            time(p.scheduled_at),
            p.queued.to_string(),
            time(p.posted_at),
            p.x_tweet_id.clone().unwrap_or_default(),
            p.error_message.clone().unwrap_or_default(),
            p.parts.len().to_string(),
        ];
        let cell =
            |i: usize, f: &dyn Fn(&PartOut) -> String| p.parts.get(i).map(f).unwrap_or_default();
        row.extend((0..most).map(|i| cell(i, &|part| part.text.clone())));
        row.extend((0..most).map(|i| {
            cell(i, &|part| {
                part.media
                    .iter()
                    .map(|m| m.file.clone().unwrap_or_else(|| m.sha256.clone()))
                    .collect::<Vec<_>>()
                    .join("|")
            })
        }));
        row.extend((0..most).map(|i| {
            cell(i, &|part| {
                part.media
                    .iter()
                    .map(|m| m.alt_text.clone().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("|")
            })
        }));
        let last = p.metrics.last();
        row.extend(
            [
                last.map(|m| m.impressions),
                last.map(|m| m.likes),
                last.map(|m| m.reposts),
                last.map(|m| m.replies),
            ]
            .map(|n| n.map(|n| n.to_string()).unwrap_or_default()),
        );
        w.write_record(row.into_iter().map(guard))?;
    }
    w.into_inner().map_err(|e| anyhow!("cannot write CSV: {e}"))
}

pub(super) fn read_csv(bytes: &[u8], path: &Path, base: &Path) -> Result<Vec<Row>> {
    let bad = |e: csv::Error| {
        anyhow!(UsageError(format!(
            "{}: not readable as CSV: {e}",
            path.display()
        )))
    };
    let mut r = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let header: Vec<String> = r
        .headers()
        .map_err(bad)?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let Some(text_col) = col("text") else {
        bail!(UsageError(format!(
            "{}: no `text` column: the first line names the columns (text, scheduled_at, account, part2…, media…)",
            path.display()
        )));
    };
    let mut rows = Vec::new();
    for (i, record) in r.records().enumerate() {
        let record = record.map_err(bad)?;
        let cell = |name: &str| {
            col(name)
                .and_then(|c| record.get(c))
                .map(unguard)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        let label = format!("row {}", i + 2);
        // Only posts still to send come from a CSV; another status is refused by name.
        let refused_status = cell("status").filter(|s| s != "draft" && s != "scheduled");
        let text_of = |c: usize| unguard(record.get(c).unwrap_or("")).to_string();
        let mut texts = vec![text_of(text_col)];
        let mut n = 2;
        while let Some(c) = col(&format!("part{n}")) {
            texts.push(text_of(c));
            n += 1;
        }
        // Trailing empty part columns are no parts (other rows have more).
        while texts.len() > 1 && texts.last().is_some_and(|t| t.trim().is_empty()) {
            texts.pop();
        }
        let parts = texts
            .into_iter()
            .enumerate()
            .map(|(k, text)| {
                let suffix = if k == 0 {
                    String::new()
                } else {
                    (k + 1).to_string()
                };
                let files = cell(&format!("media{suffix}")).unwrap_or_default();
                let alts = cell(&format!("alt{suffix}")).unwrap_or_default();
                let alts: Vec<&str> = alts.split('|').collect();
                let media = files
                    .split('|')
                    .map(str::trim)
                    .filter(|f| !f.is_empty())
                    .enumerate()
                    .map(|(j, f)| RowMedia {
                        file: Some(resolve(base, f)),
                        sha256: None,
                        alt: alts
                            .get(j)
                            .map(|a| a.trim().to_string())
                            .filter(|a| !a.is_empty()),
                    })
                    .collect();
                RowPart {
                    text: text::normalize_newlines(&text),
                    media,
                    ..RowPart::default()
                }
            })
            .collect();
        let when = match cell("scheduled_at") {
            None => RowWhen::Draft,
            Some(w) if crate::cli::queue::is_next(&w) => RowWhen::Queue,
            Some(w) => RowWhen::Words(w),
        };
        rows.push(Row {
            label,
            account: cell("account"),
            status: Status::Scheduled,
            refused_status,
            when,
            parts,
            error_message: None,
            unpublished_at: None,
            group: None,
            metrics: Vec::new(),
            gone_from_x_at: None,
            unfilled: Vec::new(),
        });
    }
    Ok(rows)
}

/// Whether a cell would be a formula, once any quotes in front are set aside (so that a text
/// that itself begins with `'=` keeps its quote through a round trip).
fn needs_guard(cell: &str) -> bool {
    cell.trim_start_matches('\'')
        .starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// The cell as it is written to a CSV.
fn guard(cell: String) -> String {
    if needs_guard(&cell) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// The cell as it was before [`guard`]: one leading `'` taken off a guarded formula.
fn unguard(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_guard(cell) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_text_and_read_back_as_they_were() {
        for (text, written) in [
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            ("+1 for this", "'+1 for this"),
            ("-5 degrees today", "'-5 degrees today"),
            ("@alice", "'@alice"),
            ("\tindented", "'\tindented"),
            ("'=already quoted", "''=already quoted"),
            ("plain words", "plain words"),
            ("it's = fine", "it's = fine"),
            ("'quoted'", "'quoted'"),
            ("", ""),
        ] {
            assert_eq!(guard(text.to_string()), written, "{text:?}");
            assert_eq!(unguard(written), text, "{written:?}");
        }
    }

    #[test]
    fn a_hand_written_formula_is_read_as_written() {
        // Nothing guarded it: it is imported as it stands (and guarded when exported).
        assert_eq!(unguard("=1+1"), "=1+1");
        assert_eq!(unguard("@me"), "@me");
    }
}
