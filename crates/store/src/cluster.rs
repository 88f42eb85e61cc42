//! The zero-config database: a private PostgreSQL cluster under chirp's data directory, run
//! with the local server binaries and reachable only through a Unix socket in a 0700 directory.
//!
//! initdb and postgres refuse to run as root, so when chirp runs as root the server runs as the
//! unprivileged `postgres` system user. These are blocking calls.
//!
//! Lifecycle: the server stays up between commands (a command then costs what it costs against
//! any running server) until `chirp db stop`. Two locks make it safe for any number of chirp
//! processes at once: `lock` (exclusive) serialises creating, starting and stopping; every
//! process that uses the server holds `users.lock` shared for as long as it may, so a stop
//! can tell that nobody is using, or about to use, the server.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
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
    #[error(
        "the private database is in use by another chirp process: stop it first (a TUI, a `chirp scheduler`), then run `chirp db stop` again"
    )]
    InUse,
}

/// What [`Cluster::start_if_needed`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// It was running.
    Already,
    /// It was stopped and has been started.
    Started,
    /// It did not exist: created and started.
    Created,
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

    /// The default place: `$CHIRP_DATA_DIR/postgres` when that is set, else
    /// `$XDG_DATA_HOME/chirp/postgres`. As root, the server's `postgres` user must be able to
    /// reach it: when it cannot (root's home is usually 0700), `/var/lib/chirp/postgres`, or
    /// for an `XDG_DATA_HOME` of its own, `/var/lib/chirp/postgres-<hash of that path>` (two
    /// setups on one machine never share a database).
    pub fn default_root() -> Result<PathBuf, ClusterError> {
        let explicit = std::env::var_os("CHIRP_DATA_DIR").filter(|d| !d.is_empty());
        let own_xdg =
            explicit.is_some() || std::env::var_os("XDG_DATA_HOME").is_some_and(|d| !d.is_empty());
        let dir = match explicit {
            Some(d) => PathBuf::from(d).join("postgres"),
            None => dirs::data_dir()
                .unwrap_or_else(|| PathBuf::from(".local/share"))
                .join("chirp")
                .join("postgres"),
        };
        if sys::effective_uid() == 0 {
            let (uid, gid) =
                sys::lookup_user("postgres").ok_or(ClusterError::NoUnprivilegedUser)?;
            if !reachable_by(&dir, uid, gid) {
                let shared = PathBuf::from("/var/lib/chirp");
                return Ok(if own_xdg {
                    shared.join(format!("postgres-{:08x}", fnv1a(&dir)))
                } else {
                    shared.join("postgres")
                });
            }
        }
        Ok(dir)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    pub fn socket_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    fn io(&self, what: String) -> ClusterError {
        ClusterError::Io {
            dir: self.root.display().to_string(),
            what,
        }
    }

    /// Creates the cluster on first use and starts its server when it is not running. Safe to
    /// call from several chirp processes at once: they serialise on a lock file.
    pub fn ensure_running(&self, extra_conf: &[&str]) -> Result<Started, ClusterError> {
        let _lock = self.lifecycle()?;
        self.start_if_needed(extra_conf, &mut |_| {})
    }

    /// The exclusive lifecycle lock: hold it to create, start, stop, or create a database.
    pub fn lifecycle(&self) -> Result<FileLock, ClusterError> {
        self.make_root()?;
        FileLock::take(&self.root.join("lock"), true)
            .map_err(|e| self.io(format!("cannot lock it: {e}")))
    }

    /// Declares this process a user of the server until the returned lock is dropped (or the
    /// process ends): `chirp db stop` refuses meanwhile. Take it before starting the server, so
    /// no stop can come between the start and the first connection.
    pub fn register_user(&self) -> Result<FileLock, ClusterError> {
        self.make_root()?;
        FileLock::take(&self.root.join("users.lock"), false)
            .map_err(|e| self.io(format!("cannot lock it: {e}")))
    }

    fn make_root(&self) -> Result<(), ClusterError> {
        // The server's user (chirp as root) must be able to walk into what chirp creates.
        let mode = if self.run_as.is_some() { 0o711 } else { 0o700 };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(&self.root)
            .map_err(|e| self.io(format!("cannot create it: {e}")))?;
        if self.run_as.is_some() {
            fs::set_permissions(&self.root, fs::Permissions::from_mode(0o711))
                .map_err(|e| self.io(e.to_string()))?;
        }
        Ok(())
    }

    /// Creates and starts the server as needed (call it holding [`Cluster::lifecycle`]).
    /// `announce` is told, before the wait, what is about to happen.
    pub fn start_if_needed(
        &self,
        extra_conf: &[&str],
        announce: &mut dyn FnMut(Started),
    ) -> Result<Started, ClusterError> {
        if !self.data_dir().join("PG_VERSION").exists() {
            announce(Started::Created);
            self.init(extra_conf).map_err(|e| self.io(e))?;
            return Ok(Started::Created);
        }
        if self.is_running() {
            return Ok(Started::Already);
        }
        announce(Started::Started);
        self.start().map_err(|e| self.io(e))?;
        Ok(Started::Started)
    }

    /// Whether the cluster has been created.
    pub fn exists(&self) -> bool {
        self.data_dir().join("PG_VERSION").exists()
    }

    /// The server's process id, from its postmaster.pid, while it runs.
    pub fn server_pid(&self) -> Option<u32> {
        fs::read_to_string(self.data_dir().join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    /// `chirp db stop`: stops the server unless a chirp process uses it. Returns whether it
    /// was running.
    pub fn stop_unused(&self) -> Result<bool, ClusterError> {
        let _lock = self.lifecycle()?;
        let users = FileLock::try_exclusive(&self.root.join("users.lock"))
            .map_err(|e| self.io(format!("cannot lock it: {e}")))?;
        if users.is_none() {
            return Err(ClusterError::InUse);
        }
        if !self.is_running() {
            return Ok(false);
        }
        self.stop()?;
        Ok(true)
    }

    /// The size of the data directory in bytes (what `du` would count, roughly).
    pub fn size(&self) -> u64 {
        fn walk(p: &Path) -> u64 {
            match fs::symlink_metadata(p) {
                Ok(m) if m.is_dir() => fs::read_dir(p).map_or(0, |rd| {
                    rd.filter_map(Result::ok).map(|e| walk(&e.path())).sum()
                }),
                Ok(m) => m.len(),
                Err(_) => 0,
            }
        }
        walk(&self.data_dir())
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
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&log)
            .map_err(|e| e.to_string())?;
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

    /// Whether the server runs (`pg_ctl status`: its postmaster.pid names a live process).
    pub fn is_running(&self) -> bool {
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

/// A `flock` held until dropped (or the process ends).
#[derive(Debug)]
pub struct FileLock {
    _file: fs::File,
}

impl FileLock {
    fn open(path: &Path) -> std::io::Result<fs::File> {
        fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(path)
    }

    /// Waits for the lock: exclusive, or shared.
    fn take(path: &Path, exclusive: bool) -> std::io::Result<FileLock> {
        let f = Self::open(path)?;
        // std's locks are flock(2) on Unix: held until the file is closed.
        if exclusive {
            f.lock()?;
        } else {
            f.lock_shared()?;
        }
        Ok(FileLock { _file: f })
    }

    /// The exclusive lock if nobody holds it now.
    fn try_exclusive(path: &Path) -> std::io::Result<Option<FileLock>> {
        let f = Self::open(path)?;
        match f.try_lock() {
            Ok(()) => Ok(Some(FileLock { _file: f })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

/// FNV-1a of a path: a short, stable name for a directory of its own.
fn fnv1a(p: &Path) -> u32 {
    p.as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
        })
}
