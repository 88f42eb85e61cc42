//! The zero-config database: a private PostgreSQL cluster under chirp's data directory, run
//! with the local server binaries and reachable only through a Unix socket in a 0700 directory.
//!
//! initdb and postgres refuse to run as root, so when chirp runs as root the server runs as the
//! unprivileged `postgres` system user. These are blocking calls made once at start-up and exit.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::sys;

/// The superuser the private cluster is created with; chirp connects as it.
pub const SUPERUSER: &str = "chirp";
/// The database chirp keeps its data in.
pub const DATABASE: &str = "chirp";

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "no PostgreSQL server binaries found (looked for pg_ctl on PATH and in /usr/lib/postgresql/*/bin): install them (Debian/Ubuntu: `apt-get install postgresql`) or set database.url"
    )]
    NoServer,
    #[error(
        "chirp runs as root, and PostgreSQL refuses to: it needs the unprivileged `postgres` user to run the private database (install the postgresql package) or set database.url"
    )]
    NoUnprivilegedUser,
    #[error("private database at {dir}: {what}")]
    Io { dir: String, what: String },
}

/// A private cluster's place on disk and how to run its server.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// Holds `data/` (PGDATA), `run/` (the socket) and `server.log`.
    pub root: PathBuf,
    bin: PathBuf,
    /// uid/gid to run the server as, when chirp itself is root.
    run_as: Option<(u32, u32)>,
}

impl Cluster {
    /// Describes the cluster under `root` (nothing is created yet).
    pub fn new(root: PathBuf) -> Result<Cluster, ClusterError> {
        let bin = find_bin_dir().ok_or(ClusterError::NoServer)?;
        let run_as = if sys::effective_uid() == 0 {
            Some(sys::lookup_user("postgres").ok_or(ClusterError::NoUnprivilegedUser)?)
        } else {
            None
        };
        Ok(Cluster { root, bin, run_as })
    }

    /// The default place: `$XDG_DATA_HOME/chirp/postgres`. As root, where the `postgres` user
    /// cannot reach that directory (root's home is usually 0700), `/var/lib/chirp/postgres`.
    pub fn default_root() -> Result<PathBuf, ClusterError> {
        let xdg = dirs::data_dir()
            .unwrap_or_else(|| PathBuf::from(".local/share"))
            .join("chirp")
            .join("postgres");
        if sys::effective_uid() == 0 {
            let (uid, gid) =
                sys::lookup_user("postgres").ok_or(ClusterError::NoUnprivilegedUser)?;
            if !reachable_by(&xdg, uid, gid) {
                return Ok(PathBuf::from("/var/lib/chirp/postgres"));
            }
        }
        Ok(xdg)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    pub fn socket_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    /// Creates the cluster on first use and starts its server when it is not running. Safe to
    /// call from several chirp processes at once: they serialise on a lock file.
    pub fn ensure_running(&self, extra_conf: &[&str]) -> Result<(), ClusterError> {
        let io = |what: String| ClusterError::Io {
            dir: self.root.display().to_string(),
            what,
        };
        fs::create_dir_all(&self.root).map_err(|e| io(format!("cannot create it: {e}")))?;
        let _lock =
            FileLock::take(&self.root.join("lock")).map_err(|e| io(format!("lock: {e}")))?;
        if !self.data_dir().join("PG_VERSION").exists() {
            self.init(extra_conf).map_err(io)?;
        }
        if !self.is_running() {
            self.start().map_err(io)?;
        }
        Ok(())
    }

    fn init(&self, extra_conf: &[&str]) -> Result<(), String> {
        let data = self.data_dir();
        let run = self.socket_dir();
        // A half-made data directory from an interrupted initdb would make initdb refuse.
        if data.exists() {
            fs::remove_dir_all(&data)
                .map_err(|e| format!("cannot clear {}: {e}", data.display()))?;
        }
        for dir in [&data, &run] {
            fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| e.to_string())?;
            self.give_to_server(dir)?;
        }
        let log = self.root.join("server.log");
        fs::File::create(&log).map_err(|e| e.to_string())?;
        self.give_to_server(&log)?;
        self.run(
            "initdb",
            &[
                "-D",
                path_str(&data)?,
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "-N",
            ],
        )?;
        // Only the Unix socket, in a directory only the server's user (and root) can enter:
        // that is what makes `trust` safe here.
        let mut conf = format!(
            "\n# chirp private cluster\nlisten_addresses = ''\nunix_socket_directories = '{}'\nunix_socket_permissions = 0700\n",
            run.display()
        );
        for line in extra_conf {
            conf.push_str(line);
            conf.push('\n');
        }
        fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .and_then(|mut f| f.write_all(conf.as_bytes()))
            .map_err(|e| format!("cannot write postgresql.conf: {e}"))?;
        self.start()?;
        Ok(())
    }

