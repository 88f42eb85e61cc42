//! X's API v2: the calls chirp makes, with both of X's error shapes and the rate-limit headers
//! turned into one [`XError`] that says what happened and whether trying again can help.
//! [`XNetwork`] is X behind the publisher's [`Network`](crate::Network) trait.

mod adapter;
pub mod connect;
mod media;
pub mod oauth;
mod reconcile;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde::{Deserialize, Serialize};

use crate::Secret;
use crate::http::{self, Transport};
pub use adapter::XNetwork;
use chirp_core::Quota;
pub use media::{MediaUpload, UploadedMedia};
pub use reconcile::{rendered_text, same_post};

/// Where X is and which app chirp is to it (the `[x]` section of the config).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct XConfig {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub redirect_uri: String,
    pub api_base_url: String,
    pub authorize_url: String,
    /// What X charges (`[x.pricing]`): pay-per-use prices, today's by default.
    pub pricing: chirp_core::Pricing,
}

impl Default for XConfig {
    fn default() -> Self {
        XConfig {
            client_id: None,
            client_secret: None,
            redirect_uri: "http://127.0.0.1:8765/callback".into(),
            api_base_url: "https://api.x.com".into(),
            authorize_url: "https://x.com/i/oauth2/authorize".into(),
            pricing: chirp_core::Pricing::default(),
        }
    }
}

// The client secret is a secret: never in Debug.
impl std::fmt::Debug for XConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XConfig")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("redirect_uri", &self.redirect_uri)
            .field("api_base_url", &self.api_base_url)
            .field("authorize_url", &self.authorize_url)
            .field("pricing", &self.pricing)
            .finish()
    }
}

/// What X said about the rate-limit window of the endpoint just called (`x-rate-limit-*`).
fn quota_from_headers(h: &HeaderMap) -> Option<Quota> {
    let num = |name: &str| h.get(name)?.to_str().ok()?.trim().parse::<i64>().ok();
    let q = Quota {
        limit: num("x-rate-limit-limit").and_then(|n| u32::try_from(n).ok()),
        remaining: num("x-rate-limit-remaining").and_then(|n| u32::try_from(n).ok()),
        reset: num("x-rate-limit-reset").and_then(|s| DateTime::from_timestamp(s, 0)),
    };
    (q.limit.is_some() || q.remaining.is_some() || q.reset.is_some()).then_some(q)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XError {
    /// 401: the access token is expired or revoked. Refresh, then try once more.
    #[error("X refused the access token (401 Unauthorized): it must be refreshed")]
    Unauthorized,
    /// 403 duplicate content: X already has this exact text from this account.
    #[error("X refused the post as a duplicate: {0}")]
    Duplicate(String),
    /// 400/403/404 and other refusals that will not change if sent again.
    #[error("X refused the request ({status}): {message}")]
    Refused { status: u16, message: String },
    /// 402: out of credits on a pay-per-use plan.
    #[error("X says the account is out of credits (402 Payment Required): {0}")]
    PaymentRequired(String),
    /// 429: wait until `reset`.
    #[error("X rate limit reached{}", .reset.map(|r| format!("; the window resets at {}", r.format("%H:%M:%S UTC"))).unwrap_or_default())]
    RateLimited { reset: Option<DateTime<Utc>> },
    /// 5xx: X had a problem. A post may still have been created.
    #[error("X had a server error ({status}): {message}")]
    Server { status: u16, message: String },
    /// Nothing reached X (connection refused, DNS, TLS): safe to send again.
    #[error("could not reach X: {0}")]
    NotSent(String),
    /// The request went out but no answer came (timeout, connection cut): X may have acted.
    #[error("no answer from X ({0}): the request may or may not have taken effect")]
    NoAnswer(String),
    /// X could not process an uploaded GIF or video: its own words.
    #[error("X could not process the media: {0}")]
    MediaFailed(String),
    /// X answered something chirp cannot read.
    #[error("unexpected answer from X ({status}): {message}")]
    Unexpected { status: u16, message: String },
}

/// Every answer of X's, refusals included, is the network's: what X refuses is said in X's
/// words, which tell the person what to change.
impl chirp_core::HasKind for XError {
    fn kind(&self) -> chirp_core::Kind {
        chirp_core::Kind::Network
    }
}

impl XError {
    /// Whether the same request might succeed later without a person changing anything.
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            XError::RateLimited { .. }
                | XError::Server { .. }
                | XError::NotSent(_)
                | XError::NoAnswer(_)
                | XError::Unauthorized
        )
    }

    /// Whether X may have carried out the request although chirp did not see it succeed:
    /// before sending again, look.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, XError::Server { .. } | XError::NoAnswer(_))
    }
}

