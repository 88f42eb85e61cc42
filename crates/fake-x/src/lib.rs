//! A fake X API for tests and demos, served over real HTTP on 127.0.0.1. It speaks the formats
//! in `shared/x-api.md`: OAuth 2.0 with PKCE (auto-approving), refresh-token rotation, revoke,
//! `users/me`, create/delete post, the user timeline, duplicate-content 403s and per-user rate
//! limits with `x-rate-limit-*` headers. Faults can be injected into the next post requests,
//! and every request is recorded so tests can count what "X" really received.

// Handlers return a ready Response as their error: its size does not matter in a test server.
#![allow(clippy::result_large_err)]
// A test double: a poisoned lock or a failed bind is a broken test, and says so at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::pedantic)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

mod media;
mod metrics;
pub use media::{FakeMedia, MediaState};
pub use metrics::FakeMetrics;

/// How the fake behaves.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// Lifetime of access tokens (X: 2 hours).
    pub token_lifetime: Duration,
    /// Posts a user may create per window before 429 (X: 100 per 15 minutes).
    pub posts_per_window: u32,
    pub window: Duration,
    /// When set, the token endpoint demands HTTP Basic with this secret (confidential client).
    pub client_secret: Option<String>,
    /// The user every authorization approves as.
    pub user_id: String,
    pub username: String,
    /// Answer the authorize step with `error=access_denied`.
    pub deny_consent: bool,
    /// How long a "hang" fault holds the response.
    pub hang_for: Duration,
    /// What finalize and STATUS say to wait before the next STATUS (X: a few seconds).
    pub media_check_after_secs: u64,
    /// STATUS calls a GIF or video spends "in_progress" before its processing ends.
    pub media_processing_checks: u32,
    /// Processing of GIFs and videos ends in `failed` (as for a corrupt file).
    pub fail_media_processing: bool,
    /// Finalize this many uploads, then answer each with a 503 (the answer is lost: the
    /// upload exists, the client cannot know).
    pub lose_finalize_answers: u32,
    /// Finalize this many uploads, then hold each answer for `hang_for`.
    pub hang_finalize_answers: u32,
    /// How long each appended chunk takes (a slow uplink).
    pub append_latency: Duration,
    /// Posts younger than this are not on the timeline yet (X's timeline lags behind).
    pub timeline_lag: Duration,
    /// Every timeline read answers this status (a timeline X cannot serve).
    pub timeline_status: Option<u16>,
    /// How long X takes to answer a post it created (a slow day at X).
    pub post_latency: Duration,
    /// How long X takes to answer a timeline read, whatever the answer.
    pub timeline_latency: Duration,
    /// Refuse every reply, as X's reply restriction does for accounts not "summoned".
    pub refuse_replies: bool,
    /// Post lookups (metrics reads) a user may make per window before 429.
    pub lookups_per_window: u32,
    /// Every post lookup answers this status.
    pub lookup_status: Option<u16>,
    /// How long the token endpoint takes to answer (real servers take 300 ms to 1 s). A
    /// refresh token is spent on receipt, before this wait, as X does.
    pub token_latency: Duration,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            token_lifetime: Duration::from_secs(7200),
            posts_per_window: 100,
            window: Duration::from_secs(15 * 60),
            client_secret: None,
            user_id: "1001".into(),
            username: "chirp_tester".into(),
            deny_consent: false,
            hang_for: Duration::from_secs(60),
            media_check_after_secs: 1,
            media_processing_checks: 1,
            fail_media_processing: false,
            lose_finalize_answers: 0,
            hang_finalize_answers: 0,
            append_latency: Duration::ZERO,
            timeline_lag: Duration::ZERO,
            timeline_status: None,
            post_latency: Duration::ZERO,
            timeline_latency: Duration::ZERO,
            refuse_replies: false,
            lookups_per_window: 900,
            lookup_status: None,
            token_latency: Duration::ZERO,
        }
    }
}

/// A fault for the next `POST /2/tweets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status (5xx) without creating the post.
    Status(u16),
    /// Create the post, then answer this status (5xx): the client cannot know it exists.
    StatusAfterRecord(u16),
    /// Create the post, then hold the answer past the client's timeout.
    HangAfterRecord,
    /// 429 with a window resetting this many seconds from now.
    RateLimited { reset_in: u64 },
    /// 401 as if the access token had expired.
    Unauthorized,
    /// Create the post, then answer 201 with a body that is not JSON.
    GarbledAfterRecord,
    /// 402: the account has no credits left (nothing is created).
    OutOfCredits,
    /// No fault: this request is answered as usual (to place a fault on a later one).
    Pass,
}

