//! Post lookup with metrics, as X serves it: `GET /2/tweets?ids=…&tweet.fields=…`. Up to 100
//! ids; deleted or unknown ids come back in `errors` (with a 200); private metrics only for
//! the author's own posts of the last 30 days, else a "Field Authorization Error" for the
//! post, which then is not in `data`. Reads are counted in a per-user window with
//! `x-rate-limit-*` headers like posting.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Shared, as_x_returns, bearer, lock, problem, rate_headers, record};

/// A post's numbers as the fake reports them (tests set them with `FakeX::set_metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FakeMetrics {
    pub impressions: u64,
    pub likes: u64,
    pub reposts: u64,
    pub replies: u64,
    pub quotes: u64,
    pub bookmarks: u64,
    pub url_clicks: u64,
    pub profile_clicks: u64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct LookupQuery {
    ids: Option<String>,
    #[serde(rename = "tweet.fields")]
    tweet_fields: Option<String>,
}

pub(crate) async fn lookup(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<LookupQuery>,
) -> Response {
    let resp = answer(&s, &headers, &q);
    record(&s, "GET", "/2/tweets", resp.status().as_u16());
    resp
}

fn answer(s: &Shared, headers: &HeaderMap, q: &LookupQuery) -> Response {
    let user = match bearer(s, headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let ids: Vec<&str> = q
        .ids
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter(|i| !i.is_empty())
        .collect();
    if ids.is_empty() || ids.len() > 100 {
        return problem(
            StatusCode::BAD_REQUEST,
            "Invalid Request",
            &format!(
                "The number of values in the `ids` query parameter list [{}] is not between 1 and 100",
                ids.len()
            ),
        );
    }
    let cfg = lock(&s.cfg).clone();
    if let Some(code) = cfg.lookup_status {
        let st = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return problem(st, "Service Unavailable", "Service Unavailable");
    }
    let fields: Vec<&str> = q.tweet_fields.as_deref().unwrap_or("").split(',').collect();
    let public = fields.contains(&"public_metrics");
    let private: Vec<&str> = ["non_public_metrics", "organic_metrics"]
        .into_iter()
        .filter(|f| fields.contains(f))
        .collect();
    let now = Utc::now();
    let mut inner = lock(&s.inner);
    // The read window: one request counts once, whatever it carries.
    let window = chrono::Duration::from_std(cfg.window).unwrap_or_default();
    let w = inner.windows.entry(format!("lookup:{user}")).or_default();
    while w.front().is_some_and(|t| now - *t >= window) {
        w.pop_front();
    }
    let reset = w.front().map_or(now, |t| *t + window).timestamp();
    if w.len() as u32 >= cfg.lookups_per_window {
        drop(inner);
        let mut r = problem(
            StatusCode::TOO_MANY_REQUESTS,
            "Too Many Requests",
            "Too Many Requests",
        );
        rate_headers(&mut r, cfg.lookups_per_window, 0, reset);
        return r;
    }
    w.push_back(now);
    let remaining = cfg.lookups_per_window - w.len() as u32;
    let mut data = Vec::new();
    let mut errors = Vec::new();
    for id in ids {
        let Some(p) = inner.posts.iter().find(|p| p.id == id && !p.deleted) else {
            errors.push(json!({
                "value": id, "detail": format!("Could not find tweet with ids: [{id}]."),
                "title": "Not Found Error", "resource_type": "tweet", "parameter": "ids",
                "resource_id": id, "type": "https://api.twitter.com/2/problems/resource-not-found"
            }));
            continue;
        };
        let own_and_recent = p.user_id == user && now - p.created_at < chrono::Duration::days(30);
        if !private.is_empty() && !own_and_recent {
            for f in &private {
                errors.push(json!({
                    "value": id, "resource_type": "tweet", "field": format!("{f}.impression_count"),
                    "parameter": "ids", "resource_id": id, "title": "Field Authorization Error",
                    "section": "data",
                    "detail": format!("Sorry, you are not authorized to access '{f}.impression_count' on the Tweet with ids : [{id}]."),
                    "type": "https://api.twitter.com/2/problems/not-authorized-for-field"
                }));
            }
            continue;
        }
        let m = inner.metrics.get(id).copied().unwrap_or_default();
        let mut t =
            json!({"id": p.id, "text": as_x_returns(&p.text), "edit_history_tweet_ids": [p.id]});
        if public {
            t["public_metrics"] = json!({
                "retweet_count": m.reposts, "reply_count": m.replies, "like_count": m.likes,
                "quote_count": m.quotes, "bookmark_count": m.bookmarks,
                "impression_count": m.impressions
            });
        }
        if private.contains(&"non_public_metrics") {
            t["non_public_metrics"] = json!({
                "impression_count": m.impressions, "url_link_clicks": m.url_clicks,
                "user_profile_clicks": m.profile_clicks
            });
        }
        if private.contains(&"organic_metrics") {
            t["organic_metrics"] = json!({
                "impression_count": m.impressions, "like_count": m.likes,
                "reply_count": m.replies, "retweet_count": m.reposts,
                "url_link_clicks": m.url_clicks, "user_profile_clicks": m.profile_clicks
            });
        }
        data.push(t);
    }
    drop(inner);
    let mut body = serde_json::Map::new();
    if !data.is_empty() {
        body.insert("data".into(), Value::Array(data));
    }
    if !errors.is_empty() {
        body.insert("errors".into(), Value::Array(errors));
    }
    let mut r = axum::Json(Value::Object(body)).into_response();
    rate_headers(&mut r, cfg.lookups_per_window, remaining, reset);
    r
}
