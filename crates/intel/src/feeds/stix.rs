//! STIX 2.1 bundles: `indicator` objects with `pattern_type` `stix` and
//! patterns made of `=` comparisons joined by OR, on ipv4-addr, ipv6-addr,
//! domain-name, url, email-addr values and file hashes. Anything else (AND,
//! MATCHES, other objects) is skipped with a reason.

use super::{LineSink, Meta};
use crate::model::IndicatorType;

/// One `path = 'value'` comparison.
fn comparison(c: &str) -> Result<(IndicatorType, String), String> {
    let c = c.trim().trim_start_matches('[').trim_end_matches(']').trim();
    let Some((path, value)) = c.split_once('=') else {
        return Err(format!("comparison {c:?} is not an `=` comparison"));
    };
    let path = path.trim();
    if path.ends_with('!') || path.ends_with('<') || path.ends_with('>') {
        return Err(format!("comparison {c:?} is not an `=` comparison"));
    }
    let value = value.trim();
    let Some(value) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) else {
        return Err(format!("value in {c:?} is not a quoted string"));
    };
    let value = value.replace("\\'", "'").replace("\\\\", "\\");
    let kind = match path.to_ascii_lowercase().replace('"', "'").as_str() {
        "ipv4-addr:value" | "ipv6-addr:value" => IndicatorType::Ip,
        "domain-name:value" => IndicatorType::Domain,
        "url:value" => IndicatorType::Url,
        "email-addr:value" | "email-message:from_ref.value" | "email-message:sender_ref.value" => IndicatorType::Email,
        "file:hashes.md5" | "file:hashes.'md5'" => IndicatorType::Md5,
        "file:hashes.'sha-1'" | "file:hashes.sha1" | "file:hashes.'sha1'" => IndicatorType::Sha1,
        "file:hashes.'sha-256'" | "file:hashes.sha256" | "file:hashes.'sha256'" => IndicatorType::Sha256,
        other => return Err(format!("object path {other:?} is not matched")),
    };
    Ok((kind, value))
}

/// Splits a pattern into its OR-joined comparisons; Err when it uses AND,
/// FOLLOWEDBY or qualifiers, which a single observation cannot satisfy.
fn comparisons(pattern: &str) -> Result<Vec<&str>, String> {
    let upper = pattern.to_ascii_uppercase();
    for op in [
        " AND ",
        " FOLLOWEDBY ",
        " WITHIN ",
        " REPEATS ",
        " START ",
        " MATCHES ",
        " LIKE ",
        " ISSUBSET ",
        " ISSUPERSET ",
    ] {
        if upper.contains(op) {
            return Err(format!("pattern uses{}(only `=` comparisons joined by OR are matched)", op.to_lowercase()));
        }
    }
    // Split on OR outside quotes.
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    let b = pattern.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if quoted => i += 1,
            b'\'' => quoted = !quoted,
            b' ' if !quoted && pattern[i..].to_ascii_uppercase().starts_with(" OR ") => {
                out.push(&pattern[start..i]);
                start = i + 4;
                i += 3;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(&pattern[start..]);
    Ok(out)
}

pub(crate) fn read(text: &str, sink: &mut LineSink<'_>) {
    let doc: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return sink.reject(e.line(), format!("invalid STIX JSON ({e})")),
    };
    let objects: Vec<&serde_json::Value> = match doc.get("objects").and_then(|o| o.as_array()) {
        Some(a) => a.iter().collect(),
        None => vec![&doc],
    };
    for (n, o) in objects.iter().enumerate() {
        if sink.failed() {
            return;
        }
        let n = n + 1; // objects have no lines: report the ordinal
        if o.get("type").and_then(|t| t.as_str()) != Some("indicator") {
            continue;
        }
        let s = |k: &str| o.get(k).and_then(|v| v.as_str());
        let id = s("id").unwrap_or("");
        if s("pattern_type").is_some_and(|t| t != "stix") {
            sink.unsupported(
                n,
                format!("indicator {id}: pattern_type {:?} is not STIX", s("pattern_type").unwrap_or("")),
            );
            continue;
        }
        let Some(pattern) = s("pattern") else {
            sink.reject(n, format!("indicator {id} has no pattern"));
            continue;
        };
        let first_label =
            |k: &str| o.get(k).and_then(|v| v.as_array()).and_then(|a| a.first()).and_then(|v| v.as_str());
        let meta = Meta {
            threat_type: first_label("indicator_types").or_else(|| first_label("labels")).or(s("name")),
            confidence: o.get("confidence").and_then(|c| c.as_u64()).map(|c| c.min(100) as u8),
            first_seen: s("valid_from"),
            last_seen: s("valid_until"),
        };
        let parts = match comparisons(pattern) {
            Ok(p) => p,
            Err(e) => {
                sink.unsupported(n, format!("indicator {id}: {e}"));
                continue;
            }
        };
        for part in parts {
            match comparison(part) {
                Ok((kind, value)) => sink.typed(n, Some(id), kind, &value, &meta),
                Err(e) => sink.unsupported(n, format!("indicator {id}: {e}")),
            }
        }
    }
}
