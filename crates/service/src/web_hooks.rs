//! What the web side asks the service (it does not know the sensor): the
//! status behind `/api/status` (counters, drops, intel generation, feed
//! ages) and `intel check` behind `/api/intel/check`, as JSON.

use crate::metrics::{Metrics, Sample};
use intel::IndicatorType;
use intel::reload::SharedSet;
use sensor::config::FeedSpec;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Families summed into `counters` (what the overview shows at a glance).
const COUNTERS: [(&str, &str); 8] = [
    ("packets", "sdn_packets_total"),
    ("bytes", "sdn_bytes_total"),
    ("received", "sdn_received_total"),
    ("events", "sdn_events_total"),
    ("intel_hits", "sdn_intel_hits_total"),
    ("flow_records", "sdn_flow_records_total"),
    ("analytics_events", "sdn_analytics_events_total"),
    ("analytics_incidents", "sdn_analytics_incidents_total"),
];

/// Families summed into `drops`: everything lost on the way.
const DROPS: [(&str, &str); 7] = [
    ("capture", "sdn_capture_drops_total"),
    ("listener", "sdn_listener_drops_total"),
    ("sflow_lost_datagrams", "sdn_sflow_lost_datagrams_total"),
    ("sinks", "sdn_sink_dropped_total"),
    ("unsent", "sdn_events_unsent_total"),
    ("decode_errors", "sdn_decode_errors_total"),
    ("web_stream", "sdn_web_stream_dropped_total"),
];

/// `/api/status` of `run`: `process`, `sensor`, `uptime_seconds`, `ready`,
/// `counters` and `drops` (sums), `metrics` (every sample, for per-
/// interface or per-sink detail), `intel` (generation, counts by type,
/// feeds with ages and staleness).
pub fn status(
    metrics: Arc<Metrics>,
    shared: Option<Arc<SharedSet>>,
    feeds: Vec<FeedSpec>,
    process: &'static str,
    sensor: Option<String>,
    started: Instant,
) -> web::state::StatusHook {
    Arc::new(move || {
        let samples = metrics.samples();
        let mut v = json!({
            "process": process,
            "sensor": sensor,
            "uptime_seconds": started.elapsed().as_secs_f64(),
            "ready": metrics.is_ready(),
            "counters": sums(&samples, &COUNTERS),
            "drops": sums(&samples, &DROPS),
            "metrics": samples.iter().map(sample_json).collect::<Vec<_>>(),
        });
        if let Some(shared) = &shared {
            v["intel"] = intel_status(shared, &feeds);
        }
        v
    })
}

fn sums(samples: &[Sample], families: &[(&str, &str)]) -> Value {
    let mut out = Map::new();
    for (key, family) in families {
        let total: f64 = samples.iter().filter(|s| s.name == *family).map(|s| s.value).sum();
        out.insert(key.to_string(), json!(total as u64));
    }
    Value::Object(out)
}

fn sample_json(s: &Sample) -> Value {
    let labels: BTreeMap<&str, &str> = s.labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
    json!({"name": s.name, "labels": labels, "value": s.value})
}

fn seconds_since(t: SystemTime) -> Option<f64> {
    SystemTime::now().duration_since(t).ok().map(|d| d.as_secs_f64())
}

fn rfc3339(t: SystemTime) -> Option<String> {
    let ns = t.duration_since(UNIX_EPOCH).ok()?.as_nanos();
    Some(store::format_ts(i64::try_from(ns).ok()?))
}

fn by_type(counts: impl Fn(IndicatorType) -> usize) -> Value {
    let m: Map<String, Value> = IndicatorType::ALL
        .iter()
        .filter(|t| counts(**t) > 0)
        .map(|t| (t.name().to_string(), json!(counts(*t))))
        .collect();
    Value::Object(m)
}

