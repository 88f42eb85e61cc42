//! The terminal UI: one event channel fed by terminal input, ticks, database notifications,
//! IO results and the background publisher → `update(&mut Model, Msg)` → `view(&Model)`.
//! `update` never awaits; queries run in tasks that answer with messages.

mod effects;
pub mod keymap;
pub mod model;
mod mouse;
pub mod screens;
pub mod update;
pub mod view;

use std::io::{BufWriter, Write as _};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use crossterm::event::{EventStream, KeyEventKind};
use crossterm::{execute, terminal};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc;

use chirp_credentials::Credentials;
use chirp_net::DEFAULT_TIMEOUT;
use chirp_publisher::{Options, Stop};
use chirp_store::Db;
use chirp_store::notify::{self, Heard};

use crate::config::Config;
use effects::{Effects, Tx};
use model::{Answer, Cmd, DbState, Model, Msg, PublisherState, Request};
use screens::Composer;

/// Puts the terminal back however we leave: return, error or panic.
struct TerminalGuard;

impl TerminalGuard {
    fn enter(mouse: bool) -> Result<TerminalGuard> {
        terminal::enable_raw_mode().context("cannot switch the terminal to raw mode")?;
        take_screen(mouse)?;
        Ok(TerminalGuard)
    }
}

/// The alternate screen, bracketed paste and (when wanted) the mouse.
fn take_screen(mouse: bool) -> std::io::Result<()> {
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

fn restore_terminal() {
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

/// Logs go to a file (`$XDG_STATE_HOME/chirp/chirp.log`), never to the screen.
fn init_file_log() {
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
fn open_private_log(dir: &std::path::Path) -> std::io::Result<std::fs::File> {
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

/// The editor the user chose: `$VISUAL`, else `$EDITOR` (an empty one is not a choice, as
/// `VISUAL=` in a shell profile often is), else `vi`.
fn chosen_editor(var: impl Fn(&str) -> Option<String>) -> String {
    ["VISUAL", "EDITOR"]
        .into_iter()
        .find_map(|name| var(name).filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "vi".into())
}

/// How images are drawn. `auto` never reads the terminal's input (a question whose answer
/// comes late, over SSH or through tmux, would take the user's keystrokes): it goes by what
/// the environment says the terminal is. `query` asks, before chirp takes the terminal.
fn picker(
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
fn graphics_from_env(
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

/// `$VISUAL`/`$EDITOR` as a program and its arguments, read with shell quoting rules
/// (`"/opt/My Editor/bin/ed" -n` is one program and one argument).
fn editor_command(editor: &str) -> Result<(String, Vec<String>), String> {
    let mut words = shell_words::split(editor)
        .map_err(|e| format!("cannot read $EDITOR `{editor}`: {e}"))?
        .into_iter();
    let program = words.next().unwrap_or_else(|| "vi".into());
    Ok((program, words.collect()))
}

pub async fn run(config: &Config) -> Result<ExitCode> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        anyhow::bail!(crate::error::UsageError(
            "the TUI needs a terminal; for scripts use the subcommands (chirp --help)".into()
        ));
    }
    init_file_log();
    let (db, _) = crate::cli::open_db(config).await?;
    let db = Arc::new(db);
    let result = run_with(config, db.clone()).await;
    // Background tasks may still hold the database; closing the pool ends their work (the
    // private server keeps running for the next command, until `chirp db stop`).
    db.close();
    result
}

async fn run_with(config: &Config, db: Arc<Db>) -> Result<ExitCode> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut model = Model::new(config.timezone(), Utc::now(), color);
    model.keys = config.keymap()?;
    model.pricing = config.x.pricing;

    // The background publisher, when enabled and able to read tokens.
    let mut running: Option<crate::running::Publisher> = None;
    // The networks, for unpublishing, connecting and the publisher: reaching them takes the
    // key that decrypts tokens.
    let access: effects::Access = match chirp_credentials::key(&db).await {
        Ok(cipher) => {
            let networks = config.networks(DEFAULT_TIMEOUT);
            let credentials = Credentials::new(&networks, cipher);
            Ok(Arc::new(effects::Reach {
                networks,
                credentials,
            }))
        }
        Err(e) => Err(e.to_string()),
    };
    if config.publisher.enabled {
        match &access {
            Ok(reach) => {
                let networks = reach.networks.clone();
                let credentials = reach.credentials.clone();
                let (etx, mut erx) = mpsc::unbounded_channel();
                let t = tx.clone();
                tokio::spawn(async move {
                    while let Some(e) = erx.recv().await {
                        if t.send(Msg::Publisher(e)).is_err() {
                            break;
                        }
                    }
                });
                running = Some(crate::running::Publisher::start(
                    &db,
                    networks,
                    credentials,
                    Options {
                        request_timeout: DEFAULT_TIMEOUT,
                        collect_metrics: config.publisher.read_metrics,
                        ..Options::default()
                    },
                    etx,
                ));
            }
            Err(e) => model.publisher = PublisherState::Off(e.clone()),
        }
    } else {
        model.publisher = PublisherState::Off("publisher.enabled = false".into());
    }

    model.picker = picker(config.ui.preview, |k| std::env::var(k).ok());

    let prev_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        prev_hook(info);
    }));
    let guard = TerminalGuard::enter(config.ui.mouse)?;
    let mut term = Terminal::new(CrosstermBackend::new(BufWriter::new(std::io::stdout())))?;
    let size = term.size()?;
    model.width = size.width;
    model.height = size.height;

    let mut input = spawn_input(tx.clone());
    spawn_ticks(tx.clone());
    spawn_listener(db.clone(), tx.clone());
    spawn_signals(tx.clone());
    let effects = Effects::new(db.clone(), tx.clone(), model.tz, access);
    update::load_account(&mut model);
    for r in update::reload_all(&mut model) {
        effects.run(r);
    }
    term.draw(|f| view::view(&model, f))?;

    // A terminal that goes away (the tmux pane closed, the SSH connection dropped) ends the
    // loop, but never the steps after it: what is being typed is still kept.
    let mut gone: Option<std::io::Error> = None;
    'events: while let Some(first) = rx.recv().await {
        // Everything already queued is handled before one redraw.
        let mut batch = vec![first];
        while let Ok(m) = rx.try_recv() {
            batch.push(m);
        }
        let mut requests: Vec<Request> = Vec::new();
        // Bell and desktop notifications for events worth attention, written after the frame.
        let mut announce: Vec<u8> = Vec::new();
        for msg in batch {
            if let Msg::Publisher(e) = &msg {
                let who = |a| model.handle(a).unwrap_or_else(|| format!("account {a}"));
                if let Some((kind, text)) = crate::notify::notice(e, &who) {
                    announce.extend(config.notify.bytes(kind, &text, crate::notify::in_tmux()));
                }
            }
            requests.extend(update::update(&mut model, msg));
        }
        while let Some(Request { id, cmd }) = (!requests.is_empty()).then(|| requests.remove(0)) {
            match cmd {
                // The editor takes the terminal: the input task stops reading it meanwhile.
                Cmd::OpenEditor(text) => {
                    // Gone, not just asked to go: its reader must not take the editor's keys.
                    input.abort();
                    let _ = (&mut input).await;
                    let result = edit_externally(&text, config.ui.mouse).await;
                    if let Err(e) = redraw_all(&mut term) {
                        gone = Some(e);
                        break 'events;
                    }
                    input = spawn_input(tx.clone());
                    let msg = Msg::Answer(id, Answer::Edited(result));
                    requests.extend(update::update(&mut model, msg));
                }
                // The shell gets the terminal until `fg`; then everything is drawn again.
                Cmd::Suspend => {
                    input.abort();
                    let _ = (&mut input).await;
                    if let Err(e) = suspend(&mut term, config.ui.mouse) {
                        gone = Some(e);
                        break 'events;
                    }
                    input = spawn_input(tx.clone());
                }
                // Straight to the terminal (nothing is drawn by it), between frames.
                Cmd::Copy(text) => {
                    use std::io::Write as _;
                    let seq = crate::notify::clipboard(&text);
                    let w = term.backend_mut();
                    let _ = w.write_all(&seq).and_then(|()| w.flush());
                }
                cmd => effects.run(Request { id, cmd }),
            }
        }
        if model.quit {
            break;
        }
        if let Err(e) = term.draw(|f| view::view(&model, f)) {
            gone = Some(e);
            break;
        }
        // Escape sequences that draw nothing: the frame stays as it is.
        if !announce.is_empty() {
            use std::io::Write as _;
            let w = term.backend_mut();
            let _ = w.write_all(&announce).and_then(|()| w.flush());
        }
    }
    input.abort();
    // Text being composed is never thrown away: keep it as a draft, first of all (the
    // terminal may be gone: a closed pane sends SIGHUP, and then writes to it fail).
    let mut kept = None;
    if let Some(c) = model.screen::<Composer>()
        && c.modified()
        && c.has_text()
    {
        kept = Some(effects::save_unsaved(&db, c.id, &c.parts()).await);
    }
    // ratatui's Terminal prints (and so panics) on drop when it cannot show the cursor of a
    // terminal that no longer exists: show it here, and forget a terminal that is gone.
    if term.show_cursor().is_ok() {
        drop(term);
    } else {
        std::mem::forget(term);
    }
    drop(guard);
    if let Some(line) = kept {
        say(&line);
    }
    if let Some(mut p) = running {
        p.stop(Stop::Finish);
        // Posts in flight finish (or time out at X) before we go; say so if that takes a while.
        if tokio::time::timeout(Duration::from_secs(1), &mut p.task)
            .await
            .is_err()
        {
            say(
                "chirp: finishing the post being sent (Ctrl-C hands it back, to be checked on X before any resend)",
            );
            let interrupted = async {
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = &mut p.task => {}
                () = interrupted => {
                    p.stop(Stop::Release);
                    let _ = tokio::time::timeout(Duration::from_secs(10), &mut p.task).await;
                }
                () = tokio::time::sleep(Duration::from_secs(35)) => {
                    p.stop(Stop::Release);
                    let _ = tokio::time::timeout(Duration::from_secs(10), &mut p.task).await;
                }
            }
        }
    }
    match gone {
        Some(e) => Err(anyhow::Error::new(e).context("the terminal went away")),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// Ctrl-Z: the terminal as the shell left it, the process stopped (SIGTSTP, as the shell's
/// job control expects); after `fg` (SIGCONT) the terminal is taken again and redrawn.
fn suspend<W: std::io::Write>(
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
fn redraw_all<W: std::io::Write>(term: &mut Terminal<CrosstermBackend<W>>) -> std::io::Result<()> {
    let size = term.size()?;
    term.resize(ratatui::layout::Rect::new(0, 0, size.width, size.height))
}

/// A line on stderr that is dropped, not a panic, when the terminal is gone.
pub(crate) fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn spawn_input(tx: Tx) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut events = EventStream::new();
        while let Some(read) = events.next().await {
            let ev = match read {
                Ok(ev) => ev,
                // A signal (SIGCONT after Ctrl-Z and `fg`, SIGWINCH) interrupted the read:
                // read on.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!("reading the terminal failed: {e}");
                    break;
                }
            };
            let msg = match ev {
                crossterm::event::Event::Key(k) if k.kind != KeyEventKind::Release => Msg::Key(k),
                crossterm::event::Event::Paste(p) => Msg::Paste(p),
                crossterm::event::Event::Mouse(e) => Msg::Mouse(e),
                crossterm::event::Event::Resize(w, h) => Msg::Resize(w, h),
                _ => continue,
            };
            if tx.send(msg).is_err() {
                break;
            }
        }
    })
}

