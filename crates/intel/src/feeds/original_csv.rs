//! The original sdn_sensor IOC file: `id,type,threat_type,ip,dns,value`.
//!
//! `ip` and `cidr` rows take the address from the `ip` column, or from
//! `value` when `ip` is empty; `domain` rows take `dns`, else `value`; the
//! other types take `value`. A header row starting `id,type` is skipped.

use super::LineSink;
use crate::model::{Indicator, IndicatorType};
use crate::set::IpKey;
use std::collections::HashMap;
use std::sync::Arc;

const COLUMNS: usize = 6;

/// True when `line` has the original's shape (6 columns, a known type).
pub(crate) fn looks_like(line: &str) -> bool {
    let Some(fields) = split_csv(line) else {
        return false;
    };
    fields.len() == COLUMNS
        && (IndicatorType::parse(&fields[1]).is_some() || fields[1].trim().eq_ignore_ascii_case("type"))
}

/// Splits one CSV line (RFC 4180 quoting, `""` escapes). None when a quote
/// is left open.
pub(crate) fn split_csv(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::with_capacity(COLUMNS);
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            }
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            ',' if !quoted => {
                out.push(std::mem::take(&mut field));
                at_start = true;
            }
            c => {
                field.push(c);
                if !c.is_whitespace() {
                    at_start = false;
                }
            }
        }
    }
    if quoted {
        return None;
    }
    out.push(field);
    Some(out)
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Validates and normalizes a non-IP value for its type.
fn normalize(kind: IndicatorType, value: &str) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(format!("empty value for a {} indicator", kind.name()));
    }
    match kind {
        IndicatorType::Md5 | IndicatorType::Sha1 | IndicatorType::Sha256 => {
            let len = match kind {
                IndicatorType::Md5 => 32,
                IndicatorType::Sha1 => 40,
                _ => 64,
            };
            if is_hex(v, len) {
                Ok(v.to_ascii_lowercase())
            } else {
                Err(format!("{v:?} is not a {} hash ({len} hex digits)", kind.name()))
            }
        }
        IndicatorType::Domain => {
            let d = v.trim_end_matches('.').to_ascii_lowercase();
            let ok = !d.is_empty()
                && d.len() <= 253
                && d.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                });
            if ok { Ok(d) } else { Err(format!("{v:?} is not a domain name")) }
        }
        IndicatorType::Email => match v.rsplit_once('@') {
            Some((local, domain)) if !local.is_empty() && domain.contains('.') => Ok(v.to_ascii_lowercase()),
            _ => Err(format!("{v:?} is not an e-mail address (expected local@domain)")),
        },
        IndicatorType::Url => {
            if v.contains(char::is_whitespace) {
                Err(format!("{v:?} is not a URL (contains whitespace)"))
            } else {
                Ok(v.to_string())
            }
        }
        IndicatorType::Ip | IndicatorType::Cidr => unreachable!("handled by the caller"),
    }
}

pub(crate) fn read(text: &str, sink: &mut LineSink<'_>) {
    let mut threat_types: HashMap<String, Arc<str>> = HashMap::new();
    let mut seen_content = false;
    for (i, raw) in text.lines().enumerate() {
        if sink.failed() {
            return;
        }
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let first_content = !seen_content;
        seen_content = true;
        let Some(fields) = split_csv(trimmed) else {
            sink.reject(line, "unterminated quoted field".to_string());
            continue;
        };
        if fields.len() != COLUMNS {
            sink.reject(
                line,
                format!("expected {COLUMNS} columns (id,type,threat_type,ip,dns,value), found {}", fields.len()),
            );
            continue;
        }
        let f: Vec<&str> = fields.iter().map(|s| s.trim()).collect();
        if first_content && f[0].eq_ignore_ascii_case("id") && f[1].eq_ignore_ascii_case("type") {
            continue;
        }
        let Some(kind) = IndicatorType::parse(f[1]) else {
            sink.reject(
                line,
                format!(
                    "unknown indicator type {:?} (expected one of ip, cidr, domain, url, email, md5, sha1, sha256)",
                    f[1]
                ),
            );
            continue;
        };
        if f[0].is_empty() {
            sink.reject(line, "empty id column".to_string());
            continue;
        }
        let threat_type =
            (!f[2].is_empty()).then(|| threat_types.entry(f[2].to_string()).or_insert_with(|| Arc::from(f[2])).clone());
        let (value, key) = match kind {
            IndicatorType::Ip | IndicatorType::Cidr => {
                let (col, v) = if f[3].is_empty() { ("value", f[5]) } else { ("ip", f[3]) };
                if v.is_empty() {
                    sink.reject(line, format!("{} row with empty ip and value columns", kind.name()));
                    continue;
                }
                match IpKey::parse(v) {
                    Some(k) => (k.to_string(), Some(k)),
                    None => {
                        let want = if kind == IndicatorType::Ip { "an IP address" } else { "a CIDR" };
                        sink.reject(
                            line,
                            format!(
                                "{v:?} in column {col} is not {want} (e.g. 192.0.2.1, 198.51.100.0/24, 2001:db8::/32)"
                            ),
                        );
                        continue;
                    }
                }
            }
            IndicatorType::Domain => {
                let v = if f[4].is_empty() { f[5] } else { f[4] };
                match normalize(kind, v) {
                    Ok(v) => (v, None),
                    Err(e) => {
                        sink.reject(line, e);
                        continue;
                    }
                }
            }
            _ => match normalize(kind, f[5]) {
                Ok(v) => (v, None),
                Err(e) => {
                    sink.reject(line, e);
                    continue;
                }
            },
        };
        let indicator = Indicator {
            id: f[0].into(),
            kind,
            value: value.into(),
            threat_type,
            feed: sink.feed.clone(),
            confidence: None,
        };
        sink.accept(indicator, key);
    }
}
