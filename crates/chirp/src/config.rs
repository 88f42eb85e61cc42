//! Configuration: a TOML file (`--config PATH`, else `$XDG_CONFIG_HOME/chirp/config.toml`),
//! with `DATABASE_URL` overriding `database.url`. Every key is optional; a bad file is reported
//! as one line that names the key and the problem.

use std::path::{Path, PathBuf};

use chirp_net::x::XConfig;

use crate::tui::keymap::{Keymap, Overrides};
use chrono_tz::Tz;
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
#[error("{}", if path.is_empty() { message.clone() } else { format!("config {path}: {message}") })]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub database: DatabaseConfig,
    pub x: XConfig,
    pub publisher: PublisherConfig,
    pub ui: UiConfig,
    /// Which events notify, and how (`[notify]`).
    pub notify: crate::notify::NotifyConfig,
    /// Key bindings that replace the defaults: `[keys.lists] new = "w"`.
    pub keys: Overrides,
    /// Where the file was read from, if any (for messages).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// A libpq-style URL or key=value string. None: the private cluster.
    pub url: Option<String>,
}

// The URL may carry a password: never print it.
impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &self.url.as_ref().map(|_| "<set>"))
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PublisherConfig {
    /// Whether the TUI runs a publisher in the background. `chirp scheduler` always publishes.
    pub enabled: bool,
    /// Whether publishers read posted posts' metrics (1 h, 24 h and 7 days after posting;
    /// each read is one owned read at X's price).
    pub read_metrics: bool,
}

impl Default for PublisherConfig {
    fn default() -> Self {
        PublisherConfig {
            enabled: true,
            read_metrics: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    /// IANA zone name; None means the machine's zone (`TZ`, then the system's).
    pub timezone: Option<String>,
    /// Image previews in the detail area: `auto` (kitty or iTerm2 graphics when the
    /// environment says the terminal is one, half blocks otherwise and inside tmux or screen),
    /// `query` (ask the terminal, which also finds sixel; a terminal that answers late may
    /// lose a keystroke to the question), `halfblocks`, or `off`.
    pub preview: Preview,
    /// Mouse: a click selects a row or a pane, the wheel scrolls, a click on a key hint runs
    /// it. Off keeps the terminal's own selection of text without holding Shift.
    pub mouse: bool,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            timezone: None,
            preview: Preview::default(),
            mouse: true,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preview {
    #[default]
    Auto,
    Query,
    Halfblocks,
    Off,
}

/// The default config file location.
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("chirp").join("config.toml"))
}

impl Config {
    /// Every network chirp can reach, as this config says, each request bounded by
    /// `timeout`: the one place the binary gets network clients from.
    pub fn networks(&self, timeout: std::time::Duration) -> chirp_net::Networks {
        chirp_net::Networks::from_config(&chirp_net::NetworksConfig {
            x: self.x.clone(),
            timeout,
        })
    }

    /// Reads the config: `explicit` must exist; the default path may be absent.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let (path, must_exist) = match explicit {
            Some(p) => (Some(p.to_path_buf()), true),
            None => (default_path(), false),
        };
        let mut config = match &path {
            Some(p) => match std::fs::read_to_string(p) {
                Ok(text) => Self::parse(&text, p)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
                    Config::default()
                }
                Err(e) => {
                    return Err(ConfigError {
                        path: p.display().to_string(),
                        message: format!("cannot read it: {e}"),
                    });
                }
            },
            None => Config::default(),
        };
        if let Ok(url) = std::env::var("DATABASE_URL")
            && !url.trim().is_empty()
        {
            if !chirp_store::valid_url(&url) {
                return Err(ConfigError {
                    path: String::new(),
                    message: "DATABASE_URL is not a PostgreSQL connection string (e.g. postgresql://user@host/db)".into(),
                });
            }
            config.database.url = Some(url);
        }
        if config.source.is_none() {
            // No file: the environment alone is checked (TZ).
            config.validate().map_err(|message| ConfigError {
                path: String::new(),
                message,
            })?;
        }
        Ok(config)
    }

    /// Parses and validates the text of a config file.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let err = |message: String| ConfigError {
            path: path.display().to_string(),
            message,
        };
        let mut config: Config = toml::from_str(text).map_err(|e| {
            let place = e.span().map(|s| locate(text, s)).unwrap_or_default();
            err(format!("{place}{}", e.message().replace('\n', " ")))
        })?;
        config.source = Some(path.to_path_buf());
        config.validate().map_err(err)?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        if self.ui.timezone.is_none() {
            env_timezone()?;
        }
        if let Some(tz) = &self.ui.timezone {
            tz.parse::<Tz>().map_err(|_| {
                format!("ui.timezone: `{tz}` is not an IANA time zone (e.g. Europe/Berlin, UTC)")
            })?;
        }
        for (key, value) in [
            ("x.api_base_url", &self.x.api_base_url),
            ("x.authorize_url", &self.x.authorize_url),
            ("x.redirect_uri", &self.x.redirect_uri),
        ] {
            let u = url::Url::parse(value)
                .map_err(|e| format!("{key}: `{value}` is not a URL ({e})"))?;
            if !matches!(u.scheme(), "http" | "https") {
                return Err(format!("{key}: `{value}` must be an http(s) URL"));
            }
        }
        self.x.pricing.check()?;
        Keymap::with_overrides(&self.keys)?;
        if let Some(url) = &self.database.url
            && !chirp_store::valid_url(url)
        {
            return Err(
                "database.url: not a PostgreSQL connection string (e.g. postgresql://user@host/db)"
                    .into(),
            );
        }
        Ok(())
    }

    /// The keymap: the defaults with `[keys]` applied (checked when the file was read).
    pub fn keymap(&self) -> Result<Keymap, ConfigError> {
        Keymap::with_overrides(&self.keys).map_err(|message| ConfigError {
            path: self
                .source
                .as_ref()
                .map_or_else(|| "(defaults)".into(), |p| p.display().to_string()),
            message,
        })
    }

    /// The zone times are shown and read in.
    pub fn timezone(&self) -> Tz {
        self.ui
            .timezone
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(local_timezone)
    }
}

