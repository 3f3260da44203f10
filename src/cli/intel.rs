//! `sdn-sensor intel check | stats | convert`.

use super::{IntelArgs, IntelCommand};
use intel::normalize;
use intel::{IndicatorId, IndicatorSet, IndicatorType, LoadOptions, load_feeds};
use serde_json::{Value, json};
use std::io::{self, BufWriter, Write};
use std::net::IpAddr;
use std::process::ExitCode;

pub fn run(a: IntelArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(!a.intel.is_empty(), "name at least one feed with --intel FEED");
    let opts = LoadOptions { strict: a.strict_intel, format: None };
    let (set, reports) = load_feeds(&a.intel, opts)?;
    match a.command {
        IntelCommand::Stats => {
            let mut out = io::stdout().lock();
            for r in &reports {
                let by_type: serde_json::Map<String, Value> = IndicatorType::ALL
                    .iter()
                    .filter(|t| r.by_type[**t as usize] > 0)
                    .map(|t| (t.name().to_string(), json!(r.by_type[*t as usize])))
                    .collect();
                let line = json!({
                    "feed": r.feed, "format": r.format.name(), "indicators": r.loaded, "by_type": by_type,
                    "allowlist_entries": r.allowlisted, "bad_lines": r.skipped, "unsupported": r.unsupported,
                });
                writeln!(out, "{line}")?;
            }
            let totals: serde_json::Map<String, Value> =
                IndicatorType::ALL.iter().map(|t| (t.name().to_string(), json!(set.count(*t)))).collect();
            writeln!(
                out,
                "{}",
                json!({"total": set.len(), "by_type": totals, "allowlist_entries": set.allowlist().len()})
            )?;
        }
        IntelCommand::Check { values } => {
            let mut out = io::stdout().lock();
            for v in &values {
                writeln!(out, "{}", check(&set, v))?;
            }
        }
        IntelCommand::Convert => {
            let mut out = BufWriter::new(io::stdout().lock());
            writeln!(out, "id,type,threat_type,ip,dns,value,feed,confidence,port")?;
            for id in 0..set.len() as IndicatorId {
                let i = set.get(id);
                let q = |s: &str| {
                    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
                };
                writeln!(
                    out,
                    "{},{},{},,,{},{},{},{}",
                    q(&i.id),
                    i.kind.name(),
                    q(i.threat_type.as_deref().unwrap_or("")),
                    q(&i.value),
                    q(&i.feed),
                    i.confidence.map_or(String::new(), |c| c.to_string()),
                    i.port.map_or(String::new(), |p| p.to_string())
                )?;
            }
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn indicator_json(set: &IndicatorSet, id: IndicatorId) -> Value {
    let i = set.get(id);
    let mut v = json!({"id": &*i.id, "type": i.kind.name(), "value": &*i.value, "feed": &*i.feed});
    if let Some(t) = &i.threat_type {
        v["threat_type"] = json!(&**t);
    }
    if let Some(c) = i.confidence {
        v["confidence"] = json!(c);
    }
    if let Some(p) = i.port {
        v["port"] = json!(p);
    }
    v
}

/// One verdict line for a value typed on the command line.
fn check(set: &IndicatorSet, raw: &str) -> Value {
    let allow = set.allowlist();
    let (kind, normalized, ids, allowed): (&str, String, Vec<IndicatorId>, Option<&intel::AllowEntry>) = if let Ok(
        addr,
    ) =
        raw.trim().parse::<IpAddr>()
    {
        let ids = set.match_ip(addr).0.to_vec();
        ("ip", addr.to_string(), ids, allow.allows_ip(addr))
    } else if let Some((addr, port)) = intel::ipkey::parse_ip_port(raw) {
        let mut ids = set.match_ip_port(addr, port).to_vec();
        ids.extend_from_slice(set.match_ip(addr).0);
        ("ip", format!("{addr}:{port}"), ids, allow.allows_ip(addr))
    } else if let Some((_, h)) = normalize::hash(raw) {
        let ids = set.match_hash(&h).to_vec();
        let a = allow.allows_text(&h);
        ("hash", h, ids, a)
    } else if raw.contains('@') && !raw.contains('/') {
        match normalize::email(raw) {
            Some(e) => {
                let ids = set.match_email(&e).to_vec();
                let a = allow.allows_text(&e);
                ("email", e, ids, a)
            }
            None => return json!({"value": raw, "verdict": "invalid", "reason": "not an e-mail address"}),
        }
    } else if raw.contains("://") || raw.contains('/') {
        match normalize::url(raw) {
            Some(u) => {
                let ids = set.match_url(&u);
                let a = allow.allows_url(&u.key(), u.host());
                ("url", u.key(), ids, a)
            }
            None => return json!({"value": raw, "verdict": "invalid", "reason": "not a URL"}),
        }
    } else {
        match normalize::domain(raw) {
            Some(d) => {
                let (ids, a) = match set.match_domain(&d) {
                    Some(m) => (m.ids.to_vec(), allow.allows_domain(&d, m.matched)),
                    None => (Vec::new(), None),
                };
                ("domain", d, ids, a)
            }
            None => {
                return json!({"value": raw, "verdict": "invalid", "reason": "not an IP, URL, e-mail, hash or domain"});
            }
        }
    };
    let matches: Vec<Value> = ids.iter().map(|&id| indicator_json(set, id)).collect();
    let verdict = match (matches.is_empty(), allowed) {
        (true, _) => "none",
        (false, Some(_)) => "suppressed",
        (false, None) => "hit",
    };
    let suppressed_by: Vec<Value> = allowed
        .filter(|_| !matches.is_empty())
        .map(|e| json!({"list": &*e.list, "type": e.kind.name(), "value": &*e.value}))
        .into_iter()
        .collect();
    json!({"value": raw, "type": kind, "normalized": normalized, "verdict": verdict, "matches": matches, "suppressed_by": suppressed_by})
}
