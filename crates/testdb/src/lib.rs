//! Dev-only: throwaway PostgreSQL for tests. One cluster per test binary (made with chirp's
//! own private-cluster code, so that code is exercised too), migrated once into a template
//! database that every test's database is cloned from. Links no HTTP: the store's tests use
//! this crate alone; `chirp-testing` adds the fake X, accounts and the publisher on top.
// Test helpers fail loudly: a broken fixture is a failed test, not an error to handle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::pedantic)]

use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use chirp_store::{Cluster, Db};

/// A test cluster and, once a test asked for a migrated database, its template.
pub struct TestCluster {
    cluster: Cluster,
    /// Set once the template is migrated (or why it could not be).
    template: OnceLock<Result<(), String>>,
}

impl std::ops::Deref for TestCluster {
    type Target = Cluster;
    fn deref(&self) -> &Cluster {
        &self.cluster
    }
}

/// The name of the migrated database every test's database is a copy of.
const TEMPLATE: &str = "chirp_template";

static MAIN: OnceLock<&'static TestCluster> = OnceLock::new();
/// Every cluster this process started: stopped and removed when it exits.
static ALL: Mutex<Vec<&'static TestCluster>> = Mutex::new(Vec::new());

extern "C" fn stop_clusters() {
    let all = ALL.lock().map(|v| v.clone()).unwrap_or_default();
    for c in all {
        let _ = c.kill();
        let _ = std::fs::remove_dir_all(&c.root);
    }
}

/// The cluster of this test binary, started on first use and removed when the process exits.
/// Durability is off (fsync, synchronous commit): these databases are thrown away.
pub fn cluster() -> &'static TestCluster {
    MAIN.get_or_init(|| start_cluster("main", false))
}

/// A cluster of the caller's own, for a test that stops or crashes the server (the others
/// keep theirs). Crash-safe when `durable`. Removed when the process exits.
pub fn own_cluster(durable: bool) -> &'static TestCluster {
    static N: AtomicUsize = AtomicUsize::new(0);
    start_cluster(&format!("own{}", N.fetch_add(1, Ordering::SeqCst)), durable)
}

fn start_cluster(tag: &str, durable: bool) -> &'static TestCluster {
    let root = std::env::temp_dir().join(format!("chirp-test-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("create test cluster dir");
    // The server may run as the postgres user (tests as root): let it in.
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755))
        .expect("chmod test cluster dir");
    let c = Cluster::new(root).expect("PostgreSQL server binaries are needed for tests");
    let fast: &[&str] = if durable {
        &[]
    } else {
        &[
            "fsync = off",
            "synchronous_commit = off",
            "full_page_writes = off",
        ]
    };
    let mut conf = fast.to_vec();
    conf.push("max_connections = 400");
    c.ensure_running(&conf).expect("start test cluster");
    // One role must give a password, to test how a refused login is reported.
    let hba = c.data_dir().join("pg_hba.conf");
    let old = std::fs::read_to_string(&hba).expect("read pg_hba.conf");
    std::fs::write(&hba, format!("local all pw_user scram-sha-256\n{old}"))
        .expect("write pg_hba.conf");
    c.restart_config().expect("reload");
    let c: &'static TestCluster = Box::leak(Box::new(TestCluster {
        cluster: c,
        template: OnceLock::new(),
    }));
    let mut all = ALL.lock().expect("cluster list");
    if all.is_empty() {
        // SAFETY: atexit only stores the pointer of a plain `extern "C" fn` with no
        // arguments; `stop_clusters` touches only a static Mutex, valid for the whole process.
        #[allow(unsafe_code)]
        unsafe {
            libc::atexit(stop_clusters)
        };
    }
    all.push(c);
    c
}

