//! The analytics stage between the sensor and the sinks: every encoded
//! event goes through the engine (throttling, windows, sessions,
//! correlations) and into the store; what passes throttling goes on, with
//! the engine's `summary` and `incident` events. Reports (top-N, rates,
//! sessions, hit statistics) go to the store, a report writer, and (unless
//! `reports_to_sinks = false`) the sinks.
//!
//! The store keeps every event, throttled or not: searches and charts
//! count what was seen; throttling is for what people are sent.

use crate::store_writer::StoreWriter;
use analytics::{CorrelationRule, Engine, Output};
use sensor::config::{AnalyticsSection, CorrelationKind, parse_size};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// What a line the stage hands out is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// A sensor event that passed throttling.
    Event,
    /// A `kind: "summary"` or `kind: "incident"` event of the engine.
    Derived,
    /// A report line (`{"report": ...}`): not an event.
    Report,
}

fn duration(file: &str, key: &str, s: &str) -> Result<Duration, String> {
    intel::age::parse_duration(s).map_err(|m| format!("{file}: analytics.{key} = {m}"))
}

/// The engine's configuration from `[analytics]`.
pub fn engine_config(file: &str, a: &AnalyticsSection) -> Result<analytics::Config, String> {
    let window = duration(file, "window", &a.window)?;
    if window.as_secs() == 0 {
        return Err(format!("{file}: analytics.window = {:?}: at least one second (e.g. \"60s\")", a.window));
    }
    if a.top_n == 0 || a.max_keys == 0 {
        return Err(format!("{file}: analytics.top_n and analytics.max_keys must be at least 1"));
    }
    let mut correlations = Vec::with_capacity(a.correlations.len());
    for (i, c) in a.correlations.iter().enumerate() {
        let at = format!("{file}: analytics.correlation[{i}] (name = {:?})", c.name);
        let within_s = intel::age::parse_duration(&c.within).map_err(|m| format!("{at}: within = {m}"))?.as_secs();
        let k = || {
            c.k.filter(|&k| (2..=analytics::MAX_K).contains(&k))
                .ok_or_else(|| format!("{at}: k (2 to {}) is required for this type", analytics::MAX_K))
        };
        correlations.push(match c.kind {
            CorrelationKind::DnsThenConnect => CorrelationRule::DnsThenConnect { name: c.name.clone(), within_s },
            CorrelationKind::DistinctIndicators => {
                CorrelationRule::DistinctIndicators { name: c.name.clone(), within_s, k: k()? }
            }
            CorrelationKind::DistinctTypes => {
                CorrelationRule::DistinctTypes { name: c.name.clone(), within_s, k: k()? }
            }
            CorrelationKind::MultiSensor => {
                CorrelationRule::MultiSensor { name: c.name.clone(), within_s, sensors: k()? }
            }
        });
    }
    Ok(analytics::Config {
        window_s: window.as_secs(),
        top_n: a.top_n,
        throttle_first: a.throttle,
        session_idle_s: duration(file, "session_idle", &a.session_idle)?.as_secs().max(1),
        max_keys: a.max_keys,
        correlations,
        correlation_only: false,
    })
}

/// The store's configuration from `[analytics]`, if it names one.
pub fn store_config(file: &str, a: &AnalyticsSection) -> Result<Option<store::StoreConfig>, String> {
    let Some(path) = &a.store else { return Ok(None) };
    let max_age = a.store_max_age.as_deref().map(|s| duration(file, "store_max_age", s)).transpose()?;
    let max_bytes = a
        .store_max_size
        .as_deref()
        .map(|s| parse_size(s).map_err(|m| format!("{file}: analytics.store_max_size = {m}")))
        .transpose()?;
    Ok(Some(store::StoreConfig { path: path.clone(), max_age, max_bytes }))
}