/// A post the fake holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePost {
    pub id: String,
    pub user_id: String,
    pub text: String,
    pub reply_to: Option<String>,
    /// The media ids it was created with.
    pub media_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub deleted: bool,
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub at: DateTime<Utc>,
    pub status: u16,
}

#[derive(Debug)]
struct Code {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    scope: String,
    issued: DateTime<Utc>,
}

#[derive(Debug)]
struct AccessGrant {
    user_id: String,
    scope: String,
    expires: DateTime<Utc>,
    revoked: bool,
}

#[derive(Debug)]
struct RefreshGrant {
    user_id: String,
    scope: String,
    spent: bool,
}

#[derive(Debug, Default)]
struct Inner {
    codes: HashMap<String, Code>,
    access: HashMap<String, AccessGrant>,
    refresh: HashMap<String, RefreshGrant>,
    posts: Vec<FakePost>,
    next_id: u64,
    faults: VecDeque<Fault>,
    requests: Vec<Recorded>,
    windows: HashMap<String, VecDeque<DateTime<Utc>>>,
    /// (user, text) of every live post, for the duplicate rule.
    texts: std::collections::HashSet<(String, String)>,
    refreshes: usize,
    media: HashMap<String, FakeMedia>,
    metrics: HashMap<String, FakeMetrics>,
}

struct Shared {
    cfg: Mutex<FakeConfig>,
    inner: Mutex<Inner>,
    /// The number of posts created so far, for tests to wait on.
    created: watch::Sender<usize>,
    /// The number of uploads finalized so far, likewise.
    finalized: watch::Sender<usize>,
    /// The number of refresh tokens spent so far, likewise.
    spent: watch::Sender<usize>,
}

/// A running fake X. Dropping it stops the server.
pub struct FakeX {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeX {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in one handler must not take the whole fake down.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeX {
    /// Serves on 127.0.0.1:`port` (0: any free port).
    pub async fn start(cfg: FakeConfig, port: u16) -> std::io::Result<FakeX> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            cfg: Mutex::new(cfg),
            inner: Mutex::new(Inner {
                next_id: 1_860_000_000_000_000_000,
                ..Inner::default()
            }),
            created: watch::channel(0).0,
            finalized: watch::channel(0).0,
            spent: watch::channel(0).0,
        });
        let app = router(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeX { addr, shared, task })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn authorize_url(&self) -> String {
        format!("{}/i/oauth2/authorize", self.base_url())
    }

