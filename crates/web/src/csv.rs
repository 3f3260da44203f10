//! `GET /api/events.csv`: every event a search finds (all pages, read with
//! keyset pages of 1000 off the async threads), as RFC 4180 CSV written in
//! chunks as the pages come, up to `limit` rows.
//!
//! Cells that a spreadsheet would run as a formula (starting with `=`,
//! `+`, `-`, `@`, tab or carriage return) get a leading `'`: event values
//! come from the network, and an attacker chooses them.

use crate::api::{ApiState, error, event_filter};
use axum::body::{Body, Bytes};
use axum::extract::{Query as Params, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Arc;

/// Rows exported when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 100_000;
/// The most `limit` may ask for.
pub const MAX_LIMIT: usize = 1_000_000;

pub const COLUMNS: [&str; 20] = [
    "ts",
    "id",
    "sensor",
    "kind",
    "input",
    "where",
    "value",
    "indicator_id",
    "indicator_type",
    "indicator_value",
    "threat_type",
    "feed",
    "rule_chain",
    "rule_name",
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "proto",
    "host",
];

type Chunk = Result<Bytes, std::io::Error>;

pub async fn events_csv(State(s): State<Arc<ApiState>>, Params(p): Params<HashMap<String, String>>) -> Response {
    let filter = match event_filter(&p, &["limit", "token"]) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let cap = match p.get("limit").map(|v| v.parse::<usize>()) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("limit={:?}: give a whole number of rows from 1 to {MAX_LIMIT}", p["limit"]),
            );
        }
    };
    // Few chunks in flight: a slow download holds the export back instead
    // of the whole result piling up in memory.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Chunk>(4);
    let (first_tx, first_rx) = tokio::sync::oneshot::channel::<Result<(), Response>>();
    tokio::task::spawn_blocking(move || export(&s, &filter, cap, &tx, first_tx));
    match first_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(r)) => return r,
        Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "the export stopped before its first page"),
    }
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8; header=present"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"sdn-events.csv\""),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// Pages through the search; the first page's outcome goes to `first`
/// (a bad filter is a 400 before anything is sent), then chunks to `tx`
/// until the end, `cap` rows, or the client leaves.
fn export(
    s: &ApiState,
    filter: &store::EventFilter,
    cap: usize,
    tx: &tokio::sync::mpsc::Sender<Chunk>,
    first: tokio::sync::oneshot::Sender<Result<(), Response>>,
) {
    let mut first = Some(first);
    let mut chunk = String::with_capacity(256 * 1024);
    chunk.push_str(&COLUMNS.join(","));
    chunk.push_str("\r\n");
    let mut page = store::Page::first(cap.min(store::MAX_PAGE));
    let mut written = 0;
    loop {
        // The connection is held for one page at a time: other requests
        // run between pages.
        let rows = { s.query.get().and_then(|q| q.search(filter, page.clone())) };
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                match first.take() {
                    Some(f) => {
                        let r = match e {
                            store::StoreError::BadRequest(m) => error(StatusCode::BAD_REQUEST, m),
                            e => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
                        };
                        let _ = f.send(Err(r));
                    }
                    // Mid-download: the connection is cut, so the client
                    // sees an incomplete transfer, not a short file.
                    None => {
                        let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
                    }
                }
                return;
            }
        };
        if let Some(f) = first.take()
            && f.send(Ok(())).is_err()
        {
            return;
        }
        for r in &rows {
            row(&mut chunk, r);
        }
        written += rows.len();
        let done = rows.len() < page.size || written >= cap;
        if tx.blocking_send(Ok(Bytes::from(std::mem::take(&mut chunk)))).is_err() {
            return;
        }
        let Some(last) = rows.last() else { return };
        if done {
            return;
        }
        page = store::Page { size: (cap - written).min(store::MAX_PAGE), before: Some(last.cursor()) };
    }
}

fn row(out: &mut String, e: &store::StoredEvent) {
    let port = |p: Option<u16>| p.map(|p| p.to_string());
    let cells: [Option<String>; 20] = [
        Some(store::format_ts(e.ts_ns)),
        Some(e.id.clone()),
        e.sensor.clone(),
        e.kind.clone(),
        e.input.clone(),
        e.location.clone(),
        e.value.clone(),
        e.indicator_id.clone(),
        e.indicator_type.clone(),
        e.indicator_value.clone(),
        e.threat_type.clone(),
        e.feed.clone(),
        e.rule_chain.clone(),
        e.rule_name.clone(),
        e.src_ip.clone(),
        port(e.src_port),
        e.dst_ip.clone(),
        port(e.dst_port),
        e.proto.clone(),
        e.host.clone(),
    ];
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        cell(out, c.as_deref().unwrap_or(""));
    }
    out.push_str("\r\n");
}

/// One RFC 4180 field: quoted when it holds a comma, quote or line break
/// (quotes doubled); a would-be formula gets a leading `'`.
pub fn cell(out: &mut String, v: &str) {
    let formula = v.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quoted = v.contains([',', '"', '\n', '\r']);
    if quoted {
        out.push('"');
    }
    if formula {
        out.push('\'');
    }
    if quoted {
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(v);
    }
}

#[cfg(test)]
mod tests {
    use super::cell;

    fn c(v: &str) -> String {
        let mut s = String::new();
        cell(&mut s, v);
        s
    }

    #[test]
    fn quoting_and_formulas() {
        assert_eq!(c("plain.example"), "plain.example");
        assert_eq!(c(""), "");
        assert_eq!(c("a,b"), "\"a,b\"");
        assert_eq!(c("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(c("two\r\nlines"), "\"two\r\nlines\"");
        assert_eq!(c("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(c("+1"), "'+1");
        assert_eq!(c("-2"), "'-2");
        assert_eq!(c("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(c("\tx"), "'\tx");
        assert_eq!(c("2001:db8::1"), "2001:db8::1");
    }
}