/// Events through the engine (and into the store).
pub struct Stage {
    engine: Engine,
    /// `analytics --sightings`: the multi-sensor rules, over the sightings
    /// stream (intel events split by indicator) instead of `engine`'s
    /// events (split by host). It runs only its rules, so it makes only
    /// incidents, which join `outputs`.
    sightings: Option<Engine>,
    sensor: String,
    outputs: Vec<Output>,
    line: Vec<u8>,
    /// The store, written by its own thread.
    store: Option<StoreWriter>,
    /// Lines waiting for the store (handed over in batches).
    batch: Vec<Vec<u8>>,
    /// Lines the engine could not read (not sensor events).
    pub unreadable: u64,
    /// `/api/stream`: the summaries and incidents the engine makes (the
    /// events it reads were published where they were emitted).
    live: Option<std::sync::Arc<web::live::LiveFeed>>,
    /// Reports go to the sinks too (`[analytics] reports_to_sinks`), as
    /// Suricata's `stats` records share eve.json with its alerts.
    pub reports_to_sinks: bool,
}

const STORE_BATCH: usize = 1000;

impl Stage {
    pub fn new(cfg: analytics::Config, sensor: &str, store: Option<store::Store>) -> Stage {
        let store = store.map(StoreWriter::spawn);
        Stage {
            engine: Engine::new(cfg),
            sightings: None,
            sensor: sensor.to_string(),
            outputs: Vec::new(),
            line: Vec::with_capacity(1024),
            store,
            batch: Vec::new(),
            unreadable: 0,
            live: None,
            reports_to_sinks: true,
        }
    }

    /// Moves the multi-sensor rules to an engine of their own, fed by
    /// [`Stage::push_sighting`]: under host partitioning one process sees
    /// only some of an indicator's events, under indicator partitioning of
    /// the sightings all of them. Call before the first event.
    pub fn split_sightings(&mut self) {
        let cfg = self.engine.config().clone();
        let (multi, rest) =
            cfg.correlations.iter().cloned().partition(|r| matches!(r, CorrelationRule::MultiSensor { .. }));
        self.engine = Engine::new(analytics::Config { correlations: rest, ..cfg.clone() });
        self.sightings = Some(Engine::new(analytics::Config { correlations: multi, correlation_only: true, ..cfg }));
    }

    /// Whether the main engine runs a multi-sensor rule (not split off).
    pub fn has_multi_sensor(&self) -> bool {
        self.engine.config().correlations.iter().any(|r| matches!(r, CorrelationRule::MultiSensor { .. }))
    }

    /// The sightings engine's counters (with `split_sightings`).
    pub fn sighting_stats(&self) -> Option<&analytics::EngineStats> {
        self.sightings.as_ref().map(Engine::stats)
    }

    /// One event of the sightings stream: it only feeds the multi-sensor
    /// rules (the event itself is stored, counted and passed on by the
    /// process of its host's partition); `emit` gets the incidents.
    pub fn push_sighting(&mut self, json: &[u8], emit: &mut dyn FnMut(&[u8], Line)) {
        let Some(engine) = &mut self.sightings else { return };
        match analytics::parse_event(json) {
            Ok(parsed) if parsed.event().kind == "intel" => {
                engine.push(&parsed.event(), &mut self.outputs);
            }
            _ => self.unreadable += 1,
        }
        self.drain(emit);
    }

    /// Derived events are also published to the live stream.
    pub fn set_live(&mut self, live: Option<std::sync::Arc<web::live::LiveFeed>>) {
        self.live = live;
    }

    pub fn stats(&self) -> &analytics::EngineStats {
        self.engine.stats()
    }

    /// One encoded event; `emit` gets the event if it passes, then any
    /// derived events and reports the engine produced.
    pub fn push(&mut self, json: &[u8], emit: &mut dyn FnMut(&[u8], Line)) {
        if json.starts_with(b"{\"report\":") {
            // A report of an earlier stage: kept and passed on, not an event.
            self.keep_for_store(json);
            emit(json, Line::Report);
            return;
        }
        let passed = match analytics::parse_event(json) {
            // Summaries and incidents of an earlier stage (a sensor with its
            // own analytics) are kept, not analysed again.
            Ok(parsed) if matches!(parsed.event().kind, "summary" | "incident") => true,
            Ok(parsed) => self.engine.push(&parsed.event(), &mut self.outputs),
            Err(_) => {
                // Not a sensor event the engine understands (a warning):
                // it goes on untouched.
                self.unreadable += 1;
                true
            }
        };
        self.keep_for_store(json);
        if passed {
            emit(json, Line::Event);
        }
        self.drain(emit);
    }

