//! $VISUAL / $EDITOR for a post's text: the terminal handed over and taken back.

use std::io::Write as _;

use crossterm::terminal;

use super::tty::{restore_terminal, take_screen};

/// The editor the user chose: `$VISUAL`, else `$EDITOR` (an empty one is not a choice, as
/// `VISUAL=` in a shell profile often is), else `vi`.
pub(super) fn chosen_editor(var: impl Fn(&str) -> Option<String>) -> String {
    ["VISUAL", "EDITOR"]
        .into_iter()
        .find_map(|name| var(name).filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "vi".into())
}

/// `$VISUAL`/`$EDITOR` as a program and its arguments, read with shell quoting rules
/// (`"/opt/My Editor/bin/ed" -n` is one program and one argument).
pub(super) fn editor_command(editor: &str) -> Result<(String, Vec<String>), String> {
    let mut words = shell_words::split(editor)
        .map_err(|e| format!("cannot read $EDITOR `{editor}`: {e}"))?
        .into_iter();
    let program = words.next().unwrap_or_else(|| "vi".into());
    Ok((program, words.collect()))
}

/// `$EDITOR` (else `vi`) on a temporary file, with the terminal handed over to it.
pub(super) async fn edit_externally(text: &str, mouse: bool) -> Result<String, String> {
    restore_terminal();
    let result = async {
        // A private file (0600, created exclusively): the text may be anything the user wrote.
        let mut tmp = tempfile::Builder::new()
            .prefix("chirp-")
            .suffix(".txt")
            .tempfile()
            .map_err(|e| format!("cannot make a file for the editor: {e}"))?;
        tmp.write_all(text.as_bytes())
            .and_then(|()| tmp.flush())
            .map_err(|e| format!("cannot write the file for the editor: {e}"))?;
        let file = tmp.path().to_path_buf();
        let editor = chosen_editor(|name| std::env::var(name).ok());
        let (program, args) = editor_command(&editor)?;
        let f = file.clone();
        let status = tokio::task::spawn_blocking(move || {
            std::process::Command::new(program)
                .args(args)
                .arg(&f)
                .status()
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot run the editor: {e}"))?;
        let out = std::fs::read_to_string(&file).map_err(|e| e.to_string());
        drop(tmp);
        if !status.success() {
            return Err(format!(
                "the editor exited with {status}; the text is unchanged"
            ));
        }
        out.map(|s| s.strip_suffix('\n').map(String::from).unwrap_or(s))
    }
    .await;
    let _ = terminal::enable_raw_mode();
    let _ = take_screen(mouse);
    let _ = std::io::stdout().flush();
    result
}
