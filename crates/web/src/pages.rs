//! The dashboard pages (issue 9): server-rendered HTML over `store::Query`,
//! with server-side SVG charts ([`crate::svg`]), one bundled CSS file and
//! one small script (`assets/dashboard.js`) for live updates. Every page is
//! `<main data-page="NAME">` under the same navigation bar; bad parameters
//! give a 400 page saying what is wrong, unknown incidents a 404 page.
//! Pages send `Content-Security-Policy: default-src 'self'`: no inline
//! script or style, nothing from elsewhere.

pub(crate) mod assets;
mod charts;
pub(crate) mod html;
mod incidents;
mod intel;
mod overview;
mod search;
mod top;

pub use html::{Ctx, encode_component};

use crate::state::WebState;
use axum::Router;
use axum::extract::{Path, Query as Params, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::HashMap;
use std::sync::Arc;

/// The pages' policy: everything from this server, nothing inline.
pub const PAGE_CSP: &str = "default-src 'self'";
/// The report's policy: no script at all, its own inline style only.
pub const REPORT_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'";

pub fn router(state: Arc<WebState>) -> Router {
    Router::new()
        .route("/", get(overview_page))
        .route("/top", get(top_page))
        .route("/incidents", get(incidents_page))
        .route("/incidents/{id}", get(incident_page))
        .route("/search", get(search_page))
        .route("/intel", get(intel_page))
        .route("/report", get(report_page))
        .route("/chart/rate", get(rate_chart))
        .route("/chart/top", get(top_chart))
        .route("/assets/{name}", get(assets::asset))
        .route("/favicon.ico", get(assets::favicon))
        .with_state(state)
}

/// Why a page could not be shown; each becomes an HTML page with the
/// matching status.
#[derive(Debug)]
pub enum PageError {
    /// A parameter is wrong: the message says which and how to fix it.
    BadRequest(String),
    NotFound(String),
    Internal(String),
}

impl From<store::StoreError> for PageError {
    fn from(e: store::StoreError) -> PageError {
        match e {
            store::StoreError::BadRequest(m) => PageError::BadRequest(m),
            e => PageError::Internal(e.to_string()),
        }
    }
}

impl PageError {
    fn status(&self) -> StatusCode {
        match self {
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A finished page body, or a page-level error.
pub type PageResult = Result<String, PageError>;

/// An HTML answer with the headers every page carries.
pub fn html_response(status: StatusCode, body: String, csp: &'static str) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // A `?token=` in the address must not leak to other sites.
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn error_page(e: &PageError) -> Response {
    let (title, name, message) = match e {
        PageError::BadRequest(m) => ("Bad request", "error", m.as_str()),
        PageError::NotFound(m) => ("Not found", "not-found", m.as_str()),
        PageError::Internal(m) => ("Server error", "error", m.as_str()),
    };
    let body = format!(
        "<h1>{title}</h1><p class=\"error\" role=\"alert\">{}</p><p><a href=\"/\">Back to the overview</a></p>",
        html::escape(message)
    );
    html_response(e.status(), html::layout(title, name, &body), PAGE_CSP)
}

/// Checks the credentials (the router's layer did already; a page asks
/// again so that it never renders without them), then runs `render` on
/// a read connection off the async threads.
async fn on_query(
    s: Arc<WebState>,
    headers: HeaderMap,
    params: HashMap<String, String>,
    render: impl FnOnce(&WebState, &store::Query, &Ctx) -> PageResult + Send + 'static,
) -> Result<PageResult, Response> {
    crate::auth::check(&s, &headers, &params)?;
    let ctx = Ctx::new(params);
    Ok(tokio::task::spawn_blocking(move || {
        let q = s.query.get()?;
        render(&s, &q, &ctx)
    })
    .await
    .unwrap_or_else(|e| Err(PageError::Internal(e.to_string()))))
}

/// A whole page; errors as an error page.
async fn render(
    s: Arc<WebState>,
    headers: HeaderMap,
    params: HashMap<String, String>,
    render: impl FnOnce(&WebState, &store::Query, &Ctx) -> PageResult + Send + 'static,
) -> Response {
    match on_query(s, headers, params, render).await {
        Ok(Ok(body)) => html_response(StatusCode::OK, body, PAGE_CSP),
        Ok(Err(e)) => error_page(&e),
        Err(denied) => denied,
    }
}

type Args = (State<Arc<WebState>>, HeaderMap, Params<HashMap<String, String>>);

async fn overview_page((State(s), h, Params(p)): Args) -> Response {
    render(s, h, p, overview::page).await
}

async fn top_page((State(s), h, Params(p)): Args) -> Response {
    render(s, h, p, |_, q, ctx| top::page(q, ctx)).await
}

async fn incidents_page((State(s), h, Params(p)): Args) -> Response {
    render(s, h, p, |_, q, ctx| incidents::list(q, ctx)).await
}

async fn incident_page(
    State(s): State<Arc<WebState>>,
    h: HeaderMap,
    Params(p): Params<HashMap<String, String>>,
    Path(id): Path<String>,
) -> Response {
    render(s, h, p, move |_, q, ctx| incidents::detail(q, ctx, &id)).await
}

async fn search_page((State(s), h, Params(p)): Args) -> Response {
    if let Err(r) = crate::auth::check(&s, &h, &p) {
        return r;
    }
    // A bad search shows the form again with the message (status 400),
    // not a bare error page.
    let ctx = Ctx::new(p);
    let result = tokio::task::spawn_blocking(move || s.query.get().map(|q| search::page(&q, &ctx))).await;
    match result {
        Ok(Ok((status, body))) => html_response(status, body, PAGE_CSP),
        Ok(Err(e)) => error_page(&PageError::from(e)),
        Err(e) => error_page(&PageError::Internal(e.to_string())),
    }
}

async fn intel_page((State(s), h, Params(p)): Args) -> Response {
    render(s, h, p, intel::page).await
}

/// `/report?from=&to=`: the same self-contained file `sdn-sensor report`
/// writes.
async fn report_page((State(s), h, Params(p)): Args) -> Response {
    if let Err(r) = crate::auth::check(&s, &h, &p) {
        return r;
    }
    let ctx = Ctx::new(p);
    let result = tokio::task::spawn_blocking(move || {
        if let Some(k) = ctx.unknown_param(&["from", "to"]) {
            return Err(PageError::BadRequest(format!("unknown parameter {k:?}: /report takes from and to")));
        }
        let (from, to) =
            crate::report::parse_range(ctx.param("from"), ctx.param("to")).map_err(PageError::BadRequest)?;
        // Its own connection: a report over a long range reads for a
        // while, and the shared one serves the API and the other pages.
        let q = store::Query::open(&s.db)?;
        Ok(crate::report::render(&q, from, to)?)
    })
    .await
    .unwrap_or_else(|e| Err(PageError::Internal(e.to_string())));
    match result {
        Ok(body) => html_response(StatusCode::OK, body, REPORT_CSP),
        Err(e) => error_page(&e),
    }
}

/// Chart fragments the script swaps in every few seconds: the same SVG
/// the page was rendered with, for newer data.
async fn rate_chart((State(s), h, Params(p)): Args) -> Response {
    fragment(s, h, p, |q, _| charts::rate(q)).await
}

async fn top_chart((State(s), h, Params(p)): Args) -> Response {
    fragment(s, h, p, |q, ctx| {
        let dim = ctx
            .param("dim")
            .ok_or_else(|| PageError::BadRequest(format!("dim is required (one of {})", store::DIMS.join(", "))))?;
        charts::all_time_top(q, dim)
    })
    .await
}

/// A piece of a page (a chart the script fetches); errors as a paragraph.
async fn fragment(
    s: Arc<WebState>,
    headers: HeaderMap,
    params: HashMap<String, String>,
    render: impl FnOnce(&store::Query, &Ctx) -> PageResult + Send + 'static,
) -> Response {
    match on_query(s, headers, params, |_, q, ctx| render(q, ctx)).await {
        Ok(Ok(svg)) => html_response(StatusCode::OK, svg, PAGE_CSP),
        Ok(Err(e)) => {
            let status = e.status();
            let (PageError::BadRequest(m) | PageError::NotFound(m) | PageError::Internal(m)) = e;
            html_response(status, format!("<p class=\"error\">{}</p>", html::escape(&m)), PAGE_CSP)
        }
        Err(denied) => denied,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store holding one hostile event (every text field markup) and an
    /// incident naming it.
    fn hostile_store(name: &str) -> (std::path::PathBuf, Arc<WebState>) {
        let dir = std::env::temp_dir().join(format!("sdn-web-pages-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("store.db");
        let mut w =
            store::Store::open(&store::StoreConfig { path: db.clone(), max_age: None, max_bytes: None }).unwrap();
        let event = r#"{"id":"e1<b>","ts":"2026-11-29T05:00:01Z","sensor":"<i>s</i>","kind":"intel","input":"syslog",
            "match":{"where":"syslog.token","value":"http://evil.example/<script>alert(1)</script>?src=x"},
            "indicator":{"id":"7","type":"url","value":"<svg onload=alert(2)>","threat_type":"<img src=x onerror=alert(3)>","feed":"f\"'.csv"},
            "syslog":{"host":"192.0.2.1"}}"#
            .replace('\n', "");
        let incident = r#"{"id":"inc/1<x>","ts":"2026-11-29T05:00:02Z","sensor":"a","kind":"incident","input":"intel",
            "match":{"where":"incident","value":"192.0.2.1"},"incident":{"rule":"<u>r</u>","host":"192.0.2.1","events":["e1<b>"]}}"#
            .replace('\n', "");
        let stats = w.insert_json(&[event.as_bytes(), incident.as_bytes()]).unwrap();
        assert_eq!(stats.inserted, 2, "{stats:?}");
        drop(w);
        (dir, WebState::open(&db, None).unwrap())
    }

    fn ctx(pairs: &[(&str, &str)]) -> Ctx {
        Ctx::new(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    /// No markup from the event reached the page as markup.
    fn assert_inert(page: &str) {
        for raw in ["<script>alert", "<svg onload", "<img src", "<b>", "<i>s", "<u>r", "<x>", "http://", "src=x"] {
            assert!(!page.contains(raw), "{raw:?} in {page}");
        }
    }

    #[test]
    fn every_page_shows_hostile_event_text_as_text() {
        let (dir, s) = hostile_store("hostile");
        let q = s.query.get().unwrap();
        let overview = overview::page(&s, &q, &ctx(&[])).unwrap();
        assert!(overview.contains("<main data-page=\"overview\">"));
        assert!(overview.contains("&lt;script&gt;alert(1)&lt;&#47;script&gt;"), "{overview}");
        assert!(overview.contains("<tr data-id=\"e1&lt;b&gt;\">"));
        let search = search::page(&q, &ctx(&[("ip", "192.0.2.1"), ("kind", "intel")]));
        assert_eq!(search.0, StatusCode::OK);
        assert!(search.1.contains("<tr data-id=\"e1&lt;b&gt;\">"), "{}", search.1);
        let top = top::page(&q, &ctx(&[])).unwrap();
        assert!(top.contains("&lt;svg onload&#61;alert(2)&gt;"), "{top}");
        let intel = intel::page(&s, &q, &ctx(&[])).unwrap();
        assert!(intel.contains("&lt;img src&#61;x onerror&#61;alert(3)&gt;"));
        let list = incidents::list(&q, &ctx(&[])).unwrap();
        assert!(list.contains("href=\"/incidents/inc%2F1%3Cx%3E\""), "{list}");
        let detail = incidents::detail(&q, &ctx(&[]), "inc/1<x>").unwrap();
        assert!(detail.contains("<tr data-id=\"e1&lt;b&gt;\">"), "{detail}");
        let report = crate::report::render(&q, None, None).unwrap();
        for page in [&overview, &search.1, &top, &intel, &list, &detail, &report] {
            assert_inert(page);
        }
        assert!(!report.contains("<script") && !report.contains("/assets/"));
        drop(q);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn bad_parameters_are_400_with_what_to_fix() {
        let (dir, s) = hostile_store("bad");
        let q = s.query.get().unwrap();
        let (status, page) = search::page(&q, &ctx(&[("cidr", "10.0.0.0/99"), ("value", "<script>")]));
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("role=\"alert\""), "{page}");
        assert!(page.contains("value=\"&lt;script&gt;\""), "the form keeps the input, escaped");
        assert_inert(&page);
        assert!(matches!(top::page(&q, &ctx(&[("n", "0")])), Err(PageError::BadRequest(m)) if m.contains("n=")));
        assert!(matches!(top::page(&q, &ctx(&[("at", "soon")])), Err(PageError::BadRequest(m)) if m.contains("at=")));
        assert!(matches!(incidents::list(&q, &ctx(&[("cursor", "x")])), Err(PageError::BadRequest(_))));
        assert!(matches!(incidents::detail(&q, &ctx(&[]), "nope"), Err(PageError::NotFound(m)) if m.contains("nope")));
        assert!(
            matches!(overview::page(&s, &q, &ctx(&[("x", "1")])), Err(PageError::BadRequest(m)) if m.contains("\"x\""))
        );
        drop(q);
        std::fs::remove_dir_all(&dir).ok();
    }
}
