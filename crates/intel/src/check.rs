//! Classify one value as an operator typed it and say what matches it:
//! the engine behind `sdn-sensor intel check`.

use crate::allow::AllowEntry;
use crate::ipkey::parse_ip_port;
use crate::model::IndicatorId;
use crate::normalize;
use crate::set::IndicatorSet;
use core::net::IpAddr;

/// What a value was taken for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Ip,
    Domain,
    Url,
    Email,
    Hash,
}

impl ValueKind {
    pub const fn name(self) -> &'static str {
        match self {
            ValueKind::Ip => "ip",
            ValueKind::Domain => "domain",
            ValueKind::Url => "url",
            ValueKind::Email => "email",
            ValueKind::Hash => "hash",
        }
    }
}

/// The outcome for one value.
#[derive(Debug, Clone)]
pub struct Verdict<'s> {
    pub kind: ValueKind,
    pub normalized: String,
    /// Every indicator of the most specific matching entry (plus, for
    /// `address:port`, the indicators of that exact pair).
    pub matches: Vec<IndicatorId>,
    /// The allowlist entry that suppresses the matches, if any.
    pub suppressed_by: Option<&'s AllowEntry>,
}

impl Verdict<'_> {
    /// `hit`, `suppressed` or `none`.
    pub fn name(&self) -> &'static str {
        match (self.matches.is_empty(), self.suppressed_by) {
            (true, _) => "none",
            (false, Some(_)) => "suppressed",
            (false, None) => "hit",
        }
    }
}

impl IndicatorSet {
    /// Classifies `raw` (address, `address:port`, hash, e-mail, URL or
    /// domain, in that order of precedence) and looks it up. Err with the
    /// reason when it is none of them.
    pub fn check(&self, raw: &str) -> Result<Verdict<'_>, String> {
        let raw = raw.trim();
        let allow = self.allowlist();
        let v = if let Ok(addr) = raw.parse::<IpAddr>() {
            let matches = self.match_ip(addr).0.to_vec();
            Verdict { kind: ValueKind::Ip, normalized: addr.to_string(), suppressed_by: allow.allows_ip(addr), matches }
        } else if let Some((addr, port)) = parse_ip_port(raw) {
            let mut matches = self.match_ip_port(addr, port).to_vec();
            matches.extend_from_slice(self.match_ip(addr).0);
            let normalized = if addr.is_ipv6() { format!("[{addr}]:{port}") } else { format!("{addr}:{port}") };
            Verdict { kind: ValueKind::Ip, normalized, suppressed_by: allow.allows_ip(addr), matches }
        } else if let Some((_, h)) = normalize::hash(raw) {
            Verdict {
                kind: ValueKind::Hash,
                matches: self.match_hash(&h).to_vec(),
                suppressed_by: allow.allows_text(&h),
                normalized: h,
            }
        } else if raw.contains('@') && !raw.contains('/') {
            let e = normalize::email(raw).ok_or("not an e-mail address (expected local@domain)")?;
            Verdict {
                kind: ValueKind::Email,
                matches: self.match_email(&e).to_vec(),
                suppressed_by: allow.allows_text(&e),
                normalized: e,
            }
        } else if raw.contains("://") || raw.contains('/') {
            let u = normalize::url(raw).ok_or("not a URL")?;
            Verdict {
                kind: ValueKind::Url,
                matches: self.match_url(&u),
                suppressed_by: allow.allows_url(&u.key(), u.host()),
                normalized: u.key(),
            }
        } else {
            let d = normalize::domain(raw).ok_or("not an IP address, URL, e-mail address, hash or domain name")?;
            let (matches, suppressed_by) = match self.match_domain(&d) {
                Some(m) => (m.ids.to_vec(), allow.allows_domain(&d, m.matched)),
                None => (Vec::new(), None),
            };
            Verdict { kind: ValueKind::Domain, normalized: d, matches, suppressed_by }
        };
        Ok(Verdict { suppressed_by: v.suppressed_by.filter(|_| !v.matches.is_empty()), ..v })
    }
}

impl IndicatorSet {
    /// The answer to `intel check` as JSON (one line of the CLI, the body
    /// of `/api/intel/check`): value, type, normalized form, verdict, the
    /// matching indicators and the allowlist entry that suppresses them;
    /// `verdict: "invalid"` with the reason when `raw` is no indicator.
    pub fn check_json(&self, raw: &str) -> serde_json::Value {
        use serde_json::json;
        match self.check(raw) {
            Ok(v) => {
                let matches: Vec<serde_json::Value> = v.matches.iter().map(|&id| self.indicator_json(id)).collect();
                let suppressed_by: Vec<serde_json::Value> = v
                    .suppressed_by
                    .map(|e| json!({"list": &*e.list, "type": e.kind.name(), "value": &*e.value}))
                    .into_iter()
                    .collect();
                json!({"value": raw, "type": v.kind.name(), "normalized": v.normalized, "verdict": v.name(),
                       "matches": matches, "suppressed_by": suppressed_by})
            }
            Err(reason) => json!({"value": raw, "verdict": "invalid", "reason": reason}),
        }
    }

    /// One indicator as JSON (id, type, value, feed, and threat type,
    /// confidence and port when the feed gives them).
    pub fn indicator_json(&self, id: IndicatorId) -> serde_json::Value {
        let i = self.get(id);
        let mut v = serde_json::json!({"id": i.id, "type": i.kind.name(), "value": i.value, "feed": i.feed});
        if let Some(t) = i.threat_type {
            v["threat_type"] = serde_json::json!(t);
        }
        if let Some(c) = i.confidence {
            v["confidence"] = serde_json::json!(c);
        }
        if let Some(p) = i.port {
            v["port"] = serde_json::json!(p);
        }
        v
    }
}
