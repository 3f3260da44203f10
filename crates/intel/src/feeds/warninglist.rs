//! MISP warninglists: `{"name", "type", "list": [...]}` with type `cidr`,
//! `string`, `hostname`, `substring` or `regex`. Always an allowlist.

use super::LineSink;
use crate::allow::AllowKind;

pub(crate) fn read(text: &str, sink: &mut LineSink<'_>) {
    let doc: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return sink.reject(e.line(), format!("not a MISP warninglist: invalid JSON ({e})")),
    };
    let ty = doc.get("type").and_then(|t| t.as_str()).unwrap_or("string");
    let Some(kind) = AllowKind::parse(ty) else {
        return sink
            .reject(0, format!("warninglist type {ty:?} (expected cidr, string, hostname, substring or regex)"));
    };
    let Some(list) = doc.get("list").and_then(|l| l.as_array()) else {
        return sink.reject(0, "warninglist without a \"list\" array".into());
    };
    for (i, v) in list.iter().enumerate() {
        if sink.failed() {
            return;
        }
        // Entries have no line numbers of their own: report the index.
        match v.as_str() {
            Some(s) => sink.allow(i + 1, kind, s),
            None => sink.reject(i + 1, format!("list entry {} is not a string", i + 1)),
        }
    }
}
