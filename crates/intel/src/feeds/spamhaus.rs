//! Spamhaus DROP / EDROP (and ASN-less DROPv6): text lines
//! `CIDR ; SBLnnnnn` with `;` comments, or JSON lines
//! `{"cidr": ..., "sblid": ..., "rir": ...}` closed by a metadata line.

use super::{LineSink, Meta};
use crate::model::IndicatorType;

/// `1.2.3.0/24 ; SBL123` (a CIDR, then a `;`).
pub(crate) fn looks_like(line: &str) -> bool {
    line.split_once(';').is_some_and(|(c, _)| crate::ipkey::IpKey::parse(c.trim()).is_some_and(|k| !k.is_host()))
}

pub(crate) fn read_text(text: &str, sink: &mut LineSink<'_>) {
    let meta = Meta { threat_type: Some("spamhaus_drop"), ..Meta::default() };
    for (i, raw) in text.lines().enumerate() {
        if sink.failed() {
            return;
        }
        let l = raw.trim();
        if l.is_empty() || l.starts_with(';') || l.starts_with('#') {
            continue;
        }
        let (cidr, sbl) = l.split_once(';').map_or((l, ""), |(c, s)| (c.trim(), s.trim()));
        let id = (!sbl.is_empty()).then_some(sbl);
        sink.typed(i + 1, id, IndicatorType::Cidr, cidr, &meta);
    }
}

pub(crate) fn read_json(text: &str, sink: &mut LineSink<'_>) {
    let meta = Meta { threat_type: Some("spamhaus_drop"), ..Meta::default() };
    for (i, raw) in text.lines().enumerate() {
        if sink.failed() {
            return;
        }
        let l = raw.trim();
        if l.is_empty() {
            continue;
        }
        let v: serde_json::Value = match serde_json::from_str(l) {
            Ok(v) => v,
            Err(e) => {
                sink.reject(i + 1, format!("invalid JSON line ({e})"));
                continue;
            }
        };
        if v.get("type").and_then(|t| t.as_str()) == Some("metadata") {
            continue;
        }
        match v.get("cidr").and_then(|c| c.as_str()) {
            Some(cidr) => sink.typed(i + 1, v.get("sblid").and_then(|s| s.as_str()), IndicatorType::Cidr, cidr, &meta),
            None => sink.reject(i + 1, "JSON line without a \"cidr\" string".into()),
        }
    }
}
