//! Events out: each event is encoded once and queued on every sink (and
//! published to the live stream); counts by kind, input and feed are kept
//! per thread and published as metrics.

use crate::metrics::Samples;
use events::Event;
use sinks::{Encoded, Sink};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The sinks every event goes to.
pub type SinkSet = Arc<Vec<Sink>>;

/// One thread's end of the sinks.
pub struct Emitter {
    sinks: SinkSet,
    /// Whether events carry their partition keys (a sink partitions by one).
    keyed: bool,
    by_kind: BTreeMap<(&'static str, &'static str), u64>,
    by_feed: BTreeMap<String, u64>,
    /// Events no sink took (every queue full).
    pub unsent: u64,
    /// Wait this long for room in a sink's queue (offline input, which must
    /// not outrun the sinks); zero: never wait (live input).
    pub wait: std::time::Duration,
    /// `/api/stream`: every event is published there too (nothing is done
    /// while no client listens).
    live: Option<Arc<web::live::LiveFeed>>,
}

impl Emitter {
    pub fn new(sinks: SinkSet) -> Self {
        let keyed = sinks.iter().any(|s| s.wants_key());
        Emitter {
            sinks,
            keyed,
            by_kind: BTreeMap::new(),
            by_feed: BTreeMap::new(),
            unsent: 0,
            wait: Default::default(),
            live: None,
        }
    }

    /// Events are also published to the live stream.
    pub fn with_live(mut self, live: Option<Arc<web::live::LiveFeed>>) -> Self {
        self.live = live;
        self
    }

    pub fn emit(&mut self, e: &Event<'_>) {
        let json = match serde_json::to_vec(e) {
            Ok(j) => j,
            Err(err) => {
                // Only non-string map keys fail; events have none.
                tracing::error!(error = %err, "event not encodable");
                return;
            }
        };
        let (kind, input) = (e.kind.name(), e.input.name());
        *self.by_kind.entry((kind, input)).or_default() += 1;
        if let Some(ind) = &e.indicator {
            match self.by_feed.get_mut(ind.feed) {
                Some(n) => *n += 1,
                None => {
                    self.by_feed.insert(ind.feed.to_string(), 1);
                }
            }
        }
        if let Some(live) = &self.live {
            live.publish(&json);
        }
        let (key, indicator_key) = if self.keyed { crate::analysis::partition_keys(&json) } else { (0, 0) };
        let encoded = Arc::new(Encoded { id: e.id.to_string(), kind, input, json, key, indicator_key });
        // Unsent: some sink was to take the event and none could.
        let (mut wanted, mut taken) = (false, false);
        for s in self.sinks.iter().filter(|s| s.takes(&encoded)) {
            wanted = true;
            taken |= if self.wait.is_zero() { s.send(&encoded) } else { s.send_wait(&encoded, self.wait) };
        }
        if wanted && !taken {
            self.unsent += 1;
        }
    }

    pub fn samples(&self, s: &mut Samples<'_>) {
        for (&(kind, input), &n) in &self.by_kind {
            s.push(
                "sdn_events_total",
                "Events emitted, by kind and input.",
                crate::metrics::Type::Counter,
                &[("kind", kind), ("input", input)],
                n as f64,
            );
        }
        for (feed, &n) in &self.by_feed {
            s.counter_by("sdn_intel_hits_total", "Intel events, by the feed of the indicator.", ("feed", feed), n);
        }
        s.counter("sdn_events_unsent_total", "Events that no sink could queue (every queue full).", self.unsent);
    }
}

/// Sink counters, read at scrape time.
pub fn sink_samples(sinks: &[Sink], out: &mut Vec<crate::metrics::Sample>) {
    use sinks::SinkStats;
    for sink in sinks {
        let st = sink.stats();
        let mut s = Samples { out, labels: vec![("sink", sink.name().to_string())] };
        s.gauge("sdn_sink_queue_depth", "Events waiting in the sink's queue.", sink.depth() as f64);
        s.counter("sdn_sink_queued_total", "Events accepted into the sink's queue.", SinkStats::get(&st.queued));
        s.counter(
            "sdn_sink_dropped_total",
            "Events dropped because the sink's queue was full.",
            SinkStats::get(&st.queue_full),
        );
        s.counter("sdn_sink_delivered_total", "Events the sink delivered.", SinkStats::get(&st.delivered));
        s.counter("sdn_sink_failed_total", "Events the sink gave up on.", SinkStats::get(&st.failed));
        s.counter("sdn_sink_errors_total", "Errors the sink met (writes, connections).", SinkStats::get(&st.errors));
        for (name, v) in sink.extra_counters() {
            // Sink-specific values share one family, told apart by label
            // (a gauge: some are levels, e.g. spool bytes).
            s.push(
                "sdn_sink_detail",
                "Sink-specific counters (names ending in _total) and levels.",
                crate::metrics::Type::Gauge,
                &[("name", name)],
                v as f64,
            );
        }
    }
}
