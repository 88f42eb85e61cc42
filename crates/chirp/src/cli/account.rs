//! `chirp account connect | status | list | default | disconnect`.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, anyhow};
use chrono_tz::Tz;

use super::UsageError;
use crate::config::Config;
use crate::present::inert;
use chirp_core::when;
use chirp_credentials::Credentials;
use chirp_net::x::connect;
use chirp_net::x::oauth::{OAuth, OAuthError};
use chirp_net::{Cipher, DEFAULT_TIMEOUT};
use chirp_store::{Db, accounts};

pub(super) async fn connect(
    config: &Config,
    no_browser: bool,
    timeout_secs: u64,
) -> Result<ExitCode> {
    let networks = config.networks(DEFAULT_TIMEOUT);
    let oauth = networks.x_oauth().map_err(|e| match e {
        OAuthError::NoClientId | OAuthError::BadConfig { .. } => anyhow!(UsageError(e.to_string())),
        other => anyhow!(other),
    })?;
    // Problems with the database or the key should show before the user goes to a browser.
    let cipher = Cipher::load_default()?;
    let (db, _) = crate::cli::open_db(config).await?;
    let credentials = Credentials::new(&networks, cipher);
    let result = connect_with(
        &db,
        &networks,
        &oauth,
        &credentials,
        no_browser,
        timeout_secs,
    )
    .await;
    db.close();
    result
}

