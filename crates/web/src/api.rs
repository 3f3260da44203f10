//! The JSON API over the analytics store (issue 9 builds the dashboard on
//! it): counts, top-N and per-minute series from the aggregates, event
//! search with keyset pages, incidents with their events. Every request
//! goes through `store::Query`; bad parameters are 400 with a message,
//! a missing or wrong token 401.

// The helpers' error is the finished 4xx response a handler returns as is.
#![allow(clippy::result_large_err)]

use axum::Router;
use axum::extract::{Path, Query as Params, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::HashMap;
use std::sync::Arc;

pub use crate::state::WebState as ApiState;

/// The JSON API routes.
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/api/counts", get(counts))
        .route("/api/top", get(top))
        .route("/api/series", get(series))
        .route("/api/events", get(events))
        .route("/api/incidents", get(incidents))
        .route("/api/incidents/{id}", get(incident))
        .route("/api/feeds", get(feeds))
        .with_state(state)
}

pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message.into() }))).into_response()
}

/// The token, when one is configured: `Authorization: Bearer T` or
/// `?token=T`.
pub fn authorized(s: &ApiState, headers: &HeaderMap, params: &HashMap<String, String>) -> Result<(), Response> {
    let Some(want) = &s.token else { return Ok(()) };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or(params.get("token").map(String::as_str));
    match given {
        // Compared in full whatever the input: no early exit on the first
        // differing byte.
        Some(g) if g.len() == want.len() && g.bytes().zip(want.bytes()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0 => {
            Ok(())
        }
        _ => Err(error(StatusCode::UNAUTHORIZED, "a token is required: Authorization: Bearer TOKEN")),
    }
}

/// `from`/`to`: RFC 3339 or nanoseconds since the epoch; absent: all time.
fn time(params: &HashMap<String, String>, key: &str, default: i64) -> Result<i64, Response> {
    match params.get(key) {
        None => Ok(default),
        Some(v) => v.parse::<i64>().ok().or_else(|| store::parse_ts(v)).ok_or_else(|| {
            error(
                StatusCode::BAD_REQUEST,
                format!("{key}={v:?}: give RFC 3339 (2026-11-29T05:00:00Z) or nanoseconds since the epoch"),
            )
        }),
    }
}

fn number(params: &HashMap<String, String>, key: &str, default: usize) -> Result<usize, Response> {
    match params.get(key) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| error(StatusCode::BAD_REQUEST, format!("{key}={v:?}: give a whole number (1 to 1000)"))),
    }
}

