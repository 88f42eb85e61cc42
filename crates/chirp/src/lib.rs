//! chirp, the program: the command line, the TUI and the wiring of the layers below (core,
//! store, net, credentials, publisher). No SQL and no HTTP here: screens and commands reach
//! the database through `chirp-store` and X through `chirp-net`.

pub mod cli;
pub mod config;
mod error;
pub mod media;
pub mod notify;
mod present;
pub mod running;
pub mod stats;
pub mod tui;

use std::io::Write as _;
use std::process::ExitCode;

use config::Config;

/// The program: parse the command line, read the config, then the TUI (no subcommand) or
/// one command. Every failure is one line on stderr; exit 2 for bad arguments or config.
pub fn main() -> ExitCode {
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chirp: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        let config = Config::load(cli.config.as_deref())?;
        match cli.command {
            None => tui::run(&config).await,
            Some(command) => cli::run(command, &config).await,
        }
    });
    // A blocked stdin read (the paste prompt of `account connect`) must not keep us alive.
    runtime.shutdown_background();
    match result {
        Ok(code) => code,
        // The reader went away (`chirp list | head -1`): nothing more to say, to anyone.
        Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Not eprintln: with the terminal gone it would panic instead of exiting.
            let _ = writeln!(std::io::stderr(), "chirp: {}", present::cli_failure(&e));
            ExitCode::from(error::kind_of(&e).exit_code())
        }
    }
}

fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