/// X's two error shapes: problem JSON, and the older `errors` array.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    title: Option<String>,
    detail: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorItem>,
    // OAuth endpoints
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ErrorItem {
    message: Option<String>,
    detail: Option<String>,
    title: Option<String>,
}

impl ErrorBody {
    fn message(&self) -> Option<String> {
        let from_list = self
            .errors
            .iter()
            .filter_map(|e| e.message.clone().or(e.detail.clone()).or(e.title.clone()))
            .collect::<Vec<_>>();
        self.detail
            .clone()
            .or_else(|| (!from_list.is_empty()).then(|| from_list.join("; ")))
            .or_else(|| self.error_description.clone())
            .or_else(|| self.title.clone())
            .or_else(|| self.error.clone())
    }
}

/// Turns a non-success answer into an [`XError`].
pub fn classify(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> XError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let message = parsed.message().unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.is_empty() {
            status
                .canonical_reason()
                .unwrap_or("no message")
                .to_string()
        } else {
            text.chars().take(200).collect()
        }
    });
    let code = status.as_u16();
    match code {
        401 => XError::Unauthorized,
        402 => XError::PaymentRequired(message),
        403 if message.to_lowercase().contains("duplicate") => XError::Duplicate(message),
        429 => XError::RateLimited {
            reset: quota_from_headers(headers).and_then(|r| r.reset),
        },
        500..=599 => XError::Server {
            status: code,
            message,
        },
        400..=499 => XError::Refused {
            status: code,
            message,
        },
        _ => XError::Unexpected {
            status: code,
            message,
        },
    }
}