    /// Queues faults for the next post requests, in order.
    pub fn inject(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.shared.inner).faults.extend(faults);
    }

    pub fn configure(&self, f: impl FnOnce(&mut FakeConfig)) {
        f(&mut lock(&self.shared.cfg));
    }

    /// Every post created (deleted ones included, marked).
    pub fn posts(&self) -> Vec<FakePost> {
        lock(&self.shared.inner).posts.clone()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.inner).requests.clone()
    }

    /// How many requests hit `method path` (path without query).
    pub fn count(&self, method: &str, path: &str) -> usize {
        lock(&self.shared.inner)
            .requests
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .count()
    }

    /// Every access and refresh token issued so far.
    pub fn issued_tokens(&self) -> Vec<String> {
        let inner = lock(&self.shared.inner);
        inner
            .access
            .keys()
            .chain(inner.refresh.keys())
            .cloned()
            .collect()
    }

    /// How many refresh grants succeeded.
    pub fn refreshes(&self) -> usize {
        lock(&self.shared.inner).refreshes
    }

    /// Makes every access token issued so far expire now (the next call gets 401).
    pub fn expire_access_tokens(&self) {
        for g in lock(&self.shared.inner).access.values_mut() {
            g.expires = Utc::now();
        }
    }

    /// Issues tokens directly, as if the default user had connected: (access, refresh).
    /// Revokes tokens as X does when the user removes the app (or X loses them): the access
    /// token stops working and the refresh token is refused.
    pub fn revoke(&self, tokens: &[&str]) {
        let mut inner = lock(&self.shared.inner);
        for t in tokens {
            if let Some(g) = inner.access.get_mut(*t) {
                g.revoked = true;
            }
            if let Some(g) = inner.refresh.get_mut(*t) {
                g.spent = true;
            }
        }
    }

    pub fn issue_tokens(&self) -> (String, String) {
        let user = lock(&self.shared.cfg).user_id.clone();
        self.issue_tokens_for(&user)
    }

    /// Issues tokens for any user id (for many-account scenarios).
    pub fn issue_tokens_for(&self, user_id: &str) -> (String, String) {
        self.issue_tokens_with_scope(user_id, &full_scope())
    }

    /// Issues tokens with a given scope (say, one connected before chirp asked for media).
    pub fn issue_tokens_with_scope(&self, user_id: &str, scope: &str) -> (String, String) {
        let cfg = lock(&self.shared.cfg).clone();
        let mut inner = lock(&self.shared.inner);
        let (a, r, _) = issue(&mut inner, &cfg, user_id, scope);
        (a, r.unwrap_or_default())
    }

    /// Lets every upload expire, as X does 24 hours after finalize.
    pub fn expire_media(&self) {
        for m in lock(&self.shared.inner).media.values_mut() {
            m.expires_at = Utc::now() - chrono::Duration::seconds(1);
        }
    }

    /// A post that is on X already (as if posted earlier): its id.
    pub fn seed_post(&self, user_id: &str, text: &str) -> String {
        let mut inner = lock(&self.shared.inner);
        inner.next_id += 1;
        let post = FakePost {
            id: inner.next_id.to_string(),
            user_id: user_id.to_string(),
            text: text.to_string(),
            reply_to: None,
            media_ids: Vec::new(),
            created_at: Utc::now(),
            deleted: false,
        };
        inner
            .texts
            .insert((post.user_id.clone(), post.text.clone()));
        inner.posts.push(post.clone());
        post.id
    }

    /// Sets what X reports for a post's numbers.
    pub fn set_metrics(&self, id: &str, m: FakeMetrics) {
        lock(&self.shared.inner).metrics.insert(id.to_string(), m);
    }

    /// Makes a post look `days` older than it is (private metrics end at 30 days).
    pub fn age_post(&self, id: &str, days: i64) {
        if let Some(p) = lock(&self.shared.inner)
            .posts
            .iter_mut()
            .find(|p| p.id == id)
        {
            p.created_at -= chrono::Duration::days(days);
        }
    }

    /// Deletes a post as its author would on X's website (chirp is not told).
    pub fn delete_on_x(&self, id: &str) {
        let mut inner = lock(&self.shared.inner);
        if let Some(p) = inner.posts.iter_mut().find(|p| p.id == id) {
            p.deleted = true;
            let key = (p.user_id.clone(), p.text.clone());
            inner.texts.remove(&key);
        }
    }

    /// Every media upload begun so far.
    pub fn media(&self) -> Vec<FakeMedia> {
        let mut all: Vec<FakeMedia> = lock(&self.shared.inner).media.values().cloned().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// Waits until at least `n` posts exist (or `timeout` passes); returns how many there are.
    /// Waits until `n` uploads were finalized (or `timeout`); how many were.
    pub async fn wait_for_finalized(&self, n: usize, timeout: Duration) -> usize {
        let mut rx = self.shared.finalized.subscribe();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|c| *c >= n)).await;
        *rx.borrow()
    }

    /// Waits until `n` refresh tokens have been spent (answered or not yet), at most
    /// `timeout`; the number spent.
    pub async fn wait_for_refreshes(&self, n: usize, timeout: Duration) -> usize {
        let mut rx = self.shared.spent.subscribe();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|c| *c >= n)).await;
        *rx.borrow()
    }

    pub async fn wait_for_posts(&self, n: usize, timeout: Duration) -> usize {
        let mut rx = self.shared.created.subscribe();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|c| *c >= n)).await;
        *rx.borrow()
    }
}

fn full_scope() -> String {
    "tweet.read tweet.write users.read media.write offline.access".into()
}

