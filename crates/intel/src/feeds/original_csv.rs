//! The original sdn_sensor IOC file: `id,type,threat_type,ip,dns,value`.
//!
//! `ip` and `cidr` rows take the address from the `ip` column, or from
//! `value` when `ip` is empty; `domain` rows take `dns`, else `value`; the
//! other types take `value`. A header row starting `id,type` is skipped.

use super::{LineSink, Meta, value};
use crate::model::IndicatorType;
use std::borrow::Cow;

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
/// is left open. Lines without quotes (most feed lines) are split without
/// copying.
pub(crate) fn split_csv(line: &str) -> Option<Vec<Cow<'_, str>>> {
    if !line.contains('"') {
        return Some(line.split(',').map(Cow::Borrowed).collect());
    }
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
                out.push(Cow::Owned(std::mem::take(&mut field)));
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
    out.push(Cow::Owned(field));
    Some(out)
}

pub(crate) fn read(text: &str, sink: &mut LineSink<'_>) {
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
        let (column, raw) = match kind {
            IndicatorType::Ip | IndicatorType::Cidr if !f[3].is_empty() => ("ip", f[3]),
            IndicatorType::Domain if !f[4].is_empty() => ("dns", f[4]),
            _ => ("value", f[5]),
        };
        if raw.is_empty() {
            let cols = match kind {
                IndicatorType::Ip | IndicatorType::Cidr => "ip and value columns",
                IndicatorType::Domain => "dns and value columns",
                _ => "value column",
            };
            sink.reject(line, format!("{} row with empty {cols}", kind.name()));
            continue;
        }
        let meta = Meta { threat_type: Some(f[2]), ..Meta::default() };
        match value::typed(kind, raw) {
            Ok(p) => sink.accept(Some(f[0]), p, &meta),
            Err(e) => sink.reject(line, format!("{e} in column {column}")),
        }
    }
}