/// "line N: section.key: " for an error at `span`, so the message names the key.
fn locate(text: &str, span: std::ops::Range<usize>) -> String {
    let before = &text[..span.start.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let section = before
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix('[')?.strip_suffix(']'))
        .map(str::trim);
    let line_text = text[before.rfind('\n').map_or(0, |i| i + 1)..]
        .lines()
        .next()
        .unwrap_or("");
    let key = line_text
        .split('=')
        .next()
        .map(str::trim)
        .filter(|k| line_text.contains('=') && !k.is_empty() && !k.starts_with('['));
    match (section, key) {
        (Some(s), Some(k)) => format!("line {line}: {s}.{k}: "),
        (None, Some(k)) => format!("line {line}: {k}: "),
        _ => format!("line {line}: "),
    }
}

/// The zone `TZ` names, if it is set: `Europe/Berlin`, `:Europe/Berlin`, or a path into the
/// zoneinfo database. A `TZ` chirp cannot read is an error naming it, not a silent UTC.
fn env_timezone() -> Result<Option<Tz>, String> {
    let Ok(raw) = std::env::var("TZ") else {
        return Ok(None);
    };
    let name = raw.trim().trim_start_matches(':');
    if name.is_empty() {
        return Ok(None);
    }
    let name = name.rsplit_once("zoneinfo/").map_or(name, |(_, n)| n);
    name.parse::<Tz>().map(Some).map_err(|_| {
        format!(
            "TZ=`{raw}` is not an IANA time zone (e.g. Europe/Berlin, UTC): fix TZ or set ui.timezone"
        )
    })
}

/// The machine's zone: `TZ` if it names an IANA zone, else the system's, else UTC.
pub fn local_timezone() -> Tz {
    env_timezone()
        .ok()
        .flatten()
        .or_else(|| iana_time_zone::get_timezone().ok()?.parse().ok())
        .unwrap_or(Tz::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("c.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn example_file_is_valid_and_complete() {
        let c = parse(include_str!("../../../config.example.toml")).unwrap();
        assert!(c.publisher.enabled);
        assert_eq!(c.x.api_base_url, "https://api.x.com");
        // The example spells out today's prices: the same as the defaults.
        assert_eq!(c.x.pricing, chirp_core::Pricing::default());
    }

    #[test]
    fn prices_come_from_x_pricing_and_must_be_dollars() {
        let c = parse(
            "[x.pricing]
create_with_url = 0.25
",
        )
        .unwrap();
        let p = c.x.pricing;
        assert_eq!((p.part("a.com"), p.part("plain")), (250_000, 15_000));
        let e = parse(
            "[x.pricing]
create = -1
",
        )
        .unwrap_err();
        assert_eq!(
            e,
            "config c.toml: [x.pricing] create = -1 is not a price in dollars (like 0.015)"
        );
        let e = parse(
            "[x.pricing]
creat = 0.1
",
        )
        .unwrap_err();
        assert!(e.contains("x.pricing.creat: unknown field"), "{e}");
    }

    #[test]
    fn errors_name_the_key() {
        let e = parse("[database]\nurll = 'x'\n").unwrap_err();
        assert_eq!(
            e,
            "config c.toml: line 2: database.urll: unknown field `urll`, expected `url`"
        );
        assert!(!e.contains('\n'));
        let e = parse("[ui]\ntimezone = 'Mars/Olympus'\n").unwrap_err();
        assert_eq!(
            e,
            "config c.toml: ui.timezone: `Mars/Olympus` is not an IANA time zone (e.g. Europe/Berlin, UTC)"
        );
        let e = parse("[publisher]\nenabled = 'yes'\n").unwrap_err();
        assert!(
            e.starts_with("config c.toml: line 2: publisher.enabled: invalid type"),
            "{e}"
        );
        let e = parse("[x]\napi_base_url = 'ftp://x'\n").unwrap_err();
        assert!(e.contains("x.api_base_url"), "{e}");
    }

    #[test]
    fn keys_are_checked_with_the_file() {
        let c = parse("[keys.lists]\nnew = \"w\"\n").unwrap();
        assert!(c.keymap().is_ok());
        let e = parse("[keys.lists]\nnew = \"d\"\n").unwrap_err();
        assert_eq!(
            e,
            "config c.toml: keys.lists: `d` is bound to both new and delete: give one of them another key"
        );
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let c =
            parse("[database]\nurl='postgresql://u:hunter2@h/db'\n[x]\nclient_secret='s3cret'\n")
                .unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("hunter2") && !dbg.contains("s3cret"), "{dbg}");
    }
}
