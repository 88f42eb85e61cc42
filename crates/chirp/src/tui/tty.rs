//! The terminal: taken on start, given back on every way out (return, error, panic, suspend), logs to a private file instead of the screen, and which image protocol it speaks.

use anyhow::{Context, Result};

use crossterm::{execute, terminal};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// Puts the terminal back however we leave: return, error or panic.
pub(super) struct TerminalGuard;

impl TerminalGuard {
    pub(super) fn enter(mouse: bool) -> Result<TerminalGuard> {
        terminal::enable_raw_mode().context("cannot switch the terminal to raw mode")?;
        take_screen(mouse)?;
        Ok(TerminalGuard)
    }
}

/// The alternate screen, bracketed paste and (when wanted) the mouse.
pub(super) fn take_screen(mouse: bool) -> std::io::Result<()> {
    execute!(
        std::io::stdout(),
        terminal::EnterAlternateScreen,
        crossterm::event::EnableBracketedPaste
    )?;
    if mouse {
        execute!(std::io::stdout(), crossterm::event::EnableMouseCapture)?;
    }
    Ok(())
}

pub(super) fn restore_terminal() {
    let _ = execute!(
        std::io::stdout(),
        crossterm::event::DisableMouseCapture,
        crossterm::event::DisableBracketedPaste,
        terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = terminal::disable_raw_mode();
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Ctrl-Z: the terminal as the shell left it, the process stopped (SIGTSTP, as the shell's
/// job control expects); after `fg` (SIGCONT) the terminal is taken again and redrawn.
pub(super) fn suspend<W: std::io::Write>(
    term: &mut Terminal<CrosstermBackend<W>>,
    mouse: bool,
) -> std::io::Result<()> {
    restore_terminal();
    chirp_store::stop_self();
    terminal::enable_raw_mode()?;
    take_screen(mouse)?;
    redraw_all(term)
}

/// Clears the screen and has the next draw paint every cell. Not `Terminal::clear`: it asks
/// the terminal where its cursor is, and an answer that comes late (over SSH, or read by the
/// input task that is starting again) made chirp take the terminal for gone.
pub(super) fn redraw_all<W: std::io::Write>(
    term: &mut Terminal<CrosstermBackend<W>>,
) -> std::io::Result<()> {
    let size = term.size()?;
    term.resize(ratatui::layout::Rect::new(0, 0, size.width, size.height))
}

/// A line on stderr that is dropped, not a panic, when the terminal is gone.
pub(crate) fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Logs go to a file (`$XDG_STATE_HOME/chirp/chirp.log`), never to the screen.
pub(super) fn init_file_log() {
    let Some(dir) = dirs::state_dir()
        .or_else(dirs::data_dir)
        .map(|d| d.join("chirp"))
    else {
        return;
    };
    if let Ok(file) = open_private_log(&dir) {
        let _ = tracing_subscriber::fmt()
            .with_writer(std::sync::Mutex::new(file))
            .with_ansi(false)
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "info".into()),
            )
            .try_init();
    }
}

/// The log file in `dir`: the directory 0700, the file 0600 (logs name accounts and posts).
pub(super) fn open_private_log(dir: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(dir.join("chirp.log"))?;
    // A log made by an older chirp may be readable by others: not any more.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

/// How images are drawn. `auto` never reads the terminal's input (a question whose answer
/// comes late, over SSH or through tmux, would take the user's keystrokes): it goes by what
/// the environment says the terminal is. `query` asks, before chirp takes the terminal.
pub(super) fn picker(
    mode: crate::config::Preview,
    env: impl Fn(&str) -> Option<String>,
) -> Option<ratatui_image::picker::Picker> {
    use crate::config::Preview;
    use ratatui_image::picker::{Picker, ProtocolType};
    match mode {
        Preview::Off => None,
        Preview::Halfblocks => Some(Picker::halfblocks()),
        Preview::Query => Some(Picker::from_query_stdio().unwrap_or_else(|_| Picker::halfblocks())),
        Preview::Auto => {
            let mut p = Picker::halfblocks();
            p.set_protocol_type(graphics_from_env(&env).unwrap_or(ProtocolType::Halfblocks));
            Some(p)
        }
    }
}

/// The graphics protocol the environment says the terminal speaks, outside multiplexers
/// (which pass graphics through only when configured to).
pub(super) fn graphics_from_env(
    env: &impl Fn(&str) -> Option<String>,
) -> Option<ratatui_image::picker::ProtocolType> {
    use ratatui_image::picker::ProtocolType;
    let set = |k: &str| env(k).is_some_and(|v| !v.is_empty());
    if set("TMUX") || set("STY") || env("TERM").is_some_and(|t| t.starts_with("screen")) {
        return None;
    }
    let term = env("TERM").unwrap_or_default();
    let program = env("TERM_PROGRAM").unwrap_or_default();
    if set("KITTY_WINDOW_ID") || term == "xterm-kitty" || program == "ghostty" {
        Some(ProtocolType::Kitty)
    } else if program == "iTerm.app" || program == "WezTerm" {
        Some(ProtocolType::Iterm2)
    } else {
        None
    }
}
