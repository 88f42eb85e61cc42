//! TLS to a hosted PostgreSQL, tried against a local server that requires it, with a
//! certificate for `localhost` signed by a CA of the test's own (made with the openssl tool).
// Tests and benchmarks stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use chirp_store::{Cluster, Db};

/// A throwaway server on 127.0.0.1 with TLS on; stopped when dropped.
struct TlsServer {
    cluster: Cluster,
    port: u16,
    ca: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.cluster.stop();
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl tool makes the test certificates");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn start() -> TlsServer {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = dir.path();
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=chirp test CA",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        d.join("ext.cnf"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    let port = chirp_testdb::free_port();
    let cluster = Cluster::new(d.join("pg")).unwrap();
    let listen = "listen_addresses = '127.0.0.1'".to_string();
    let port_line = format!("port = {port}");
    cluster.ensure_running(&[&listen, &port_line]).unwrap();
    // The server's key must belong to the server's user, readable by it alone.
    let data = cluster.data_dir();
    let owner = std::fs::metadata(&data).unwrap();
    for f in ["server.pem", "server.key"] {
        let to = data.join(f);
        std::fs::copy(d.join(f), &to).unwrap();
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::chown(&to, Some(owner.uid()), Some(owner.gid())).unwrap();
    }
    let mut conf = std::fs::OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))
        .unwrap();
    std::io::Write::write_all(
        &mut conf,
        b"ssl = on\nssl_cert_file = 'server.pem'\nssl_key_file = 'server.key'\n",
    )
    .unwrap();
    cluster.restart_config().unwrap();
    TlsServer {
        cluster,
        port,
        ca: d.join("ca.pem"),
        _dir: dir,
    }
}

impl TlsServer {
    fn url(&self, host: &str, tls: &str) -> String {
        format!(
            "host={host} port={} user=chirp dbname=postgres {tls}",
            self.port
        )
    }
}

/// Whether this connection is encrypted, as the server sees it.
async fn encrypted(db: &Db) -> bool {
    db.client()
        .await
        .unwrap()
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmodes_work_as_in_libpq() {
    let s = start();
    let ca = s.ca.display().to_string();
    // verify-full: the CA is ours and the name matches.
    let (db, _) = Db::open(Some(&s.url(
        "localhost",
        &format!("sslmode=verify-full sslrootcert={ca}"),
    )))
    .await
    .unwrap();
    assert!(encrypted(&db).await);
    // The URL form, with the path percent-encoded.
    let url = format!(
        "postgresql://chirp@localhost:{}/postgres?sslmode=verify-full&sslrootcert={}",
        s.port,
        ca.replace('/', "%2F")
    );
    let (db, _) = Db::open(Some(&url)).await.unwrap();
    assert!(encrypted(&db).await);
    // The LISTEN connection goes the same way.
    chirp_store::notify::listen(&db).await.unwrap();
    // verify-full refuses a certificate for another name; verify-ca does not check names.
    let err = Db::open(Some(&s.url(
        "127.0.0.1",
        &format!("sslmode=verify-full sslrootcert={ca}"),
    )))
    .await
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("certificate"), "{err}");
    let (db, _) = Db::open(Some(
        &s.url("127.0.0.1", &format!("sslmode=verify-ca sslrootcert={ca}")),
    ))
    .await
    .unwrap();
    assert!(encrypted(&db).await);
    // Without our CA (the system's CAs do not know it), verification fails, saying why.
    let err = Db::open(Some(&s.url("localhost", "sslmode=verify-full")))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("certificate") || err.contains("CA"), "{err}");
    // require and the default (prefer) encrypt without checking; disable does not encrypt.
    for (tls, want) in [
        ("sslmode=require", true),
        ("", true),
        ("sslmode=disable", false),
    ] {
        let (db, _) = Db::open(Some(&s.url("localhost", tls))).await.unwrap();
        assert_eq!(encrypted(&db).await, want, "{tls}");
    }
    // A CA file that is not there: a clear error.
    let err = Db::open(Some(&s.url(
        "localhost",
        "sslmode=verify-full sslrootcert=/nonexistent/ca.pem",
    )))
    .await
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("sslrootcert /nonexistent/ca.pem"), "{err}");
}