    /// The clock of an idle live stream.
    pub fn advance(&mut self, now_ns: i64, emit: &mut dyn FnMut(&[u8], Line)) {
        self.engine.advance(now_ns, &mut self.outputs);
        if let Some(s) = &mut self.sightings {
            s.advance(now_ns, &mut self.outputs);
        }
        self.drain(emit);
    }

    /// A live stage's store drops batches at its full queue (counted)
    /// rather than holding up the stage and every sink behind it.
    pub fn set_store_lossy(&mut self, lossy: bool) {
        if let Some(w) = &mut self.store {
            w.set_lossy(lossy);
        }
    }

    /// The store's counters for `/metrics` (`run` and `analytics` alike):
    /// failed writes, lines given up, lines dropped at its full queue.
    pub fn store_metrics(&self, out: &mut crate::metrics::Samples<'_>) {
        let (errors, lost, dropped) = self.store.as_ref().map_or((0, 0, 0), |w| {
            let s = w.stats();
            (s.errors.load(Relaxed), s.lost.load(Relaxed), s.dropped.load(Relaxed))
        });
        out.counter("sdn_analytics_store_errors_total", "Store writes and commits that failed (retried).", errors);
        out.counter("sdn_analytics_store_lost_total", "Lines given up after failed store writes.", lost);
        out.counter("sdn_analytics_store_dropped_total", "Lines dropped at the store's full queue.", dropped);
    }

    /// End of input: every window and session closes; the store is
    /// written and committed (what a failed write left is retried once
    /// more, then counted, when the store's thread ends with the stage).
    pub fn finish(&mut self, emit: &mut dyn FnMut(&[u8], Line)) {
        self.engine.finish(&mut self.outputs);
        if let Some(s) = &mut self.sightings {
            s.finish(&mut self.outputs);
        }
        self.drain(emit);
        self.commit();
    }

    /// Applies the store's age and size bounds.
    pub fn enforce_retention(&mut self, now_ns: i64) {
        self.flush_store();
        if let Some(w) = &self.store {
            w.retention(now_ns);
        }
    }

    /// Hands over what waits and waits for its commit (readers see it).
    /// True when everything handed to the store is committed (or there is
    /// no store); false leaves it for the next write.
    pub fn commit(&mut self) -> bool {
        self.flush_store();
        self.store.as_ref().is_none_or(StoreWriter::commit)
    }

    fn drain(&mut self, emit: &mut dyn FnMut(&[u8], Line)) {
        for i in 0..self.outputs.len() {
            self.line.clear();
            analytics::encode(&self.outputs[i], &self.sensor, &mut self.line);
            // One line each: the writers add the newline.
            while self.line.last() == Some(&b'\n') {
                self.line.pop();
            }
            let kind = match self.outputs[i] {
                Output::Summary(_) | Output::Incident(_) => Line::Derived,
                _ => Line::Report,
            };
            let line = std::mem::take(&mut self.line);
            if let (Line::Derived, Some(live)) = (kind, &self.live) {
                live.publish(&line);
            }
            self.keep_for_store(&line);
            emit(&line, kind);
            self.line = line;
        }
        self.outputs.clear();
    }

    fn keep_for_store(&mut self, line: &[u8]) {
        if self.store.is_none() {
            return;
        }
        self.batch.push(line.to_vec());
        if self.batch.len() >= STORE_BATCH {
            self.flush_store();
        }
    }

    /// Hands what waits to the store's thread.
    pub fn flush_store(&mut self) {
        if let Some(w) = &self.store
            && !self.batch.is_empty()
        {
            w.write(std::mem::take(&mut self.batch));
        }
    }
}

