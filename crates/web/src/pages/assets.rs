//! The bundled assets (`/assets/NAME`), compiled into the binary: no CDN,
//! nothing fetched from elsewhere.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub const CSS: &str = include_str!("../../assets/dashboard.css");
const JS: &str = include_str!("../../assets/dashboard.js");
const FAVICON: &str = include_str!("../../assets/favicon.svg");

fn answer(body: &'static str, content_type: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Bundled with the binary: they change only with it.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
    r
}

pub async fn asset(Path(name): Path<String>) -> Response {
    match name.as_str() {
        "dashboard.css" => answer(CSS, "text/css; charset=utf-8"),
        "dashboard.js" => answer(JS, "text/javascript; charset=utf-8"),
        "favicon.svg" => answer(FAVICON, "image/svg+xml"),
        _ => (StatusCode::NOT_FOUND, "no such asset: /assets/ has dashboard.css, dashboard.js, favicon.svg")
            .into_response(),
    }
}

/// Browsers ask for `/favicon.ico` on their own (the report has no icon
/// link): the same SVG.
pub async fn favicon() -> Response {
    answer(FAVICON, "image/svg+xml")
}