async fn connect_with(
    db: &Db,
    networks: &chirp_net::Networks,
    oauth: &OAuth,
    credentials: &Credentials,
    no_browser: bool,
    timeout_secs: u64,
) -> Result<ExitCode> {
    // Catch Ctrl-C from the moment the user is asked to act.
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let callback = connect::listen(&oauth.redirect_uri).await?;
    let pending = oauth.start();
    let port = oauth.redirect_uri.port().unwrap_or(80);
    let mut out = std::io::stdout();
    writeln!(out, "Open this address in a browser and approve chirp:\n")?;
    writeln!(out, "  {}\n", pending.url)?;
    writeln!(
        out,
        "Waiting for X to send the browser to {} (over SSH, forward it first: ssh -L {port}:127.0.0.1:{port} THIS_HOST).",
        oauth.redirect_uri
    )?;
    writeln!(
        out,
        "Or paste here the address the browser ended on (or just the code):"
    )?;
    out.flush()?;
    if !no_browser && connect::has_display() {
        let _ = std::process::Command::new("xdg-open")
            .arg(pending.url.as_str())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
    let answer = connect::wait_for_answer(
        callback,
        &pending.state,
        Duration::from_secs(timeout_secs),
        true,
        &mut interrupt,
    )
    .await?;
    let code = connect::check(answer, &pending.state)?;
    let tokens = oauth
        .exchange(&code, pending.verifier)
        .await
        .map_err(|e| anyhow!("{e}: nothing was saved"))?;
    let x = networks
        .x_client()
        .ok_or_else(|| anyhow!("chirp cannot reach X: nothing was saved"))?;
    let me = x
        .me(&tokens.access)
        .await
        .map_err(|e| anyhow!("{e}: nothing was saved"))?;
    let id = credentials
        .save_connected(db, &me.id, &me.username, &tokens)
        .await?;
    outln!("connected as @{}", me.username);
    let c = db.client().await?;
    if let Some(default) = accounts::status(&c).await?.filter(|d| d.id != id) {
        let other = default.username.unwrap_or_default();
        outln!(
            "posts go to @{other} unless you say --account @{0}; to make @{0} the default: chirp account default @{0}",
            me.username
        );
    }
    if tokens.refresh.is_none() {
        eprintln!(
            "warning: X gave no refresh token (is offline.access allowed for the app?); you will need to reconnect when the access token expires"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Why the stored tokens of a connected account cannot be used here, if they cannot: the key
/// is missing or is not the one that encrypted them.
async fn token_problem(db: &Db, account: i32) -> Option<String> {
    match chirp_credentials::key(db).await {
        Ok(cipher) => chirp_credentials::unreadable(db, &cipher, account)
            .await
            .unwrap_or_else(|e| Some(e.to_string())),
        Err(e) => Some(e.to_string()),
    }
}

pub(super) async fn status(
    db: &Db,
    json: bool,
    handle: Option<String>,
    tz: Tz,
) -> Result<ExitCode> {
    let c = db.client().await?;
    let st = match handle {
        Some(h) => Some(accounts::status_by_id(&c, accounts::find(&c, &h).await?).await?),
        None => accounts::status(&c).await?,
    };
    let problem = match &st {
        Some(s) if s.connected => token_problem(db, s.id).await,
        _ => None,
    };
    if json {
        let v = match &st {
            Some(s) => {
                let mut v = serde_json::to_value(s)?;
                v["tokens_problem"] = serde_json::json!(problem);
                v
            }
            None => {
                serde_json::json!({"username": null, "connected": false, "needs_reconnect": false, "posts_waiting": 0})
            }
        };
        outln!("{v}");
        return Ok(ExitCode::SUCCESS);
    }
    match st {
        Some(s) if s.connected && problem.is_some() => {
            outln!(
                "@{} · its tokens cannot be read: {}; {} post(s) wait until then.",
                s.username.unwrap_or_default(),
                problem.unwrap_or_default(),
                s.posts_waiting
            );
        }
        Some(s) if s.connected => {
            outln!("@{} · connected", s.username.clone().unwrap_or_default());
            if !s.can_post_media {
                outln!(
                    "  reconnect to post media: it was connected before chirp asked X for media uploads (chirp account connect)"
                );
            }
            if let Some(t) = s.token_expires_at {
                outln!(
                    "  access token expires {} (refreshed automatically)",
                    when::show(t, &tz)
                );
            }
            if let Some(t) = s.token_refreshed_at {
                outln!(
                    "  last refreshed {} ({} refresh(es) so far)",
                    when::show(t, &tz),
                    s.refreshes
                );
            }
            if let Some(t) = s.refresh_started_at {
                outln!(
                    "  a refresh started {} has not finished (under way, or its process stopped: the next refresh tells)",
                    when::show(t, &tz)
                );
            }
            if let Some(t) = s.rate_limited_until.filter(|t| *t > chrono::Utc::now()) {
                outln!("  rate limited by X until {}", when::show(t, &tz));
            }
            if let Some(t) = s.out_of_credits_at {
                outln!(
                    "  out of credits since {}: its posts wait; top up at X, then run `chirp account resume @{}`",
                    when::show(t, &tz),
                    s.username.clone().unwrap_or_default()
                );
            }
            outln!("  {} post(s) waiting", s.posts_waiting);
        }
        Some(s) if s.needs_reconnect => {
            let why = s
                .reconnect_reason
                .as_deref()
                .unwrap_or("X refused the refresh token");
            outln!(
                "@{} · needs reconnecting: {}. Run `chirp account connect`; {} post(s) wait until then.",
                s.username.unwrap_or_default(),
                inert(why, false),
                s.posts_waiting
            );
        }
        Some(s) => outln!(
            "not connected: run `chirp account connect`; {} post(s) wait until then.",
            s.posts_waiting
        ),
        None => outln!("not connected: run `chirp account connect`"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `chirp account list`: every connected account, one line (or JSON object) each.
pub(super) async fn list(db: &Db, json: bool, tz: Tz) -> Result<ExitCode> {
    let c = db.client().await?;
    let all = accounts::list(&c).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(ExitCode::SUCCESS);
    }
    if all.is_empty() {
        outln!("no account is connected: run `chirp account connect`");
        return Ok(ExitCode::SUCCESS);
    }
    let width = all
        .iter()
        .map(|a| a.username.as_deref().map_or(1, |u| u.chars().count() + 1))
        .max()
        .unwrap_or(1);
    for a in &all {
        let handle = format!("@{}", a.username.clone().unwrap_or_default());
        let state = if a.connected && !a.can_post_media {
            "connected · reconnect to post media (chirp account connect)".to_string()
        } else if a.connected {
            "connected".to_string()
        } else if a.needs_reconnect {
            "needs reconnect (chirp account connect)".to_string()
        } else {
            "not connected (chirp account connect)".to_string()
        };
        let mut line = format!(
            "{} {handle:<width$}  {state} · {} waiting",
            if a.is_default { "*" } else { " " },
            a.posts_waiting
        );
        if let Some(t) = a.rate_limited_until.filter(|t| *t > chrono::Utc::now()) {
            line.push_str(&format!(" · rate limited until {}", when::show(t, &tz)));
        }
        if a.out_of_credits_at.is_some() {
            line.push_str(&format!(
                " · out of credits (top up, then chirp account resume {handle})"
            ));
        }
        outln!("{line}");
    }
    outln!("(* the default: posts go there unless --account says otherwise)");
    Ok(ExitCode::SUCCESS)
}

/// `chirp account resume @handle`: its posts held for want of credits go out again.
pub(super) async fn resume(db: &Db, handle: String) -> Result<ExitCode> {
    let mut c = db.client().await?;
    let id = accounts::find(&c, &handle).await?;
    let name = accounts::handle(&c, id).await?.unwrap_or_default();
    match accounts::resume(&mut c, id).await? {
        Some(n) => outln!("@{name} resumed: {n} post(s) due now go out at once"),
        None => outln!("@{name} was not held for credits: nothing to resume"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `chirp account default @handle`.
pub(super) async fn make_default(db: &Db, handle: String) -> Result<ExitCode> {
    let c = db.client().await?;
    let id = accounts::find(&c, &handle).await?;
    accounts::set_default(&c, id).await?;
    let st = accounts::status_by_id(&c, id).await?;
    outln!(
        "@{} is the default account: new posts go there unless --account says otherwise",
        st.username.unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn disconnect(
    db: &Db,
    config: &Config,
    handle: Option<String>,
) -> Result<ExitCode> {
    let c = db.client().await?;
    let st = match handle {
        Some(h) => Some(accounts::status_by_id(&c, accounts::find(&c, &h).await?).await?),
        None => {
            let live: Vec<_> = accounts::list(&c)
                .await?
                .into_iter()
                .filter(|s| s.connected || s.needs_reconnect)
                .collect();
            if live.len() > 1 {
                let names: Vec<String> = live
                    .iter()
                    .map(|a| format!("@{}", a.username.clone().unwrap_or_default()))
                    .collect();
                anyhow::bail!(UsageError(format!(
                    "several accounts are connected ({}): say which, e.g. chirp account disconnect {}",
                    names.join(", "),
                    names[0]
                )));
            }
            live.into_iter().next()
        }
    };
    let Some(st) = st.filter(|s| s.connected || s.needs_reconnect) else {
        outln!("no account is connected");
        return Ok(ExitCode::SUCCESS);
    };
    // Revoke at X first; whatever X says, forget the tokens here.
    let warning = match Cipher::load_default() {
        Ok(cipher) => {
            Credentials::new(&config.networks(DEFAULT_TIMEOUT), cipher)
                .revoke_and_forget(db, st.id)
                .await?
        }
        Err(e) => {
            accounts::deactivate(&c, st.id).await?;
            Some(e.to_string())
        }
    };
    outln!(
        "disconnected @{}; its posts are kept ({} waiting until an account is connected again)",
        st.username.unwrap_or_default(),
        st.posts_waiting
    );
    if let Some(w) = warning {
        eprintln!(
            "warning: could not revoke the tokens at X ({w}); they stop working when they expire, or revoke chirp under X's connected apps settings"
        );
    }
    Ok(ExitCode::SUCCESS)
}
