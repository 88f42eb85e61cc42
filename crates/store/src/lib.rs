//! chirp's PostgreSQL, and the only crate with SQL: the pool, migrations, the private cluster,
//! LISTEN, the typed queries of the CLI and TUI, and the publisher's lease-guarded writes.

pub mod accounts;
pub mod cluster;
pub mod notify;
pub mod posts;
pub mod publishing;
mod sys;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use chirp_core::{PostId, TextError, TransitionError};
pub use cluster::Cluster;
/// A pooled connection, as the typed queries take it.
pub use deadpool_postgres::Object;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The key of the advisory lock that serialises migrations across processes.
const MIGRATION_LOCK: i64 = 0x6368_6972_7001;

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
    #[error("no post with id {0}")]
    NotFound(PostId),
    #[error("post {id}: {err}")]
    Transition { id: PostId, err: TransitionError },
    #[error(transparent)]
    Text(#[from] TextError),
    #[error("post {id}: {msg}")]
    Refused { id: PostId, msg: String },
    #[error("database error: {}", one_line(.0))]
    Query(#[from] tokio_postgres::Error),
    #[error("database unavailable: {0}")]
    Pool(String),
}

impl From<chirp_core::status::UnknownStatus> for DbError {
    fn from(e: chirp_core::status::UnknownStatus) -> Self {
        DbError::Unexpected(e.to_string())
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

/// Whether `url` is a PostgreSQL connection string (URL or key=value) chirp can use.
pub fn valid_url(url: &str) -> bool {
    url.parse::<tokio_postgres::Config>().is_ok()
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

/// An open database: a pool of connections, plus the private cluster when chirp runs one.
pub struct Db {
    pub pool: Pool,
    pub pg: tokio_postgres::Config,
    pub cluster: Option<Cluster>,
}

impl Db {
    /// Connects to `url`, or (None) to the private cluster, started if needed, and brings the
    /// schema up to date. Returns the names of the migrations it applied.
    pub async fn open(url: Option<&str>) -> Result<(Db, Vec<String>), DbError> {
        let (mut pg, cluster) = match url {
            Some(url) => {
                let pg = url
                    .parse::<tokio_postgres::Config>()
                    .map_err(|_| DbError::BadUrl)?;
                (pg, None)
            }
            None => {
                let cluster = tokio::task::spawn_blocking(|| -> Result<Cluster, DbError> {
                    let c = Cluster::new(Cluster::default_root()?)?;
                    c.ensure_running(&[])?;
                    Ok(c)
                })
                .await
                .map_err(|e| DbError::Pool(e.to_string()))??;
                create_database(&cluster, cluster::DATABASE).await?;
                (cluster.pg_config(cluster::DATABASE), Some(cluster))
            }
        };
        // Naming our connections lets the private cluster tell whether anyone else still
        // needs it when we exit.
        pg.application_name(app_name());
        pg.connect_timeout(std::time::Duration::from_secs(10));
        let db = Db::from_config(pg, cluster);
        let applied = db.migrate().await?;
        Ok((db, applied))
    }

    /// A pool over `pg` without touching the server yet.
    pub fn from_config(mut pg: tokio_postgres::Config, cluster: Option<Cluster>) -> Db {
        // A peer that vanished (a host lost, a cable pulled) is noticed within minutes, not
        // the kernel's two hours: publishers rely on connections dying with their owner.
        pg.keepalives(true)
            .keepalives_idle(std::time::Duration::from_secs(30));
        let mgr = Manager::from_config(
            pg.clone(),
            NoTls,
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
        Db { pool, pg, cluster }
    }

    /// A connection of its own, outside the pool: LISTEN needs one that nobody else uses.
    pub async fn connect_dedicated(
        &self,
    ) -> Result<
        (
            tokio_postgres::Client,
            tokio_postgres::Connection<tokio_postgres::Socket, tokio_postgres::tls::NoTlsStream>,
        ),
        DbError,
    > {
        self.pg
            .connect(NoTls)
            .await
            .map_err(|e| self.connect_error(&e))
    }

    fn connect_error(&self, e: &tokio_postgres::Error) -> DbError {
        let hint = if self.cluster.is_some() {
            "the private database did not answer; see its server.log"
        } else {
            "check that PostgreSQL is running and that database.url / DATABASE_URL is right"
        };
        DbError::Connect {
            target: describe(&self.pg),
            reason: format!("{}; {hint}", one_line(e)),
        }
    }

    /// A pooled connection, with connection failures reported plainly.
    pub async fn client(&self) -> Result<deadpool_postgres::Object, DbError> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => self.connect_error(&e),
            other => DbError::Pool(other.to_string()),
        })
    }

    /// Applies pending migrations (serialised across processes by an advisory lock).
    pub async fn migrate(&self) -> Result<Vec<String>, DbError> {
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
        let report = result.map_err(|e| DbError::Migrate(e.to_string().replace('\n', " ")))?;
        Ok(report
            .applied_migrations()
            .iter()
            .map(std::string::ToString::to_string)
            .collect())
    }

    /// Closes the pool; stops the private cluster unless another process still uses it (a
    /// scheduler in another pane, say).
    pub async fn close(&self) {
        let pool = &self.pool;
        let Some(cluster) = self.cluster.clone() else {
            pool.close();
            return;
        };
        let others: i64 = match pool.get().await {
            Ok(c) => c
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
                       -- Ours: this process's pool and its publisher's (chirp-<pid>-pub-…).
                       AND application_name <> $1 AND application_name NOT LIKE $1 || '-%'",
                    &[&app_name()],
                )
                .await
                .map_or(1, |r| r.get(0)),
            Err(_) => return,
        };
        pool.close();
        if others == 0 {
            let _ = tokio::task::spawn_blocking(move || cluster.stop()).await;
        }
    }
}

/// Creates database `name` in a cluster unless it exists (safe when several processes race).
pub async fn create_database(cluster: &Cluster, name: &str) -> Result<(), DbError> {
    let pg = cluster.pg_config("postgres");
    let (client, conn) = pg.connect(NoTls).await.map_err(|e| DbError::Connect {
        target: describe(&pg),
        reason: format!(
            "{}; see {}/server.log",
            one_line(&e),
            cluster.root.display()
        ),
    })?;
    let conn = tokio::spawn(conn);
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
        // Another chirp may have created it in the meantime: that is fine.
        if let Err(e) = created
            && e.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE)
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