fn intel_status(shared: &SharedSet, feeds: &[FeedSpec]) -> Value {
    let st = shared.status();
    let set = shared.load();
    let now = SystemTime::now();
    let feed_list: Vec<Value> = st
        .reports
        .iter()
        .map(|r| {
            let spec = feeds.iter().find(|f| f.path.display().to_string() == r.feed);
            let fresh = spec.map(|f| intel::age::Freshness::of(&f.path, f.max_age, now));
            json!({
                "feed": r.feed,
                "format": r.format.name(),
                "indicators": r.loaded,
                "by_type": by_type(|t| r.by_type[t as usize]),
                "allowlist_entries": r.allowlisted,
                "bad_lines": r.skipped,
                "unsupported": r.unsupported,
                "age_seconds": fresh.as_ref().and_then(|f| f.age).map(|d| d.as_secs()),
                "max_age_seconds": fresh.as_ref().and_then(|f| f.max_age).map(|d| d.as_secs()),
                "stale": fresh.as_ref().is_some_and(intel::age::Freshness::is_stale),
            })
        })
        .collect();
    json!({
        "generation": st.generation,
        "indicators": set.len(),
        "by_type": by_type(|t| set.count(t)),
        "allowlist_entries": set.allowlist().len(),
        "loaded_at": st.loaded_at.and_then(rfc3339),
        "age_seconds": st.loaded_at.and_then(seconds_since),
        "reload_failures": st.failed_attempts,
        "last_error": st.last_error,
        "stale_feeds": feed_list.iter().filter(|f| f["stale"] == true).count(),
        "feeds": feed_list,
    })
}

/// `intel check` of a value against the set in use (the same answer as
/// `sdn-sensor intel check`, plus the generation it was checked against).
pub fn check(shared: Arc<SharedSet>) -> web::state::CheckHook {
    Arc::new(move |raw: &str| {
        let set = shared.load();
        let mut v = set.check_json(raw);
        v["generation"] = json!(shared.generation());
        v
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> Arc<SharedSet> {
        let mut b = intel::SetBuilder::new();
        let opts = intel::LoadOptions { strict: false, format: None };
        let r = intel::feeds::load_text(
            "t.csv",
            "id,type,threat_type,ip,dns,value\n1,ip,c2,203.0.113.66,,\n2,domain,phish,,evil.example,\n",
            &mut b,
            opts,
        )
        .unwrap();
        SharedSet::new(b.build(), vec![r])
    }

    #[test]
    fn check_answers_like_the_cli() {
        let hook = check(shared());
        let hit = hook("203.0.113.66");
        assert_eq!(hit["verdict"], "hit", "{hit}");
        assert_eq!(hit["matches"][0]["threat_type"], "c2");
        assert_eq!(hit["generation"], 1);
        assert_eq!(hook("www.evil.example")["verdict"], "hit");
        assert_eq!(hook("198.51.100.1")["verdict"], "none");
        assert_eq!(hook("not a value at all \u{0}")["verdict"], "invalid");
    }

    #[test]
    fn status_sums_counters_and_describes_the_intel() {
        let m = Arc::new(Metrics::default());
        let mut v = Vec::new();
        let mut s = crate::metrics::Samples { out: &mut v, labels: vec![("interface", "eth0".into())] };
        s.counter("sdn_capture_drops_total", "Drops.", 7);
        s.counter("sdn_packets_total", "Packets.", 100);
        m.publish("w0", v);
        let hook = status(Arc::clone(&m), Some(shared()), Vec::new(), "run", Some("edge".into()), Instant::now());
        let st = hook();
        assert_eq!(st["drops"]["capture"], 7);
        assert_eq!(st["counters"]["packets"], 100);
        assert_eq!(st["ready"], false);
        assert_eq!(st["intel"]["generation"], 1);
        assert_eq!(st["intel"]["indicators"], 2);
        assert_eq!(st["intel"]["by_type"]["domain"], 1);
        assert_eq!(st["intel"]["feeds"][0]["feed"], "t.csv");
        assert_eq!(st["intel"]["feeds"][0]["stale"], false);
        assert_eq!(st["metrics"].as_array().unwrap().len(), 2);
    }
}
