//! Prometheus text exposition. Components publish their samples into a
//! named slot (workers every second, from their own counters) or register a
//! collector that reads shared atomics at scrape time (sinks, listeners);
//! `render` groups the samples by family, HELP and TYPE once each.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Counter,
    Gauge,
}

#[derive(Debug, Clone)]
pub struct Sample {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Type,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

/// Builds samples with shared labels.
pub struct Samples<'a> {
    pub out: &'a mut Vec<Sample>,
    pub labels: Vec<(&'static str, String)>,
}

impl Samples<'_> {
    pub fn counter(&mut self, name: &'static str, help: &'static str, value: u64) {
        self.push(name, help, Type::Counter, &[], value as f64);
    }

    pub fn gauge(&mut self, name: &'static str, help: &'static str, value: f64) {
        self.push(name, help, Type::Gauge, &[], value);
    }

    /// A sample with one more label than the shared ones.
    pub fn counter_by(&mut self, name: &'static str, help: &'static str, label: (&'static str, &str), value: u64) {
        self.push(name, help, Type::Counter, &[label], value as f64);
    }

    pub fn push(&mut self, name: &'static str, help: &'static str, kind: Type, extra: &[(&'static str, &str)], v: f64) {
        let mut labels = self.labels.clone();
        labels.extend(extra.iter().map(|&(k, v)| (k, v.to_string())));
        self.out.push(Sample { name, help, kind, labels, value: v });
    }
}

type Collector = Box<dyn Fn(&mut Vec<Sample>) + Send + Sync>;

#[derive(Default)]
pub struct Metrics {
    slots: Mutex<BTreeMap<String, Vec<Sample>>>,
    collectors: Mutex<Vec<Collector>>,
    /// Every input is open and every thread started (/healthz).
    ready: std::sync::atomic::AtomicBool,
}

impl Metrics {
    pub fn set_ready(&self) {
        self.ready.store(true, std::sync::atomic::Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Replaces the samples of `slot` (one per component instance).
    pub fn publish(&self, slot: &str, samples: Vec<Sample>) {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).insert(slot.to_string(), samples);
    }

    /// Adds a function called at every scrape.
    pub fn collect(&self, f: impl Fn(&mut Vec<Sample>) + Send + Sync + 'static) {
        self.collectors.lock().unwrap_or_else(|p| p.into_inner()).push(Box::new(f));
    }

    pub fn samples(&self) -> Vec<Sample> {
        let mut all: Vec<Sample> =
            self.slots.lock().unwrap_or_else(|p| p.into_inner()).values().flatten().cloned().collect();
        for c in self.collectors.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            c(&mut all);
        }
        all
    }

    /// The Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        render(&self.samples())
    }
}

pub fn render(samples: &[Sample]) -> String {
    let mut families: BTreeMap<&str, Vec<&Sample>> = BTreeMap::new();
    for s in samples {
        families.entry(s.name).or_default().push(s);
    }
    let mut out = String::with_capacity(samples.len() * 64);
    for (name, members) in families {
        let first = members[0];
        let kind = match first.kind {
            Type::Counter => "counter",
            Type::Gauge => "gauge",
        };
        let _ = writeln!(out, "# HELP {name} {}", first.help);
        let _ = writeln!(out, "# TYPE {name} {kind}");
        // Samples of one family with the same labels (e.g. two workers'
        // views of one interface) are summed.
        let mut merged: BTreeMap<String, f64> = BTreeMap::new();
        for s in members {
            *merged.entry(label_text(&s.labels)).or_default() += s.value;
        }
        for (labels, v) in merged {
            let _ = writeln!(out, "{name}{labels} {}", number(v));
        }
    }
    out
}

fn label_text(labels: &[(&'static str, String)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let mut sorted: Vec<_> = labels.iter().collect();
    sorted.sort_by_key(|(k, _)| *k);
    let inner: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    format!("{{{}}}", inner.join(","))
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_grouped_and_equal_labels_summed() {
        let m = Metrics::default();
        for w in 0..2 {
            let mut v = Vec::new();
            let mut s = Samples { out: &mut v, labels: vec![("interface", "veth0".into())] };
            s.counter("sdn_packets_total", "Packets received.", 10 + w);
            s.counter_by("sdn_decode_errors_total", "Bad frames.", ("reason", "ipv4.truncated"), 1);
            m.publish(&format!("worker-{w}"), v);
        }
        m.collect(|out| {
            let mut s = Samples { out, labels: vec![("sink", "a\"b".into())] };
            s.gauge("sdn_sink_queue_depth", "Queued.", 3.0);
        });
        let text = m.render();
        assert_eq!(text.matches("# TYPE sdn_packets_total counter").count(), 1);
        assert!(text.contains("sdn_packets_total{interface=\"veth0\"} 21\n"), "{text}");
        assert!(text.contains("sdn_decode_errors_total{interface=\"veth0\",reason=\"ipv4.truncated\"} 2\n"), "{text}");
        assert!(text.contains("sdn_sink_queue_depth{sink=\"a\\\"b\"} 3\n"), "{text}");
    }
}