fn answer<T: serde::Serialize>(r: Result<T, store::StoreError>) -> Response {
    match r {
        Ok(v) => axum::Json(v).into_response(),
        Err(store::StoreError::BadRequest(m)) => error(StatusCode::BAD_REQUEST, m),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

type Args = (State<Arc<ApiState>>, HeaderMap, Params<HashMap<String, String>>);

/// Runs `f` on the query connection off the async threads.
async fn with_query<T: serde::Serialize + Send + 'static>(
    s: Arc<ApiState>,
    f: impl FnOnce(&store::Query) -> Result<T, store::StoreError> + Send + 'static,
) -> Response {
    let r = tokio::task::spawn_blocking(move || {
        let q = s.query.lock().unwrap_or_else(|p| p.into_inner());
        f(&q)
    })
    .await;
    match r {
        Ok(r) => answer(r),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

macro_rules! prelude {
    ($s:ident, $h:ident, $p:ident) => {
        if let Err(r) = authorized(&$s, &$h, &$p) {
            return r;
        }
    };
}

async fn counts((State(s), h, Params(p)): Args) -> Response {
    prelude!(s, h, p);
    with_query(s, |q| q.counts()).await
}

async fn top((State(s), h, Params(p)): Args) -> Response {
    prelude!(s, h, p);
    let (Some(dim), from, to, n) =
        (p.get("dim").cloned(), time(&p, "from", i64::MIN), time(&p, "to", i64::MAX), number(&p, "n", 10))
    else {
        return error(StatusCode::BAD_REQUEST, format!("dim is required (one of {})", store::DIMS.join(", ")));
    };
    let (from, to, n) = match (from, to, n) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
    };
    with_query(s, move |q| {
        q.top(&dim, from, to, n)
            .map(|v| v.into_iter().map(|(value, count)| TopRow { value, count }).collect::<Vec<_>>())
    })
    .await
}

#[derive(serde::Serialize)]
struct TopRow {
    value: String,
    count: u64,
}

#[derive(serde::Serialize)]
struct Point {
    minute: String,
    count: u64,
}

async fn series((State(s), h, Params(p)): Args) -> Response {
    prelude!(s, h, p);
    let dim = p.get("dim").cloned().unwrap_or_else(|| "all".to_string());
    let value = p.get("value").cloned();
    let (from, to) = match (time(&p, "from", i64::MIN), time(&p, "to", i64::MAX)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    with_query(s, move |q| {
        q.series(&dim, value.as_deref(), from, to)
            .map(|v| v.into_iter().map(|(m, count)| Point { minute: store::format_ts(m), count }).collect::<Vec<_>>())
    })
    .await
}

fn page(p: &HashMap<String, String>) -> Result<store::Page, Response> {
    let size = number(p, "limit", 100)?;
    match p.get("cursor") {
        None => Ok(store::Page::first(size)),
        Some(c) => store::Cursor::from_token(c)
            .map(|cursor| store::Page { size, before: Some(cursor) })
            .map_err(|e| error(StatusCode::BAD_REQUEST, e.to_string())),
    }
}

async fn events((State(s), h, Params(p)): Args) -> Response {
    prelude!(s, h, p);
    let known = [
        "ip",
        "cidr",
        "value",
        "indicator",
        "indicator_value",
        "feed",
        "input",
        "kind",
        "sensor",
        "from",
        "to",
        "limit",
        "cursor",
        "token",
    ];
    if let Some(k) = p.keys().find(|k| !known.contains(&k.as_str())) {
        return error(StatusCode::BAD_REQUEST, format!("unknown parameter {k:?} (known: {})", known.join(", ")));
    }
    let (from, to) = match (p.get("from").map(|_| time(&p, "from", 0)), p.get("to").map(|_| time(&p, "to", 0))) {
        (Some(Err(r)), _) | (_, Some(Err(r))) => return r,
        (a, b) => (a.map(Result::unwrap_or_default), b.map(Result::unwrap_or_default)),
    };
    let page = match page(&p) {
        Ok(pg) => pg,
        Err(r) => return r,
    };
    let f = store::EventFilter {
        ip: p.get("ip").cloned(),
        cidr: p.get("cidr").cloned(),
        value: p.get("value").cloned(),
        indicator_id: p.get("indicator").cloned(),
        indicator_value: p.get("indicator_value").cloned(),
        feed: p.get("feed").cloned(),
        input: p.get("input").cloned(),
        kind: p.get("kind").cloned(),
        sensor: p.get("sensor").cloned(),
        from_ns: from,
        to_ns: to,
        ..Default::default()
    };
    let size = page.size;
    with_query(s, move |q| q.search(&f, page).map(|events| paged(events, size, |e| e.cursor()))).await
}

/// A page of rows and the cursor of the next page (absent on the last).
#[derive(serde::Serialize)]
struct Paged<T> {
    items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

fn paged<T>(items: Vec<T>, size: usize, cursor: impl Fn(&T) -> store::Cursor) -> Paged<T> {
    let next = if items.len() == size { items.last().map(|l| cursor(l).to_token()) } else { None };
    Paged { items, next }
}

async fn incidents((State(s), h, Params(p)): Args) -> Response {
    prelude!(s, h, p);
    let (from, to) = match (time(&p, "from", i64::MIN), time(&p, "to", i64::MAX)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let page = match page(&p) {
        Ok(pg) => pg,
        Err(r) => return r,
    };
    let size = page.size;
    with_query(s, move |q| q.incidents(from, to, page).map(|rows| paged(rows, size, |r| r.cursor()))).await
}

#[derive(serde::Serialize)]
struct IncidentDetail {
    incident: store::IncidentRow,
    events: Vec<store::StoredEvent>,
}

async fn incident(
    State(s): State<Arc<ApiState>>,
    h: HeaderMap,
    Params(p): Params<HashMap<String, String>>,
    Path(id): Path<String>,
) -> Response {
    prelude!(s, h, p);
    let r = tokio::task::spawn_blocking(move || {
        let q = s.query.lock().unwrap_or_else(|p| p.into_inner());
        q.incident(&id).map(|o| o.map(|(incident, events)| IncidentDetail { incident, events }))
    })
    .await;
    match r {
        Ok(Ok(Some(d))) => axum::Json(d).into_response(),
        Ok(Ok(None)) => error(StatusCode::NOT_FOUND, "no such incident"),
        Ok(Err(store::StoreError::BadRequest(m))) => error(StatusCode::BAD_REQUEST, m),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn feeds((State(s), h, Params(p)): Args) -> Response {
    prelude!(s, h, p);
    let (from, to) = match (time(&p, "from", i64::MIN), time(&p, "to", i64::MAX)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    with_query(s, move |q| {
        q.feed_hits(from, to).map(|v| v.into_iter().map(|(value, count)| TopRow { value, count }).collect::<Vec<_>>())
    })
    .await
}
