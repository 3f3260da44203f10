//! The analytics stage between the sensor and the sinks: every encoded
//! event goes through the engine (throttling, windows, sessions,
//! correlations) and into the store; what passes throttling goes on, with
//! the engine's `summary` and `incident` events. Reports (top-N, rates,
//! sessions, hit statistics) go to the store and to a report writer.
//!
//! The store keeps every event, throttled or not: searches and charts
//! count what was seen; throttling is for what people are sent.

use analytics::{CorrelationRule, Engine, Output};
use sensor::config::{AnalyticsSection, CorrelationKind, parse_size};
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
        let k = || c.k.filter(|&k| k >= 2).ok_or_else(|| format!("{at}: k (at least 2) is required for this type"));
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
    sensor: String,
    outputs: Vec<Output>,
    line: Vec<u8>,
    store: Option<store::Store>,
    /// Lines waiting for the store (written in batches).
    batch: Vec<Vec<u8>>,
    /// Lines the engine could not read (not sensor events).
    pub unreadable: u64,
    pub store_errors: u64,
}

const STORE_BATCH: usize = 1000;

impl Stage {
    pub fn new(cfg: analytics::Config, sensor: &str, store: Option<store::Store>) -> Stage {
        Stage {
            engine: Engine::new(cfg),
            sensor: sensor.to_string(),
            outputs: Vec::new(),
            line: Vec::with_capacity(1024),
            store,
            batch: Vec::new(),
            unreadable: 0,
            store_errors: 0,
        }
    }

    pub fn stats(&self) -> &analytics::EngineStats {
        self.engine.stats()
    }

    /// One encoded event; `emit` gets the event if it passes, then any
    /// derived events and reports the engine produced.
    pub fn push(&mut self, json: &[u8], emit: &mut dyn FnMut(&[u8], Line)) {
        let passed = match analytics::parse_event(json) {
            Ok(parsed) => self.engine.push(&parsed.event(), &mut self.outputs),
            Err(_) => {
                // Not a sensor event the engine understands (a warning):
                // it goes on untouched.
                self.unreadable += 1;
                true
            }
        };
        self.to_store(json);
        if passed {
            emit(json, Line::Event);
        }
        self.drain(emit);
    }

    /// The clock of an idle live stream.
    pub fn advance(&mut self, now_ns: i64, emit: &mut dyn FnMut(&[u8], Line)) {
        self.engine.advance(now_ns, &mut self.outputs);
        self.drain(emit);
    }

    /// End of input: every window and session closes; the store is
    /// written.
    pub fn finish(&mut self, emit: &mut dyn FnMut(&[u8], Line)) {
        self.engine.finish(&mut self.outputs);
        self.drain(emit);
        self.flush_store();
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
            self.to_store(&line);
            emit(&line, kind);
            self.line = line;
        }
        self.outputs.clear();
    }

    fn to_store(&mut self, line: &[u8]) {
        if self.store.is_none() {
            return;
        }
        self.batch.push(line.to_vec());
        if self.batch.len() >= STORE_BATCH {
            self.flush_store();
        }
    }

    /// Writes what waits for the store.
    pub fn flush_store(&mut self) {
        let Some(store) = &mut self.store else { return };
        if self.batch.is_empty() {
            return;
        }
        let lines: Vec<&[u8]> = self.batch.iter().map(Vec::as_slice).collect();
        if let Err(e) = store.insert_json(&lines) {
            self.store_errors += 1;
            tracing::error!(error = %e, "store: batch not written");
        }
        self.batch.clear();
    }
}
