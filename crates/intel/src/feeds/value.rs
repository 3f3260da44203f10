//! Turning a feed's text into a validated, normalized indicator value.

use crate::ipkey::{IpKey, parse_ip_port};
use crate::model::IndicatorType;
use crate::normalize::{self, HashKind};

/// A validated value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub kind: IndicatorType,
    pub value: String,
    pub port: Option<u16>,
}

fn parsed(kind: IndicatorType, value: String) -> Parsed {
    Parsed { kind, value, port: None }
}

/// An address, `address:port` or prefix.
fn ip_like(raw: &str) -> Option<Parsed> {
    if let Some(k) = IpKey::parse(raw) {
        let kind = if k.is_host() { IndicatorType::Ip } else { IndicatorType::Cidr };
        return Some(parsed(kind, k.to_string()));
    }
    let (addr, port) = parse_ip_port(raw)?;
    let k = IpKey::parse(&addr.to_string())?;
    Some(Parsed { kind: IndicatorType::Ip, value: k.to_string(), port: Some(port) })
}

/// Validates `raw` as a value of the declared type.
pub(crate) fn typed(kind: IndicatorType, raw: &str) -> Result<Parsed, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(format!("empty value for a {} indicator", kind.name()));
    }
    let bad = || match kind {
        IndicatorType::Ip => format!("{raw:?} is not an IP address (e.g. 192.0.2.1, 2001:db8::1, 192.0.2.1:443)"),
        IndicatorType::Cidr => format!("{raw:?} is not a CIDR (e.g. 198.51.100.0/24, 2001:db8::/32)"),
        IndicatorType::Domain => format!("{raw:?} is not a domain name"),
        IndicatorType::Url => format!("{raw:?} is not a URL"),
        IndicatorType::Email => format!("{raw:?} is not an e-mail address (expected local@domain)"),
        _ => format!("{raw:?} is not a {} hash", kind.name()),
    };
    match kind {
        IndicatorType::Ip | IndicatorType::Cidr => ip_like(raw).ok_or_else(bad),
        IndicatorType::Domain => normalize::domain(raw).map(|d| parsed(kind, d)).ok_or_else(bad),
        IndicatorType::Url => normalize::url(raw).map(|u| parsed(kind, u.key())).ok_or_else(bad),
        IndicatorType::Email => normalize::email(raw).map(|e| parsed(kind, e)).ok_or_else(bad),
        IndicatorType::Md5 | IndicatorType::Sha1 | IndicatorType::Sha256 => match normalize::hash(raw) {
            Some((h, v)) if hash_type(h) == kind => Ok(parsed(kind, v)),
            _ => Err(bad()),
        },
    }
}

pub(crate) fn hash_type(h: HashKind) -> IndicatorType {
    match h {
        HashKind::Md5 => IndicatorType::Md5,
        HashKind::Sha1 => IndicatorType::Sha1,
        HashKind::Sha256 => IndicatorType::Sha256,
    }
}

/// Classifies an untyped token (plain lists, Maltrail trails): address,
/// `address:port`, prefix, URL (with or without scheme), e-mail, hash or
/// domain name (at least two labels).
pub(crate) fn guess(raw: &str) -> Result<Parsed, String> {
    let raw = raw.trim();
    if let Some(p) = ip_like(raw) {
        return Ok(p);
    }
    if let Some((h, v)) = normalize::hash(raw) {
        return Ok(parsed(hash_type(h), v));
    }
    if raw.contains('@') && !raw.contains('/') {
        return typed(IndicatorType::Email, raw);
    }
    if raw.contains("://") || raw.contains('/') || raw.contains('?') {
        return typed(IndicatorType::Url, raw);
    }
    match normalize::domain(raw) {
        Some(d) if d.contains('.') => Ok(parsed(IndicatorType::Domain, d)),
        _ => Err(format!(
            "{raw:?} is not an IP address, CIDR, domain, URL, e-mail address or hash (e.g. 192.0.2.1, 198.51.100.0/24, evil.example)"
        )),
    }
}