    fn is_running(&self) -> bool {
        path_str(&self.data_dir())
            .map(|d| self.command("pg_ctl").args(["status", "-D", d]).output())
            .is_ok_and(|o| o.is_ok_and(|o| o.status.success()))
    }

    fn start(&self) -> Result<(), String> {
        let log = self.root.join("server.log");
        self.run(
            "pg_ctl",
            &[
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                path_str(&self.data_dir())?,
                "-l",
                path_str(&log)?,
            ],
        )
        .map_err(|e| format!("{e} (see {})", log.display()))
    }

    /// Stops the server (fast: open transactions are rolled back, nothing committed is lost).
    pub fn stop(&self) -> Result<(), ClusterError> {
        let data = self.data_dir();
        self.run(
            "pg_ctl",
            &[
                "stop",
                "-m",
                "fast",
                "-w",
                "-D",
                path_str(&data).unwrap_or(""),
            ],
        )
        .map_err(|what| ClusterError::Io {
            dir: self.root.display().to_string(),
            what,
        })
    }

    /// Stops the server at once, as a crash would (for tests of recovery).
    pub fn kill(&self) -> Result<(), String> {
        self.run(
            "pg_ctl",
            &[
                "stop",
                "-m",
                "immediate",
                "-w",
                "-D",
                path_str(&self.data_dir())?,
            ],
        )
    }

    /// Makes the running server re-read its configuration files.
    pub fn restart_config(&self) -> Result<(), String> {
        self.run("pg_ctl", &["reload", "-D", path_str(&self.data_dir())?])
    }

    /// Starts a stopped server again.
    pub fn restart(&self) -> Result<(), String> {
        self.start()
    }

    /// Connection settings for `dbname` on this cluster.
    pub fn pg_config(&self, dbname: &str) -> tokio_postgres::Config {
        let mut c = tokio_postgres::Config::new();
        c.host_path(self.socket_dir())
            .port(5432)
            .user(SUPERUSER)
            .dbname(dbname);
        c
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(program));
        cmd.stdin(Stdio::null());
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
            // The server's user cannot read root's working directory.
            cmd.current_dir("/");
        }
        cmd
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let out = self
            .command(program)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        Err(format!("{program} failed: {}", last.trim()))
    }

    fn give_to_server(&self, path: &Path) -> Result<(), String> {
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .map_err(|e| format!("cannot hand {} to the postgres user: {e}", path.display()))?;
        }
        Ok(())
    }
}

fn path_str(p: &Path) -> Result<&str, String> {
    p.to_str()
        .ok_or_else(|| format!("{} is not valid UTF-8", p.display()))
}

/// Where the server binaries are: pg_ctl on PATH, else the newest /usr/lib/postgresql/N/bin.
pub fn find_bin_dir() -> Option<PathBuf> {
    let has_server = |d: &Path| d.join("pg_ctl").is_file() && d.join("initdb").is_file();
    if let Some(path) = std::env::var_os("PATH")
        && let Some(d) = std::env::split_paths(&path).find(|d| has_server(d))
    {
        // PATH may hold links to one install's binaries: use the real directory, which has
        // the rest of the suite (pg_dump, psql) beside them.
        return fs::canonicalize(d.join("pg_ctl"))
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .filter(|real| has_server(real))
            .or(Some(d));
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            has_server(&bin).then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// Whether a user could walk down to `path` (every existing ancestor searchable for them).
fn reachable_by(path: &Path, uid: u32, gid: u32) -> bool {
    path.ancestors().skip(1).all(|dir| match fs::metadata(dir) {
        Ok(m) => {
            let mode = m.mode();
            (m.uid() == uid && mode & 0o100 != 0)
                || (m.gid() == gid && mode & 0o010 != 0)
                || mode & 0o001 != 0
        }
        Err(_) => true, // not created yet: chirp creates it with default permissions
    })
}

/// An exclusive `flock` held until dropped.
struct FileLock {
    _file: fs::File,
}

impl FileLock {
    fn take(path: &Path) -> std::io::Result<FileLock> {
        let f = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        // std's lock is flock(2) LOCK_EX on Unix: held until the file is closed.
        f.lock()?;
        Ok(FileLock { _file: f })
    }
}
