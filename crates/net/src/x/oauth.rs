//! OAuth 2.0 authorization code with PKCE (S256), refresh with rotation, and revocation,
//! driven by the `oauth2` crate through our own reqwest client.

use std::time::Duration;

use chrono::Utc;
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    TokenResponse, TokenUrl,
};

use super::{XConfig, XError};
use crate::Secret;
use crate::network::BoxFuture;
use crate::tokens::{TokenError, TokenSource};

/// What chirp asks for. `offline.access` is what yields a refresh token.
pub const SCOPES: [&str; 5] = [
    "tweet.read",
    "tweet.write",
    "users.read",
    "media.write",
    "offline.access",
];

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

pub use crate::tokens::Tokens;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    #[error(
        "set x.client_id in the config file (your X app's OAuth 2.0 client id) to connect an account"
    )]
    NoClientId,
    #[error("{key}: {problem}")]
    BadConfig { key: &'static str, problem: String },
    /// X refused the grant: the code or refresh token is spent, expired or revoked.
    #[error("X refused the token request: {0}")]
    Refused(String),
    #[error(transparent)]
    X(#[from] XError),
}

/// X's token errors in the credentials service's terms.
impl From<OAuthError> for TokenError {
    fn from(e: OAuthError) -> TokenError {
        let words = e.to_string();
        match e {
            OAuthError::NoClientId | OAuthError::BadConfig { .. } => {
                TokenError::NotConfigured(words)
            }
            // The grant's words alone: the service says what they mean for the account.
            OAuthError::Refused(m) => TokenError::Refused(m),
            OAuthError::X(x) => TokenError::Failed {
                retryable: x.retryable(),
                message: words,
            },
        }
    }
}

/// X's token endpoint as the credentials service drives it.
impl TokenSource for OAuth {
    fn refresh<'a>(&'a self, refresh: &'a Secret) -> BoxFuture<'a, Result<Tokens, TokenError>> {
        Box::pin(async move { OAuth::refresh(self, refresh).await.map_err(Into::into) })
    }

    fn revoke<'a>(&'a self, token: &'a Secret) -> BoxFuture<'a, Result<(), TokenError>> {
        Box::pin(async move { OAuth::revoke(self, token).await.map_err(Into::into) })
    }
}

/// A started authorization: send the user to `url`, then exchange the code with `verifier`.
pub struct Pending {
    pub url: url::Url,
    pub state: String,
    pub verifier: PkceCodeVerifier,
}

#[derive(Clone)]
pub struct OAuth {
    client: Client,
    http: reqwest::Client,
    revoke_url: String,
    client_id: String,
    client_secret: Option<Secret>,
    pub redirect_uri: url::Url,
}

impl std::fmt::Debug for OAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth")
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri.as_str())
            .finish_non_exhaustive()
    }
}

impl OAuth {
    pub fn new(cfg: &XConfig, timeout: Duration) -> Result<OAuth, OAuthError> {
        let client_id = cfg
            .client_id
            .clone()
            .filter(|s| !s.trim().is_empty())
            .ok_or(OAuthError::NoClientId)?;
        let base = cfg.api_base_url.trim_end_matches('/');
        let bad = |key, e: url::ParseError| OAuthError::BadConfig {
            key,
            problem: e.to_string(),
        };
        let mut client = BasicClient::new(ClientId::new(client_id.clone()))
            .set_auth_uri(
                AuthUrl::new(cfg.authorize_url.clone()).map_err(|e| bad("x.authorize_url", e))?,
            )
            .set_token_uri(
                TokenUrl::new(format!("{base}/2/oauth2/token"))
                    .map_err(|e| bad("x.api_base_url", e))?,
            )
            .set_redirect_uri(
                RedirectUrl::new(cfg.redirect_uri.clone()).map_err(|e| bad("x.redirect_uri", e))?,
            );
        // Confidential clients authenticate with HTTP Basic; public ones send client_id in
        // the body (oauth2 does that by itself when there is no secret).
        if let Some(secret) = cfg.client_secret.clone().filter(|s| !s.is_empty()) {
            client = client.set_client_secret(ClientSecret::new(secret));
        }
        let http = crate::http::client(timeout);
        Ok(OAuth {
            client,
            http,
            revoke_url: format!("{base}/2/oauth2/revoke"),
            client_id,
            client_secret: cfg
                .client_secret
                .clone()
                .filter(|s| !s.is_empty())
                .map(Secret::new),
            redirect_uri: url::Url::parse(&cfg.redirect_uri)
                .map_err(|e| bad("x.redirect_uri", e))?,
        })
    }