impl TestCluster {
    /// A database of its own for one test: empty (no migrations) or migrated (a copy of the
    /// template, migrated once per cluster: the migrations run once per test binary).
    pub async fn fresh_database(&'static self, migrated: bool) -> TestDb {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "t{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        if migrated {
            self.template
                .get_or_init(|| self.make_template())
                .as_ref()
                .expect("migrate the template database");
            let (admin, conn) = self.admin().await;
            admin
                .batch_execute(&format!("CREATE DATABASE \"{name}\" TEMPLATE {TEMPLATE}"))
                .await
                .expect("clone the template database");
            drop(admin);
            let _ = conn.await;
        } else {
            chirp_store::create_database(self, &name)
                .await
                .expect("create test database");
        }
        let db = Db::from_config(self.pg_config(&name), None);
        TestDb {
            db,
            name,
            cluster: self,
        }
    }

    async fn admin(
        &self,
    ) -> (
        tokio_postgres::Client,
        tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>,
    ) {
        let (client, conn) = self
            .pg_config("postgres")
            .connect(tokio_postgres::NoTls)
            .await
            .expect("connect to the test cluster");
        (client, tokio::spawn(conn))
    }

    /// Creates and migrates the template, on a thread and runtime of its own (it runs once,
    /// whichever test runtime asked first), leaving no connection to it behind.
    fn make_template(&'static self) -> Result<(), String> {
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async move {
                chirp_store::create_database(self, TEMPLATE)
                    .await
                    .map_err(|e| e.to_string())?;
                let db = Db::from_config(self.pg_config(TEMPLATE), None);
                db.migrate().await.map_err(|e| e.to_string())?;
                db.close();
                drop(db);
                // A copy needs the template to itself: end any session still on it.
                let (admin, conn) = self.admin().await;
                admin
                    .execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = $1 AND pid <> pg_backend_pid()",
                        &[&TEMPLATE],
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                drop(admin);
                let _ = conn.await;
                Ok(())
            })
        })
        .join()
        .map_err(|_| "the template thread panicked".to_string())?
    }
}

/// A database of its own for one test, on this binary's cluster: empty or migrated.
pub async fn fresh_database(migrated: bool) -> TestDb {
    cluster().fresh_database(migrated).await
}

/// A migrated database of its own for one test.
pub async fn fresh_db() -> TestDb {
    fresh_database(true).await
}

pub struct TestDb {
    pub db: Db,
    pub name: String,
    pub cluster: &'static TestCluster,
}

impl TestDb {
    /// A connection string for child processes (DATABASE_URL).
    pub fn url(&self) -> String {
        format!(
            "host={} port=5432 user={} dbname={}",
            self.cluster.socket_dir().display(),
            chirp_store::cluster::SUPERUSER,
            self.name
        )
    }

    pub async fn client(&self) -> deadpool_postgres::Object {
        self.db.client().await.expect("pooled connection")
    }
}

/// A port on 127.0.0.1 that nothing listens on (it was free a moment ago).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .expect("the bound address")
        .port()
}

/// The key tests encrypt tokens with, and the same key as `CHIRP_SECRET_KEY` for processes.
pub const TEST_KEY: [u8; 32] = [9; 32];

pub fn test_key_b64() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(TEST_KEY)
}

/// Waits (event-driven: on each NOTIFY from the posts trigger) until `sql` returns `want`.
pub async fn wait_for_count(db: &Db, sql: &str, want: i64, timeout: std::time::Duration) -> i64 {
    let mut listener = chirp_store::notify::listen(db).await.expect("listen");
    let c = db.client().await.expect("pooled connection");
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let n: i64 = c.query_one(sql, &[]).await.expect("count").get(0);
        if n == want {
            return n;
        }
        match tokio::time::timeout_at(deadline, listener.rx.recv()).await {
            Ok(Some(_)) => {}
            _ => return n,
        }
    }
}

/// Waits (on NOTIFY, as [`wait_for_count`]) until post `id` is posted; whether it is.
pub async fn wait_posted(db: &Db, id: i32, timeout: std::time::Duration) -> bool {
    let sql = format!("SELECT count(*) FROM posts WHERE id = {id} AND status = 'posted'");
    wait_for_count(db, &sql, 1, timeout).await == 1
}

/// Bytes served a stored chunk's worth at a time.
struct Pieces {
    data: Vec<u8>,
    at: usize,
}

impl chirp_core::media::Chunks for Pieces {
    fn next_chunk(&mut self) -> chirp_core::media::NextChunk<'_> {
        Box::pin(async move {
            if self.at >= self.data.len() {
                return Ok(None);
            }
            let end = (self.at + chirp_store::media::CHUNK).min(self.data.len());
            let piece = self.data[self.at..end].to_vec();
            self.at = end;
            Ok(Some(piece))
        })
    }
}

/// Stores `data` as a media file (as `chirp post --media` would, once per content); its id
/// and the hex SHA-256 the fake X should receive.
pub async fn store_media(
    db: &Db,
    data: &[u8],
    media_type: &str,
    kind: chirp_core::MediaKind,
) -> (i32, String) {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(data);
    let sha = digest.to_vec();
    let meta = chirp_store::media::NewMedia {
        sha256: &sha,
        media_type,
        kind,
        size: data.len() as u64,
    };
    let mut pieces = Pieces {
        data: data.to_vec(),
        at: 0,
    };
    let mut c = db.client().await.expect("pooled connection");
    let id = chirp_store::media::store(&mut c, &meta, &mut pieces)
        .await
        .expect("store media");
    (id, format!("{digest:x}"))
}
