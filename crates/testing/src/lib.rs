//! Dev-only test harness: one throwaway PostgreSQL cluster per test binary (made with chirp's
//! own private-cluster code, so that code is exercised too), a fresh database per test, and
//! accounts connected to the fake X.
// Test helpers fail loudly: a broken fixture is a failed test, not an error to handle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::pedantic)]

use std::os::unix::fs::PermissionsExt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use chirp_store::{Cluster, Db};

pub mod publisher;

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

extern "C" fn stop_cluster() {
    if let Some(c) = CLUSTER.get() {
        let _ = c.kill();
        let _ = std::fs::remove_dir_all(&c.root);
    }
}

/// The cluster of this test binary, started on first use and removed when the process exits.
/// Durability is off (fsync, synchronous commit): these databases are thrown away.
pub fn cluster() -> &'static Cluster {
    cluster_with(false)
}

/// The cluster, made crash-safe when `durable` (for tests that crash the server). Only the
/// first call in a test binary decides.
pub fn cluster_with(durable: bool) -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("chirp-test-{}", std::process::id()));
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
        // SAFETY: atexit only stores the pointer of a plain `extern "C" fn` with no arguments;
        // `stop_cluster` touches only a OnceLock, which is valid for the whole process.
        #[allow(unsafe_code)]
        unsafe {
            libc::atexit(stop_cluster)
        };
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
    chirp_store::create_database(cluster, &name)
        .await
        .expect("create test database");
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

pub fn cipher() -> chirp_net::Cipher {
    chirp_net::Cipher::from_key(&TEST_KEY)
}

/// The `[x]` config of a chirp that talks to `fake`.
pub fn x_config(fake: &chirp_fake_x::FakeX) -> chirp_net::x::XConfig {
    chirp_net::x::XConfig {
        client_id: Some("test-client".into()),
        client_secret: None,
        redirect_uri: "http://127.0.0.1:1/callback".into(),
        api_base_url: fake.base_url(),
        authorize_url: fake.authorize_url(),
        ..chirp_net::x::XConfig::default()
    }
}

/// The credentials service of a chirp that talks to `fake`, with the test key.
pub fn credentials(
    fake: &chirp_fake_x::FakeX,
    timeout: std::time::Duration,
) -> chirp_credentials::Credentials {
    chirp_credentials::Credentials::new(&x_config(fake), cipher(), timeout)
}

/// An account connected "by hand": tokens issued by the fake X, stored encrypted.
/// Returns (account id, access token, refresh token).
pub async fn connect_account(
    db: &Db,
    fake: &chirp_fake_x::FakeX,
    expires_in: chrono::Duration,
) -> (i32, String, String) {
    connect_account_as(db, fake, "1001", "chirp_tester", expires_in).await
}

/// [`connect_account`] for another X user of the fake X (`user_id`, shown as `username`).
pub async fn connect_account_as(
    db: &Db,
    fake: &chirp_fake_x::FakeX,
    user_id: &str,
    username: &str,
    expires_in: chrono::Duration,
) -> (i32, String, String) {
    let scope = chirp_net::x::oauth::SCOPES.join(" ");
    connect_with_scope(db, fake, user_id, username, &scope, expires_in).await
}

/// [`connect_account_as`] with tokens granted `scope` (say, without `media.write`, as before
/// chirp asked for it).
pub async fn connect_with_scope(
    db: &Db,
    fake: &chirp_fake_x::FakeX,
    user_id: &str,
    username: &str,
    scope: &str,
    expires_in: chrono::Duration,
) -> (i32, String, String) {
    use chirp_net::Secret;
    use chirp_net::secret::Column;
    let (access, refresh) = fake.issue_tokens_with_scope(user_id, scope);
    let c = cipher();
    let stored = chirp_store::accounts::StoredTokens {
        access: c
            .encrypt(Column::AccessToken, &Secret::new(access.clone()))
            .unwrap(),
        refresh: Some(
            c.encrypt(Column::RefreshToken, &Secret::new(refresh.clone()))
                .unwrap(),
        ),
        expires_at: Some(chrono::Utc::now() + expires_in),
        lifetime_secs: None,
        scope: Some(scope.to_string()),
    };
    let mut client = db.client().await.expect("pooled connection");
    let id = chirp_store::accounts::save_connected(&mut client, user_id, username, &stored)
        .await
        .expect("save account");
    (id, access, refresh)
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

/// The posts X has for a thread whose parts read "`label` k/`n`", checked to form one chain:
/// each part on X exactly once, replying to the part before (the first to nothing). Returns
/// their ids, in order.
pub fn thread_chain(fake: &chirp_fake_x::FakeX, label: &str, n: usize) -> Vec<String> {
    let posts = fake.posts();
    let mut ids: Vec<String> = Vec::new();
    for k in 1..=n {
        let text = format!("{label} {k}/{n}");
        let found: Vec<_> = posts.iter().filter(|p| p.text == text).collect();
        assert_eq!(found.len(), 1, "part {k} reached X {} times", found.len());
        assert_eq!(
            found[0].reply_to,
            ids.last().cloned(),
            "part {k} replies to the part before"
        );
        ids.push(found[0].id.clone());
    }
    ids
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

/// A fake X started with `cfg`, a fresh database, and the fake's default user connected to
/// it (tokens for an hour): (the database, the fake, the account's id).
pub async fn with_account(cfg: chirp_fake_x::FakeConfig) -> (TestDb, chirp_fake_x::FakeX, i32) {
    let fake = chirp_fake_x::FakeX::start(cfg, 0).await.unwrap();
    let t = fresh_db().await;
    let (account, _, _) = connect_account(&t.db, &fake, chrono::Duration::hours(1)).await;
    (t, fake, account)
}
