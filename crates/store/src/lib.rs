//! chirp's PostgreSQL, and the only crate with SQL: the pool, migrations, the private cluster,
//! LISTEN, the typed queries of the CLI and TUI, and the publisher's lease-guarded writes.

pub mod accounts;
pub mod analytics;
pub mod cluster;
pub mod media;
pub mod notify;
pub mod posts;
pub mod publishing;
pub mod queue;
mod sys;
pub use sys::stop_self;
pub mod templates;
pub mod tls;
pub mod transfer;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use tokio_postgres_rustls::MakeRustlsConnect;

use chirp_core::{PostId, TextError, TransitionError};
pub use cluster::{Cluster, Started};

/// A pooled connection, as the typed queries take it.
pub use deadpool_postgres::Object;
use std::sync::{Arc, Mutex};
use std::time::Instant;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The key of the advisory lock that serialises migrations across processes.
const MIGRATION_LOCK: i64 = 0x6368_6972_7001;

/// Why the store did not do what was asked: the database failed it, or it was refused (the
/// person's request names nothing, or is not allowed as things stand). The two are separate
/// types, so that no code mistakes a typo for an outage or the other way round.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Refused(#[from] Refusal),
}

/// The database could not be reached or used, or answered with what its constraints rule out.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect to the database ({target}): {reason}")]
    Connect { target: String, reason: String },
    #[error(transparent)]
    Cluster(#[from] cluster::ClusterError),
    #[error("migrations failed: {0}")]
    Migrate(String),
    #[error(
        "database.url / DATABASE_URL is not a PostgreSQL connection string (e.g. postgresql://user@host/db)"
    )]
    BadUrl,
    /// A value the schema's constraints should have made impossible.
    #[error("unexpected data in the database: {0}")]
    Unexpected(String),
    #[error("database TLS: {0}")]
    Tls(String),
    #[error("database error: {}", one_line(.0))]
    Query(#[from] tokio_postgres::Error),
    #[error("database unavailable: {0}")]
    Pool(String),
}

/// What was asked is not there or not allowed: the person's to fix. The words say what is; what
/// to run about it is for whoever shows it (the CLI, the TUI).
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("no post with id {0}")]
    NotFound(PostId),
    #[error("post {id}: {err}")]
    Transition { id: PostId, err: TransitionError },
    #[error(transparent)]
    Text(#[from] TextError),
    #[error(transparent)]
    PartText(#[from] chirp_core::PartError),
    #[error("post {id}: {msg}")]
    Refused { id: PostId, msg: String },
    /// A handle that names no connected account.
    #[error("no connected account @{handle}{}", known_accounts(.known))]
    UnknownAccount { handle: String, known: Vec<String> },
    /// Adding to the queue of an account that has no slots.
    #[error("@{0} has no queue slots")]
    NoQueue(String),
    /// A template name that names none.
    #[error("no template named `{name}`{}", known_templates(.known))]
    UnknownTemplate { name: String, known: Vec<String> },
    #[error("a template named `{0}` exists")]
    TemplateExists(String),
    #[error("`{0}` cannot be a template name: give 1 to 100 characters")]
    BadTemplateName(String),
    /// A file to store could not be read, or changed while it was read: nothing was stored.
    #[error("{0}")]
    File(String),
    /// A post from a template still holds placeholders the template left to fill, and was
    /// to be scheduled, queued or published (the database refuses it: see migration V19).
    #[error("{0}")]
    Unfilled(String),
}

impl StoreError {
    /// The refusal, when the request (not the database) was the trouble.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            StoreError::Refused(r) => Some(r),
            StoreError::Db(_) => None,
        }
    }
}

// `?` in the store's functions: a query, the pool, text rules, stored statuses.
/// The SQLSTATE of the database's refusal of unfilled placeholders (migration V19).
const UNFILLED: &str = "CH001";

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(d) if d.code().code() == UNFILLED => {
                StoreError::Refused(Refusal::Unfilled(d.message().to_string()))
            }
            _ => StoreError::Db(DbError::Query(e)),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Db(DbError::from(e))
    }
}

impl From<cluster::ClusterError> for StoreError {
    fn from(e: cluster::ClusterError) -> Self {
        StoreError::Db(DbError::Cluster(e))
    }
}

