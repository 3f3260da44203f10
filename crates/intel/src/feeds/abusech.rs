//! abuse.ch exports: URLhaus, ThreatFox, Feodo Tracker and SSLBL CSV.
//! `#` banner lines, quoted fields (`", "` separators in ThreatFox), CRLF.

use super::original_csv::split_csv;
use super::{LineSink, Meta, value};
use crate::model::IndicatorType;

/// The data rows of a CSV export: (line number, fields), comments skipped.
fn rows(text: &str, sink: &mut LineSink<'_>, mut each: impl FnMut(&mut LineSink<'_>, usize, Vec<String>)) {
    for (i, raw) in text.lines().enumerate() {
        if sink.failed() {
            return;
        }
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        match split_csv(l) {
            Some(f) => each(sink, i + 1, f.into_iter().map(|s| s.trim().to_string()).collect()),
            None => sink.reject(i + 1, "unterminated quoted field".into()),
        }
    }
}

/// `id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter`
pub(crate) fn read_urlhaus(text: &str, sink: &mut LineSink<'_>) {
    rows(text, sink, |sink, line, f| {
        if f.len() < 6 {
            return sink.reject(line, format!("expected 9 URLhaus columns, found {}", f.len()));
        }
        let meta =
            Meta { threat_type: Some(&f[5]), first_seen: Some(&f[1]), last_seen: Some(&f[4]), ..Meta::default() };
        sink.typed(line, Some(&f[0]), IndicatorType::Url, &f[2], &meta);
    });
}

/// `first_seen_utc, ioc_id, ioc_value, ioc_type, threat_type, fk_malware,
/// malware_alias, malware_printable, last_seen_utc, confidence_level,
/// reference, tags, anonymous, reporter` (+ `is_compromised` in the newer
/// 15-column layout).
pub(crate) fn read_threatfox(text: &str, sink: &mut LineSink<'_>) {
    rows(text, sink, |sink, line, f| {
        if f.len() != 14 && f.len() != 15 {
            return sink.reject(line, format!("expected 14 or 15 ThreatFox columns, found {}", f.len()));
        }
        let kind = match f[3].as_str() {
            "ip:port" => IndicatorType::Ip,
            "domain" => IndicatorType::Domain,
            "url" => IndicatorType::Url,
            "md5_hash" => IndicatorType::Md5,
            "sha1_hash" => IndicatorType::Sha1,
            "sha256_hash" => IndicatorType::Sha256,
            other => return sink.unsupported(line, format!("ThreatFox ioc_type {other:?} is not matched (skipped)")),
        };
        let malware = if f[7].is_empty() { &f[5] } else { &f[7] };
        let meta = Meta {
            threat_type: Some(if f[4].is_empty() { malware } else { &f[4] }),
            confidence: f[9].parse().ok(),
            first_seen: Some(&f[0]),
            last_seen: Some(f[8].as_str()),
        };
        sink.typed(line, Some(&f[1]), kind, &f[2], &meta);
    });
}

/// `first_seen_utc,dst_ip,dst_port,c2_status,last_online,malware`
pub(crate) fn read_feodo(text: &str, sink: &mut LineSink<'_>) {
    rows(text, sink, |sink, line, f| {
        if f.len() < 6 {
            return sink.reject(line, format!("expected 6 Feodo columns, found {}", f.len()));
        }
        if f[0] == "first_seen_utc" {
            return;
        }
        let meta =
            Meta { threat_type: Some(&f[5]), first_seen: Some(&f[0]), last_seen: Some(&f[4]), ..Meta::default() };
        match value::typed(IndicatorType::Ip, &format!("{}:{}", f[1], f[2])) {
            Ok(p) => sink.accept(None, p, &meta),
            Err(e) => sink.reject(line, e),
        }
    });
}

/// `Listingdate,SHA1,Listingreason`
pub(crate) fn read_sslbl(text: &str, sink: &mut LineSink<'_>) {
    rows(text, sink, |sink, line, f| {
        if f.len() < 3 {
            return sink.reject(line, format!("expected 3 SSLBL columns, found {}", f.len()));
        }
        let meta = Meta { threat_type: Some(&f[2]), first_seen: Some(&f[0]), ..Meta::default() };
        sink.typed(line, None, IndicatorType::Sha1, &f[1], &meta);
    });
}