/// What the sinks get of a stage's output line: a derived event (summary,
/// incident) with its id, kind, input and partition keys; a report when
/// `reports` (`[analytics] reports_to_sinks`); nothing for a passing event
/// (the caller has it as it came) or a report kept in the store only.
pub fn for_sinks(line: &[u8], kind: Line, reports: bool) -> Option<sinks::Encoded> {
    match kind {
        Line::Event => None,
        Line::Derived => {
            let (id, k, input) = derived_head(line);
            let (key, indicator_key) = partition_keys(line);
            Some(sinks::Encoded { id, kind: k, input, json: line.to_vec(), key, indicator_key })
        }
        Line::Report if reports => Some(sinks::Encoded {
            id: format!("report:{:016x}", fnv1a(line)),
            kind: "report",
            input: "analytics",
            json: line.to_vec(),
            key: 0,
            indicator_key: 0,
        }),
        Line::Report => None,
    }
}

/// Id, `kind` and `input` of a derived event (read as JSON: ids may hold
/// escapes), the last two as the static names sinks use (NATS subjects).
fn derived_head(line: &[u8]) -> (String, &'static str, &'static str) {
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Head {
        id: String,
        kind: String,
        input: String,
    }
    let h: Head = serde_json::from_slice(line).unwrap_or_default();
    let kind = match h.kind.as_str() {
        "incident" => "incident",
        "summary" => "summary",
        _ => "report",
    };
    let input = analytics::output::schema_input(&h.input);
    (h.id, kind, input)
}

pub use events::hash::fnv1a;
use events::hash::{FNV_OFFSET, fnv1a_from};

/// FNV-1a's low bits depend only on the low bits of the bytes it read (a
/// key modulo 2 is the parity of their lowest bits), so partition keys are
/// mixed (SplitMix64's finalizer) before anyone takes a modulus: hosts
/// 10.0.0.2 and 10.0.1.3, or indicators whose id and value change in
/// step, would otherwise always share a partition.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ x >> 31
}

/// The partition keys of an encoded event (one parse for both), stable
/// hashes (FNV-1a, mixed) of what the analytics key their state by:
/// - the host (0 when the event names none): every event of a host lands
///   in one partition, so throttling, sessions and the host correlations
///   stay correct when analytics scale out;
/// - the indicator of an `intel` event (0 for other events): the key of
///   the multi-sensor correlation, for the sightings stream.
pub fn partition_keys(json: &[u8]) -> (u64, u64) {
    let Ok(parsed) = analytics::parse_event(json) else { return (0, 0) };
    let e = parsed.event();
    let host = e.host().map_or(0, |h| {
        let h = match h {
            std::net::IpAddr::V4(a) => fnv1a(&a.octets()),
            std::net::IpAddr::V6(a) => fnv1a(&a.octets()),
        };
        // 0 means "none"; keep every bit of the hash for the modulus.
        mix(h).max(1)
    });
    let indicator = match (e.kind, e.indicator) {
        ("intel", Some(i)) => {
            // The fields that identify an indicator to the engine, each
            // closed by a byte no UTF-8 string holds.
            let mut h = FNV_OFFSET;
            for part in [i.id, i.r#type, i.value, i.threat_type, i.feed] {
                h = fnv1a_from(h, part.as_bytes());
                h = fnv1a_from(h, &[0xff]);
            }
            mix(h).max(1)
        }
        _ => 0,
    };
    (host, indicator)
}

/// `run`'s analytics stage as a sink: the sensor's threads queue events on
/// it; it runs the engine (and the store) and queues what passes, with the
/// derived events, on the real sinks.
pub struct StageWorker {
    pub stage: Stage,
    pub downstream: crate::emit::SinkSet,
    /// Where the engine's counters are published (every second).
    pub metrics: Option<std::sync::Arc<crate::metrics::Metrics>>,
    /// Live input: when idle, the wall clock closes windows.
    pub live: bool,
}

