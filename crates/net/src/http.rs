//! The one HTTP client setup every network call uses: rustls with ring, no redirects, a user
//! agent, and request timeouts; and how a transport failure is told apart from "no answer".

use std::time::Duration;

/// How long one request may take, end to end, unless the caller says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Installs the TLS crypto provider once per process (reqwest is built without one, so that
/// rustls uses ring rather than building aws-lc).
pub fn init_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client for one service: every request ends within `timeout`, redirects are not followed
/// (an OAuth or API endpoint that redirects is misconfigured, and following could leak a token).
pub(crate) fn client(timeout: Duration) -> reqwest::Client {
    init_tls();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10).min(timeout))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("chirp/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Where a request failed: did anything reach the other side?
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Transport {
    /// Nothing was sent (connection refused, DNS, TLS): safe to send again.
    NotSent(String),
    /// The request went out and no answer came (timeout, connection cut).
    NoAnswer(String),
}

pub(crate) fn transport(e: &reqwest::Error) -> Transport {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg = format!("{msg}: {s}");
        src = s.source();
    }
    if e.is_connect() || e.is_builder() {
        Transport::NotSent(msg)
    } else if e.is_timeout() {
        Transport::NoAnswer("timed out".into())
    } else {
        Transport::NoAnswer(msg)
    }
}