    /// A new authorization URL with a fresh PKCE verifier and random state.
    pub fn start(&self) -> Pending {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = self
            .client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(SCOPES.iter().map(|s| Scope::new(s.to_string())))
            .set_pkce_challenge(challenge)
            .url();
        Pending {
            url,
            state: state.secret().clone(),
            verifier,
        }
    }

    pub async fn exchange(
        &self,
        code: &str,
        verifier: PkceCodeVerifier,
    ) -> Result<Tokens, OAuthError> {
        let http = self.http.clone();
        let send = move |req| send(http.clone(), req);
        let r = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(verifier)
            .request_async(&send)
            .await;
        tokens(r)
    }

    /// Spends `refresh` for a new pair (X rotates refresh tokens on every use).
    pub async fn refresh(&self, refresh: &Secret) -> Result<Tokens, OAuthError> {
        let http = self.http.clone();
        let send = move |req| send(http.clone(), req);
        let token = RefreshToken::new(refresh.expose().to_string());
        let r = self
            .client
            .exchange_refresh_token(&token)
            .request_async(&send)
            .await;
        tokens(r)
    }

    /// POST /2/oauth2/revoke.
    pub async fn revoke(&self, token: &Secret) -> Result<(), OAuthError> {
        let mut req = self.http.post(&self.revoke_url);
        let mut form = vec![("token", token.expose().to_string())];
        match &self.client_secret {
            Some(secret) => req = req.basic_auth(&self.client_id, Some(secret.expose())),
            None => form.push(("client_id", self.client_id.clone())),
        }
        let resp = req
            .form(&form)
            .send()
            .await
            .map_err(|e| super::transport_error(&e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let headers = resp.headers().clone();
        let body = resp.bytes().await.unwrap_or_default();
        Err(super::classify(status, &headers, &body).into())
    }
}

type TokenResult = Result<
    oauth2::basic::BasicTokenResponse,
    RequestTokenError<reqwest::Error, oauth2::StandardErrorResponse<BasicErrorResponseType>>,
>;

fn tokens(r: TokenResult) -> Result<Tokens, OAuthError> {
    match r {
        Ok(t) => Ok(Tokens {
            access: Secret::new(t.access_token().secret().clone()),
            refresh: t.refresh_token().map(|r| Secret::new(r.secret().clone())),
            expires_at: t
                .expires_in()
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .map(|d| Utc::now() + d),
            scope: t
                .scopes()
                .map(|s| s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(" ")),
        }),
        Err(RequestTokenError::ServerResponse(e)) => Err(OAuthError::Refused(
            e.error_description()
                .cloned()
                .unwrap_or_else(|| e.error().to_string()),
        )),
        Err(RequestTokenError::Request(e)) => Err(super::transport_error(&e).into()),
        Err(RequestTokenError::Parse(e, _)) => Err(XError::Unexpected {
            status: 200,
            message: format!("cannot read the token answer: {e}"),
        }
        .into()),
        Err(RequestTokenError::Other(s)) => Err(XError::Unexpected {
            status: 0,
            message: s,
        }
        .into()),
    }
}

/// The HTTP function oauth2 calls: our reqwest client, no redirects.
async fn send(
    client: reqwest::Client,
    req: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, reqwest::Error> {
    let req = reqwest::Request::try_from(req)?;
    let resp = client.execute(req).await?;
    let mut builder = oauth2::http::Response::builder().status(resp.status());
    for (k, v) in resp.headers() {
        builder = builder.header(k, v);
    }
    let body = resp.bytes().await?.to_vec();
    // Status and headers were copied from a response reqwest accepted, so they are valid;
    // should that ever fail, oauth2 reports an unreadable answer rather than a panic.
    Ok(builder.body(body).unwrap_or_default())
}

impl chirp_core::HasKind for OAuthError {
    fn kind(&self) -> chirp_core::Kind {
        match self {
            OAuthError::NoClientId | OAuthError::BadConfig { .. } => chirp_core::Kind::BadInput,
            OAuthError::Refused(_) => chirp_core::Kind::Conflict,
            OAuthError::X(_) => chirp_core::Kind::Network,
        }
    }
}