impl StageWorker {
    fn publish(&self) {
        let Some(m) = &self.metrics else { return };
        let s = self.stage.stats();
        let mut v = Vec::new();
        let mut out = crate::metrics::Samples { out: &mut v, labels: Vec::new() };
        out.counter("sdn_analytics_events_total", "Events through the analytics stage.", s.events);
        out.counter("sdn_analytics_passed_total", "Events that passed throttling.", s.passed);
        out.counter("sdn_analytics_suppressed_total", "Events held back and counted in summaries.", s.suppressed);
        out.counter("sdn_analytics_summaries_total", "Summary events.", s.summaries);
        out.counter("sdn_analytics_incidents_total", "Incident events.", s.incidents);
        out.counter("sdn_analytics_late_total", "Events older than the current window.", s.late);
        out.counter("sdn_analytics_windows_total", "Windows closed.", s.windows);
        for (table, t) in [
            ("throttle", &s.throttle),
            ("topn", &s.topn),
            ("sessions", &s.sessions),
            ("indicators", &s.indicators),
            ("correlation", &s.correlation),
            ("symbols", &s.symbols),
        ] {
            out.push(
                "sdn_analytics_keys",
                "Keys held, by table.",
                crate::metrics::Type::Gauge,
                &[("table", table)],
                t.keys as f64,
            );
            out.push(
                "sdn_analytics_evictions_total",
                "Keys evicted at a table's bound, by table.",
                crate::metrics::Type::Counter,
                &[("table", table)],
                t.evictions as f64,
            );
        }
        self.stage.store_metrics(&mut out);
        m.publish("analytics", v);
    }
}