impl From<TextError> for StoreError {
    fn from(e: TextError) -> Self {
        StoreError::Refused(Refusal::Text(e))
    }
}

impl From<chirp_core::PartError> for StoreError {
    fn from(e: chirp_core::PartError) -> Self {
        StoreError::Refused(Refusal::PartText(e))
    }
}

/// " (there are: a, b)", or that there are none.
fn known_templates(known: &[String]) -> String {
    if known.is_empty() {
        "; there are none yet".to_string()
    } else {
        format!(" (there are: {})", known.join(", "))
    }
}

/// " (connected: @a, @b)", or that none is.
fn known_accounts(known: &[String]) -> String {
    if known.is_empty() {
        "; none is connected".to_string()
    } else {
        let handles: Vec<String> = known.iter().map(|h| format!("@{h}")).collect();
        format!(" (connected: {})", handles.join(", "))
    }
}

impl From<chirp_core::status::UnknownStatus> for StoreError {
    fn from(e: chirp_core::status::UnknownStatus) -> Self {
        StoreError::Db(DbError::Unexpected(e.to_string()))
    }
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => DbError::Pool(one_line(&e)),
            other => DbError::Pool(other.to_string()),
        }
    }
}

/// A PostgreSQL error as one readable line: the server's own message when there is one.
pub fn one_line(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => {
            let mut s = e.to_string();
            if let Some(src) = std::error::Error::source(e) {
                let src = src.to_string();
                if !s.contains(&src) {
                    s = format!("{s}: {src}");
                }
            }
            s.replace('\n', " ")
        }
    }
}

/// A failed migration in one line, with the database's own reason (refinery's message stops
/// at "db error").
fn migration_error(e: &refinery::Error) -> String {
    let mut reason = None;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(pg) = err.downcast_ref::<tokio_postgres::Error>() {
            reason = Some(one_line(pg));
            break;
        }
        source = err.source();
    }
    let what = e.to_string().replace('\n', " ");
    match reason {
        Some(r) => format!("{what}: {r}"),
        None => what,
    }
}

/// Whether `url` is a PostgreSQL connection string (URL or key=value) chirp can use.
pub fn valid_url(url: &str) -> bool {
    tls::split(url).is_ok_and(|(rest, _)| rest.parse::<tokio_postgres::Config>().is_ok())
}

/// The connection settings and TLS connector a connection string describes.
fn parse_url(url: &str) -> Result<(tokio_postgres::Config, MakeRustlsConnect), StoreError> {
    let (rest, settings) = tls::split(url).map_err(DbError::Tls)?;
    let mut pg = rest
        .parse::<tokio_postgres::Config>()
        .map_err(|_| DbError::BadUrl)?;
    pg.ssl_mode(tls::negotiation(settings.mode));
    Ok((pg, tls::connector(&settings).map_err(DbError::Tls)?))
}

/// The connector for a connection string that says nothing of TLS (libpq's `prefer`).
fn default_tls() -> MakeRustlsConnect {
    // Only a crypto provider without safe protocol versions fails here, and ring has them.
    #[allow(clippy::expect_used)]
    tls::connector(&tls::TlsSettings::default()).expect("ring supports TLS 1.2 and 1.3")
}

/// Where to connect, shown without any password.
pub fn describe(pg: &tokio_postgres::Config) -> String {
    let host = pg.get_hosts().first().map_or_else(
        || "localhost".into(),
        |h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        },
    );
    let port = pg.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{host}:{port}/{}",
        pg.get_user().unwrap_or("?"),
        pg.get_dbname().unwrap_or("?")
    )
}

/// A connection of its own (see [`Db::connect_dedicated`]), TLS or not.
pub type Connection = tokio_postgres::Connection<
    tokio_postgres::Socket,
    <MakeRustlsConnect as tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>>::Stream,
>;

/// An open database: a pool of connections, plus the private cluster when chirp runs one.
#[derive(Clone)]
pub struct Db {
    pub pool: Pool,
    pub pg: tokio_postgres::Config,
    pub cluster: Option<Cluster>,
    /// TLS as the connection string asked for (see [`tls`]).
    tls: MakeRustlsConnect,
    /// This process's registration as a user of the private cluster (see
    /// [`Cluster::register_user`]), held as long as any `Db` made from it lives.
    user: Option<Arc<cluster::FileLock>>,
    /// When the private server was last looked after because it did not answer.
    healed: Arc<Mutex<Option<Instant>>>,
}