fn token() -> String {
    let mut b = [0u8; 24];
    let _ = getrandom::fill(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

fn issue(
    inner: &mut Inner,
    cfg: &FakeConfig,
    user_id: &str,
    scope: &str,
) -> (String, Option<String>, u64) {
    let access = token();
    let lifetime = cfg.token_lifetime;
    inner.access.insert(
        access.clone(),
        AccessGrant {
            user_id: user_id.to_string(),
            scope: scope.to_string(),
            expires: Utc::now() + chrono::Duration::from_std(lifetime).unwrap_or_default(),
            revoked: false,
        },
    );
    let refresh = scope.split(' ').any(|s| s == "offline.access").then(|| {
        let r = token();
        inner.refresh.insert(
            r.clone(),
            RefreshGrant {
                user_id: user_id.to_string(),
                scope: scope.to_string(),
                spent: false,
            },
        );
        r
    });
    (access, refresh, lifetime.as_secs())
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/i/oauth2/authorize", get(authorize))
        .route("/2/oauth2/token", post(token_endpoint))
        .route("/2/oauth2/revoke", post(revoke))
        .route("/2/users/me", get(me))
        .route("/2/users/{id}/tweets", get(timeline))
        .route("/2/tweets", post(create).get(metrics::lookup))
        .route("/2/tweets/{id}", delete(remove))
        .route("/2/media/upload/initialize", post(media::initialize))
        // X takes appended chunks of a few MB (axum's default limit is 2 MB).
        .route(
            "/2/media/upload/{id}/append",
            post(media::append).layer(axum::extract::DefaultBodyLimit::max(8 * 1024 * 1024)),
        )
        .route("/2/media/upload/{id}/finalize", post(media::finalize))
        .route("/2/media/upload", get(media::status))
        .route("/2/media/metadata", post(media::metadata))
        .with_state(shared)
}

fn record(s: &Shared, method: &str, path: &str, status: u16) {
    lock(&s.inner).requests.push(Recorded {
        method: method.into(),
        path: path.into(),
        at: Utc::now(),
        status,
    });
}

fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body =
        json!({"title": title, "detail": detail, "type": "about:blank", "status": status.as_u16()});
    (status, axum::Json(body)).into_response()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// The user behind a bearer token, or the 401 to answer.
fn bearer(s: &Shared, headers: &HeaderMap) -> Result<String, Response> {
    bearer_with(s, headers, None)
}

/// The user of a valid bearer token; with `scope`, the token must have been granted it (X
/// answers 403 otherwise).
fn bearer_with(s: &Shared, headers: &HeaderMap, scope: Option<&str>) -> Result<String, Response> {
    let unauthorized = || problem(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(unauthorized)?;
    let inner = lock(&s.inner);
    match inner.access.get(token) {
        Some(g) if !g.revoked && g.expires > Utc::now() => {
            if let Some(want) = scope
                && !g.scope.split(' ').any(|s| s == want)
            {
                return Err(problem(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    &format!(
                        "Your client app is not configured with the appropriate oauth1 app permissions for this endpoint, or the token lacks the {want} scope."
                    ),
                ));
            }
            Ok(g.user_id.clone())
        }
        _ => Err(unauthorized()),
    }
}

#[derive(Debug, Deserialize)]
struct AuthorizeQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

async fn authorize(State(s): State<Arc<Shared>>, Query(q): Query<AuthorizeQuery>) -> Response {
    let bad = |why: &str| {
        record(&s, "GET", "/i/oauth2/authorize", 400);
        (
            StatusCode::BAD_REQUEST,
            format!("Something went wrong: {why}"),
        )
            .into_response()
    };
    let (Some(client_id), Some(redirect_uri), Some(state), Some(challenge)) =
        (q.client_id, q.redirect_uri, q.state, q.code_challenge)
    else {
        return bad("missing parameters");
    };
    if q.response_type.as_deref() != Some("code")
        || q.code_challenge_method.as_deref() != Some("S256")
    {
        return bad("response_type=code and code_challenge_method=S256 are required");
    }
    if state.len() > 500 {
        return bad("state is longer than 500 characters");
    }
    let Ok(mut target) = url::Url::parse(&redirect_uri) else {
        return bad("redirect_uri is not a URL");
    };
    let deny = lock(&s.cfg).deny_consent;
    if deny {
        target
            .query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("state", &state);
    } else {
        let code = token();
        lock(&s.inner).codes.insert(
            code.clone(),
            Code {
                client_id,
                redirect_uri,
                challenge,
                scope: q.scope.unwrap_or_default(),
                issued: Utc::now(),
            },
        );
        target
            .query_pairs_mut()
            .append_pair("state", &state)
            .append_pair("code", &code);
    }
    record(&s, "GET", "/i/oauth2/authorize", 302);
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

/// The client id the request authenticated as, per the confidential/public rules.
fn client_auth(
    cfg: &FakeConfig,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<String, Response> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let refuse = || {
        oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "Missing valid authorization header",
        )
    };
    match (&cfg.client_secret, basic) {
        (Some(secret), Some(pair)) => match pair.split_once(':') {
            Some((id, sec)) if sec == secret => Ok(id.to_string()),
            _ => Err(refuse()),
        },
        (Some(_), None) => Err(refuse()),
        (None, _) => form.get("client_id").cloned().ok_or_else(refuse),
    }
}

async fn token_endpoint(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let cfg = lock(&s.cfg).clone();
    let resp = match client_auth(&cfg, &headers, &form) {
        Err(r) => r,
        Ok(client_id) => match form.get("grant_type").map(String::as_str) {
            Some("authorization_code") => exchange_code(&s, &cfg, &client_id, &form),
            Some("refresh_token") => refresh_grant(&s, &cfg, &form),
            _ => oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type is not supported",
            ),
        },
    };
    // The grant is decided (a refresh token spent) before the answer takes its time.
    tokio::time::sleep(cfg.token_latency).await;
    record(&s, "POST", "/2/oauth2/token", resp.status().as_u16());
    resp
}

fn token_json(access: String, refresh: Option<String>, expires_in: u64, scope: &str) -> Response {
    let mut body = json!({"token_type": "bearer", "expires_in": expires_in, "access_token": access, "scope": scope});
    if let Some(r) = refresh {
        body["refresh_token"] = Value::String(r);
    }
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn exchange_code(
    s: &Shared,
    cfg: &FakeConfig,
    client_id: &str,
    form: &HashMap<String, String>,
) -> Response {
    let invalid = || {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Value passed for the authorization code was invalid.",
        )
    };
    let mut inner = lock(&s.inner);
    // A code is single-use whatever happens next.
    let Some(code) = form.get("code").and_then(|c| inner.codes.remove(c)) else {
        return invalid();
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let fresh = Utc::now() - code.issued < chrono::Duration::seconds(30);
    if !fresh
        || code.client_id != client_id
        || form.get("redirect_uri") != Some(&code.redirect_uri)
        || !(43..=128).contains(&verifier.len())
        || computed != code.challenge
    {
        return invalid();
    }
    let (a, r, exp) = issue(&mut inner, cfg, &cfg.user_id, &code.scope);
    token_json(a, r, exp, &code.scope)
}

fn refresh_grant(s: &Shared, cfg: &FakeConfig, form: &HashMap<String, String>) -> Response {
    let mut inner = lock(&s.inner);
    let grant = form
        .get("refresh_token")
        .and_then(|t| inner.refresh.get_mut(t))
        .filter(|g| !g.spent);
    let Some(grant) = grant else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Value passed for the token was invalid.",
        );
    };
    // Rotation: the old refresh token is spent by this use.
    grant.spent = true;
    let (user, scope) = (grant.user_id.clone(), grant.scope.clone());
    inner.refreshes += 1;
    s.spent.send_replace(inner.refreshes);
    let (a, r, exp) = issue(&mut inner, cfg, &user, &scope);
    token_json(a, r, exp, &scope)
}

async fn revoke(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let mut inner = lock(&s.inner);
    if let Some(t) = form.get("token") {
        if let Some(g) = inner.access.get_mut(t) {
            g.revoked = true;
        }
        if let Some(g) = inner.refresh.get_mut(t) {
            g.spent = true;
        }
    }
    drop(inner);
    record(&s, "POST", "/2/oauth2/revoke", 200);
    (StatusCode::OK, axum::Json(json!({"revoked": true}))).into_response()
}

async fn me(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let resp = match bearer(&s, &headers) {
        Err(r) => r,
        Ok(user) => {
            let cfg = lock(&s.cfg).clone();
            let name = if user == cfg.user_id {
                cfg.username.clone()
            } else {
                format!("user{user}")
            };
            axum::Json(json!({"data": {"id": user, "name": name, "username": name}}))
                .into_response()
        }
    };
    record(&s, "GET", "/2/users/me", resp.status().as_u16());
    resp
}

#[derive(Debug, Deserialize)]
struct TimelineQuery {
    start_time: Option<String>,
    max_results: Option<u32>,
    pagination_token: Option<String>,
    #[serde(rename = "tweet.fields")]
    tweet_fields: Option<String>,
}

async fn timeline(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<TimelineQuery>,
) -> Response {
    let cfg = lock(&s.cfg).clone();
    if !cfg.timeline_latency.is_zero() {
        tokio::time::sleep(cfg.timeline_latency).await;
    }
    let resp = match bearer(&s, &headers) {
        Err(r) => r,
        Ok(_) if cfg.timeline_status.is_some() => {
            let code = cfg.timeline_status.unwrap_or(500);
            let st = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            problem(st, "Internal Server Error", "Internal Server Error")
        }
        Ok(_) => {
            let field = |name: &str| {
                q.tweet_fields
                    .as_deref()
                    .is_some_and(|f| f.split(',').any(|f| f == name))
            };
            let entities = field("entities");
            let referenced = field("referenced_tweets");
            let attachments = field("attachments");
            let username = if id == cfg.user_id {
                cfg.username.clone()
            } else {
                format!("user{id}")
            };
            let lag = chrono::Duration::from_std(cfg.timeline_lag).unwrap_or_default();
            let max = q.max_results.unwrap_or(10);
            let since = q.start_time.as_deref().map(DateTime::parse_from_rfc3339);
            match (since, (5..=100).contains(&max)) {
                (Some(Err(_)), _) | (_, false) => problem(
                    StatusCode::BAD_REQUEST,
                    "Invalid Request",
                    "One or more parameters to your request was invalid.",
                ),
                (since, true) => {
                    let since = since.and_then(Result::ok).map(|d| d.with_timezone(&Utc));
                    let inner = lock(&s.inner);
                    let skip: usize = q
                        .pagination_token
                        .as_deref()
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(0);
                    let matching: Vec<&FakePost> = inner
                        .posts
                        .iter()
                        .rev()
                        .filter(|p| p.user_id == id && !p.deleted)
                        .filter(|p| since.is_none_or(|t| p.created_at >= t))
                        .filter(|p| Utc::now() - p.created_at >= lag)
                        .collect();
                    let data: Vec<Value> = matching
                        .iter()
                        .skip(skip)
                        .take(max as usize)
                        .map(|p| {
                            let (mut text, mut urls) = rendered(&p.text);
                            // X ends a post with media with a t.co link to that media.
                            let kinds: Vec<&str> = p
                                .media_ids
                                .iter()
                                .filter_map(|m| inner.media.get(m))
                                .map(|m| m.category.as_str())
                                .collect();
                            if let Some(first) = kinds.first() {
                                let link = format!("https://t.co/media{}", urls.len());
                                text = format!("{text} {link}").trim_start().to_string();
                                let what = if *first == "tweet_image" { "photo" } else { "video" };
                                urls.push(json!({
                                    "url": link,
                                    "expanded_url": format!("https://x.com/{username}/status/{}/{what}/1", p.id),
                                    "display_url": format!("pic.x.com/{}", p.id),
                                }));
                            }
                            let mut t = json!({"id": p.id, "text": text});
                            if attachments && !p.media_ids.is_empty() {
                                let keys: Vec<String> = p
                                    .media_ids
                                    .iter()
                                    .zip(&kinds)
                                    .map(|(m, k)| {
                                        let prefix = match *k {
                                            "tweet_image" => 3,
                                            "tweet_gif" => 16,
                                            _ => 7,
                                        };
                                        format!("{prefix}_{m}")
                                    })
                                    .collect();
                                t["attachments"] = json!({"media_keys": keys});
                            }
                            if entities && !urls.is_empty() {
                                t["entities"] = json!({"urls": urls});
                            }
                            if let (true, Some(to)) = (referenced, &p.reply_to) {
                                t["referenced_tweets"] = json!([{"type": "replied_to", "id": to}]);
                            }
                            t
                        })
                        .collect();
                    let mut meta = json!({"result_count": data.len()});
                    if skip + data.len() < matching.len() {
                        meta["next_token"] = Value::String((skip + data.len()).to_string());
                    }
                    if data.is_empty() {
                        axum::Json(json!({"meta": meta})).into_response()
                    } else {
                        axum::Json(json!({"data": data, "meta": meta})).into_response()
                    }
                }
            }
        }
    };
    record(&s, "GET", "/2/users/:id/tweets", resp.status().as_u16());
    resp
}

/// The text as X's API returns it, with `entities.urls` (each t.co link with the URL it
/// stands for, as X expands it: with a scheme).
fn rendered(text: &str) -> (String, Vec<Value>) {
    use twitter_text::extractor::{Extract, Extractor};
    let urls: Vec<String> = Extractor::new()
        .extract_urls_with_indices(text)
        .iter()
        .map(|e| e.get_value().to_string())
        .collect();
    let shown = as_x_returns(text);
    let entities = urls
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let expanded = if u.contains("://") {
                u.clone()
            } else {
                format!("http://{u}")
            };
            json!({"url": format!("https://t.co/fake{i:06}"), "expanded_url": expanded, "display_url": u})
        })
        .collect();
    (shown, entities)
}

