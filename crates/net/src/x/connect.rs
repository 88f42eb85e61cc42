//! `chirp account connect`: the authorization-code flow with PKCE, made to work over SSH.
//! The authorize URL is printed (and opened in a browser only when there is a display); the
//! redirect is caught by a listener on the redirect URI's 127.0.0.1 port (which `ssh -L`
//! forwards), and the user may instead paste the redirected URL, or just the code.

use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "the answer's state does not match this request (an old or forged redirect): nothing was saved; run `chirp account connect` again"
    )]
    StateMismatch,
    #[error("X did not grant access ({0}): nothing was saved")]
    Denied(String),
    #[error("no answer within {0} seconds: nothing was saved; run `chirp account connect` again")]
    TimedOut(u64),
    #[error("cancelled: nothing was saved")]
    Cancelled,
    #[error("cannot listen on {addr} for the redirect: {why}")]
    Listen { addr: String, why: String },
    #[error(
        "x.redirect_uri must be http://127.0.0.1:PORT/PATH (X wants 127.0.0.1, not localhost): {0}"
    )]
    BadRedirect(String),
}

/// What came back: from the browser's redirect or from what the user pasted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

/// Reads a pasted line: a redirected URL (or its query string), or a bare code.
pub fn parse_pasted(line: &str) -> Option<Answer> {
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    let query = match url::Url::parse(line) {
        Ok(u) => u.query().unwrap_or("").to_string(),
        Err(_) if line.contains("code=") || line.contains("error=") => {
            line.trim_start_matches('?').to_string()
        }
        Err(_) => {
            return Some(Answer {
                code: Some(line.to_string()),
                state: None,
                error: None,
            });
        }
    };
    let a = Answer::from_query(&query);
    (a.code.is_some() || a.error.is_some()).then_some(a)
}

impl Answer {
    /// The `code`, `state` and `error` of a redirect's query string.
    fn from_query(query: &str) -> Answer {
        let mut a = Answer {
            code: None,
            state: None,
            error: None,
        };
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "code" => a.code = Some(v.into_owned()),
                "state" => a.state = Some(v.into_owned()),
                "error" => a.error = Some(v.into_owned()),
                _ => {}
            }
        }
        a
    }
}

/// Checks an answer against the state we sent. A pasted bare code has no state to check; PKCE
/// still binds it to this request's verifier.
pub fn check(answer: Answer, expected_state: &str) -> Result<String, ConnectError> {
    if let Some(state) = &answer.state
        && state != expected_state
    {
        return Err(ConnectError::StateMismatch);
    }
    if let Some(e) = answer.error {
        return Err(ConnectError::Denied(e));
    }
    answer
        .code
        .ok_or_else(|| ConnectError::Denied("no code in the answer".into()))
}

/// The redirect listener, bound before the user is shown the address (so even a browser that
/// is quicker than the prompt finds it).
pub struct Callback {
    listener: tokio::net::TcpListener,
    path: String,
}

/// Binds 127.0.0.1 on the redirect URI's port.
pub async fn listen(redirect_uri: &url::Url) -> Result<Callback, ConnectError> {
    let host = redirect_uri.host_str().unwrap_or("");
    if redirect_uri.scheme() != "http" || !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        return Err(ConnectError::BadRedirect(redirect_uri.to_string()));
    }
    let port = redirect_uri
        .port()
        .ok_or_else(|| ConnectError::BadRedirect(redirect_uri.to_string()))?;
    let addr = format!("127.0.0.1:{port}");
    let listener =
        tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|e| ConnectError::Listen {
                addr: addr.clone(),
                why: e.to_string(),
            })?;
    Ok(Callback {
        listener,
        path: redirect_uri.path().to_string(),
    })
}

/// Waits for the redirect (or a pasted answer on stdin) until `timeout` passes or Ctrl-C is
/// pressed (`interrupt`: registered by the caller before it prompts, so an early Ctrl-C is
/// caught too).
pub async fn wait_for_answer(
    bound: Callback,
    state: &str,
    timeout: Duration,
    read_stdin: bool,
    interrupt: &mut tokio::signal::unix::Signal,
) -> Result<Answer, ConnectError> {
    let Callback { listener, path } = bound;
    let (tx, mut rx) = mpsc::channel::<Answer>(4);
    let server = tokio::spawn(serve(listener, path, state.to_string(), tx.clone()));
    let stdin_task = read_stdin.then(|| {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(a) = parse_pasted(&line)
                    && tx.send(a).await.is_err()
                {
                    break;
                }
            }
        })
    });
    let result = tokio::select! {
        a = rx.recv() => a.ok_or(ConnectError::Cancelled),
        () = tokio::time::sleep(timeout) => Err(ConnectError::TimedOut(timeout.as_secs())),
        _ = interrupt.recv() => Err(ConnectError::Cancelled),
    };
    // The answering page was written before the answer reached us; stop listening.
    server.abort();
    if let Some(t) = stdin_task {
        t.abort();
    }
    result
}