/// Where a database is, for whoever opens pools of their own on it (the publisher): the
/// connection settings, and the private cluster to start again if its server goes away.
#[derive(Clone)]
pub struct Target {
    pub pg: tokio_postgres::Config,
    pub cluster: Option<Cluster>,
    tls: Option<MakeRustlsConnect>,
    user: Option<Arc<cluster::FileLock>>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("pg", &self.pg)
            .field("cluster", &self.cluster)
            .finish_non_exhaustive()
    }
}

impl From<tokio_postgres::Config> for Target {
    fn from(pg: tokio_postgres::Config) -> Target {
        Target {
            pg,
            cluster: None,
            tls: None,
            user: None,
        }
    }
}

impl From<&Db> for Target {
    fn from(db: &Db) -> Target {
        Target {
            pg: db.pg.clone(),
            cluster: db.cluster.clone(),
            tls: Some(db.tls.clone()),
            user: db.user.clone(),
        }
    }
}

impl Db {
    /// Connects to `url`, or (None) to the private cluster, started if needed, and brings the
    /// schema up to date. Returns the names of the migrations it applied.
    pub async fn open(url: Option<&str>) -> Result<(Db, Vec<String>), StoreError> {
        Db::open_announcing(url, |_, _| {}).await
    }

    /// [`Db::open`], telling `announce` (before the wait) when the private database is about
    /// to be created or started, and where.
    pub async fn open_announcing(
        url: Option<&str>,
        mut announce: impl FnMut(Started, &std::path::Path) + Send + 'static,
    ) -> Result<(Db, Vec<String>), StoreError> {
        let (mut pg, cluster, user, tls) = match url {
            Some(url) => {
                let (pg, tls) = parse_url(url)?;
                (pg, None, None, tls)
            }
            None => {
                let (cluster, user, lifecycle) = tokio::task::spawn_blocking(move || {
                    let c = Cluster::new(Cluster::default_root()?)?;
                    // A user first, so no `chirp db stop` comes between the start and us.
                    let user = c.register_user()?;
                    let lifecycle = c.lifecycle()?;
                    c.start_if_needed(&[], &mut |s| announce(s, &c.root))?;
                    Ok::<_, StoreError>((c, user, lifecycle))
                })
                .await
                .map_err(|e| DbError::Pool(e.to_string()))??;
                // Still under the lifecycle lock: two first starts never race to create it.
                // A server that just crashed may still look alive, or refuse to start while its
                // old processes exit: keep trying for a while before giving up.
                let give_up = Instant::now() + std::time::Duration::from_secs(15);
                loop {
                    match create_database(&cluster, cluster::DATABASE).await {
                        Ok(()) => break,
                        Err(StoreError::Db(DbError::Connect { .. }))
                            if Instant::now() < give_up =>
                        {
                            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                            let c = cluster.clone();
                            let _ = tokio::task::spawn_blocking(move || {
                                c.start_if_needed(&[], &mut |_| {})
                            })
                            .await;
                        }
                        Err(e) => return Err(e),
                    }
                }
                drop(lifecycle);
                (
                    cluster.pg_config(cluster::DATABASE),
                    Some(cluster),
                    Some(Arc::new(user)),
                    default_tls(),
                )
            }
        };
        // Named connections tell `chirp db status` who uses the private database.
        pg.application_name(app_name());
        pg.connect_timeout(std::time::Duration::from_secs(10));
        let mut db = Db::from_config_tls(pg, cluster, tls);
        db.user = user;
        let applied = db.migrate().await?;
        Ok((db, applied))
    }

    /// A pool of its own on `target` (the publisher's, with connections named after it).
    pub fn from_target(target: Target) -> Db {
        let tls = target.tls.unwrap_or_else(default_tls);
        let mut db = Db::from_config_tls(target.pg, target.cluster, tls);
        db.user = target.user;
        db
    }