/// The text as X's API returns it: HTML-escaped, with every link replaced by a t.co one.
fn as_x_returns(text: &str) -> String {
    use twitter_text::extractor::{Extract, Extractor};
    let mut out = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let urls: Vec<String> = Extractor::new()
        .extract_urls_with_indices(&out)
        .iter()
        .map(|e| e.get_value().to_string())
        .collect();
    for (i, u) in urls.iter().enumerate() {
        out = out.replacen(u.as_str(), &format!("https://t.co/fake{i:06}"), 1);
    }
    out
}

fn rate_headers(resp: &mut Response, limit: u32, remaining: u32, reset: i64) {
    let h = resp.headers_mut();
    for (k, v) in [
        ("x-rate-limit-limit", limit as i64),
        ("x-rate-limit-remaining", remaining as i64),
        ("x-rate-limit-reset", reset),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v.to_string()) {
            h.insert(k, v);
        }
    }
}

async fn create(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    // Recorded on arrival (status 0 until answered), so a request still hanging is counted.
    let index = {
        let mut inner = lock(&s.inner);
        inner.requests.push(Recorded {
            method: "POST".into(),
            path: "/2/tweets".into(),
            at: Utc::now(),
            status: 0,
        });
        inner.requests.len() - 1
    };
    let resp = create_inner(&s, &headers, &body).await;
    lock(&s.inner).requests[index].status = resp.status().as_u16();
    resp
}

