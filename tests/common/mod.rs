//! Test harness: one throwaway PostgreSQL cluster per test binary (made with chirp's own
//! private-cluster code, so that code is exercised too), and a fresh database per test.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use chirp::db::{Cluster, Db};

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

extern "C" fn stop_cluster() {
    if let Some(c) = CLUSTER.get() {
        let _ = c.kill();
        let _ = std::fs::remove_dir_all(&c.root);
    }
}

/// The cluster of this test binary, started on first use and removed when the process exits.
pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("chirp-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("create test cluster dir");
        // The server may run as the postgres user (tests as root): let it in.
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755))
            .expect("chmod test cluster dir");
        let c = Cluster::new(root).expect("PostgreSQL server binaries are needed for tests");
        // Durability off: these databases are thrown away.
        c.ensure_running(&[
            "fsync = off",
            "synchronous_commit = off",
            "full_page_writes = off",
            "max_connections = 400",
        ])
        .expect("start test cluster");
        // One role must give a password, to test how a refused login is reported.
        let hba = c.data_dir().join("pg_hba.conf");
        let old = std::fs::read_to_string(&hba).expect("read pg_hba.conf");
        std::fs::write(&hba, format!("local all pw_user scram-sha-256\n{old}"))
            .expect("write pg_hba.conf");
        c.restart_config().expect("reload");
        // SAFETY: registering a plain extern "C" fn is always sound.
        unsafe { libc::atexit(stop_cluster) };
        c
    })
}

/// A database of its own for one test: empty (no migrations) or migrated.
pub async fn fresh_database(migrated: bool) -> TestDb {
    static N: AtomicUsize = AtomicUsize::new(0);
    let cluster = cluster();
    let name = format!(
        "t{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    let (admin, conn) = cluster
        .pg_config("postgres")
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect to test cluster");
    let conn = tokio::spawn(conn);
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    drop(admin);
    let _ = conn.await;
    let pg = cluster.pg_config(&name);
    let db = Db::from_config(pg, None);
    if migrated {
        db.migrate().await.expect("migrate");
    }
    TestDb { db, name }
}

pub async fn fresh_db() -> TestDb {
    fresh_database(true).await
}

pub struct TestDb {
    pub db: Db,
    pub name: String,
}

impl TestDb {
    /// A connection string for child processes (DATABASE_URL).
    pub fn url(&self) -> String {
        format!(
            "host={} port=5432 user={} dbname={}",
            cluster().socket_dir().display(),
            chirp::db::cluster::SUPERUSER,
            self.name
        )
    }

    pub async fn client(&self) -> deadpool_postgres::Object {
        self.db.client().await.expect("pooled connection")
    }
}

/// The built `chirp` binary.
pub fn chirp_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_chirp"))
}
