//! CSV cells a spreadsheet will not run. A cell beginning with `=`, `+`, `-`, `@`, a tab or a
//! carriage return is a formula to Excel, LibreOffice and Google Sheets (`=cmd|' /C calc'!A0`,
//! `=HYPERLINK(…)`), so an exported post could run something when the file is opened. Such a
//! cell is written with a leading `'`, which spreadsheets read as "this is text" and do not
//! show. Import takes the one `'` off again, so an export reads back to the same posts.

/// Whether a cell would be a formula, once any quotes in front are set aside (so that a text
/// that itself begins with `'=` keeps its quote through a round trip).
fn needs_guard(cell: &str) -> bool {
    cell.trim_start_matches('\'')
        .starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// The cell as it is written to a CSV.
pub(super) fn guard(cell: String) -> String {
    if needs_guard(&cell) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// The cell as it was before [`guard`]: one leading `'` taken off a guarded formula.
pub(super) fn unguard(cell: &str) -> &str {
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