async fn create_inner(s: &Arc<Shared>, headers: &HeaderMap, body: &[u8]) -> Response {
    let user = match bearer(s, headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let fault = lock(&s.inner).faults.pop_front();
    match fault {
        Some(Fault::Status(code)) => {
            let st = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return problem(st, "Service Unavailable", "Service Unavailable");
        }
        Some(Fault::Unauthorized) => {
            return problem(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
        }
        Some(Fault::OutOfCredits) => {
            let body = json!({
                "title": "CreditsDepleted",
                "detail": "Your enrolled account does not have any credits to fulfill this request.",
                "type": "https://api.twitter.com/2/problems/credits",
                "status": 402
            });
            return (StatusCode::PAYMENT_REQUIRED, axum::Json(body)).into_response();
        }
        Some(Fault::RateLimited { reset_in }) => {
            let mut r = problem(
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                "Too Many Requests",
            );
            let limit = lock(&s.cfg).posts_per_window;
            rate_headers(&mut r, limit, 0, Utc::now().timestamp() + reset_in as i64);
            return r;
        }
        _ => {}
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        text: Option<String>,
        reply: Option<ReplyBody>,
        media: Option<Value>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ReplyBody {
        in_reply_to_tweet_id: String,
    }
    let parsed: Body = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "Invalid Request",
                &format!("One or more parameters to your request was invalid. {e}"),
            );
        }
    };
    let media_ids = match media::attachable(s, &user, parsed.media.as_ref()) {
        Ok(ids) => ids,
        Err(r) => return r,
    };
    let text = parsed.text.unwrap_or_default();
    // X's own counting (twitter-text, config v3), not chirp's: the fake must not agree with
    // chirp just because they share code. Text may be empty when there is media.
    let counted = twitter_text::parse(&text, twitter_text_config::config_v3(), true);
    let empty_ok = text.is_empty() && !media_ids.is_empty();
    if !empty_ok && (text.trim().is_empty() || !counted.is_valid) {
        return problem(
            StatusCode::BAD_REQUEST,
            "Invalid Request",
            "One or more parameters to your request was invalid.",
        );
    }
    let cfg = lock(&s.cfg).clone();
    if let Some(r) = &parsed.reply {
        let inner = lock(&s.inner);
        let target = inner
            .posts
            .iter()
            .find(|p| p.id == r.in_reply_to_tweet_id && !p.deleted);
        if target.is_none() {
            return problem(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "You attempted to reply to a Tweet that is deleted or not visible to you.",
            );
        }
        // chirp's threads reply to their own posts only: anything else is a bug to show.
        if target.is_some_and(|t| t.user_id != user) || cfg.refuse_replies {
            return problem(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "Reply to this conversation is not allowed because you have not been mentioned or otherwise engaged by the author of the post you are replying to.",
            );
        }
    }
    let (post, remaining, reset) = {
        let mut inner = lock(&s.inner);
        let now = Utc::now();
        let window = chrono::Duration::from_std(cfg.window).unwrap_or_default();
        let w = inner.windows.entry(user.clone()).or_default();
        while w.front().is_some_and(|t| now - *t >= window) {
            w.pop_front();
        }
        let reset = w.front().map_or(now, |t| *t + window).timestamp();
        if w.len() as u32 >= cfg.posts_per_window {
            drop(inner);
            let mut r = problem(
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                "Too Many Requests",
            );
            rate_headers(&mut r, cfg.posts_per_window, 0, reset);
            return r;
        }
        if inner
            .posts
            .iter()
            .any(|p| p.user_id == user && !p.deleted && !text.is_empty() && p.text == text)
        {
            return problem(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "You are not allowed to create a Tweet with duplicate content.",
            );
        }
        let w = inner.windows.entry(user.clone()).or_default();
        w.push_back(now);
        let remaining = cfg.posts_per_window - w.len() as u32;
        inner.next_id += 1;
        let post = FakePost {
            id: inner.next_id.to_string(),
            user_id: user,
            text,
            reply_to: parsed.reply.map(|r| r.in_reply_to_tweet_id),
            media_ids,
            created_at: now,
            deleted: false,
        };
        inner
            .texts
            .insert((post.user_id.clone(), post.text.clone()));
        inner.posts.push(post.clone());
        let n = inner.posts.len();
        s.created.send_replace(n);
        (post, remaining, reset)
    };
    if !cfg.post_latency.is_zero() {
        tokio::time::sleep(cfg.post_latency).await;
    }
    match fault {
        Some(Fault::StatusAfterRecord(code)) => {
            let st = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return problem(st, "Service Unavailable", "Service Unavailable");
        }
        Some(Fault::HangAfterRecord) => {
            tokio::time::sleep(cfg.hang_for).await;
        }
        Some(Fault::GarbledAfterRecord) => {
            let mut r = (StatusCode::CREATED, "<html>upstream said: {\"data\": ").into_response();
            rate_headers(&mut r, cfg.posts_per_window, remaining, reset);
            return r;
        }
        _ => {}
    }
    let mut r = (
        StatusCode::CREATED,
        axum::Json(json!({"data": {"id": post.id, "text": as_x_returns(&post.text), "edit_history_tweet_ids": [post.id]}})),
    )
        .into_response();
    rate_headers(&mut r, cfg.posts_per_window, remaining, reset);
    r
}

async fn remove(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let resp = match bearer(&s, &headers) {
        Err(r) => r,
        Ok(user) => {
            let mut inner = lock(&s.inner);
            match inner
                .posts
                .iter_mut()
                .find(|p| p.id == id && p.user_id == user && !p.deleted)
            {
                Some(p) => {
                    p.deleted = true;
                    let key = (p.user_id.clone(), p.text.clone());
                    inner.texts.remove(&key);
                    axum::Json(json!({"data": {"deleted": true}})).into_response()
                }
                None => problem(
                    StatusCode::NOT_FOUND,
                    "Not Found Error",
                    "Could not find tweet with id.",
                ),
            }
        }
    };
    record(&s, "DELETE", "/2/tweets/:id", resp.status().as_u16());
    resp
}
