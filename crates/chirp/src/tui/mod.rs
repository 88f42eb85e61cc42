//! The terminal UI: one event channel fed by terminal input, ticks, database notifications,
//! IO results and the background publisher → `update(&mut Model, Msg)` → `view(&Model)`.
//! `update` never awaits; queries run in tasks that answer with messages.

mod editor;
mod effects;
pub mod failure;
pub mod keymap;
pub mod model;
mod mouse;
pub mod screens;
mod sources;
mod tty;
pub mod update;
pub mod view;

use std::io::BufWriter;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use chrono::Utc;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc;

use chirp_net::DEFAULT_TIMEOUT;
use chirp_publisher::{Options, Stop};
use chirp_store::Db;

use crate::config::Config;
use effects::Effects;
use model::{Answer, Cmd, Model, Msg, PublisherState, Request};
use screens::Composer;

use editor::*;
use sources::*;
pub(crate) use tty::say;
use tty::*;

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
            let credentials = crate::cli::credentials(config, &networks, cipher, DEFAULT_TIMEOUT);
            Ok(Arc::new(effects::Reach {
                networks,
                credentials,
            }))
        }
        Err(e) => Err(failure::Failure::of(&e)),
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
            Err(e) => model.publisher = PublisherState::Off(e.to_string()),
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
