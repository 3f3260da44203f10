//! The JSON API over the analytics store (issue 9 builds the dashboard on
//! it): counts, top-N and per-minute series from the aggregates, event
//! search with keyset pages (and its CSV export), incidents with their
//! events, the live stream, the process's status and `intel check`. Every
//! store read goes through `store::Query`; bad parameters are 400 with a
//! message; credentials are checked by [`crate::auth`] (401).

// The helpers' error is the finished 4xx response a handler returns as is.
#![allow(clippy::result_large_err)]

use axum::Router;
use axum::extract::{Path, Query as Params, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use std::collections::HashMap;
use std::sync::Arc;

pub use crate::state::WebState as ApiState;

/// Every `/api` route: the router is built from this one list, and the
/// OpenAPI test compares its paths with the document's.
pub fn routes() -> Vec<(&'static str, MethodRouter<Arc<ApiState>>)> {
    vec![
        ("/api/counts", get(counts)),
        ("/api/top", get(top)),
        ("/api/series", get(series)),
        ("/api/events", get(events)),
        ("/api/events.csv", get(crate::csv::events_csv)),
        ("/api/stream", get(crate::live::stream)),
        ("/api/incidents", get(incidents)),
        ("/api/incidents/{id}", get(incident)),
        ("/api/feeds", get(feeds)),
        ("/api/status", get(crate::status::status)),
        ("/api/intel/check", get(crate::status::intel_check)),
        ("/api/openapi.json", get(crate::openapi::document)),
    ]
}

/// The JSON API routes (credentials are checked by the layer
/// [`crate::routes`] puts over them).
pub fn router(state: Arc<ApiState>) -> Router {
    routes().into_iter().fold(Router::new(), |r, (path, handler)| r.route(path, handler)).with_state(state)
}

pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message.into() }))).into_response()
}

/// The credentials check ([`crate::auth::check`]), under its first name.
pub fn authorized(s: &ApiState, headers: &HeaderMap, params: &HashMap<String, String>) -> Result<(), Response> {
    crate::auth::check(s, headers, params)
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

type Args = (State<Arc<ApiState>>, Params<HashMap<String, String>>);

/// Runs `f` on a read connection off the async threads.
async fn with_query<T: serde::Serialize + Send + 'static>(
    s: Arc<ApiState>,
    f: impl FnOnce(&store::Query) -> Result<T, store::StoreError> + Send + 'static,
) -> Response {
    let r = tokio::task::spawn_blocking(move || {
        let q = s.query.get()?;
        f(&q)
    })
    .await;
    match r {
        Ok(r) => answer(r),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn counts((State(s), Params(_)): Args) -> Response {
    with_query(s, |q| q.counts()).await
}

async fn top((State(s), Params(p)): Args) -> Response {
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

async fn series((State(s), Params(p)): Args) -> Response {
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

/// The conditions of `/api/events` (and of its CSV export); `also` are
/// the other parameters the caller accepts. Unknown parameters are 400.
pub(crate) fn event_filter(p: &HashMap<String, String>, also: &[&str]) -> Result<store::EventFilter, Response> {
    const CONDITIONS: [&str; 11] =
        ["ip", "cidr", "value", "indicator", "indicator_value", "feed", "input", "kind", "sensor", "from", "to"];
    if let Some(k) = p.keys().find(|k| !CONDITIONS.contains(&k.as_str()) && !also.contains(&k.as_str())) {
        let known: Vec<&str> = CONDITIONS.iter().chain(also).copied().collect();
        return Err(error(StatusCode::BAD_REQUEST, format!("unknown parameter {k:?} (known: {})", known.join(", "))));
    }
    let from = p.get("from").map(|_| time(p, "from", 0)).transpose()?;
    let to = p.get("to").map(|_| time(p, "to", 0)).transpose()?;
    Ok(store::EventFilter {
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
    })
}

async fn events((State(s), Params(p)): Args) -> Response {
    let f = match event_filter(&p, &["limit", "cursor", "token"]) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let page = match page(&p) {
        Ok(pg) => pg,
        Err(r) => return r,
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

async fn incidents((State(s), Params(p)): Args) -> Response {
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

async fn incident(State(s): State<Arc<ApiState>>, Path(id): Path<String>) -> Response {
    let r = tokio::task::spawn_blocking(move || {
        let q = s.query.get()?;
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

async fn feeds((State(s), Params(p)): Args) -> Response {
    let (from, to) = match (time(&p, "from", i64::MIN), time(&p, "to", i64::MAX)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    with_query(s, move |q| {
        q.feed_hits(from, to).map(|v| v.into_iter().map(|(value, count)| TopRow { value, count }).collect::<Vec<_>>())
    })
    .await
}