/// Where a request failed in reqwest, mapped to whether it reached X.
pub(crate) fn transport_error(e: &reqwest::Error) -> XError {
    match http::transport(e) {
        Transport::NotSent(m) => XError::NotSent(m),
        Transport::NoAnswer(m) => XError::NoAnswer(m),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Tweet {
    pub id: String,
    /// As X returns it: HTML-escaped, every link a t.co one.
    pub text: String,
    /// With `tweet.fields=entities`: what each t.co link stands for.
    #[serde(default)]
    pub entities: Option<Entities>,
    /// With `tweet.fields=referenced_tweets`: what it replies to (or quotes).
    #[serde(default)]
    pub referenced_tweets: Option<Vec<Referenced>>,
    /// With `tweet.fields=attachments`: the media it carries.
    #[serde(default)]
    pub attachments: Option<Attachments>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct Attachments {
    /// `3_123…` (photo), `16_…` (animated GIF), `7_…` (video): the type, then the media id.
    #[serde(default)]
    pub media_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct Referenced {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

impl Tweet {
    /// The media ids it carries, when X said (`attachments.media_keys`).
    pub fn media_ids(&self) -> Option<Vec<String>> {
        self.attachments.as_ref().map(|a| {
            a.media_keys
                .iter()
                .map(|k| {
                    k.split_once('_')
                        .map_or(k.as_str(), |(_, id)| id)
                        .to_string()
                })
                .collect()
        })
    }

    /// The post this one replies to, if it is a reply.
    pub fn replies_to(&self) -> Option<&str> {
        self.referenced_tweets
            .as_deref()?
            .iter()
            .find(|r| r.kind == "replied_to")
            .map(|r| r.id.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct Entities {
    #[serde(default)]
    pub urls: Vec<UrlEntity>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct UrlEntity {
    /// The t.co link in the text.
    pub url: String,
    /// The link the author wrote (X adds a scheme when there was none).
    pub expanded_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Me {
    pub id: String,
    pub name: String,
    pub username: String,
}

#[derive(Debug, Deserialize)]
struct Envelope<T> {
    data: Option<T>,
    #[serde(default)]
    errors: Vec<serde_json::Value>,
    meta: Option<Meta>,
}

#[derive(Debug, Deserialize)]
struct Meta {
    next_token: Option<String>,
}

/// What a metrics read found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsPage {
    pub found: Vec<(String, chirp_core::Metrics)>,
    /// Ids X no longer has (deleted on X).
    pub gone: Vec<String>,
    /// Ids X would not show with the fields asked for (private metrics of an older post).
    pub not_shown: Vec<String>,
    pub rate: Option<Quota>,
}

#[derive(Debug, Default, Deserialize)]
struct LookupBody {
    #[serde(default)]
    data: Vec<MetricsTweet>,
    #[serde(default)]
    errors: Vec<LookupError>,
}

#[derive(Debug, Deserialize)]
struct LookupError {
    resource_id: Option<String>,
    value: Option<String>,
    #[serde(rename = "type", default)]
    kind: String,
}

#[derive(Debug, Deserialize)]
struct MetricsTweet {
    id: String,
    #[serde(default)]
    public_metrics: PublicMetrics,
    non_public_metrics: Option<serde_json::Value>,
    organic_metrics: Option<serde_json::Value>,
}

// X's own field names.
#[allow(clippy::struct_field_names)]
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PublicMetrics {
    retweet_count: i64,
    reply_count: i64,
    like_count: i64,
    quote_count: i64,
    bookmark_count: i64,
    impression_count: i64,
}

impl MetricsTweet {
    fn metrics(&self) -> chirp_core::Metrics {
        let p = &self.public_metrics;
        let non_public = self.non_public_metrics.as_ref();
        let count = |name: &str| non_public.and_then(|n| n.get(name)?.as_i64());
        let private =
            (self.non_public_metrics.is_some() || self.organic_metrics.is_some()).then(|| {
                serde_json::json!({
                    "non_public_metrics": self.non_public_metrics,
                    "organic_metrics": self.organic_metrics,
                })
            });
        chirp_core::Metrics {
            impressions: p.impression_count,
            likes: p.like_count,
            reposts: p.retweet_count,
            replies: p.reply_count,
            quotes: p.quote_count,
            bookmarks: p.bookmark_count,
            url_clicks: count("url_link_clicks"),
            profile_clicks: count("user_profile_clicks"),
            private,
        }
    }
}

#[derive(Debug, Serialize)]
struct CreateBody<'a> {
    /// X wants text unless there is media; an empty text with media is left out.
    #[serde(skip_serializing_if = "str::is_empty")]
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply: Option<Reply<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    media: Option<MediaIds<'a>>,
}

#[derive(Debug, Serialize)]
struct Reply<'a> {
    in_reply_to_tweet_id: &'a str,
}

#[derive(Debug, Serialize)]
struct MediaIds<'a> {
    media_ids: &'a [String],
}

/// What a request carries.
enum Body {
    Json(serde_json::Value),
    Form(reqwest::multipart::Form),
}

/// A successful answer with the rate-limit window X reported alongside it.
#[derive(Debug, Clone)]
pub struct Answer<T> {
    pub value: T,
    pub rate: Option<Quota>,
    /// Where the next page starts, for paged endpoints.
    pub next_token: Option<String>,
}

/// The API client. Cheap to clone (reqwest pools connections inside).
#[derive(Clone)]
pub struct XClient {
    http: reqwest::Client,
    base: String,
}

impl std::fmt::Debug for XClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl XClient {
    pub fn new(api_base_url: &str, timeout: Duration) -> XClient {
        XClient {
            http: http::client(timeout),
            base: api_base_url.trim_end_matches('/').to_string(),
        }
    }

    /// One request. `data` may be absent (an empty timeline); an answer with only `errors`
    /// (which X sends even with 200) is an error.
    async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        method: Method,
        path: &str,
        token: &Secret,
        query: &[(&str, String)],
        body: Option<Body>,
        deadline: Option<Instant>,
    ) -> Result<Answer<Option<T>>, XError> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token.expose())
            .query(query);
        match body {
            Some(Body::Json(v)) => req = req.json(&v),
            Some(Body::Form(f)) => req = req.multipart(f),
            None => {}
        }
        if let Some(d) = deadline {
            // Past the deadline nothing is sent at all; before it, the request is cut off at it.
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(XError::NotSent(
                    "the attempt's deadline passed before sending".into(),
                ));
            }
            req = req.timeout(left);
        }
        let resp = req.send().await.map_err(|e| transport_error(&e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(|e| transport_error(&e))?;
        let rate = quota_from_headers(&headers);
        if !status.is_success() {
            return Err(classify(status, &headers, &bytes));
        }
        // A success chirp cannot read may still have done what was asked (created the post):
        // that is an unknown outcome, never "not sent".
        let parsed: Envelope<T> = serde_json::from_slice(&bytes).map_err(|e| {
            XError::NoAnswer(format!(
                "X answered {} but the answer could not be read: {e}",
                status.as_u16()
            ))
        })?;
        if parsed.data.is_none() && !parsed.errors.is_empty() {
            let body = serde_json::json!({ "errors": parsed.errors }).to_string();
            return Err(classify(StatusCode::BAD_REQUEST, &headers, body.as_bytes()));
        }
        Ok(Answer {
            value: parsed.data,
            rate,
            next_token: parsed.meta.and_then(|m| m.next_token),
        })
    }

    async fn call_some<T: for<'de> Deserialize<'de>>(
        &self,
        method: Method,
        path: &str,
        token: &Secret,
        body: Option<Body>,
        deadline: Option<Instant>,
    ) -> Result<Answer<T>, XError> {
        let a = self.call(method, path, token, &[], body, deadline).await?;
        match a.value {
            Some(value) => Ok(Answer {
                value,
                rate: a.rate,
                next_token: a.next_token,
            }),
            // As above: a success without its data may still have done what was asked.
            None => Err(XError::NoAnswer(
                "X answered with success but without the data asked for".into(),
            )),
        }
    }

    /// DELETE /2/tweets/:id. True when X deleted it now, false when X no longer has it (a
    /// delete repeated after a crash, or removed on X meanwhile): gone either way.
    pub async fn delete_post(
        &self,
        token: &Secret,
        id: &str,
        deadline: Option<Instant>,
    ) -> Result<bool, XError> {
        #[derive(Deserialize)]
        struct Deleted {
            deleted: bool,
        }
        match self
            .call_some::<Deleted>(
                Method::DELETE,
                &format!("/2/tweets/{id}"),
                token,
                None,
                deadline,
            )
            .await
        {
            Ok(a) => Ok(a.value.deleted),
            Err(XError::Refused { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// POST /2/tweets, as a reply to `reply_to` and with uploaded media when given; with a
    /// `deadline`, sent only before it and cut off at it.
    pub async fn create_post(
        &self,
        token: &Secret,
        text: &str,
        reply_to: Option<&str>,
        media_ids: &[String],
        deadline: Option<Instant>,
    ) -> Result<Answer<Tweet>, XError> {
        let body = CreateBody {
            text,
            reply: reply_to.map(|id| Reply {
                in_reply_to_tweet_id: id,
            }),
            media: (!media_ids.is_empty()).then_some(MediaIds { media_ids }),
        };
        let body = serde_json::to_value(&body).map_err(|e| XError::Unexpected {
            status: 0,
            message: format!("cannot write the request: {e}"),
        })?;
        self.call_some(
            Method::POST,
            "/2/tweets",
            token,
            Some(Body::Json(body)),
            deadline,
        )
        .await
    }

    /// GET /2/tweets?ids=… (at most 100) with public metrics, and the author's private ones
    /// when `private` (X shows them for posts of the last 30 days only). X answers 200 with
    /// `errors` beside `data` for ids it no longer has or fields it will not show.
    pub async fn metrics(
        &self,
        token: &Secret,
        ids: &[String],
        private: bool,
        deadline: Option<Instant>,
    ) -> Result<MetricsPage, XError> {
        let fields = if private {
            "public_metrics,non_public_metrics,organic_metrics"
        } else {
            "public_metrics"
        };
        let mut req = self
            .http
            .get(format!("{}/2/tweets", self.base))
            .bearer_auth(token.expose())
            .query(&[("ids", ids.join(",")), ("tweet.fields", fields.to_string())]);
        if let Some(d) = deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(XError::NotSent("the read's deadline passed".into()));
            }
            req = req.timeout(left);
        }
        let resp = req.send().await.map_err(|e| transport_error(&e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(|e| transport_error(&e))?;
        if !status.is_success() {
            return Err(classify(status, &headers, &bytes));
        }
        let page: LookupBody = serde_json::from_slice(&bytes).map_err(|e| XError::Unexpected {
            status: status.as_u16(),
            message: format!("the metrics could not be read: {e}"),
        })?;
        let mut out = MetricsPage {
            rate: quota_from_headers(&headers),
            ..MetricsPage::default()
        };
        for t in page.data {
            out.found.push((t.id.clone(), t.metrics()));
        }
        for e in page.errors {
            let Some(id) = e.resource_id.or(e.value) else {
                continue;
            };
            if e.kind.ends_with("/resource-not-found") {
                out.gone.push(id);
            } else if !out.found.iter().any(|(f, _)| *f == id) && !out.not_shown.contains(&id) {
                out.not_shown.push(id);
            }
        }
        Ok(out)
    }

    /// GET /2/users/me.
    pub async fn me(&self, token: &Secret) -> Result<Me, XError> {
        Ok(self
            .call_some(Method::GET, "/2/users/me", token, None, None)
            .await?
            .value)
    }

    /// GET /2/users/:id/tweets since `since`, newest first, replies included, following
    /// X's pages up to `max` posts (reconciliation after a burst needs more than one page);
    /// with a `deadline`, every page is asked for before it and cut off at it.
    pub async fn timeline(
        &self,
        token: &Secret,
        user_id: &str,
        since: DateTime<Utc>,
        max: usize,
        deadline: Option<Instant>,
    ) -> Result<Vec<Tweet>, XError> {
        let mut all = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let mut query = vec![
                (
                    "start_time",
                    since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                ),
                ("max_results", "100".to_string()),
                // What each t.co link stands for: reconciliation compares links, not "a link".
                (
                    "tweet.fields",
                    "entities,referenced_tweets,attachments".to_string(),
                ),
            ];
            if let Some(p) = page.take() {
                query.push(("pagination_token", p));
            }
            let a = self
                .call::<Vec<Tweet>>(
                    Method::GET,
                    &format!("/2/users/{user_id}/tweets"),
                    token,
                    &query,
                    None,
                    deadline,
                )
                .await?;
            all.extend(a.value.unwrap_or_default());
            match a.next_token {
                Some(next) if all.len() < max => page = Some(next),
                _ => return Ok(all),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn h(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        m
    }

    #[test]
    fn both_error_shapes_and_every_status() {
        let none = HeaderMap::new();
        let dup = br#"{"detail":"You are not allowed to create a Tweet with duplicate content.","type":"about:blank","title":"Forbidden","status":403}"#;
        assert_eq!(
            classify(StatusCode::FORBIDDEN, &none, dup),
            XError::Duplicate(
                "You are not allowed to create a Tweet with duplicate content.".into()
            )
        );
        let old = br#"{"errors":[{"code":187,"message":"Status is a duplicate."}]}"#;
        assert!(matches!(
            classify(StatusCode::FORBIDDEN, &none, old),
            XError::Duplicate(_)
        ));
        let forbidden = br#"{"errors":[{"code":453,"message":"You currently have access to a subset of X API V2 endpoints"}]}"#;
        assert_eq!(
            classify(StatusCode::FORBIDDEN, &none, forbidden),
            XError::Refused {
                status: 403,
                message: "You currently have access to a subset of X API V2 endpoints".into()
            }
        );
        let unauth = br#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#;
        assert_eq!(
            classify(StatusCode::UNAUTHORIZED, &none, unauth),
            XError::Unauthorized
        );
        assert!(matches!(
            classify(StatusCode::PAYMENT_REQUIRED, &none, b"{}"),
            XError::PaymentRequired(_)
        ));
        let rl = classify(
            StatusCode::TOO_MANY_REQUESTS,
            &h(&[
                ("x-rate-limit-reset", "1800000000"),
                ("x-rate-limit-remaining", "0"),
            ]),
            b"{\"title\":\"Too Many Requests\"}",
        );
        assert_eq!(
            rl,
            XError::RateLimited {
                reset: DateTime::from_timestamp(1_800_000_000, 0)
            }
        );
        assert!(rl.retryable() && !rl.outcome_unknown());
        let s = classify(StatusCode::SERVICE_UNAVAILABLE, &none, b"<html>down</html>");
        assert_eq!(
            s,
            XError::Server {
                status: 503,
                message: "<html>down</html>".into()
            }
        );
        assert!(s.retryable() && s.outcome_unknown());
        let bad = br#"{"errors":[{"parameters":{},"message":"Requested text is too long"}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"}"#;
        let e = classify(StatusCode::BAD_REQUEST, &none, bad);
        assert!(matches!(e, XError::Refused { status: 400, .. }) && !e.retryable());
        let oauth = br#"{"error":"invalid_request","error_description":"Value passed for the token was invalid."}"#;
        assert_eq!(
            classify(StatusCode::BAD_REQUEST, &none, oauth).to_string(),
            "X refused the request (400): Value passed for the token was invalid."
        );
    }

    #[test]
    fn rate_limit_headers() {
        let r = quota_from_headers(&h(&[
            ("x-rate-limit-limit", "100"),
            ("x-rate-limit-remaining", "7"),
            ("x-rate-limit-reset", "1800000000"),
        ]))
        .unwrap();
        assert_eq!((r.limit, r.remaining), (Some(100), Some(7)));
        assert!(quota_from_headers(&HeaderMap::new()).is_none());
    }
}