/// [`wait_for_answer`] for a caller that is no terminal prompt (the TUI): the browser's
/// redirect, or an answer handed over through `pasted`, until `timeout`. A closed `pasted`
/// (the caller gave up) ends the wait as cancelled.
pub async fn wait_for_redirect_or(
    bound: Callback,
    state: &str,
    timeout: Duration,
    mut pasted: mpsc::Receiver<Answer>,
) -> Result<Answer, ConnectError> {
    let Callback { listener, path } = bound;
    let (tx, mut rx) = mpsc::channel::<Answer>(4);
    let server = tokio::spawn(serve(listener, path, state.to_string(), tx));
    let result = tokio::select! {
        a = rx.recv() => a.ok_or(ConnectError::Cancelled),
        a = pasted.recv() => a.ok_or(ConnectError::Cancelled),
        () = tokio::time::sleep(timeout) => Err(ConnectError::TimedOut(timeout.as_secs())),
    };
    server.abort();
    result
}

/// Connections the redirect listener serves at once. Any local user can connect to it: a
/// new connection past this many closes the oldest, so that idle ones (a flood of them) can
/// never keep the browser's redirect out.
const CALLBACK_CONNECTIONS: usize = 8;

/// How long one connection may take to send its request and read the answer.
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves the redirect listener: each connection is HTTP/1 (hyper); a GET on the redirect
/// path with this request's `state` tells the browser to go back to the terminal and, once
/// that page is written, hands its query to `tx` (so the answer page is never cut off by chirp
/// moving on). Anything else (another page, an old or forged redirect) is answered and
/// ignored: no local process or web page can end a pending connect. At most
/// [`CALLBACK_CONNECTIONS`] at once, each for at most [`CALLBACK_TIMEOUT`]; a failing accept
/// (out of file descriptors) waits a moment instead of spinning.
async fn serve(
    listener: tokio::net::TcpListener,
    path: String,
    state: String,
    tx: mpsc::Sender<Answer>,
) {
    // A JoinSet: when the wait is over (this task aborted), every connection goes with it.
    let mut tasks = tokio::task::JoinSet::new();
    let mut open: std::collections::VecDeque<tokio::task::AbortHandle> =
        std::collections::VecDeque::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        while tasks.try_join_next().is_some() {}
        open.retain(|t| !t.is_finished());
        while open.len() >= CALLBACK_CONNECTIONS {
            if let Some(oldest) = open.pop_front() {
                oldest.abort();
            }
        }
        let path = path.clone();
        let state = state.clone();
        let tx = tx.clone();
        open.push_back(tasks.spawn(async move {
            let got = std::sync::Arc::new(std::sync::Mutex::new(None));
            let slot = got.clone();
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let (response, answer) = respond(&req, &path, &state);
                if let Some(a) = answer
                    && let Ok(mut s) = slot.lock()
                {
                    *s = Some(a);
                }
                async move { Ok::<_, std::convert::Infallible>(response) }
            });
            let served = hyper::server::conn::http1::Builder::new()
                .keep_alive(false)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CALLBACK_TIMEOUT, served).await;
            let answer = got.lock().ok().and_then(|mut s| s.take());
            if let Some(a) = answer {
                let _ = tx.send(a).await;
            }
        }));
    }
}

/// The page for one request, and the answer it carries when it is X's redirect.
fn respond(
    req: &Request<Incoming>,
    path: &str,
    state: &str,
) -> (Response<Full<Bytes>>, Option<Answer>) {
    if req.method() != hyper::Method::GET || req.uri().path() != path {
        return (page(StatusCode::NOT_FOUND, "<p>Not found.</p>"), None);
    }
    let a = Answer::from_query(req.uri().query().unwrap_or(""));
    if a.state.as_deref() != Some(state) {
        let body = "<p>This answer is not for the <code>chirp account connect</code> that is waiting (its state does not match): ignored.</p>";
        return (page(StatusCode::BAD_REQUEST, body), None);
    }
    let body = if a.error.is_none() {
        "<p>chirp received X's answer. You can close this tab and go back to the terminal.</p>"
    } else {
        "<p>X did not grant access. See the terminal.</p>"
    };
    (page(StatusCode::OK, body), Some(a))
}

fn page(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(format!(
        "<!doctype html><title>chirp</title>{body}"
    ))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// Whether a browser can be opened here (a local display, not just an SSH session).
pub fn has_display() -> bool {
    std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
}

impl chirp_core::HasKind for ConnectError {
    fn kind(&self) -> chirp_core::Kind {
        use chirp_core::Kind;
        match self {
            ConnectError::BadRedirect(_) => Kind::BadInput,
            ConnectError::StateMismatch | ConnectError::Denied(_) | ConnectError::Cancelled => {
                Kind::Conflict
            }
            ConnectError::TimedOut(_) | ConnectError::Listen { .. } => Kind::Network,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_forms() {
        let a = parse_pasted("http://127.0.0.1:8765/callback?state=abc&code=xyz").unwrap();
        assert_eq!(check(a, "abc"), Ok("xyz".into()));
        let a = parse_pasted("  state=abc&code=xyz ").unwrap();
        assert_eq!(check(a, "abc"), Ok("xyz".into()));
        let a = parse_pasted("xyz").unwrap();
        assert_eq!(check(a, "abc"), Ok("xyz".into()));
        let a = parse_pasted("http://127.0.0.1:8765/callback?state=evil&code=xyz").unwrap();
        assert_eq!(check(a, "abc"), Err(ConnectError::StateMismatch));
        let a =
            parse_pasted("http://127.0.0.1:8765/callback?error=access_denied&state=abc").unwrap();
        assert_eq!(
            check(a, "abc"),
            Err(ConnectError::Denied("access_denied".into()))
        );
        assert!(parse_pasted("   ").is_none());
        assert!(parse_pasted("http://127.0.0.1:8765/callback").is_none());
    }
}
