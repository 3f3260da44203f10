//! What only the process knows, through the hooks the service fills in
//! ([`crate::state::WebOptions`]): `GET /api/status` (counters, drops,
//! intel generation and feed ages) and `GET /api/intel/check?value=`.

use crate::api::{ApiState, error};
use axum::extract::{Query as Params, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Longest value `intel check` takes (URLs included).
pub const MAX_CHECK_LEN: usize = 4096;

pub async fn status(State(s): State<Arc<ApiState>>, Params(p): Params<HashMap<String, String>>) -> Response {
    if let Some(k) = p.keys().find(|k| k.as_str() != "token") {
        return error(StatusCode::BAD_REQUEST, format!("unknown parameter {k:?}: /api/status takes none"));
    }
    let Some(hook) = s.status.clone() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "this process gives no status");
    };
    // The hook reads metrics and feed files: off the async threads.
    let mut v = match tokio::task::spawn_blocking(move || hook()).await {
        Ok(v) => v,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, format!("status: {e}")),
    };
    if let (Some(o), Some(live)) = (v.as_object_mut(), &s.live) {
        o.insert("stream".into(), json!({"clients": live.clients(), "dropped": live.dropped()}));
    }
    axum::Json(v).into_response()
}

pub async fn intel_check(State(s): State<Arc<ApiState>>, Params(p): Params<HashMap<String, String>>) -> Response {
    if let Some(k) = p.keys().find(|k| !matches!(k.as_str(), "value" | "token")) {
        return error(StatusCode::BAD_REQUEST, format!("unknown parameter {k:?} (known: value)"));
    }
    let value = match p.get("value").map(|v| v.trim()) {
        None | Some("") => {
            return error(
                StatusCode::BAD_REQUEST,
                "value is required: ?value= an address, prefix, domain, URL, e-mail or hash (e.g. ?value=203.0.113.66)",
            );
        }
        Some(v) if v.len() > MAX_CHECK_LEN => {
            return error(StatusCode::BAD_REQUEST, format!("value is {} bytes long: at most {MAX_CHECK_LEN}", v.len()));
        }
        Some(v) => v.to_string(),
    };
    let Some(hook) = s.intel_check.clone() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "this process has no intel loaded (sdn-sensor analytics reads events, not feeds): \
             ask the sensor's dashboard, or run sdn-sensor intel check --intel FEED VALUE",
        );
    };
    match tokio::task::spawn_blocking(move || hook(&value)).await {
        Ok(v) => axum::Json::<Value>(v).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("intel check: {e}")),
    }
}