fn spawn_ticks(tx: Tx) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        loop {
            every.tick().await;
            if tx.send(Msg::Tick(Utc::now())).is_err() {
                break;
            }
        }
    });
}

fn spawn_signals(tx: Tx) {
    use tokio::signal::unix::{SignalKind, signal};
    tokio::spawn(async move {
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        let _ = tx.send(Msg::Quit);
    });
}

/// LISTENs for post changes; reports the connection's state and reconnects with back-off.
fn spawn_listener(db: Arc<Db>, tx: Tx) {
    tokio::spawn(async move {
        let mut wait = Duration::from_millis(500);
        loop {
            match notify::listen(&db).await {
                Ok(mut l) => {
                    wait = Duration::from_millis(500);
                    if tx.send(Msg::Db(DbState::Connected)).is_err() {
                        return;
                    }
                    while let Some(h) = l.rx.recv().await {
                        let msg = match h {
                            Heard::Change(_) => Msg::Changed,
                            Heard::Lost(e) => Msg::Db(DbState::Reconnecting(e)),
                        };
                        if tx.send(msg).is_err() {
                            return;
                        }
                    }
                }
                Err(e) => {
                    if tx
                        .send(Msg::Db(DbState::Reconnecting(e.to_string())))
                        .is_err()
                    {
                        return;
                    }
                }
            }
            // Spread out, so that many TUIs do not all knock at once when the database is back.
            let mut b = [0u8; 1];
            let _ = getrandom::fill(&mut b);
            tokio::time::sleep(chirp_core::policy::jittered(wait, f64::from(b[0]) / 255.0)).await;
            wait = (wait * 2).min(Duration::from_secs(10));
        }
    });
}