impl sinks::SinkWorker for StageWorker {
    fn run(
        mut self: Box<Self>,
        rx: crossbeam_channel::Receiver<std::sync::Arc<sinks::Encoded>>,
        stats: std::sync::Arc<sinks::SinkStats>,
    ) {
        use std::sync::Arc;
        let downstream = Arc::clone(&self.downstream);
        let reports_to_sinks = self.stage.reports_to_sinks;
        // The stage waits a little for room rather than dropping for every
        // sink at once; drops then happen at its own queue (counted).
        let send = |e: &Arc<sinks::Encoded>| {
            for s in downstream.iter() {
                s.send_wait(e, std::time::Duration::from_secs(1));
            }
        };
        let forward = |event: Option<&Arc<sinks::Encoded>>, line: &[u8], kind: Line| match kind {
            Line::Event => {
                if let Some(e) = event {
                    send(e);
                }
            }
            _ => {
                if let Some(e) = for_sinks(line, kind, reports_to_sinks) {
                    send(&Arc::new(e));
                }
            }
        };
        let mut last_store = std::time::Instant::now();
        let mut last_retention = std::time::Instant::now();
        loop {
            match rx.recv_timeout(std::time::Duration::from_millis(500)) {
                Ok(e) => {
                    self.stage.push(&e.json, &mut |line, kind| forward(Some(&e), line, kind));
                    sinks::SinkStats::add(&stats.delivered, 1);
                }
                Err(crossbeam_channel::RecvTimeoutError::Timeout) if !self.live => {}
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    // An idle stream: the wall clock closes windows.
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos() as i64);
                    self.stage.advance(now, &mut |line, kind| forward(None, line, kind));
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                    self.stage.finish(&mut |line, kind| forward(None, line, kind));
                    self.publish();
                    return;
                }
            }
            if last_retention.elapsed() >= std::time::Duration::from_secs(60) {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as i64);
                self.stage.enforce_retention(now);
                last_retention = std::time::Instant::now();
            }
            if last_store.elapsed() >= std::time::Duration::from_secs(1) {
                // Handed over, not waited for: the store's thread commits
                // on its own (a group, or an idle half second).
                self.stage.flush_store();
                self.publish();
                last_store = std::time::Instant::now();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sensor::config::CorrelationEntry;

    fn with_k(k: Option<usize>) -> Result<analytics::Config, String> {
        let a = AnalyticsSection {
            correlations: vec![CorrelationEntry {
                name: "spread".into(),
                kind: CorrelationKind::DistinctIndicators,
                within: "5m".into(),
                k,
            }],
            ..AnalyticsSection::default()
        };
        engine_config("s.toml", &a)
    }

    #[test]
    fn correlation_k_is_bounded() {
        assert!(with_k(Some(2)).is_ok() && with_k(Some(analytics::MAX_K)).is_ok());
        for bad in [None, Some(1), Some(analytics::MAX_K + 1)] {
            let e = with_k(bad).unwrap_err();
            assert!(e.starts_with("s.toml: analytics.correlation[0] (name = \"spread\"): k (2 to 64)"), "{e}");
        }
    }

    fn event(host: &str, kind: &str, indicator: &str) -> Vec<u8> {
        format!(
            r#"{{"id":"s:1","ts":"2026-11-29T05:00:00Z","sensor":"s","kind":"{kind}","input":"packet","match":{{"where":"ip.dst","value":"203.0.113.9"}},{indicator}"flow":{{"src_ip":"{host}","dst_ip":"203.0.113.9","proto":"tcp"}}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn partition_keys_follow_host_and_indicator() {
        let ind = r#""indicator":{"id":"7","type":"ip","value":"203.0.113.9","threat_type":"c2","feed":"f.csv"},"#;
        let (h1, i1) = partition_keys(&event("10.0.0.1", "intel", ind));
        let (h2, i2) = partition_keys(&event("10.0.0.2", "intel", ind));
        // Another host, the same indicator: another host key, the same
        // indicator key.
        assert!(h1 != 0 && h2 != 0 && h1 != h2);
        assert!(i1 != 0 && i1 == i2);
        let other = ind.replace("\"f.csv\"", "\"g.csv\"");
        assert_ne!(partition_keys(&event("10.0.0.1", "intel", &other)).1, i1);
        // Only intel events are sightings.
        let rule = r#""rule":{"chain":"cidr","name":"x"},"#;
        assert_eq!(partition_keys(&event("10.0.0.1", "rule", rule)), (h1, 0));
        assert_eq!(partition_keys(b"{}"), (0, 0));
    }

    #[test]
    fn partition_keys_spread_over_small_moduli() {
        // Indicators whose id and value change in step (plain FNV-1a put
        // all of these in one partition of two).
        let mut per = [0usize; 4];
        for i in 0..400 {
            let ind = format!(
                r#""indicator":{{"id":"{i}","type":"ip","value":"203.0.113.{}","threat_type":"c2","feed":"f.csv"}},"#,
                i % 250
            );
            per[(partition_keys(&event(&format!("10.0.{}.{}", i / 250, i % 250), "intel", &ind)).1 % 4) as usize] += 1;
        }
        assert!(per.iter().all(|&n| (70..=130).contains(&n)), "{per:?}");
        let mut per = [0usize; 2];
        for (a, b) in [(2u8, 0u8), (3, 1), (4, 2), (5, 3)] {
            for host in [format!("10.0.0.{a}"), format!("10.0.1.{b}")] {
                per[(partition_keys(&event(&host, "rule", r#""rule":{"chain":"c","name":"n"},"#)).0 % 2) as usize] += 1;
            }
        }
        assert!(per[0] > 0 && per[1] > 0, "{per:?}");
    }

    #[test]
    fn split_sightings_moves_only_the_multi_sensor_rules() {
        let rule = |name: &str, kind| CorrelationEntry { name: name.into(), kind, within: "5m".into(), k: Some(2) };
        let a = AnalyticsSection {
            correlations: vec![
                rule("spread", CorrelationKind::DistinctIndicators),
                rule("sensors", CorrelationKind::MultiSensor),
            ],
            ..AnalyticsSection::default()
        };
        let mut stage = Stage::new(engine_config("s.toml", &a).unwrap(), "an", None);
        assert!(stage.sighting_stats().is_none());
        stage.split_sightings();
        let names = |c: &analytics::Config| {
            c.correlations
                .iter()
                .map(|r| match r {
                    CorrelationRule::MultiSensor { name, .. } | CorrelationRule::DistinctIndicators { name, .. } => {
                        name.clone()
                    }
                    other => format!("{other:?}"),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(names(stage.engine.config()), ["spread"]);
        assert_eq!(names(stage.sightings.as_ref().unwrap().config()), ["sensors"]);
    }
}
