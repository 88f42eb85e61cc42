//! Token refreshes in a process of their own (see `chirp_credentials::helper`): every chirp
//! command that may refresh builds its credentials here, and `chirp refresh-token` (hidden)
//! is the helper it starts.

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use chirp_credentials::{Ask, Credentials, Helper};
use chirp_net::{Cipher, Networks};
use tokio::signal::unix::{SignalKind, signal};

use crate::config::Config;

/// The credentials service of a chirp command: refreshes run in a helper process (this
/// binary, with the same config) so that killing the command cannot cut one. Without a
/// binary to start (it was removed meanwhile), they run here.
pub(crate) fn credentials(
    config: &Config,
    networks: &Networks,
    cipher: Cipher,
    timeout: Duration,
) -> Credentials {
    let here = Credentials::new(networks, cipher);
    match std::env::current_exe() {
        Ok(exe) => {
            let mut args: Vec<OsString> = Vec::new();
            if let Some(path) = &config.source {
                args.extend(["--config".into(), path.clone().into_os_string()]);
            }
            args.extend([
                "refresh-token".into(),
                "--x-timeout".into(),
                timeout.as_secs().max(1).to_string().into(),
            ]);
            here.helper(Helper::new(exe, args))
        }
        Err(e) => {
            tracing::warn!(%e, "refreshing in this process: no chirp binary to start");
            here
        }
    }
}

/// `chirp refresh-token`: one refresh, its outcome on stdout. It outlives whoever started it
/// (a kill of the scheduler, a closed terminal, `systemctl stop` signalling the whole group):
/// SIGINT, SIGTERM and SIGHUP are heard and ignored, and it ends within the network's timeout
/// plus the time to store the answer.
pub(super) async fn serve(
    config: &Config,
    account: i32,
    ask: Ask,
    x_timeout: u64,
) -> Result<ExitCode> {
    let _deaf = [
        signal(SignalKind::interrupt())?,
        signal(SignalKind::terminate())?,
        signal(SignalKind::hangup())?,
    ];
    let (db, _) = super::open_db(config).await?;
    let said = async {
        let cipher = chirp_credentials::key(&db).await?;
        let networks = config.networks(Duration::from_secs(x_timeout));
        let here = Credentials::new(&networks, cipher);
        Ok::<_, anyhow::Error>(chirp_credentials::helper::serve(here, &db, account, ask).await)
    }
    .await;
    db.close();
    let said = said?;
    use std::io::Write as _;
    // Whoever started it may be gone: its answer is in the database either way.
    let _ = std::io::stdout().lock().write_all(said.as_bytes());
    Ok(ExitCode::SUCCESS)
}
