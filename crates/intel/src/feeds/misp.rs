//! MISP exports: the CSV export (`uuid,event_id,category,type,value,
//! comment,to_ids,date,...`, header-named columns, quoted fields with
//! commas) and JSON events (`{"Event": {"Attribute": [...], "Object":
//! [{"Attribute": [...]}]}}`, also in a `response` array or a bare array).
//! Only attributes flagged `to_ids` are indicators; the rest is context and
//! is counted as unsupported.

use super::original_csv::split_csv;
use super::{LineSink, Meta};
use crate::model::IndicatorType;

/// Maps a MISP attribute type to what we match; composite types
/// (`domain|ip`, `filename|md5`, `ip-dst|port`) yield each usable part.
fn attribute(sink: &mut LineSink<'_>, line: usize, uuid: &str, ty: &str, value: &str, meta: &Meta<'_>) {
    let simple = |t: &str| match t {
        "ip-src" | "ip-dst" | "ip" => Some(IndicatorType::Ip),
        "domain" | "hostname" => Some(IndicatorType::Domain),
        "url" | "uri" => Some(IndicatorType::Url),
        "email" | "email-src" | "email-dst" | "email-reply-to" => Some(IndicatorType::Email),
        "md5" => Some(IndicatorType::Md5),
        "sha1" | "x509-fingerprint-sha1" => Some(IndicatorType::Sha1),
        "sha256" => Some(IndicatorType::Sha256),
        _ => None,
    };
    let id = Some(uuid).filter(|u| !u.is_empty());
    if let Some(kind) = simple(ty) {
        return sink.typed(line, id, kind, value, meta);
    }
    match ty.split_once('|') {
        Some((ip @ ("ip-src" | "ip-dst"), "port")) => {
            let _ = ip;
            match value.rsplit_once('|') {
                Some((addr, port)) => sink.typed(line, id, IndicatorType::Ip, &format!("{addr}:{port}"), meta),
                None => sink.reject(line, format!("{ty} value {value:?} is not address|port")),
            }
        }
        Some((left, right)) => {
            let parts: Vec<&str> = value.splitn(2, '|').collect();
            let mut used = false;
            for (t, v) in [left, right].into_iter().zip(parts) {
                if let Some(kind) = simple(t) {
                    sink.typed(line, id, kind, v, meta);
                    used = true;
                }
            }
            if !used {
                sink.unsupported(line, format!("MISP type {ty:?} is not matched (skipped)"));
            }
        }
        None => sink.unsupported(line, format!("MISP type {ty:?} is not matched (skipped)")),
    }
}

fn to_ids(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes")
}

pub(crate) fn read_csv(text: &str, sink: &mut LineSink<'_>) {
    let mut header: Vec<String> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if sink.failed() {
            return;
        }
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let Some(f) = split_csv(l) else {
            sink.reject(line, "unterminated quoted field".into());
            continue;
        };
        if header.is_empty() {
            header = f.iter().map(|s| s.trim().to_ascii_lowercase()).collect();
            if !header.iter().any(|h| h == "value") || !header.iter().any(|h| h == "type") {
                sink.reject(line, "MISP CSV header without type and value columns".into());
                return;
            }
            continue;
        }
        let col = |name: &str| header.iter().position(|h| h == name).and_then(|i| f.get(i)).map(|s| s.trim());
        let (Some(ty), Some(value)) = (col("type"), col("value")) else {
            sink.reject(line, format!("expected {} columns, found {}", header.len(), f.len()));
            continue;
        };
        if col("to_ids").is_some_and(|t| !to_ids(t)) {
            sink.unsupported(line, format!("{ty} attribute without to_ids (context, skipped)"));
            continue;
        }
        let meta = Meta { threat_type: col("category"), first_seen: col("date"), ..Meta::default() };
        attribute(sink, line, col("uuid").unwrap_or(""), ty, value, &meta);
    }
}

pub(crate) fn read_json(text: &str, sink: &mut LineSink<'_>) {
    let doc: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return sink.reject(e.line(), format!("invalid MISP JSON ({e})")),
    };
    // {"Event": ...}, {"response": [{"Event": ...}]}, [{"Event": ...}]
    let events: Vec<&serde_json::Value> = match &doc {
        serde_json::Value::Array(a) => a.iter().collect(),
        v => match v.get("response").and_then(|r| r.as_array()) {
            Some(a) => a.iter().collect(),
            None => vec![v],
        },
    };
    let mut n = 0usize;
    for ev in events {
        let ev = ev.get("Event").unwrap_or(ev);
        let info = ev.get("info").and_then(|i| i.as_str());
        let mut attrs: Vec<&serde_json::Value> = Vec::new();
        if let Some(a) = ev.get("Attribute").and_then(|a| a.as_array()) {
            attrs.extend(a);
        }
        for obj in ev.get("Object").and_then(|o| o.as_array()).into_iter().flatten() {
            attrs.extend(obj.get("Attribute").and_then(|a| a.as_array()).into_iter().flatten());
        }
        for a in attrs {
            n += 1;
            if sink.failed() {
                return;
            }
            let s = |k: &str| a.get(k).and_then(|v| v.as_str()).unwrap_or("");
            let ids = match a.get("to_ids") {
                Some(serde_json::Value::Bool(b)) => *b,
                Some(serde_json::Value::String(t)) => to_ids(t),
                _ => true,
            };
            // Attributes have no line of their own: report their ordinal.
            if !ids {
                sink.unsupported(n, format!("attribute {} ({}) without to_ids (context, skipped)", n, s("type")));
                continue;
            }
            let category = s("category");
            let meta = Meta {
                threat_type: Some(if category.is_empty() { info.unwrap_or("") } else { category }),
                first_seen: a.get("first_seen").and_then(|v| v.as_str()),
                last_seen: a.get("last_seen").and_then(|v| v.as_str()),
                ..Meta::default()
            };
            attribute(sink, n, s("uuid"), s("type"), s("value"), &meta);
        }
    }
}
