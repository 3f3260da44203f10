//! Live capture workers: one thread and one AF_PACKET ring per worker, the
//! workers of an interface in one fanout group (the kernel keeps a flow on
//! one worker, so reassembly state stays in one pipeline).

use crate::emit::{Emitter, SinkSet};
use crate::metrics::{Metrics, Samples};
use crate::rules::RulesSlot;
use crate::run::Loaded;
use capture::{Fanout, FanoutMode, Ring, RingConfig};
use events::EventIds;
use intel::reload::SharedSet;
use sensor::Pipeline;
use sensor::capture::CapturedPacket;
use sensor::config::FanoutName;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use wire::LinkType;

/// A ring opened (with the privileges that needs), not yet read.
pub struct OpenRing {
    name: String,
    interface: String,
    ring: Ring,
}

/// Opens every ring (so a missing interface or privilege fails the start,
/// before any thread runs and before privileges are dropped).
pub fn open(loaded: &Loaded) -> anyhow::Result<Vec<OpenRing>> {
    let mut rings = Vec::new();
    for (i, c) in loaded.config.capture.iter().enumerate() {
        let ring_bytes = sensor::config::parse_size(&c.ring_size).map_err(anyhow::Error::msg)? as usize;
        // One fanout group per entry; ids are per network namespace, so
        // mix the pid in to keep other processes' groups apart.
        let pid = std::process::id();
        let group_id = ((pid.wrapping_mul(2_654_435_761) >> 16) as u16) ^ (i as u16).wrapping_mul(40_503);
        let mode = match c.fanout {
            FanoutName::Hash => FanoutMode::Hash,
            FanoutName::Cpu => FanoutMode::Cpu,
            FanoutName::Lb => FanoutMode::LoadBalance,
        };
        for w in 0..c.workers {
            let cfg = RingConfig {
                interface: c.interface.clone(),
                promiscuous: c.promiscuous,
                snaplen: c.snaplen,
                ring_bytes,
                block_timeout_ms: 50,
                fanout: Some(Fanout { group_id, mode }),
            };
            let ring = Ring::open(&cfg).map_err(|e| anyhow::anyhow!("{}: capture[{i}]: {e}", loaded.file))?;
            // Two entries may name one interface: the capture index keeps
            // their metrics apart.
            let name = if i == 0 { format!("{}#{w}", c.interface) } else { format!("{}#{w}@{i}", c.interface) };
            rings.push(OpenRing { name, interface: c.interface.clone(), ring });
        }
        tracing::info!(interface = %c.interface, workers = c.workers, promiscuous = c.promiscuous, "capturing");
    }
    Ok(rings)
}

/// One thread per ring, each with its own pipeline; thread k takes event
/// ids of stripe k.
#[allow(clippy::too_many_arguments)]
pub fn spawn(
    rings: Vec<OpenRing>,
    sensor_name: &str,
    shared: &Arc<SharedSet>,
    rules: &Arc<RulesSlot>,
    sinks: &SinkSet,
    live: &Option<Arc<web::live::LiveFeed>>,
    metrics: &Arc<Metrics>,
    stop: &Arc<AtomicBool>,
    id_base: u64,
    id_members: u64,
    threads: &mut Vec<(String, JoinHandle<()>)>,
) -> anyhow::Result<()> {
    for (index, OpenRing { name, interface, ring }) in rings.into_iter().enumerate() {
        let worker = Worker {
            ring,
            shared: Arc::clone(shared),
            rules: Arc::clone(rules),
            emitter: Emitter::new(Arc::clone(sinks)).with_live(live.clone()),
            ids: EventIds::striped(sensor_name, id_base, index as u64, id_members),
            metrics: Arc::clone(metrics),
            slot: format!("capture {name}"),
            labels: vec![("interface", interface), ("worker", name.clone())],
            stop: Arc::clone(stop),
        };
        let t = std::thread::Builder::new().name(format!("capture {name}")).spawn(move || worker.run())?;
        threads.push((name, t));
    }
    Ok(())
}

struct Worker {
    ring: Ring,
    shared: Arc<SharedSet>,
    rules: Arc<RulesSlot>,
    emitter: Emitter,
    ids: EventIds,
    metrics: Arc<Metrics>,
    slot: String,
    labels: Vec<(&'static str, String)>,
    stop: Arc<AtomicBool>,
}

impl Worker {
    fn run(mut self) {
        let link = self.ring.dlt().map_or(LinkType::Other(u32::MAX), LinkType::from_linktype);
        let (mut generation, app) = self.rules.current();
        let mut pipeline = Pipeline::with_shared_app(Arc::clone(&self.shared), Some(app));
        let mut rule_set = pipeline.rule_set();
        let mut frame = 0u64;
        let mut last = Instant::now();
        let mut errors = 0u64;
        loop {
            let stopping = self.stop.load(Ordering::Relaxed);
            if let Some((g, app)) = self.rules.newer(generation) {
                generation = g;
                pipeline.replace_app(app);
                rule_set = pipeline.rule_set();
            }
            let (emitter, ids) = (&mut self.emitter, &mut self.ids);
            let got = self.ring.poll_batch(Duration::from_millis(100), |pkt| {
                frame += 1;
                let p = CapturedPacket {
                    frame,
                    ts_sec: (pkt.ts_ns / 1_000_000_000) as i64,
                    ts_nsec: (pkt.ts_ns % 1_000_000_000) as u32,
                    ts_nanos: true,
                    link,
                    orig_len: pkt.wire_len,
                    data: pkt.data,
                };
                let (d, m) = pipeline.frame_matches(link, pkt.data, pkt.wire_len, pkt.ts_ns);
                for hit in m.hits {
                    emitter.emit(&sensor::event::packet_hit_event(
                        ids,
                        m.set,
                        &p,
                        &d,
                        hit,
                        m.scratch,
                        Some(&rule_set),
                        None,
                    ));
                }
            });
            if let Err(e) = &got {
                errors += 1;
                if errors.is_power_of_two() {
                    tracing::error!(worker = %self.slot, error = %e, count = errors, "capture error");
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            if last.elapsed() >= Duration::from_secs(1) || stopping {
                self.publish(&pipeline, errors);
                last = Instant::now();
            }
            // The blocks already retired were drained by this pass.
            if stopping {
                return;
            }
        }
    }

    fn publish(&mut self, pipeline: &Pipeline, errors: u64) {
        let mut v = Vec::new();
        let mut s = Samples { out: &mut v, labels: self.labels.clone() };
        crate::stats::pipeline_samples(pipeline, &mut s);
        self.emitter.samples(&mut s);
        if let Ok(k) = self.ring.kernel_stats() {
            s.counter(
                "sdn_capture_kernel_packets_total",
                "Packets the kernel passed to the ring (with drops).",
                k.packets,
            );
            s.push(
                "sdn_capture_drops_total",
                "Packets lost in capture, by cause (kernel: the ring was full; ring: bad ring entries skipped).",
                crate::metrics::Type::Counter,
                &[("cause", "kernel")],
                k.drops as f64,
            );
            s.counter("sdn_capture_queue_freezes_total", "Times the ring had no free block.", k.freeze_count);
        }
        s.push(
            "sdn_capture_drops_total",
            "Packets lost in capture, by cause (kernel: the ring was full; ring: bad ring entries skipped).",
            crate::metrics::Type::Counter,
            &[("cause", "ring")],
            self.ring.ring_errors() as f64,
        );
        s.counter("sdn_capture_errors_total", "Capture calls that failed.", errors);
        self.metrics.publish(&self.slot, v);
    }
}
