//! `sdn-sensor intel check | stats | convert`.

use super::{IntelArgs, IntelCommand};
use intel::{IndicatorId, IndicatorType, LoadOptions, load_feeds};
use serde_json::{Value, json};
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::SystemTime;

pub fn run(a: IntelArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(!a.intel.is_empty(), "name at least one feed with --intel FEED");
    let opts = LoadOptions { strict: a.strict_intel, format: None };
    let (set, reports) = load_feeds(&a.intel, opts)?;
    super::report_feed_problems(&reports);
    match a.command {
        IntelCommand::Stats => {
            let mut out = io::stdout().lock();
            for r in &reports {
                let by_type: serde_json::Map<String, Value> = IndicatorType::ALL
                    .iter()
                    .filter(|t| r.by_type[**t as usize] > 0)
                    .map(|t| (t.name().to_string(), json!(r.by_type[*t as usize])))
                    .collect();
                // How old the feed's content is: a feed that stopped updating
                // is visible here before it goes stale silently.
                let fresh = ::intel::age::Freshness::of(std::path::Path::new(&r.feed), a.max_age, SystemTime::now());
                let mut line = json!({
                    "feed": r.feed, "format": r.format.name(), "indicators": r.loaded, "by_type": by_type,
                    "allowlist_entries": r.allowlisted, "bad_lines": r.skipped, "unsupported": r.unsupported,
                    "file_age_seconds": fresh.age.map(|d| d.as_secs()),
                });
                if let Some(max) = fresh.max_age {
                    line["max_age_seconds"] = json!(max.as_secs());
                    line["stale"] = json!(fresh.is_stale());
                }
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
                writeln!(out, "{}", set.check_json(v))?;
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
                    q(i.id),
                    i.kind.name(),
                    q(i.threat_type.unwrap_or("")),
                    q(i.value),
                    q(i.feed),
                    i.confidence.map_or(String::new(), |c| c.to_string()),
                    i.port.map_or(String::new(), |p| p.to_string())
                )?;
            }
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
