//! Dev-only test harness for everything above the store: accounts connected to the fake X,
//! credentials with the test key, the publisher running against the fake. The database part
//! (clusters, template databases, waiting on NOTIFY) is `chirp-testdb`, re-exported here.
// Test helpers fail loudly: a broken fixture is a failed test, not an error to handle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::pedantic)]

pub use chirp_testdb::*;

use chirp_store::Db;

pub mod publisher;

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

/// The networks of a chirp whose X is `fake`, built the way chirp builds them.
pub fn networks(fake: &chirp_fake_x::FakeX, timeout: std::time::Duration) -> chirp_net::Networks {
    chirp_net::Networks::from_config(&chirp_net::NetworksConfig {
        x: x_config(fake),
        timeout,
    })
}

/// The credentials service of a chirp that talks to `fake`, with the test key.
pub fn credentials(
    fake: &chirp_fake_x::FakeX,
    timeout: std::time::Duration,
) -> chirp_credentials::Credentials {
    // A journal of the test process's own, not the home folder's.
    let journal = std::env::temp_dir().join(format!("chirp-test-journal-{}", std::process::id()));
    chirp_credentials::Credentials::new(&networks(fake, timeout), cipher())
        .journal(chirp_credentials::Journal::at(journal))
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

/// A fake X started with `cfg`, a fresh database, and the fake's default user connected to
/// it (tokens for an hour): (the database, the fake, the account's id).
/// A fake X whose token endpoint answers after `latency` (spending the old refresh token on
/// receipt, as X does), and an account whose access token has expired: its first use, or a
/// publisher's keeper, refreshes at once.
pub async fn with_slow_refresh(latency: std::time::Duration) -> (TestDb, chirp_fake_x::FakeX, i32) {
    let fake = chirp_fake_x::FakeX::start(
        chirp_fake_x::FakeConfig {
            token_latency: latency,
            ..chirp_fake_x::FakeConfig::default()
        },
        0,
    )
    .await
    .unwrap();
    let t = fresh_db().await;
    let (account, _, _) = connect_account(&t.db, &fake, chrono::Duration::seconds(-5)).await;
    (t, fake, account)
}

pub async fn with_account(cfg: chirp_fake_x::FakeConfig) -> (TestDb, chirp_fake_x::FakeX, i32) {
    let fake = chirp_fake_x::FakeX::start(cfg, 0).await.unwrap();
    let t = fresh_db().await;
    let (account, _, _) = connect_account(&t.db, &fake, chrono::Duration::hours(1)).await;
    (t, fake, account)
}

/// A PNG claiming `side`×`side` pixels of PNG colour type `colour` (0 grey, 6 RGBA), with
/// valid checksums and almost no data: small on disk, huge once decoded (a picture bomb).
pub fn png_claiming(side: u32, colour: u8) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for b in bytes {
            c ^= u32::from(*b);
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    let mut ihdr = side.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, colour, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [
        (&b"IHDR"[..], &ihdr[..]),
        // A few bytes of compressed nothing, and the end.
        (
            &b"IDAT"[..],
            &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01][..],
        ),
        (&b"IEND"[..], &[][..]),
    ] {
        let mut chunk = kind.to_vec();
        chunk.extend_from_slice(data);
        png.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
        png.extend_from_slice(&chunk);
        png.extend_from_slice(&crc32(&chunk).to_be_bytes());
    }
    png
}
