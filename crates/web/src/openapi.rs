//! `GET /api/openapi.json`: the hand-written OpenAPI 3.1 description of
//! every `/api` route, bundled into the binary.

use axum::http::header;
use axum::response::IntoResponse;

pub const DOCUMENT: &str = include_str!("../openapi.json");

pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::DOCUMENT;
    use std::collections::BTreeSet;

    #[test]
    fn the_document_describes_exactly_the_routes() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).expect("openapi.json is JSON");
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")), "openapi: 3.1.x");
        assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string(), "info.title, info.version");
        let documented: BTreeSet<&str> = doc["paths"].as_object().expect("paths").keys().map(String::as_str).collect();
        let routed: BTreeSet<&str> = crate::api::routes().iter().map(|(p, _)| *p).collect();
        assert_eq!(documented, routed, "openapi.json paths and api::routes() differ");
        // Every operation answers something, and every $ref resolves.
        for (path, item) in doc["paths"].as_object().unwrap() {
            let get = &item["get"];
            assert!(get["responses"]["200"].is_object(), "{path}: no 200 response");
            assert!(get["summary"].is_string(), "{path}: no summary");
        }
        let text = DOCUMENT;
        for r in text.split("\"$ref\": \"#/").skip(1) {
            let target = &r[..r.find('"').unwrap()];
            let mut v = &doc;
            for k in target.split('/') {
                v = &v[k];
            }
            assert!(!v.is_null(), "$ref #/{target} does not resolve");
        }
    }
}
