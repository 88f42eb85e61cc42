//! The token journal: a network's answer to a refresh, kept on this host until the database
//! has it. A network that rotates refresh tokens (X, Bluesky) spends the old one on receipt;
//! from then until the new tokens are committed they exist only in this process's memory.
//! So they are written here first (ciphertexts only, as the database holds them, in a file of
//! their own: 0600, created exclusively, fsynced with its folder), and the file goes once the
//! database has them. Any chirp process on the host replays what it finds on start and before
//! each refresh: the database write is conditional on the tokens' generation, so an entry
//! that a later refresh overtook is dropped, never written over newer tokens.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use chirp_core::AccountId;
use chirp_store::accounts::{self, StoredTokens};
use chirp_store::{Db, StoreError};
use chrono::{DateTime, Utc};

/// One answer not yet known to be stored.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// The database the tokens belong to ([`accounts::database_id`]).
    pub database: String,
    pub account: AccountId,
    /// The generation of the tokens the refresh started from.
    pub base: i64,
    pub tokens: StoredTokens,
    pub got_at: DateTime<Utc>,
}

/// Where a host keeps its journal; None when there is nowhere to keep it (no home folder):
/// refreshes then rely on the database write alone.
#[derive(Debug, Clone)]
pub struct Journal {
    dir: Option<PathBuf>,
}

/// What replaying found for one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replayed {
    /// Its tokens are stored now.
    Stored(AccountId),
    /// A later refresh was stored meanwhile: dropped.
    Stale(AccountId),
}

impl Journal {
    /// The journal in `dir` (created 0700 when first written).
    pub fn at(dir: impl Into<PathBuf>) -> Journal {
        Journal {
            dir: Some(dir.into()),
        }
    }

    /// The host's journal: `$XDG_STATE_HOME/chirp/token-journal` (or under the data folder).
    pub fn default_for_host() -> Journal {
        Journal {
            dir: dirs::state_dir()
                .or_else(dirs::data_dir)
                .map(|d| d.join("chirp").join("token-journal")),
        }
    }

    /// No journal (tests of what happens without one).
    pub fn none() -> Journal {
        Journal { dir: None }
    }

    /// Keeps `entry` durably; its file, to remove once the database has the tokens.
    pub fn write(&self, entry: &Entry) -> std::io::Result<Option<PathBuf>> {
        let Some(dir) = &self.dir else {
            return Ok(None);
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let nanos = entry.got_at.timestamp_nanos_opt().unwrap_or_default();
        let path = dir.join(format!(
            "{}.{}.{}.{nanos}.json",
            entry.database, entry.account, entry.base
        ));
        let bytes = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        sync_dir(dir)?;
        Ok(Some(path))
    }

    /// Forgets an entry whose tokens the database has.
    pub fn remove(&self, path: &Path) -> std::io::Result<()> {
        match fs::remove_file(path) {
            Ok(()) => path.parent().map_or(Ok(()), sync_dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The entries kept for `database`, oldest first.
    pub fn pending(&self, database: &str) -> Vec<(PathBuf, Entry)> {
        let Some(dir) = &self.dir else {
            return Vec::new();
        };
        let Ok(listing) = fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut found: Vec<(PathBuf, Entry)> = listing
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|x| x == "json")
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(database))
            })
            .filter_map(|p| {
                let entry = fs::read(&p)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Entry>(&b).ok());
                if entry.is_none() {
                    // A torn write (the host died mid-write) holds nothing the network
                    // accepted as stored; keep it for a person to look at, and say so.
                    tracing::warn!(path = %p.display(), "unreadable token journal entry");
                }
                entry.map(|e| (p, e))
            })
            .filter(|(_, e)| e.database == database)
            .collect();
        found.sort_by_key(|(_, e)| (e.got_at, e.base));
        found
    }

    /// Writes every entry kept for this database into it (each only if its tokens are still
    /// the generation it started from) and forgets them. Stops at the first database fault:
    /// what is left is tried again later.
    pub async fn replay(&self, db: &Db) -> Result<Vec<Replayed>, StoreError> {
        let any = self
            .dir
            .as_ref()
            .and_then(|d| fs::read_dir(d).ok())
            .is_some_and(|mut l| {
                l.any(|e| e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json")))
            });
        if !any {
            return Ok(Vec::new());
        }
        let c = db.client().await?;
        let database = accounts::database_id(&c).await?;
        let mut done = Vec::new();
        for (path, e) in self.pending(&database) {
            let stored = accounts::save_refreshed(&c, e.account, e.base, &e.tokens).await?;
            if let Err(err) = self.remove(&path) {
                tracing::warn!(path = %path.display(), %err, "could not remove a replayed token journal entry");
            }
            done.push(if stored {
                tracing::info!(
                    account = e.account,
                    "stored the tokens a refresh kept in the token journal"
                );
                Replayed::Stored(e.account)
            } else {
                Replayed::Stale(e.account)
            });
        }
        Ok(done)
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}