    /// The database as it is, for a quick look (`chirp status --format` in a tmux status
    /// line): no migrations, and chirp's private server is neither created nor started (nor
    /// started again if it stops) — None when it is not running.
    pub fn open_if_running(url: Option<&str>) -> Result<Option<Db>, StoreError> {
        match url {
            Some(url) => {
                let (pg, tls) = parse_url(url)?;
                Ok(Some(Db::from_config_tls(pg, None, tls)))
            }
            None => {
                let c = Cluster::new(Cluster::default_root()?)?;
                if !c.exists() || !c.is_running() {
                    return Ok(None);
                }
                Ok(Some(Db::from_config(c.pg_config(cluster::DATABASE), None)))
            }
        }
    }

    /// A pool over `pg` without touching the server yet (TLS as libpq's `prefer`).
    pub fn from_config(pg: tokio_postgres::Config, cluster: Option<Cluster>) -> Db {
        Db::from_config_tls(pg, cluster, default_tls())
    }

    /// A pool over `pg` with this TLS connector, without touching the server yet.
    pub fn from_config_tls(
        mut pg: tokio_postgres::Config,
        cluster: Option<Cluster>,
        tls: MakeRustlsConnect,
    ) -> Db {
        // A peer that vanished (a host lost, a cable pulled) is noticed within minutes, not
        // the kernel's two hours: publishers rely on connections dying with their owner.
        pg.keepalives(true)
            .keepalives_idle(std::time::Duration::from_secs(30));
        let mgr = Manager::from_config(
            pg.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        // Only hooks or a missing runtime make a pool builder fail, and we set neither.
        #[allow(clippy::expect_used)]
        let pool = Pool::builder(mgr)
            .max_size(16)
            .build()
            .expect("a pool without hooks or runtime options always builds");
        Db {
            pool,
            pg,
            cluster,
            tls,
            user: None,
            healed: Arc::new(Mutex::new(None)),
        }
    }

    /// The private server did not answer: starts it again if it stopped (a crash, the OOM
    /// killer, a reboot), at most every two seconds. True when it runs now.
    async fn heal(&self) -> bool {
        let Some(cluster) = self.cluster.clone() else {
            return false;
        };
        {
            let mut last = self
                .healed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(2)) {
                return false;
            }
            *last = Some(Instant::now());
        }
        tokio::task::spawn_blocking(move || {
            let _lock = cluster.lifecycle()?;
            cluster.start_if_needed(&[], &mut |_| {})
        })
        .await
        .is_ok_and(|r| r.is_ok())
    }

    /// A connection of its own, outside the pool: LISTEN needs one that nobody else uses.
    pub async fn connect_dedicated(
        &self,
    ) -> Result<(tokio_postgres::Client, Connection), StoreError> {
        match self.pg.connect(self.tls.clone()).await {
            Ok(c) => Ok(c),
            Err(e) if self.heal().await => self
                .pg
                .connect(self.tls.clone())
                .await
                .map_err(|_| self.connect_error(&e)),
            Err(e) => Err(self.connect_error(&e)),
        }
    }

    fn connect_error(&self, e: &tokio_postgres::Error) -> StoreError {
        let hint = match &self.cluster {
            Some(c) => format!(
                "chirp's private database did not answer (chirp starts it again if it stopped); see {}",
                c.root.join("server.log").display()
            ),
            None => {
                "check that PostgreSQL is running and that database.url / DATABASE_URL is right"
                    .into()
            }
        };
        StoreError::from(DbError::Connect {
            target: describe(&self.pg),
            reason: format!("{}; {hint}", one_line(e)),
        })
    }

    /// A pooled connection, with connection failures reported plainly.
    pub async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        match self.pool.get().await {
            Ok(c) => Ok(c),
            Err(deadpool_postgres::PoolError::Backend(e)) => {
                if self.heal().await
                    && let Ok(c) = self.pool.get().await
                {
                    return Ok(c);
                }
                Err(self.connect_error(&e))
            }
            Err(other) => Err(StoreError::from(DbError::Pool(other.to_string()))),
        }
    }

    /// Applies pending migrations (serialised across processes by an advisory lock).
    pub async fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let mut obj = self.client().await?;
        let client: &mut tokio_postgres::Client = &mut obj;
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        let result = embedded::migrations::runner()
            .set_migration_table_name("migrations")
            .run_async(client)
            .await;
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await?;
        let report = result.map_err(|e| DbError::Migrate(migration_error(&e)))?;
        Ok(report
            .applied_migrations()
            .iter()
            .map(std::string::ToString::to_string)
            .collect())
    }

    /// Closes the pool. The private server keeps running for the next command (until
    /// `chirp db stop`).
    pub fn close(&self) {
        self.pool.close();
    }
}