/// `$EDITOR` (else `vi`) on a temporary file, with the terminal handed over to it.
async fn edit_externally(text: &str, mouse: bool) -> Result<String, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_editor_is_read_with_shell_quoting() {
        assert_eq!(
            editor_command("code --wait").unwrap(),
            ("code".to_string(), vec!["--wait".to_string()])
        );
        assert_eq!(
            editor_command("'/opt/My Editor/bin/ed' -n").unwrap(),
            ("/opt/My Editor/bin/ed".to_string(), vec!["-n".to_string()])
        );
        assert!(
            editor_command("vim '")
                .unwrap_err()
                .contains("cannot read $EDITOR")
        );
    }

    #[test]
    fn graphics_are_chosen_from_the_environment_never_inside_tmux() {
        use ratatui_image::picker::ProtocolType;
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_string())
            }
        };
        assert_eq!(
            graphics_from_env(&env(&[("KITTY_WINDOW_ID", "3")])),
            Some(ProtocolType::Kitty)
        );
        assert_eq!(
            graphics_from_env(&env(&[("TERM_PROGRAM", "iTerm.app")])),
            Some(ProtocolType::Iterm2)
        );
        assert_eq!(
            graphics_from_env(&env(&[
                ("KITTY_WINDOW_ID", "3"),
                ("TMUX", "/tmp/tmux-0/default,1,0")
            ])),
            None,
            "a kitty variable seen through tmux is no promise"
        );
        assert_eq!(graphics_from_env(&env(&[("TERM", "xterm-256color")])), None);
        assert!(picker(crate::config::Preview::Off, env(&[])).is_none());
        let p = picker(
            crate::config::Preview::Auto,
            env(&[("TERM", "xterm-kitty")]),
        )
        .unwrap();
        assert_eq!(p.protocol_type(), ProtocolType::Kitty);
    }

    #[test]
    fn an_empty_visual_falls_back_to_editor() {
        let env = |visual: &'static str, editor: &'static str| {
            move |name: &str| match name {
                "VISUAL" => Some(visual.to_string()).filter(|_| visual != "-"),
                _ => Some(editor.to_string()).filter(|_| editor != "-"),
            }
        };
        assert_eq!(chosen_editor(env("", "nano")), "nano");
        assert_eq!(chosen_editor(env("hx", "nano")), "hx");
        assert_eq!(chosen_editor(env("-", " ")), "vi");
    }

    #[test]
    fn the_log_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("state/chirp");
        open_private_log(&dir).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("chirp.log")), 0o600);
    }
}