/// A short-lived connection to a private cluster's `postgres` database (to create ours, or
/// look at who is connected): the client, and the task driving its connection.
async fn connect_admin(
    cluster: &Cluster,
) -> Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), StoreError> {
    let pg = cluster.pg_config("postgres");
    let (client, conn) = pg.connect(NoTls).await.map_err(|e| DbError::Connect {
        target: describe(&pg),
        reason: format!(
            "{}; see {}/server.log",
            one_line(&e),
            cluster.root.display()
        ),
    })?;
    let conn = tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok((client, conn))
}

/// Creates database `name` in a cluster unless it exists (safe when several processes race).
pub async fn create_database(cluster: &Cluster, name: &str) -> Result<(), StoreError> {
    let (client, conn) = connect_admin(cluster).await?;
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await?
        .is_some();
    if !exists {
        let created = client
            .batch_execute(&format!(
                "CREATE DATABASE \"{}\"",
                name.replace('"', "\"\"")
            ))
            .await;
        // Another chirp may have created it in the meantime (on a server shared with
        // something that does not take our lock): that is fine.
        if let Err(e) = created
            && e.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE)
            && e.code() != Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
        {
            return Err(e.into());
        }
    }
    drop(client);
    let _ = conn.await;
    Ok(())
}

fn app_name() -> String {
    format!("chirp-{}", std::process::id())
}

/// The chirp processes connected to a private cluster's server now (their pids, from the
/// names their connections carry), without registering as one.
pub async fn private_users(cluster: &Cluster) -> Result<Vec<u32>, StoreError> {
    let (client, conn) = connect_admin(cluster).await?;
    let rows = client
        .query(
            "SELECT DISTINCT application_name FROM pg_stat_activity
             WHERE application_name LIKE 'chirp-%' AND pid <> pg_backend_pid()",
            &[],
        )
        .await?;
    drop(client);
    let _ = conn.await;
    let mut pids: Vec<u32> = rows
        .iter()
        .filter_map(|r| {
            let name: String = r.get(0);
            name.strip_prefix("chirp-")?.split('-').next()?.parse().ok()
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

/// A database fault is the database's; what the person asked for that is not there or not
/// allowed is theirs, and said as such.
impl chirp_core::HasKind for StoreError {
    fn kind(&self) -> chirp_core::Kind {
        match self {
            StoreError::Db(e) => e.kind(),
            StoreError::Refused(r) => r.kind(),
        }
    }
}

impl chirp_core::HasKind for DbError {
    fn kind(&self) -> chirp_core::Kind {
        use chirp_core::Kind;
        match self {
            DbError::Connect { .. }
            | DbError::Migrate(_)
            | DbError::Tls(_)
            | DbError::Query(_)
            | DbError::Pool(_) => Kind::Database,
            DbError::Cluster(e) => e.kind(),
            // The configuration's URL: the person's to fix.
            DbError::BadUrl => Kind::BadInput,
            DbError::Unexpected(_) => Kind::Bug,
        }
    }
}

impl chirp_core::HasKind for Refusal {
    fn kind(&self) -> chirp_core::Kind {
        use chirp_core::Kind;
        match self {
            Refusal::Text(_)
            | Refusal::PartText(_)
            | Refusal::NoQueue(_)
            | Refusal::TemplateExists(_)
            | Refusal::BadTemplateName(_)
            | Refusal::File(_)
            | Refusal::Unfilled(_) => Kind::BadInput,
            Refusal::NotFound(_)
            | Refusal::UnknownAccount { .. }
            | Refusal::UnknownTemplate { .. } => Kind::NotFound,
            Refusal::Transition { .. } | Refusal::Refused { .. } => Kind::Conflict,
        }
    }
}

impl chirp_core::HasKind for cluster::ClusterError {
    fn kind(&self) -> chirp_core::Kind {
        use chirp_core::Kind;
        match self {
            // What the machine lacks, or another chirp holding the private database.
            cluster::ClusterError::InUse => Kind::Conflict,
            _ => Kind::Database,
        }
    }
}
